from django.db import migrations

from apps.core.migration_ops import set_fillfactor


class Migration(migrations.Migration):
    """Every order and redemption updates its customer's summary (no indexed column). With room
    on the page that update is HOT; on a full page it added entries to each of the table's nine
    indexes, two of them trigram GIN indexes of about twenty entries a row."""

    dependencies = [("customers", "0007_customer_created_index_ascending")]

    operations = [set_fillfactor("customers_customer", 90)]
