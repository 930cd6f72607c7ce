from django.db import migrations

from apps.core.migration_ops import set_fillfactor


class Migration(migrations.Migration):
    """Every redemption updates its voucher (uses, balances, updated_at: no indexed column).
    With room on the page that update is HOT; on a full page it added an entry to each of the
    table's seven indexes."""

    dependencies = [("campaigns", "0002_voucher_campaign_index_ascending")]

    operations = [set_fillfactor("campaigns_voucher", 90)]
