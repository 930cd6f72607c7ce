"""PostgreSQL-only indexes: trigram GIN for substring search on name/email (Django's icontains
compiles to UPPER(col::text) LIKE UPPER(%s)) and jsonb_path_ops GIN for metadata @> filters.
SQLite skips them."""

from django.db import migrations

INDEXES = [
    "CREATE INDEX IF NOT EXISTS customer_name_trgm ON customers_customer "
    "USING gin (upper((name)::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_email_trgm ON customers_customer "
    "USING gin (upper((email)::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_metadata_gin ON customers_customer "
    "USING gin (metadata jsonb_path_ops)",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for sql in INDEXES:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in ("customer_name_trgm", "customer_email_trgm", "customer_metadata_gin"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
