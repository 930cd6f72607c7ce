"""Per-kind row rules: turn the cells of one CSV row into a row to write, or into problems.

`Plan.clean(cells)` is plain Python with no database access (it runs in the reader thread);
`Plan.check_batch(batch)` runs in the writing thread and may use the database once per batch
(public-id checks, SKU products, existing order state). Customers' fields go through
`apps.customers.services.clean_customer_data`, the rules of every other customer write.
"""

import contextlib
import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.customers.models import Customer
from apps.customers.services import clean_customer_data
from apps.metadata.models import Resource
from apps.metadata.services import Schema, schema_for
from apps.metadata.validation import coerce_text
from apps.orders.models import Order, OrderStatus
from apps.products.models import Product, Sku

from ..columns import METADATA_PREFIX
from ..models import ImportKind
from .writers import OrderWriter, SqlUpsertWriter

Issue = tuple[int, str, str]  # (line, column, message)
MAX_SOURCE_ID = 255
MAX_URL = 2048
# json.dumps(value, separators=(",", ":")) without building an encoder per row
_compact_json = json.JSONEncoder(separators=(",", ":")).encode


@dataclass
class Batch:
    number: int
    first_line: int
    last_line: int = 0
    records: int = 0  # data rows read in this batch (valid and invalid; blank lines skipped)
    rows: list = field(default_factory=list)  # valid rows, in the writer's encoding
    keys: list[str] = field(default_factory=list)  # the source_id of each valid row
    lines: list[int] = field(default_factory=list)  # the line of each valid row
    checks: list = field(default_factory=list)  # per valid row: what check_batch must verify
    issues: list[Issue] = field(default_factory=list)
    invalid: set[int] = field(default_factory=set)  # lines with at least one issue
    insert_values: list = field(default_factory=list)  # per valid row: insert-only column values

    def reject(self, positions: dict[int, list[tuple[str, str]]]) -> None:
        """Move the valid rows at these positions to the invalid ones, with their problems."""
        if not positions:
            return
        keep = []
        for index, line in enumerate(self.lines):
            problems = positions.get(index)
            if problems:
                self.invalid.add(line)
                self.issues.extend((line, column, message) for column, message in problems)
            else:
                keep.append(index)
        self.rows = [self.rows[i] for i in keep]
        self.keys = [self.keys[i] for i in keep]
        self.lines = [self.lines[i] for i in keep]
        self.checks = [self.checks[i] for i in keep]


def _metadata_spec(schema: Schema, key: str) -> dict | None:
    return schema.properties.get(key)


def coerce_metadata(spec: dict | None, text: str) -> Any:
    """A metadata cell → the schema's type (coerce_text). Values that do not coerce stay text,
    so the schema check reports them ("must be a number (got 'abc')")."""
    if spec is None:
        return text
    kind = spec.get("type", "string")
    if spec.get("array"):
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                return text
            if not isinstance(items, list):
                return text
        else:
            items = [part.strip() for part in text.split(",") if part.strip()]
        values = []
        for item in items:
            if isinstance(item, str):
                with contextlib.suppress(ValueError):
                    item = coerce_text(kind, item)
            values.append(item)
        return values
    try:
        return coerce_text(kind, text)
    except ValueError:
        return text


def _relaxed(schema: Schema, covered: set[str]) -> tuple[Schema, tuple[str, ...]]:
    """The schema with required keys that the file has no column for made optional.

    A new row must still have them (checked per batch); an existing row keeps its stored value.
    """
    missing = tuple(
        key
        for key, spec in schema.properties.items()
        if not spec.get("optional", True) and key not in covered
    )
    if not missing:
        return schema, ()
    properties = {
        key: ({**spec, "optional": True} if key in missing else spec)
        for key, spec in schema.properties.items()
    }
    return replace(schema, properties=properties), missing


