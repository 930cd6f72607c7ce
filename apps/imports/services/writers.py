"""Writing one batch of valid rows, set-based.

`SqlUpsertWriter` loads the batch into a temporary staging table (PostgreSQL: `COPY`; SQLite:
`executemany`) and runs one `INSERT … ON CONFLICT (project_id, source_id) DO UPDATE … WHERE
(row differs)`: new rows are inserted with fresh public ids, changed rows get only the file's
columns and a new `updated_at`, unchanged rows are not written at all. The dry run loads the
same staging table and counts instead of writing.

`OrderWriter` writes historical orders set-based with the rules of
`apps.orders.services.order_upsert(imported=True)` (events, customers, amounts), rows with items
through `order_upsert` itself, then refreshes the affected customers' order summaries in one
statement.

SQL is assembled from identifiers of our own models (quoted with `quote_name`); every value,
metadata keys included, is a query parameter.
"""

from django.db import connection, transaction
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.core.ids import ordered_public_ids
from apps.customers.models import Customer
from apps.orders.models import Order, OrderEvent, OrderStatus
from apps.orders.services import customers_refresh_order_summary, order_upsert

STAGE = "imports_stage"
SKIP_DEFAULTS = {"id", "project", "created_at", "updated_at"}
# COPY's text format: tab-separated, \N for NULL, backslash escapes. A row is joined with two
# control characters standing for "tab" and "NULL"; most rows need no escaping at all.
_TAB, _NULL = "\x1f", "\x1e"
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
IDS_AT_ONCE = 4096


def copy_line(values: list) -> bytes:
    """One row in COPY's text format: tab-separated, backslash-escaped, `\\N` for NULL."""
    parts = [v if v.__class__ is str else _NULL if v is None else str(v) for v in values]
    text = _TAB.join(parts)
    if (
        "\\" not in text
        and "\t" not in text
        and "\n" not in text
        and "\r" not in text
        and text.count(_TAB) == len(parts) - 1
        and text.count(_NULL) == parts.count(_NULL)
    ):
        return (text.replace(_TAB, "\t").replace(_NULL, "\\N") + "\n").encode()
    return (
        "\t".join("\\N" if v is None else str(v).translate(COPY_ESCAPES) for v in values) + "\n"
    ).encode()


