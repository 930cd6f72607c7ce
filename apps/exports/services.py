"""CSV exports of customers, products, orders and vouchers.

`export_start` records a Job and enqueues `export_run` (Celery, bulk queue), which streams the
list page's filtered queryset into a CSV file in storage and reports progress on the job; the
dashboard polls the job and offers the file for download.

The database formats the cells (ISO timestamps, major units, metadata keys as text). On
PostgreSQL it also escapes them (`SafeText`, the SQL form of `safe_cell`) and writes the CSV
itself through COPY; elsewhere a server-side cursor feeds csv.writer through `safe_cell`.
"""

import csv
import io
import logging
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.core import signing
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection, connections, transaction
from django.db.models import Case, Count, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.fields import TextField
from django.db.models.functions import Cast, Coalesce
from django.http import QueryDict

from apps.campaigns.discounts import describe_discount
from apps.campaigns.selectors import voucher_list
from apps.core.conditions import FilterError, check_metadata_key, compile_filter, metadata_key
from apps.core.csv import safe_cell, safe_row
from apps.core.errors import ApplicationError
from apps.core.money import currency_exponent
from apps.customers.selectors import customer_list
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_create, job_fail, job_finish, job_progress, job_start
from apps.metadata.services import schema_for
from apps.orders.models import OrderItem
from apps.orders.selectors import order_list
from apps.products.selectors import product_list

from .catalog import NOT_SUPPORTED, OBJECTS, ExportObject
from .sql import IsoDate, IsoTimestamp, MajorUnits, MetadataText, SafeText

logger = logging.getLogger(__name__)

JOB_TYPE_PREFIX = "export."
CHUNK_SIZE = 5_000  # rows per FETCH from the server-side cursor
PROGRESS_EVERY = 10_000  # rows between job_progress updates
MAX_METADATA_COLUMNS = 200
IGNORED_PARAMS = ("page",)


@dataclass(frozen=True)
class ExportKind:
    name: str  # customers | products | orders
    label: str
    metadata_resource: str  # apps.metadata Resource value
    select: Callable | None  # (project, QueryDict) -> (queryset, filterset)
    columns: Callable | None  # (exponent, currency[, queryset]) -> list[(header, expression)]
    # columns that depend on the rows (vouchers' discounts in words) get the queryset too
    columns_need_rows: bool = False
    # False: only the API exports it (catalog.OBJECTS), the dashboard offers no such export
    dashboard: bool = True


def _customer_columns(exponent: int, currency: str) -> list[tuple[str, object]]:
    return [
        ("id", F("public_id")),
        ("source_id", F("source_id")),
        ("name", F("name")),
        ("email", F("email")),
        ("phone", F("phone")),
        ("birthdate", IsoDate("birthdate")),
        ("address_line_1", F("address_line_1")),
        ("address_line_2", F("address_line_2")),
        ("address_city", F("address_city")),
        ("address_state", F("address_state")),
        ("address_postal_code", F("address_postal_code")),
        ("address_country", F("address_country")),
        ("description", F("description")),
        ("created_at", IsoTimestamp("created_at")),
        ("updated_at", IsoTimestamp("updated_at")),
        (f"orders_total_amount ({currency})", MajorUnits("orders_total_amount", exponent=exponent)),
        ("orders_total_count", F("orders_total_count")),
        (
            f"orders_average_amount ({currency})",
            MajorUnits("orders_average_amount", exponent=exponent),
        ),
        (
            f"orders_last_order_amount ({currency})",
            MajorUnits("orders_last_order_amount", exponent=exponent),
        ),
        ("orders_last_order_date", IsoTimestamp("orders_last_order_date")),
    ]


def _product_columns(exponent: int, currency: str) -> list[tuple[str, object]]:
    return [
        ("id", F("public_id")),
        ("source_id", F("source_id")),
        ("name", F("name")),
        (f"price ({currency})", MajorUnits("price", exponent=exponent)),
        ("attributes", Cast("attributes", TextField())),
        ("image_url", F("image_url")),
        ("created_at", IsoTimestamp("created_at")),
    ]


