"""SQL expressions that format export cells in the database: timestamps as ISO 8601 UTC, cents as
major units, one metadata key as text, and (for COPY) formula escaping.

Each has a PostgreSQL and a SQLite form producing the same text.
"""

import json

from django.db.models import CharField, Func, TextField

from apps.core.csv import FORMULA_PREFIXES


class IsoTimestamp(Func):
    """`2026-03-01T10:00:00.123Z` (UTC, milliseconds, like Voucherify's timestamps)."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"""to_char(({sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')""",
            params,
        )

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores aware datetimes as UTC text on SQLite; %f is SS.SSS.
        sql, params = compiler.compile(self.source_expressions[0])
        return f"strftime(%s, {sql})", ["%Y-%m-%dT%H:%M:%fZ", *params]


class MajorUnits(Func):
    """Minor units (an integer column) as major units with the currency's decimals: 1250 → 12.50."""

    output_field = CharField()

    def __init__(self, expression, *, exponent: int, **extra):
        if not isinstance(exponent, int) or not 0 <= exponent <= 4:
            raise ValueError(f"Unsupported currency exponent {exponent!r}")
        self.exponent = exponent
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        divisor = 10**self.exponent
        return f"(ROUND(({sql})::numeric / {divisor}, {self.exponent}))::text", params

    def as_sqlite(self, compiler, connection, **extra):
        # Integer arithmetic, so no float ever rounds a large amount.
        sql, params = compiler.compile(self.source_expressions[0])
        if self.exponent == 0:
            return f"CAST(({sql}) AS TEXT)", params
        divisor = 10**self.exponent
        pad = "0" * self.exponent
        whole = f"(abs({sql}) / {divisor})"  # integer division
        # The remainder without the % operator (the query's placeholder character).
        fraction = f"(abs({sql}) - {whole} * {divisor})"
        template = (
            f"CASE WHEN ({sql}) IS NULL THEN NULL ELSE "
            f"(CASE WHEN ({sql}) < 0 THEN '-' ELSE '' END) || CAST({whole} AS TEXT) || '.' "
            f"|| substr('{pad}' || CAST({fraction} AS TEXT), -{self.exponent}) END"
        )
        return template, params * 5


class MetadataText(Func):
    """The value of one top-level metadata key as text (`true`/`false` for booleans, JSON text
    for objects and arrays, NULL when absent)."""

    output_field = TextField()

    def __init__(self, expression, *, key: str, **extra):
        self.key = key
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(({sql}) ->> %s)", [*params, self.key]

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        path = "$." + json.dumps(self.key)
        template = (
            f"CASE json_type({sql}, %s) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            f"ELSE CAST(json_extract({sql}, %s) AS TEXT) END"
        )
        return template, [*params, path, *params, path]


class IsoDate(Func):
    """A date as `YYYY-MM-DD`, whatever the session's DateStyle."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"to_char({sql}, 'YYYY-MM-DD')", params

    def as_sql(self, compiler, connection, **extra):
        # SQLite stores dates as ISO text already.
        return compiler.compile(self.source_expressions[0])


class SafeText(Func):
    """`apps.core.csv.safe_cell` in SQL, for exports that the database writes itself (COPY):
    text starting with a formula trigger gets a leading apostrophe. Empty text becomes NULL, so
    COPY writes an empty cell as csv.writer does (not `""`)."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra):
        # ascii() compares integers, much faster than text comparisons; ascii('') is 0, and
        # PostgreSQL text cannot hold NUL, so NUL is left out.
        sql, params = compiler.compile(self.source_expressions[0])
        codes = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES if prefix != "\x00")
        template = (
            f"CASE WHEN ascii({sql}) IN ({codes}) THEN '''' || ({sql}) ELSE NULLIF({sql}, '') END"
        )
        return template, params * 3

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        placeholders = ", ".join(["%s"] * len(FORMULA_PREFIXES))
        template = (
            f"CASE WHEN substr({sql}, 1, 1) IN ({placeholders}) THEN '''' || ({sql}) "
            f"ELSE NULLIF({sql}, '') END"
        )
        return template, [*params, *FORMULA_PREFIXES, *params, *params]