class SqlUpsertWriter:
    def __init__(
        self,
        *,
        model,
        project,
        columns: list[str],
        json_columns: list[str],
        metadata_keys: list[str] | None,
        public_prefix: str,
        insert_only: list[str],
        insert_defaults: dict | None = None,
    ):
        self.project = project
        self.public_prefix = public_prefix
        self.postgres = connection.vendor == "postgresql"
        self.qn = connection.ops.quote_name
        meta = model._meta
        self.table = self.qn(meta.db_table)
        self.update_columns = [meta.get_field(name).column for name in columns]
        self.json_columns = {meta.get_field(name).column for name in json_columns}
        self.metadata_keys = metadata_keys
        self.stage_columns = [
            "public_id",
            *insert_only,
            "source_id",
            *self.update_columns,
            *(["metadata"] if metadata_keys is not None else []),
        ]
        # Every other NOT NULL column gets its model default (Django defaults are not in the
        # database schema), passed as parameters.
        self.default_columns, self.default_params = [], []
        taken = set(self.stage_columns)
        for field in meta.concrete_fields:
            if field.name in SKIP_DEFAULTS or field.column in taken:
                continue
            value = (insert_defaults or {}).get(field.name, field.get_default())
            if value is None and field.null:
                continue
            self.default_columns.append(field.column)
            self.default_params.append(field.get_db_prep_save(value, connection))
        # PostgreSQL rows without insert-only columns are encoded as COPY lines by the reader.
        self.copy_lines = self.postgres and not insert_only
        self._ids: list[str] = []

    def encode(self, row: list):
        """A valid row (source_id first) → what `_stage` loads, with a fresh public id (used
        only if the row turns out to be new). Runs in the reader thread."""
        if not self._ids:
            # ascending, consumed from the end: reversed so that rows get them in order
            self._ids = ordered_public_ids(self.public_prefix, IDS_AT_ONCE)[::-1]
        public_id = self._ids.pop()
        if self.copy_lines:
            return copy_line([public_id, *row])
        return (public_id, *row)

    # -- SQL pieces --------------------------------------------------------------------------

    def _key(self, key: str):
        return key if self.postgres else '$."' + key + '"'

    def _differs(self, other: str) -> tuple[str, list]:
        """SQL true when the stored row `t` differs from `other` in a column the file has."""
        op = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        parts, params = [], []
        for column in self.update_columns:
            c = self.qn(column)
            if column in self.json_columns and not self.postgres:
                parts.append(f"json(t.{c}) IS NOT json({other}.{c})")
            else:
                parts.append(f"t.{c} {op} {other}.{c}")
        cast = "::text" if self.postgres else ""
        for key in self.metadata_keys or ():
            parts.append(f'(t."metadata" -> %s{cast}) {op} ({other}."metadata" -> %s{cast})')
            params += [self._key(key), self._key(key)]
        return " OR ".join(parts), params

    def _merged_metadata(self) -> tuple[str, list]:
        """The file's metadata keys replace those keys (an empty cell removes one); other keys
        stay as they are."""
        if self.postgres:
            return '(t."metadata" - %s::text[]) || EXCLUDED."metadata"', [list(self.metadata_keys)]
        paths = [self._key(key) for key in self.metadata_keys]
        holes = ", ".join(["%s"] * len(paths))
        return f'json_patch(json_remove(t."metadata", {holes}), EXCLUDED."metadata")', paths

    def _upsert_sql(self, now) -> tuple[str, list]:
        qn = self.qn
        insert_columns = ["project_id", "created_at", "updated_at", *self.stage_columns]
        insert_columns += self.default_columns
        select = ["%s", "%s", "%s", *[f"s.{qn(c)}" for c in self.stage_columns]]
        select += ["%s"] * len(self.default_columns)
        params = [self.project.pk, now, now, *self.default_params]
        sql = (
            f"INSERT INTO {self.table} AS t ({', '.join(qn(c) for c in insert_columns)}) "  # noqa: S608
            f"SELECT {', '.join(select)} FROM {STAGE} AS s WHERE true "
            'ON CONFLICT ("project_id", "source_id") WHERE "source_id" IS NOT NULL '
        )
        sets = [f"{qn(c)} = EXCLUDED.{qn(c)}" for c in self.update_columns]
        if self.metadata_keys is not None:
            merged, merged_params = self._merged_metadata()
            sets.append(f'"metadata" = {merged}')
            params += merged_params
        if not sets:
            return sql + "DO NOTHING", params
        sets.append('"updated_at" = EXCLUDED."updated_at"')
        differs, differs_params = self._differs("EXCLUDED")
        params += differs_params
        return sql + f"DO UPDATE SET {', '.join(sets)} WHERE {differs}", params

    # -- staging -----------------------------------------------------------------------------

    def _stage(self, cursor, batch) -> int:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        columns = ", ".join(self.qn(c) for c in self.stage_columns)
        if self.postgres:
            cursor.execute(
                f"CREATE TEMP TABLE {STAGE} AS SELECT {columns} FROM {self.table} WITH NO DATA"  # noqa: S608
            )
        else:
            cursor.execute(
                f"CREATE TEMP TABLE {STAGE} AS SELECT {columns} FROM {self.table} WHERE 0"  # noqa: S608
            )
        if self.copy_lines:
            with cursor.cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN") as copy:
                copy.write(b"".join(batch.rows))
            return len(batch.rows)
        extra = batch.insert_values or [()] * len(batch.rows)
        rows = [(row[0], *values, *row[1:]) for values, row in zip(extra, batch.rows, strict=True)]
        if self.postgres:
            with cursor.cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            holes = ", ".join(["%s"] * len(self.stage_columns))
            cursor.executemany(
                f"INSERT INTO {STAGE} ({columns}) VALUES ({holes})",  # noqa: S608
                rows,
            )
        return len(rows)

    def _existing(self, cursor) -> int:
        cursor.execute(
            f"SELECT COUNT(*) FROM {STAGE} AS s JOIN {self.table} AS t "  # noqa: S608
            "ON t.project_id = %s AND t.source_id = s.source_id",
            [self.project.pk],
        )
        return cursor.fetchone()[0]

    # -- the two entry points ----------------------------------------------------------------

    def dry_run(self, batch) -> tuple[dict, list]:
        """Counts only: how many rows would be new, updated or unchanged."""
        if not batch.rows:
            return {"new": 0, "updated": 0, "unchanged": 0}, []
        with transaction.atomic(), connection.cursor() as cursor:
            staged = self._stage(cursor, batch)
            differs, params = self._differs("s")
            changed = f"CASE WHEN t.id IS NOT NULL AND ({differs}) THEN 1 ELSE 0 END"
            if not differs:
                changed = "0"
            cursor.execute(
                f"SELECT COUNT(t.id), COALESCE(SUM({changed}), 0) FROM {STAGE} AS s "  # noqa: S608
                f"LEFT JOIN {self.table} AS t ON t.project_id = %s AND t.source_id = s.source_id",
                [*params, self.project.pk],
            )
            existing, updated = cursor.fetchone()
            cursor.execute(f"DROP TABLE {STAGE}")
        return {
            "new": staged - existing,
            "updated": int(updated),
            "unchanged": existing - int(updated),
        }, []

    def apply(self, batch, *, now=None) -> tuple[dict, list]:
        """Write the batch. Must run inside the caller's transaction (one per batch)."""
        if not batch.rows:
            return {"new": 0, "updated": 0, "unchanged": 0}, []
        now = now or timezone.now()
        sql, params = self._upsert_sql(now)
        with connection.cursor() as cursor:
            staged = self._stage(cursor, batch)
            if self.postgres:
                cursor.execute(
                    f"WITH up AS ({sql} RETURNING (xmax = 0) AS inserted) "  # noqa: S608
                    "SELECT COUNT(*) FILTER (WHERE inserted), COUNT(*) FILTER (WHERE NOT inserted) "
                    "FROM up",
                    params,
                )
                new, updated = cursor.fetchone()
            else:
                existing = self._existing(cursor)
                cursor.execute(sql + " RETURNING 1", params)
                written = len(cursor.fetchall())
                new = staged - existing
                updated = written - new
            cursor.execute(f"DROP TABLE {STAGE}")
        return {"new": new, "updated": updated, "unchanged": staged - new - updated}, []