def _order_columns(exponent: int, currency: str) -> list[tuple[str, object]]:
    items = (
        OrderItem.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return [
        ("id", F("public_id")),
        ("source_id", F("source_id")),
        ("status", F("status")),
        (f"amount ({currency})", MajorUnits("amount", exponent=exponent)),
        (f"discount_amount ({currency})", MajorUnits("discount_amount", exponent=exponent)),
        (f"total_amount ({currency})", MajorUnits("total_amount", exponent=exponent)),
        ("customer_source_id", F("customer__source_id")),
        ("created_at", IsoTimestamp("created_at")),
        ("items_count", Coalesce(Subquery(items), Value(0))),
    ]


MAX_DESCRIBED_DISCOUNTS = 200


def _discount_text(queryset: QuerySet, currency: str):
    """Each voucher's discount in words (describe_discount). The distinct discounts of the rows
    are few (one per campaign, plus codes edited one by one): they are described here and the
    database picks the text per row; past MAX_DESCRIBED_DISCOUNTS the rest show as JSON."""
    discounts = list(
        queryset.order_by()
        .filter(discount__isnull=False)
        .values_list("discount", flat=True)
        .distinct()[: MAX_DESCRIBED_DISCOUNTS + 1]
    )
    whens = [
        When(discount=discount, then=Value(describe_discount(discount, currency)))
        for discount in discounts[:MAX_DESCRIBED_DISCOUNTS]
        if isinstance(discount, dict)
    ]
    fallback = Value("")
    if len(discounts) > MAX_DESCRIBED_DISCOUNTS:
        fallback = Coalesce(Cast("discount", TextField()), Value(""))
    if not whens:
        return fallback
    return Case(*whens, default=fallback, output_field=TextField())


def _voucher_columns(exponent: int, currency: str, queryset: QuerySet) -> list[tuple[str, object]]:
    return [
        ("code", F("code")),
        ("id", F("public_id")),
        ("campaign", F("campaign__name")),
        ("type", F("type")),
        ("discount", _discount_text(queryset, currency)),
        (f"gift_balance ({currency})", MajorUnits("gift_balance", exponent=exponent)),
        ("loyalty_balance", F("loyalty_balance")),
        ("redemption_quantity", F("redemption_quantity")),
        ("redeemed_quantity", F("redeemed_quantity")),
        ("holder_source_id", F("holder__source_id")),
        (
            "active",
            Case(
                When(active=True, then=Value("true")),
                default=Value("false"),
                output_field=TextField(),
            ),
        ),
        ("start_date", IsoTimestamp("start_date")),
        ("expiration_date", IsoTimestamp("expiration_date")),
        ("created_at", IsoTimestamp("created_at")),
    ]


KINDS = {
    kind.name: kind
    for kind in (
        ExportKind(
            "customers",
            "Customers",
            "customer",
            lambda project, filters: customer_list(project=project, filters=filters),
            _customer_columns,
        ),
        ExportKind(
            "products",
            "Products",
            "product",
            lambda project, filters: product_list(project=project, filters=filters),
            _product_columns,
        ),
        ExportKind(
            "orders",
            "Orders",
            "order",
            lambda project, filters: order_list(project=project, filters=filters),
            _order_columns,
        ),
        ExportKind(
            "vouchers",
            "Vouchers",
            "voucher",
            lambda project, filters: voucher_list(project=project, filters=filters),
            _voucher_columns,
            columns_need_rows=True,
        ),
        ExportKind("skus", "SKUs", "sku", None, None, dashboard=False),
        ExportKind("redemptions", "Redemptions", "redemption", None, None, dashboard=False),
        ExportKind("publications", "Publications", "publication", None, None, dashboard=False),
    )
}


def export_kind(job: Job) -> ExportKind | None:
    return KINDS.get(job.type.removeprefix(JOB_TYPE_PREFIX))


def clean_filters(filters: str) -> str:
    """The list page's query string without paging and empty values, normalised."""
    data = QueryDict(filters or "", mutable=True)
    for name in IGNORED_PARAMS:
        data.pop(name, None)
    for name in list(data):
        values = [value for value in data.getlist(name) if value.strip()]
        if values:
            data.setlist(name, values)
        else:
            del data[name]
    return data.urlencode()


def _filtered_queryset(kind: ExportKind, project, filters: str) -> tuple[QuerySet, object]:
    queryset, filterset = kind.select(project, QueryDict(filters or ""))
    if not filterset.is_bound:
        # No filters: the FilterSet is unbound and its .qs is the whole (project's) list.
        queryset = filterset.qs
    return queryset, filterset


def export_start(*, project, kind: str, filters: str = "", created_by=None) -> Job:
    """Record an export job for the list `kind` filtered like the list page, and enqueue it."""
    from .tasks import export_run_task

    spec = KINDS.get(kind)
    if spec is None or not spec.dashboard:
        raise ApplicationError(f"Unknown export “{kind}”.", key="invalid_export")
    filters = clean_filters(filters)
    _, filterset = _filtered_queryset(spec, project, filters)
    if filterset.is_bound and not filterset.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()
        )
        raise ApplicationError(f"The filters are not valid ({problems}).", key="invalid_filters")
    with transaction.atomic():
        job = job_create(
            project=project,
            type=JOB_TYPE_PREFIX + spec.name,
            created_by=created_by,
            params={"kind": spec.name, "filters": filters},
        )
        export_run_task.delay_on_commit(job.pk)
    return job


