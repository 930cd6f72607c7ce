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


def set_fillfactor(table: str, percent: int) -> migrations.RunPython:
    """Leave `100 - percent` % of each new heap page of `table` free on PostgreSQL, for rows
    that are updated after they are written. An update that changes no indexed column then
    stays on its page (a HOT update) and writes no index entry; on a full page it is written
    elsewhere and every index of the table gets a new entry. Pages written before keep their
    layout until the table is rewritten (VACUUM FULL, CLUSTER)."""

    def alter(apps, schema_editor, value=percent):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'ALTER TABLE "{table}" SET (fillfactor = {int(value)})')

    return migrations.RunPython(alter, lambda a, s: alter(a, s, 100))