class _DryRunRollback(Exception):
    pass


class OrderWriter:
    """Historical orders (`imported=True`), following `apps.orders.services.order_upsert`.

    Rows without `items` are written set-based: missing customers created in one statement
    (like `customer_resolve` with only a source_id), orders inserted with `bulk_create` and
    updated with `bulk_update` under row locks, their OrderEvents (all `imported=True`) created in
    one statement, and the affected customers' order summaries refreshed once per batch with
    `customers_refresh_order_summary`. Rows with `items` go through `order_upsert` one by one,
    since items resolve products and SKUs. Rows equal to the stored order are skipped.
    """

    def __init__(self, *, project, **kwargs):
        self.project = project

    def encode(self, row):
        return row

    def _write(self, batch, now) -> tuple[dict, list]:
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        problems: list = []
        customers: set = set()
        simple = []
        for payload, line, state in zip(batch.rows, batch.lines, batch.checks, strict=True):
            if state == "unchanged":
                counts["unchanged"] += 1
            elif "items" in payload:
                self._one(payload, line, counts, problems, customers)
            else:
                simple.append((payload, line))
        if simple:
            self._bulk(simple, now, counts, problems, customers)
        customers_refresh_order_summary(customer_ids=customers)
        return counts, problems

    def _one(self, payload, line, counts, problems, customers) -> None:
        try:
            with transaction.atomic():
                order, created = order_upsert(project=self.project, payload=payload, imported=True)
        except ApplicationError as exc:
            problems.append((line, exc.details or "", exc.message))
            return
        counts["new" if created else "updated"] += 1
        customers.add(order.customer_id)

    def _customer_ids(self, source_ids: set[str]) -> dict[str, int]:
        """Customers by source_id, creating the missing ones (only a source_id, as an order
        payload `{"customer": {"source_id": …}}` would)."""
        found = dict(
            Customer.objects.filter(project=self.project, source_id__in=source_ids).values_list(
                "source_id", "pk"
            )
        )
        missing = source_ids - found.keys()
        if missing:
            Customer.objects.bulk_create(
                [
                    Customer(
                        project=self.project, source_id=s, system_metadata={"source": "import"}
                    )
                    for s in sorted(missing)
                ],
                batch_size=1000,
                ignore_conflicts=True,  # created meanwhile by an API call: the unique key decides
            )
            found.update(
                Customer.objects.filter(project=self.project, source_id__in=missing).values_list(
                    "source_id", "pk"
                )
            )
        return found

    def _bulk(self, rows, now, counts, problems, customers) -> None:
        customer_ids = self._customer_ids({p["customer"]["source_id"] for p, _ in rows})
        stored = {
            order.source_id: order
            for order in Order.objects.select_for_update()
            .filter(project=self.project, source_id__in=[p["source_id"] for p, _ in rows])
            .order_by("pk")
        }
        new, changed, events = [], [], []
        for payload, line in rows:
            order = stored.get(payload["source_id"])
            created = order is None
            if created:
                order = Order(
                    project=self.project,
                    source_id=payload["source_id"],
                    imported=True,
                    created_at=payload.get("created_at") or now,
                )
            previous_status = None if created else order.status
            previous_customer = order.customer_id
            order.status = payload["status"]
            order.customer_id = customer_ids[payload["customer"]["source_id"]]
            if "amount" in payload:
                order.amount = payload["amount"]
            if "discount_amount" in payload:
                order.discount_amount = payload["discount_amount"] or 0
            order.total_discount_amount = order.discount_amount + order.items_discount_amount
            if order.total_discount_amount > order.amount:
                problems.append(
                    (
                        line,
                        "discount_amount",
                        f"the discounts ({order.total_discount_amount}) exceed the amount "
                        f"({order.amount})",
                    )
                )
                continue
            order.total_amount = order.amount - order.total_discount_amount
            if "metadata" in payload:
                order.metadata = payload["metadata"]
            order.updated_at = now
            (new if created else changed).append(order)
            customers.update({order.customer_id, previous_customer} - {None})
            # The same events as order_upsert, all marked imported.
            kinds = []
            if created:
                kinds.append(("order.created", order.created_at))
            if order.status != previous_status and order.status != OrderStatus.CREATED:
                kinds.append((f"order.{order.status.lower()}", now))
            elif not created:
                kinds.append(("order.updated", now))
            events.append((order, kinds))
        Order.objects.bulk_create(new, batch_size=1000)
        Order.objects.bulk_update(changed, ORDER_FIELDS, batch_size=1000)
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(
                    project_id=order.project_id,
                    order=order,
                    customer_id=order.customer_id,
                    type=kind,
                    imported=True,
                    created_at=when,
                )
                for order, kinds in events
                for kind, when in kinds
            ],
            batch_size=1000,
        )
        counts["new"] += len(new)
        counts["updated"] += len(changed)

    def dry_run(self, batch) -> tuple[dict, list]:
        """Run the real writes inside a savepoint and roll them back: the counts and per-row
        errors (e.g. an unknown product in `items`) are exactly what the import would do."""
        result = None
        try:
            with transaction.atomic():
                result = self._write(batch, timezone.now())
                raise _DryRunRollback
        except _DryRunRollback:
            pass
        return result

    def apply(self, batch, *, now=None) -> tuple[dict, list]:
        return self._write(batch, now or timezone.now())


ORDER_FIELDS = [
    "status",
    "customer",
    "amount",
    "discount_amount",
    "total_discount_amount",
    "total_amount",
    "metadata",
    "updated_at",
]