def export_run(*, job_id: int, method: str | None = None) -> None:
    """Write the job's CSV file from scratch and finish the job. A job that already finished is
    left alone (a redelivered task); one left IN_PROGRESS by a crashed worker is redone.
    `method` ("copy" or "python") overrides the writer `export_write` picks (benchmarks)."""
    job = Job.objects.select_related("project").filter(pk=job_id).first()
    if job is None or job.is_finished:  # deleted meanwhile, or a redelivered task
        return
    spec = export_kind(job)
    if spec is None:
        job_fail(job_id=job.pk, error=f"Unknown export type {job.type}.")
        return
    try:
        columns = None
        if "exported_object" in job.params:  # an export made through the API
            queryset = api_queryset(job.project, job.params)
            columns = api_columns(job.project, job.params, queryset)
        else:
            queryset, _ = _filtered_queryset(spec, job.project, job.params.get("filters", ""))
        total = queryset.count()
        if not job_start(job_id=job.pk, total=total):
            return
        job_progress(job_id=job.pk, processed=0)
        result = _write_export(
            job=job, spec=spec, queryset=queryset, method=method, columns=columns
        )
    except Exception as exc:
        logger.exception("Export %s failed", job.public_id)
        job_fail(job_id=job.pk, error=f"The export failed: {exc}")
        return
    job_finish(job_id=job.pk, result=result)


def export_file_name(job: Job) -> str:
    return f"{job.project.public_id}/exports/{job.public_id}.csv"


def export_download_name(job: Job) -> str:
    return f"{job.params.get('kind', 'export')}-{job.created_at:%Y%m%d-%H%M}.csv"


def metadata_keys(queryset: QuerySet, *, schema_keys=()) -> list[str]:
    """The metadata keys used by the rows of `queryset` (collected in SQL), plus the keys of the
    resource's metadata schema, sorted."""
    # `sql` is the ORM's own compiled query; every user value in it is a bound parameter.
    sql, params = queryset.order_by().values("metadata").query.sql_with_params()
    if connection.vendor == "postgresql":
        query = (
            f"SELECT DISTINCT k FROM ({sql}) AS rows, jsonb_object_keys(rows.metadata) AS k "  # noqa: S608
            "WHERE jsonb_typeof(rows.metadata) = 'object' ORDER BY k LIMIT %s"
        )
    else:
        query = (
            f"SELECT DISTINCT j.key FROM ({sql}) AS rows, json_each(rows.metadata) AS j "  # noqa: S608
            "WHERE json_type(rows.metadata) = 'object' ORDER BY j.key LIMIT %s"
        )
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, MAX_METADATA_COLUMNS + 1])
        found = [row[0] for row in cursor.fetchall()]
    return sorted(set(found) | set(schema_keys))[: MAX_METADATA_COLUMNS + 1]


def export_columns(*, project, spec: ExportKind, queryset: QuerySet) -> tuple[list, bool]:
    """[(header, expression)] for `spec`, with one `metadata.<key>` column per key found."""
    currency = project.currency
    exponent = currency_exponent(currency)
    if spec.columns_need_rows:
        columns = spec.columns(exponent, currency, queryset)
    else:
        columns = spec.columns(exponent, currency)
    schema = schema_for(project=project, resource=spec.metadata_resource)
    keys = metadata_keys(queryset, schema_keys=schema.properties.keys())
    truncated = len(keys) > MAX_METADATA_COLUMNS
    columns += [
        (f"metadata.{key}", MetadataText("metadata", key=key))
        for key in keys[:MAX_METADATA_COLUMNS]
    ]
    return columns, truncated