class Plan:
    """Column positions and the rules for one import; built once per run."""

    kind: str
    model: Any
    resource: str
    writer_class: Any = SqlUpsertWriter
    public_prefix = ""
    data_fields: tuple[str, ...] = ()  # known fields that are stored as columns
    json_fields: tuple[str, ...] = ()
    insert_defaults: dict = {}  # values of columns the file does not set, for new rows
    key_field = "source_id"  # the column rows are matched (and duplicates found) by

    def __init__(self, *, project, header: list[str], mapping: list[str]):
        self.project = project
        self.header = header
        self.width = len(header)
        self.targets = {target: index for index, target in enumerate(mapping) if target}
        self.source_index = self.targets[self.key_field]
        self.source_column = header[self.source_index]
        self.id_index = self.targets.get("id")
        self.metadata_columns = [
            (target[len(METADATA_PREFIX) :], index)
            for target, index in self.targets.items()
            if target.startswith(METADATA_PREFIX)
        ]
        self.metadata_keys = [key for key, _ in self.metadata_columns]
        schema = schema_for(project=project, resource=self.resource)
        self.schema, self.missing_required = _relaxed(schema, set(self.metadata_keys))
        self.metadata_specs = [
            (key, index, _metadata_spec(schema, key)) for key, index in self.metadata_columns
        ]
        self.present = [name for name in self.data_fields if name in self.targets]

    # -- helpers ---------------------------------------------------------------------------

    def column_position(self, problem: tuple[str, str]) -> int:
        """Sort key of a (column, message) problem: the column's place in the file."""
        try:
            return self.header.index(problem[0])
        except ValueError:
            return self.width

    def column(self, target: str) -> str:
        """The file's header for a target ("email" → "E-mail"); metadata keys fall back to
        `metadata.<key>` when the file has no such column."""
        index = self.targets.get(target)
        return self.header[index] if index is not None else target

    def read_metadata(self, cells: list[str]) -> dict:
        metadata = {}
        for key, index, spec in self.metadata_specs:
            text = cells[index].strip()
            if text:
                metadata[key] = coerce_metadata(spec, text) if spec else text
        return metadata

    def metadata_problems(self, metadata: dict) -> list[tuple[str, str]]:
        return [
            (self.column(METADATA_PREFIX + error.key) if error.key else "metadata", error.message)
            for error in self.schema.errors(metadata)
        ]

    def source_id(self, cells: list[str], problems: list) -> str:
        source_id = cells[self.source_index].strip()
        if not source_id:
            problems.append((self.source_column, "is required (rows are matched by source_id)"))
        elif len(source_id) > MAX_SOURCE_ID:
            problems.append((self.source_column, f"is longer than {MAX_SOURCE_ID} characters"))
        return source_id

    def duplicate_problem(self, key: str, first_line: int) -> tuple[str, str]:
        return (self.source_column, f"duplicate source_id “{key}”: line {first_line} has it too")

    def check_value(self, cells: list[str]):
        """What check_batch needs of a valid row: the value of its `id` column, if any."""
        if self.id_index is None:
            return None
        return cells[self.id_index].strip() or None

    # -- the two steps -----------------------------------------------------------------------

    def clean(self, cells: list[str]) -> tuple[Any, list[tuple[str, str]], str]:
        raise NotImplementedError

    def check_batch(self, batch: Batch) -> None:
        """Database checks for a whole batch (one query each), before anything is written."""
        positions: dict[int, list[tuple[str, str]]] = {}
        self.check_public_ids(batch, positions)
        self.check_required_metadata(batch, positions)
        batch.reject(positions)

    def check_public_ids(self, batch: Batch, positions) -> None:
        """An `id` column is a check: the object with that id must be the row's source_id, since
        a source_id never changes once set."""
        if self.id_index is None:
            return
        wanted = [
            (index, self._id_of(check))
            for index, check in enumerate(batch.checks)
            if self._id_of(check)
        ]
        if not wanted:
            return
        found = dict(
            self.model.objects.filter(
                project=self.project, public_id__in={public_id for _, public_id in wanted}
            ).values_list("public_id", "source_id")
        )
        id_column = self.column("id")
        for index, public_id in wanted:
            source_id = batch.keys[index]
            if public_id not in found:
                positions.setdefault(index, []).append(
                    (id_column, f"no {self.kind[:-1]} with id {public_id} in this project")
                )
            elif found[public_id] != source_id:
                was = f"“{found[public_id]}”" if found[public_id] else "no source_id"
                positions.setdefault(index, []).append(
                    (
                        self.source_column,
                        f"{public_id} has {was}; a source_id cannot be changed once set",
                    )
                )

    @staticmethod
    def _id_of(check) -> str | None:
        return check[0] if isinstance(check, tuple) else check

    def check_required_metadata(self, batch: Batch, positions) -> None:
        """Required metadata keys the file has no column for: new rows lack them (error); existing
        rows keep theirs, which must be there."""
        if not self.missing_required or not batch.keys:
            return
        source_ids = batch.keys
        stored = dict(
            self.model.objects.filter(project=self.project, source_id__in=source_ids).values_list(
                "source_id", "metadata"
            )
        )
        for index, source_id in enumerate(source_ids):
            metadata = stored.get(source_id) or {}
            for key in self.missing_required:
                if metadata.get(key) is None:
                    positions.setdefault(index, []).append(
                        (f"{METADATA_PREFIX}{key}", "is required (the file has no column for it)")
                    )

    def make_writer(self):
        return self.writer_class(
            model=self.model,
            project=self.project,
            columns=self.present,
            json_columns=[name for name in self.present if name in self.json_fields],
            metadata_keys=self.metadata_keys if self.metadata_columns else None,
            public_prefix=self.public_prefix,
            insert_only=self.insert_only(),
            insert_defaults=self.insert_defaults,
        )

    def insert_only(self) -> list[str]:
        return []


