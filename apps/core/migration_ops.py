"""Operations shared by migrations. Keep them stable: applied migrations import them."""

from django.db import migrations


def drop_public_id_like_index(table: str) -> migrations.RunPython:
    """Drop the varchar_pattern_ops copy Django adds on PostgreSQL to the index of every unique
    CharField (`<table>_public_id_<hash>_like`). It serves LIKE on public_id, which nothing runs,
    and every index costs every row written."""

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname LIKE %s",
                [table, f"{table}_public_id_%_like"],
            )
            for (name,) in cursor.fetchall():
                schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')

    return migrations.RunPython(drop, migrations.RunPython.noop)