def export_write(
    *,
    project,
    spec: ExportKind,
    queryset: QuerySet,
    out,
    on_progress=None,
    method=None,
    columns: tuple[list, bool] | None = None,
) -> dict:
    """Stream `queryset` as CSV (UTF-8) into the binary file `out`. Returns counts and header.

    PostgreSQL streams with COPY ... TO STDOUT (the database formats, escapes and quotes every
    cell, about 4x faster than Python); other databases, or `method="python"`, iterate a
    server-side cursor through csv.writer. Both write the same cells. `columns`
    ([(header, expression)], truncated) replaces the kind's (an API export's chosen fields).
    """
    columns, truncated = columns or export_columns(project=project, spec=spec, queryset=queryset)
    header = [name for name, _ in columns]
    text = io.StringIO()
    csv.writer(text).writerow(safe_row(header))
    out.write(text.getvalue().encode())
    method = method or ("copy" if connection.vendor == "postgresql" else "python")
    writer = _write_rows_copy if method == "copy" else _write_rows_python
    written = writer(queryset, [expression for _, expression in columns], out, on_progress)
    return {"rows": written, "columns": header, "metadata_keys_truncated": truncated}


def _write_rows_python(queryset, expressions, out, on_progress) -> int:
    aliases = {f"_c{index}": expression for index, expression in enumerate(expressions)}
    rows = queryset.annotate(**aliases).values_list(*aliases).iterator(chunk_size=CHUNK_SIZE)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text)
    written = 0
    while batch := list(islice(rows, PROGRESS_EVERY)):
        # Every cell goes through safe_cell: text starting with = + - @ tab CR gets a quote.
        writer.writerows(map(safe_cell, row) for row in batch)
        written += len(batch)
        if on_progress is not None:
            on_progress(written)
    text.flush()
    text.detach()
    return written


def _write_rows_copy(queryset, expressions, out, on_progress) -> int:
    """COPY (SELECT ...) TO STDOUT WITH (FORMAT csv), every text cell escaped by SafeText (the
    SQL form of safe_cell).

    A connection busy with COPY cannot run anything else, so the COPY gets a connection of its
    own and the default one stays free for progress updates. Inside a transaction (a caller's
    atomic block, tests) the COPY must see that transaction's rows: it then runs on the same
    connection and progress is reported at the end.
    """
    resolved = queryset.annotate(
        **{f"_c{index}": expression for index, expression in enumerate(expressions)}
    ).query.annotations
    aliases = {}
    for index, expression in enumerate(expressions):
        alias = f"_c{index}"
        is_text = resolved[alias].output_field.get_internal_type() in ("CharField", "TextField")
        aliases[alias] = SafeText(expression) if is_text else expression
    shared = connections[queryset.db].in_atomic_block
    copy_connection = (
        connections[queryset.db] if shared else connections.create_connection(queryset.db)
    )
    report = None if shared else on_progress
    reported = 0
    try:
        query = queryset.annotate(**aliases).values_list(*aliases).query
        sql, params = query.get_compiler(connection=copy_connection).as_sql()
        statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')"
        with copy_connection.cursor() as cursor:
            psycopg_cursor = cursor.cursor
            with psycopg_cursor.copy(statement, params) as copy:
                lines = 0
                for view in copy:
                    block = bytes(view)
                    out.write(block)
                    # Progress counts line ends: a cell with a line break overcounts a little.
                    lines += block.count(b"\n")
                    if report is not None and lines - reported >= PROGRESS_EVERY:
                        reported = lines
                        report(lines)
            written = psycopg_cursor.rowcount
    finally:
        if not shared:
            copy_connection.close()
    if on_progress is not None and written != reported:
        on_progress(written)
    return written


def _write_export(
    *, job: Job, spec: ExportKind, queryset: QuerySet, method=None, columns=None
) -> dict:
    """Write to a private temporary file and move it into place only when complete, so a crash
    or a second delivery never leaves a half-written file at the final name."""
    name = export_file_name(job)

    def progress(written: int) -> None:
        job_progress(job_id=job.pk, processed=written)

    if isinstance(default_storage, FileSystemStorage):
        final_path = default_storage.path(name)
        os.makedirs(os.path.dirname(final_path), exist_ok=True)
        part = f"{final_path}.{secrets.token_hex(6)}.part"
        try:
            with open(part, "wb", buffering=1 << 20) as out:
                result = export_write(
                    project=job.project,
                    spec=spec,
                    queryset=queryset,
                    out=out,
                    on_progress=progress,
                    method=method,
                    columns=columns,
                )
            os.replace(part, final_path)
        finally:
            if os.path.exists(part):
                os.remove(part)
        size = os.path.getsize(final_path)
    else:  # remote storage (S3, ...): spool to a local temporary file, then upload
        with tempfile.TemporaryFile() as spool:
            result = export_write(
                project=job.project,
                spec=spec,
                queryset=queryset,
                out=spool,
                on_progress=progress,
                method=method,
                columns=columns,
            )
            spool.seek(0)
            if default_storage.exists(name):
                default_storage.delete(name)
            name = default_storage.save(name, File(spool, name=os.path.basename(name)))
        size = default_storage.size(name)
    return {
        **result,
        "file": name,
        "filename": export_download_name(job),
        "size": size,
    }