class CustomerPlan(Plan):
    kind = ImportKind.CUSTOMERS
    model = Customer
    resource = Resource.CUSTOMER
    public_prefix = "cust"
    insert_defaults = {"system_metadata": {"source": "import"}}
    data_fields = (
        "name",
        "email",
        "phone",
        "birthdate",
        "description",
        "address_line_1",
        "address_line_2",
        "address_city",
        "address_state",
        "address_postal_code",
        "address_country",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.profile = [(name, self.targets[name]) for name in self.present]
        self.birthdate_position = (
            self.present.index("birthdate") + 1 if "birthdate" in self.present else None
        )

    def clean(self, cells):
        problems: list[tuple[str, str]] = []
        source_id = self.source_id(cells, problems)
        data = {name: cells[index] for name, index in self.profile}
        metadata = None
        if self.metadata_specs:
            metadata = data["metadata"] = self.read_metadata(cells)
        cleaned, errors = clean_customer_data(data, schema=self.schema)
        if errors:
            problems.extend((self.column(name), text) for name, text in errors.items())
        if problems:
            return None, problems, source_id
        row = [source_id, *[cleaned[name] for name in self.present]]
        if self.birthdate_position is not None and row[self.birthdate_position] is not None:
            row[self.birthdate_position] = row[self.birthdate_position].isoformat()
        if metadata is not None:
            row.append(_compact_json(metadata))
        return row, problems, source_id


_url = URLValidator(schemes=("http", "https"))


def _clean_text(value: str, limit: int, column: str, problems: list) -> str:
    text = value.strip()
    if len(text) > limit:
        problems.append((column, f"is longer than {limit} characters"))
    return text


def _clean_price(plan: Plan, cells, problems, name: str = "price") -> int | None:
    text = cells[plan.targets[name]].strip()
    if not text:
        return None
    try:
        return plan.money.clean(text)
    except ValueError as exc:
        problems.append((plan.column(name), str(exc)))
        return None


def _clean_url(plan: Plan, cells, problems) -> str:
    text = cells[plan.targets["image_url"]].strip()
    if text:
        if len(text) > MAX_URL:
            problems.append((plan.column("image_url"), f"is longer than {MAX_URL} characters"))
        else:
            try:
                _url(text)
            except ValidationError:
                problems.append((plan.column("image_url"), f"“{text[:60]}” is not an http(s) URL"))
    return text


class ProductPlan(Plan):
    kind = ImportKind.PRODUCTS
    model = Product
    resource = Resource.PRODUCT
    public_prefix = "prod"
    data_fields = ("name", "price", "image_url", "attributes")
    json_fields = ("attributes",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from ..resources import MoneyWidget

        self.money = MoneyWidget(self.project.currency)

    text_field = "name"

    def clean(self, cells):
        problems: list[tuple[str, str]] = []
        source_id = self.source_id(cells, problems)
        self.check_required(cells, problems)
        values = []
        for name in self.present:
            if name == self.text_field:
                text = cells[self.targets[name]]
                values.append(_clean_text(text, 255, self.column(name), problems))
            elif name == "price":
                values.append(_clean_price(self, cells, problems))
            elif name == "image_url":
                values.append(_clean_url(self, cells, problems))
            elif name == "attributes":
                values.append(self._attributes(cells, problems))
        metadata = self.read_metadata(cells) if self.metadata_specs else None
        if metadata is not None:
            problems.extend(self.metadata_problems(metadata))
        if problems:
            return None, problems, source_id
        row = [source_id, *values]
        if metadata is not None:
            row.append(_compact_json(metadata))
        return row, problems, source_id

    def check_required(self, cells, problems) -> None:
        """Columns a kind requires besides source_id (none for products)."""

    def _attributes(self, cells, problems) -> str:
        text = cells[self.targets["attributes"]].strip()
        if text.startswith("["):
            try:
                names = json.loads(text)
            except json.JSONDecodeError:
                names = None
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                problems.append((self.column("attributes"), "must be a JSON list of names"))
                return "[]"
        else:
            names = [part.strip() for part in text.split(",") if part.strip()]
        return json.dumps(names, separators=(",", ":"))


class SkuPlan(ProductPlan):
    kind = ImportKind.SKUS
    model = Sku
    resource = Resource.SKU
    public_prefix = "sku"
    data_fields = ("sku", "price", "image_url", "attributes")
    json_fields = ("attributes",)

    text_field = "sku"

    def check_required(self, cells, problems) -> None:
        if not cells[self.targets["product_source_id"]].strip():
            problems.append((self.column("product_source_id"), "is required"))

    def _attributes(self, cells, problems) -> str:
        return self._sku_attributes(cells, problems)

    def check_value(self, cells):
        return (super().check_value(cells), cells[self.targets["product_source_id"]].strip())

    def _sku_attributes(self, cells, problems) -> str:
        text = cells[self.targets["attributes"]].strip() or "{}"
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            problems.append(
                (self.column("attributes"), 'must be a JSON object, e.g. {"color": "red"}')
            )
            return "{}"
        return json.dumps(value, separators=(",", ":"))

    def insert_only(self) -> list[str]:
        return ["product_id"]

    def check_batch(self, batch: Batch) -> None:
        """Every SKU needs its product (one query per batch); a SKU never moves to another."""
        positions: dict[int, list[tuple[str, str]]] = {}
        self.check_public_ids(batch, positions)
        self.check_required_metadata(batch, positions)
        products = dict(
            Product.objects.filter(
                project=self.project, source_id__in={check[1] for check in batch.checks}
            ).values_list("source_id", "pk")
        )
        existing = dict(
            Sku.objects.filter(project=self.project, source_id__in=batch.keys).values_list(
                "source_id", "product__source_id"
            )
        )
        column = self.column("product_source_id")
        for index, (key, check) in enumerate(zip(batch.keys, batch.checks, strict=True)):
            product = check[1]
            if product not in products:
                positions.setdefault(index, []).append(
                    (column, f"no product with source_id “{product}”; import products first")
                )
            elif key in existing and existing[key] != product:
                positions.setdefault(index, []).append(
                    (
                        column,
                        f"SKU “{key}” belongs to product “{existing[key]}”; "
                        "it cannot move to another product",
                    )
                )
        batch.reject(positions)
        batch.insert_values = [(products[check[1]],) for check in batch.checks]


# --- orders -----------------------------------------------------------------------------------

ORDER_STATUSES = {status.upper(): status for status in OrderStatus.values}


def _parse_when(text: str) -> dt.datetime | None:
    value = parse_datetime(text.replace(" ", "T", 1) if "T" not in text else text)
    if value is None:
        day = parse_date(text)
        if day is None:
            return None
        value = dt.datetime.combine(day, dt.time(0))
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _items_signature(items: list) -> list[tuple]:
    signature = []
    for raw in items:
        if not isinstance(raw, dict):
            return [("?",)]
        sku = raw.get("sku") if isinstance(raw.get("sku"), dict) else {}
        product = raw.get("product") if isinstance(raw.get("product"), dict) else {}
        source = raw.get("source_id") or sku.get("source_id") or product.get("source_id") or ""
        signature.append((str(source), raw.get("quantity", 1), raw.get("price")))
    return signature


class OrderPlan(Plan):
    """Orders are written by `apps.orders.services.order_upsert(imported=True)`, one per row, so
    events, items and customers follow the same rules as the API; rows equal to the stored order
    are skipped, so a re-import writes nothing."""

    kind = ImportKind.ORDERS
    model = Order
    resource = Resource.ORDER
    writer_class = OrderWriter

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from ..resources import MoneyWidget

        self.money = MoneyWidget(self.project.currency)

    def clean(self, cells):
        problems: list[tuple[str, str]] = []
        source_id = self.source_id(cells, problems)
        payload: dict[str, Any] = {"source_id": source_id}
        status = cells[self.targets["status"]].strip().upper()
        if status not in ORDER_STATUSES:
            problems.append(
                (self.column("status"), f"must be one of {', '.join(OrderStatus.values)}")
            )
        payload["status"] = ORDER_STATUSES.get(status)
        customer = cells[self.targets["customer_source_id"]].strip()
        if not customer:
            problems.append((self.column("customer_source_id"), "is required"))
        elif len(customer) > MAX_SOURCE_ID:
            problems.append(
                (self.column("customer_source_id"), f"is longer than {MAX_SOURCE_ID} characters")
            )
        payload["customer"] = {"source_id": customer}
        unreadable_amount = False
        for name in ("amount", "discount_amount"):
            if name in self.targets and cells[self.targets[name]].strip():
                value = _clean_price(self, cells, problems, name)
                if value is None:
                    unreadable_amount = True
                else:
                    payload[name] = value
        if "items" in self.targets:
            text = cells[self.targets["items"]].strip()
            if text:
                try:
                    items = json.loads(text)
                except json.JSONDecodeError:
                    items = None
                if not isinstance(items, list):
                    problems.append((self.column("items"), "must be a JSON list of order items"))
                    unreadable_amount = True
                else:
                    payload["items"] = items
        if "amount" not in payload and "items" not in payload and not unreadable_amount:
            problems.append(
                (self.column("amount") if "amount" in self.targets else "amount", "is required")
            )
        if (
            payload.get("amount") is not None
            and payload.get("discount_amount")
            and payload["discount_amount"] > payload["amount"]
        ):
            problems.append((self.column("discount_amount"), "is more than the amount"))
        if "created_at" in self.targets:
            text = cells[self.targets["created_at"]].strip()
            if text:
                when = _parse_when(text)
                if when is None:
                    problems.append(
                        (
                            self.column("created_at"),
                            f"“{text}” is not a date; use 2024-01-31 or 2024-01-31T12:00:00Z",
                        )
                    )
                payload["created_at"] = when
        if self.metadata_specs:
            metadata = self.read_metadata(cells)
            problems.extend(self.metadata_problems(metadata))
            payload["metadata"] = metadata
        return (None if problems else payload), problems, source_id

    def check_value(self, cells):
        return None

    def check_batch(self, batch: Batch) -> None:
        """Find each row's stored order: merge metadata (the file's keys replace those keys) and
        mark rows that would change nothing."""
        positions: dict[int, list[tuple[str, str]]] = {}
        self.check_required_metadata(batch, positions)
        source_ids = [payload["source_id"] for payload in batch.rows]
        stored = {
            order.source_id: order
            for order in Order.objects.filter(project=self.project, source_id__in=source_ids)
            .select_related("customer")
            .prefetch_related("items")
        }
        states = []
        for payload in batch.rows:
            order = stored.get(payload["source_id"])
            if order is not None and "metadata" in payload:
                merged = {k: v for k, v in order.metadata.items() if k not in self.metadata_keys}
                merged.update(payload["metadata"])
                payload["metadata"] = merged
            states.append(self._state(order, payload))
        batch.checks = states
        batch.reject(positions)

    def _state(self, order: Order | None, payload: dict) -> str:
        if order is None:
            return "new"
        same = (
            order.status == payload["status"]
            and (order.customer.source_id if order.customer else "")
            == payload["customer"]["source_id"]
            and ("amount" not in payload or order.amount == payload["amount"])
            and (
                "discount_amount" not in payload
                or order.discount_amount == payload["discount_amount"]
            )
            and ("metadata" not in payload or order.metadata == payload["metadata"])
        )
        if same and "items" in payload:
            stored = [(i.source_id, i.quantity, i.price) for i in order.items.all()]
            wanted = _items_signature(payload["items"])
            same = len(stored) == len(wanted) and all(
                s[0] == w[0] and s[1] == w[1] and (w[2] is None or s[2] == w[2])
                for s, w in zip(stored, wanted, strict=True)
            )
        return "unchanged" if same else "update"


PLANS = {
    ImportKind.CUSTOMERS: CustomerPlan,
    ImportKind.PRODUCTS: ProductPlan,
    ImportKind.SKUS: SkuPlan,
    ImportKind.ORDERS: OrderPlan,
}


def plan_for(imp) -> Plan:
    if imp.kind == ImportKind.VOUCHERS:
        from .vouchers import VoucherPlan  # late: it builds on this module's Plan

        return VoucherPlan(project=imp.project, header=imp.header, mapping=imp.mapping)
    return PLANS[imp.kind](project=imp.project, header=imp.header, mapping=imp.mapping)