def export_file_open(job: Job):
    """The finished export's file, opened for reading (binary)."""
    name = job.result.get("file", "")
    if not name.startswith(f"{job.project.public_id}/exports/"):
        raise FileNotFoundError(name)
    return default_storage.open(name, "rb")


# --- exports made through the API (Voucherify's POST /v1/exports) ---------------------------

API_CHANNEL = "API"
DOWNLOAD_SALT = "exports.download"
DOWNLOAD_MAX_AGE = 24 * 3600  # seconds a download link works


def invalid_params(message: str, details: str = "") -> ApplicationError:
    return ApplicationError(message, key="invalid_export_params", details=details)


def _api_object(name: Any) -> ExportObject:
    if name in NOT_SUPPORTED:
        raise invalid_params(f"Exports of {name} are not supported.", "exported_object")
    if not isinstance(name, str) or name not in OBJECTS:
        raise invalid_params(
            f"exported_object must be one of {', '.join(OBJECTS)}.", "exported_object"
        )
    return OBJECTS[name]


def _api_fields(spec: ExportObject, project, fields: Any) -> list[str]:
    if fields is None or fields == []:
        return list(spec.default_fields)
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ApplicationError(
            "parameters.fields must be a list of field names.",
            key="invalid_export_fields",
            details="parameters.fields",
        )
    known = spec.fields(project)
    unknown = [f for f in fields if f not in known and f != "metadata" and metadata_key(f) is None]
    if unknown:
        raise ApplicationError(
            f"Unknown {spec.name} export field(s): {', '.join(unknown)}. Use any of "
            f"{', '.join([*known, 'metadata', 'metadata.<key>'])}.",
            key="invalid_export_fields",
            details="parameters.fields",
        )
    for name in fields:
        if metadata_key(name) is not None:
            try:
                check_metadata_key(metadata_key(name), field=name)
            except FilterError as exc:
                raise ApplicationError(
                    exc.message, key="invalid_export_fields", details="parameters.fields"
                ) from exc
    return list(dict.fromkeys(fields))


def _api_order(spec: ExportObject, order: Any) -> str | None:
    if order is None:
        return None
    name = order.removeprefix("-") if isinstance(order, str) else None
    if name not in spec.orders:
        raise invalid_params(
            f"parameters.order must be one of {', '.join(spec.orders)} (prefix - for descending).",
            "parameters.order",
        )
    return order


def _api_filter(spec: ExportObject, project, filters: Any):
    """The `filters` as a Q over the rows; FilterError messages name the field."""
    if filters is not None and not isinstance(filters, dict):
        raise invalid_params("parameters.filters must be an object.", "parameters.filters")
    try:
        return compile_filter(filters or None, spec.filters)
    except FilterError as exc:
        raise invalid_params(f"parameters.filters: {exc.message}", "parameters.filters") from exc


def export_create(*, project, exported_object: Any, parameters: Any = None, created_by=None):
    """Voucherify's Create Export: rows of `exported_object` narrowed by `parameters.filters`
    (Voucherify's filter JSON), in `parameters.order`, with the columns `parameters.fields`
    (or the object's defaults). Everything is checked here; a job writes the file."""
    from .tasks import export_run_task

    spec = _api_object(exported_object)
    parameters = {} if parameters is None else parameters
    if not isinstance(parameters, dict):
        raise invalid_params("parameters must be an object.", "parameters")
    fields = _api_fields(spec, project, parameters.get("fields"))
    order = _api_order(spec, parameters.get("order"))
    _api_filter(spec, project, parameters.get("filters"))
    campaign_id = parameters.get("campaign_id")
    if campaign_id is not None and (spec.name != "voucher" or not isinstance(campaign_id, str)):
        raise invalid_params(
            "parameters.campaign_id names the campaign of a voucher export.",
            "parameters.campaign_id",
        )
    saved = {"fields": fields}
    if order:
        saved["order"] = order
    if parameters.get("filters"):
        saved["filters"] = parameters["filters"]
    if campaign_id:
        saved["campaign_id"] = campaign_id
    with transaction.atomic():
        job = job_create(
            project=project,
            type=JOB_TYPE_PREFIX + spec.kind,
            created_by=created_by,
            params={
                "kind": spec.kind,
                "filters": "",
                "exported_object": spec.name,
                "channel": API_CHANNEL,
                "parameters": saved,
            },
        )
        export_run_task.delay_on_commit(job.pk)
    return job


def api_queryset(project, params: dict) -> QuerySet:
    """The rows of an API export job, filtered and ordered as it asked."""
    spec = OBJECTS[params["exported_object"]]
    parameters = params.get("parameters") or {}
    queryset = spec.rows(project).filter(_api_filter(spec, project, parameters.get("filters")))
    campaign_id = parameters.get("campaign_id")
    if campaign_id:
        queryset = queryset.filter(
            Q(campaign__public_id=campaign_id) | Q(campaign__name=campaign_id)
        )
    order = parameters.get("order") or "-created_at"
    name = order.removeprefix("-")
    field = spec.orders.get(name, "created_at")
    descending = order.startswith("-")
    return queryset.order_by(f"-{field}" if descending else field, "-pk" if descending else "pk")


def api_columns(project, params: dict, queryset: QuerySet) -> tuple[list, bool]:
    """[(header, expression)] for the job's fields, and whether metadata keys were cut."""
    spec = OBJECTS[params["exported_object"]]
    known = spec.fields(project)
    columns, truncated = [], False
    for name in (params.get("parameters") or {}).get("fields") or spec.default_fields:
        key = metadata_key(name)
        if name == "metadata":
            resource = KINDS[spec.kind].metadata_resource
            schema = schema_for(project=project, resource=resource)
            keys = metadata_keys(queryset, schema_keys=schema.properties.keys())
            truncated = len(keys) > MAX_METADATA_COLUMNS
            columns += [
                (f"metadata.{key}", MetadataText("metadata", key=key))
                for key in keys[:MAX_METADATA_COLUMNS]
            ]
        elif key is not None:
            columns.append((name, MetadataText("metadata", key=key)))
        else:
            columns.append((name, known[name]))
    return columns, truncated


def export_exported_object(job: Job) -> str:
    """Voucherify's name for what the export holds (`order`, `customer`, ...)."""
    if "exported_object" in job.params:
        return job.params["exported_object"]
    kind = job.type.removeprefix(JOB_TYPE_PREFIX)
    return next((spec.name for spec in OBJECTS.values() if spec.kind == kind), kind)


def export_token(job: Job) -> str:
    """A signed token naming the export and its project: it downloads the file, without an API
    key, for DOWNLOAD_MAX_AGE seconds."""
    return signing.dumps({"export": job.public_id, "project": job.project_id}, salt=DOWNLOAD_SALT)


def export_for_token(*, export_id: str, token: str) -> Job:
    """The finished export a download token grants, or ApplicationError (401 for a bad or
    expired token, 404 when the export or its file is gone or not finished)."""
    try:
        granted = signing.loads(token, salt=DOWNLOAD_SALT, max_age=DOWNLOAD_MAX_AGE)
    except signing.BadSignature as exc:  # SignatureExpired is one too
        raise ApplicationError(
            "Unauthorized",
            key="unauthorized",
            code=401,
            details="The download token is invalid or has expired; get the export again.",
        ) from exc
    if not isinstance(granted, dict) or granted.get("export") != export_id:
        raise ApplicationError(
            "Unauthorized",
            key="unauthorized",
            code=401,
            details="The download token is for another export.",
        )
    job = (
        Job.objects.select_related("project")
        .filter(
            public_id=export_id,
            project_id=granted.get("project"),
            type__startswith=JOB_TYPE_PREFIX,
            status=JobStatus.DONE,
        )
        .first()
    )
    if job is None:
        raise ApplicationError(
            "Resource not found",
            key="not_found",
            code=404,
            details=f"Cannot find a finished export with id {export_id}",
        )
    return job


def export_delete(*, job: Job) -> None:
    """Remove the export and its file."""
    name = (job.result or {}).get("file", "")
    if name.startswith(f"{job.project.public_id}/exports/") and default_storage.exists(name):
        default_storage.delete(name)
    job.delete()
