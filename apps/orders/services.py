"""Writes for orders: upsert by id/source_id, items, status events, customer summaries."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core import events
from apps.core.errors import ApplicationError
from apps.core.hooks import customers_bulk_changed, customers_changed
from apps.core.rows import Columns, columns, insert, insert_with, placeholders
from apps.customers.models import Customer
from apps.customers.services import customer_resolve
from apps.jobs.models import Job
from apps.jobs.services import job_create, job_fail, job_finish, job_progress, job_start
from apps.metadata.models import Resource
from apps.metadata.services import schema_for
from apps.products.models import Product, Sku
from apps.products.services import product_upsert, sku_upsert

from .models import COUNTED_STATUSES, Order, OrderEvent, OrderItem, OrderStatus

MAX_ITEMS = 500


def invalid(message: str, details: str = "") -> ApplicationError:
    return ApplicationError(message, key="invalid_order", details=details)


def _amount(value: Any, field: str, *, required: bool = False) -> int | None:
    if value is None:
        if required:
            raise invalid(f"{field} is required", field)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{field} must be an integer number of minor units", field)
    if value < 0:
        raise invalid(f"{field} cannot be negative", field)
    return value


# What an order item reads of its product or SKU; the rest of the row is not loaded.
PRODUCT = ("id", "project_id", "public_id", "source_id", "name", "price", "metadata")
SKU = ("id", "project_id", "public_id", "product_id", "source_id", "sku", "price", "metadata")


class _Catalog:
    """The products and SKUs an order's items name, loaded in at most two queries for all items
    instead of one or two per item. Every checkout resolves its cart here, so the SQL is written
    out (`apps.core.rows`) rather than compiled by the ORM on each request."""

    def __init__(self, project, raw_items: list):
        product_ids, product_sources, sku_ids, sku_sources = set(), set(), set(), set()
        for raw in raw_items:
            if not isinstance(raw, dict):
                continue
            product = raw.get("product") if isinstance(raw.get("product"), dict) else {}
            sku = raw.get("sku") if isinstance(raw.get("sku"), dict) else {}
            product_ids |= {raw.get("product_id"), product.get("id")}
            sku_ids |= {raw.get("sku_id"), sku.get("id")}
            product_sources |= {product.get("source_id"), raw.get("source_id")}
            sku_sources |= {sku.get("source_id"), raw.get("source_id")}
        self.products, self.products_by_source = {}, {}
        self.skus, self.skus_by_source = {}, {}
        parts = columns(
            "catalog",
            lambda: {"product": Columns(Product, "p", PRODUCT), "sku": Columns(Sku, "s", SKU)},
        )
        product, sku = parts["product"], parts["sku"]
        product_ids, product_sources = _refs(product_ids), _refs(product_sources)
        if product_ids or product_sources:
            for row in _select(
                f"SELECT {product.sql} FROM {Product._meta.db_table} p "  # noqa: S608
                "WHERE p.project_id = %s "
                f"AND (p.public_id IN ({placeholders(product_ids)}) "
                f"OR p.source_id IN ({placeholders(product_sources)}))",
                [project.pk, *product_ids, *product_sources],
            ):
                found = product.build(row)
                self.products[found.public_id] = found
                if found.source_id:
                    self.products_by_source[found.source_id] = found
        sku_ids, sku_sources = _refs(sku_ids), _refs(sku_sources)
        if sku_ids or sku_sources:
            for row in _select(
                f"SELECT {sku.sql}, {product.sql} FROM {Sku._meta.db_table} s "  # noqa: S608
                f"JOIN {Product._meta.db_table} p ON p.id = s.product_id "
                f"WHERE s.project_id = %s AND (s.public_id IN ({placeholders(sku_ids)}) "
                f"OR s.source_id IN ({placeholders(sku_sources)}))",
                [project.pk, *sku_ids, *sku_sources],
            ):
                found = sku.build(row[: len(sku)])
                found.product = product.build(row[len(sku) :])
                self.skus[found.public_id] = found
                if found.source_id:
                    self.skus_by_source[found.source_id] = found


def _select(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _refs(values: set) -> list[str]:
    return [value for value in values if isinstance(value, str) and value]


@dataclass(slots=True)
class Line:
    """An order item resolved from a payload, not yet an OrderItem: a validation only reads its
    lines, and building twenty model instances cost more than resolving them."""

    position: int
    related_object: str
    product: Product | None
    sku: Sku | None
    source_id: str
    name: str
    quantity: int
    price: int | None
    amount: int
    discount_amount: int
    metadata: dict

    @property
    def product_id(self) -> int | None:
        return self.product.pk if self.product is not None else None

    @property
    def sku_id(self) -> int | None:
        return self.sku.pk if self.sku is not None else None

    def as_item(self) -> OrderItem:
        return order_item(
            self.product,
            self.sku,
            position=self.position,
            related_object=self.related_object,
            source_id=self.source_id,
            name=self.name,
            quantity=self.quantity,
            price=self.price,
            amount=self.amount,
            discount_amount=self.discount_amount,
            metadata=self.metadata,
        )


def order_item(product: Product | None, sku: Sku | None, **values) -> OrderItem:
    """An unsaved OrderItem with its product and SKU attached. The model is built from
    positional values in field order (the ORM's own fast path when it loads rows), and the
    product and SKU are set by id and cached on the item the way select_related caches them:
    keyword arguments and the related-object descriptors cost more than the rest of building
    a 20-line order."""
    values["product_id"] = product.pk if product is not None else None
    values["sku_id"] = sku.pk if sku is not None else None
    item = OrderItem(
        *[values[name] if name in values else default() for name, default in _ITEM_FIELDS]
    )
    _ITEM_PRODUCT.set_cached_value(item, product)
    _ITEM_SKU.set_cached_value(item, sku)
    return item


_ITEM_FIELDS = [(field.attname, field.get_default) for field in OrderItem._meta.concrete_fields]
_ITEM_PRODUCT = OrderItem._meta.get_field("product")
_ITEM_SKU = OrderItem._meta.get_field("sku")


def _resolve_item(project, index: int, raw: dict, catalog: _Catalog, *, write: bool = True) -> Line:
    where = f"items[{index}]"
    if not isinstance(raw, dict):
        raise invalid(f"{where} must be an object", where)
    quantity = raw.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise invalid(f"{where}.quantity must be a whole number of at least 1", f"{where}.quantity")
    price = _amount(raw.get("price"), f"{where}.price")
    product_data = raw.get("product") if isinstance(raw.get("product"), dict) else {}
    sku_data = raw.get("sku") if isinstance(raw.get("sku"), dict) else {}
    related = raw.get("related_object") or ("sku" if (raw.get("sku_id") or sku_data) else "product")
    if related not in ("product", "sku"):
        raise invalid(f"{where}.related_object must be product or sku", f"{where}.related_object")
    product = sku = None
    product_ref = raw.get("product_id") or product_data.get("id")
    product_source = product_data.get("source_id") or (
        raw.get("source_id") if related == "product" else None
    )
    if product_ref:
        product = catalog.products.get(product_ref)
    elif product_source:
        if product_data.get("override") and write:
            fields = {
                k: product_data[k] for k in ("name", "price", "metadata") if k in product_data
            }
            product, _ = product_upsert(project=project, source_id=product_source, data=fields)
            catalog.products_by_source[product_source] = product
        else:
            product = catalog.products_by_source.get(product_source)
    sku_ref = raw.get("sku_id") or sku_data.get("id")
    sku_source = sku_data.get("source_id") or (raw.get("source_id") if related == "sku" else None)
    if sku_ref:
        sku = catalog.skus.get(sku_ref)
    elif sku_source:
        if sku_data.get("override") and product is not None and write:
            fields = {k: sku_data[k] for k in ("sku", "price", "metadata") if k in sku_data}
            sku, _ = sku_upsert(product=product, source_id=sku_source, data=fields)
            catalog.skus_by_source[sku_source] = sku
        else:
            sku = catalog.skus_by_source.get(sku_source)
    if sku is not None and product is None:
        product = sku.product
    if price is None:
        stored = sku.price if sku is not None and sku.price is not None else None
        stored = stored if stored is not None else (product.price if product else None)
        price = (
            _amount(sku_data.get("price") or product_data.get("price"), f"{where}.price") or stored
        )
    amount = _amount(raw.get("amount"), f"{where}.amount")
    if amount is None:
        amount = (price or 0) * quantity
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise invalid(f"{where}.metadata must be an object", f"{where}.metadata")
    name = (
        sku_data.get("sku")
        or product_data.get("name")
        or (sku.sku if sku else "")
        or (product.name if product else "")
    )
    return Line(
        position=index,
        related_object=related,
        product=product,
        sku=sku,
        source_id=str(sku_source or product_source or "")[:255],
        name=str(name)[:255],
        quantity=quantity,
        price=price,
        amount=amount,
        discount_amount=_amount(raw.get("discount_amount"), f"{where}.discount_amount") or 0,
        metadata=metadata,
    )


def order_preview(*, project, payload: dict) -> Order:
    """The order a validation sees, resolved like order_upsert but written nowhere: products
    marked `override` are not created, the customer is not attached. `order.preview_items`
    holds the items (`Line`s, or a stored order's OrderItems). An `id` or `source_id` of a
    stored order without items takes the stored order's items and amounts."""
    if not isinstance(payload, dict):
        raise invalid("the order must be an object")
    raw_items = payload.get("items")
    if raw_items is not None and not isinstance(raw_items, list):
        raise invalid("items must be a list", "items")
    if raw_items and len(raw_items) > MAX_ITEMS:
        raise invalid(f"an order has at most {MAX_ITEMS} items (got {len(raw_items)})", "items")
    order = Order(project=project, metadata=payload.get("metadata") or {})
    if not isinstance(order.metadata, dict):
        raise invalid("metadata must be an object", "metadata")
    items = None
    if raw_items is None and (payload.get("id") or payload.get("source_id")):
        stored = Order.objects.filter(project=project)
        stored = (
            stored.filter(public_id=payload["id"])
            if payload.get("id")
            else stored.filter(source_id=payload["source_id"])
        ).first()
        if stored is not None:
            # Redeemed again: its items, amounts and the discounts it already carries.
            items = list(stored.items.select_related("product", "sku")) or None
            order.amount, order.initial_amount = stored.amount, stored.initial_amount
            order.discount_amount = stored.discount_amount
            order.metadata = order.metadata or stored.metadata
    if raw_items is not None:
        catalog = _Catalog(project, raw_items)
        items = [
            _resolve_item(project, i, raw, catalog, write=False) for i, raw in enumerate(raw_items)
        ]
    _set_amounts(order, payload, items)
    order.preview_items = items or []
    return order


def _status(value: Any) -> str:
    if value is None:
        return OrderStatus.CREATED
    if value not in OrderStatus.values:
        raise invalid(f"status must be one of {', '.join(OrderStatus.values)}", "status")
    return value


def order_upsert(
    *,
    project,
    payload: dict,
    imported: bool = False,
    now: datetime | None = None,
    customer: Customer | None = None,
    items: list[OrderItem] | None = None,
    notify: bool = True,
    savepoint: bool = True,
    summary_add: tuple[int, dict[str, int]] | None = None,
) -> tuple[Order, bool]:
    """Create or update an order from Voucherify's order object. Returns (order, created).

    The customer (and referrer) are upserted; products only where an item says `override: true`.
    Status changes are recorded as OrderEvents and the customer's summary is refreshed, all in
    one transaction. `imported` marks historical orders, whose events trigger nothing.

    A caller that already resolved the customer or the items (a redemption: its validation
    snapshot has them, discounts included) passes them in and they are not looked up again.
    `notify=False` leaves segment updates to the caller (an import announces one bulk change).
    `savepoint=False` suits a caller inside its own transaction that lets any error abort it.
    `summary_add` goes to customers_refresh_order_summary (a redemption's counters).
    """
    now = now or timezone.now()
    if not isinstance(payload, dict):
        raise invalid("the order must be an object")
    raw_items = payload.get("items")
    if raw_items is not None and not isinstance(raw_items, list):
        raise invalid("items must be a list", "items")
    if raw_items and len(raw_items) > MAX_ITEMS:
        raise invalid(f"an order has at most {MAX_ITEMS} items (got {len(raw_items)})", "items")
    metadata = payload.get("metadata")
    if metadata is not None:
        metadata = schema_for(project=project, resource=Resource.ORDER).check(metadata)
    created_at = _created_at(payload.get("created_at"))
    with transaction.atomic(savepoint=savepoint):
        order, created = _lock_or_new(project, payload)
        previous_customer_id = order.customer_id
        previous_status = None if created else order.status
        if customer is not None:
            order.customer = customer
        elif "customer" in payload:
            order.customer = customer_resolve(project=project, payload=payload["customer"])
        if "referrer" in payload:
            order.referrer = customer_resolve(project=project, payload=payload["referrer"])
        if created or "status" in payload:
            order.status = _status(payload.get("status"))
        if metadata is not None:
            order.metadata = metadata
        if created_at is not None and created:
            order.created_at = created_at
        if items is None and raw_items is not None:
            catalog = _Catalog(project, raw_items)
            items = [
                _resolve_item(project, i, raw, catalog).as_item() for i, raw in enumerate(raw_items)
            ]
        _set_amounts(order, payload, items)
        order.imported = imported if created else order.imported
        happened = []
        if created:
            happened.append(("order.created", order.created_at if imported else now))
        if order.status != previous_status and order.status != OrderStatus.CREATED:
            happened.append((f"order.{order.status.lower()}", now))
        elif not created and previous_status == order.status:
            happened.append(("order.updated", now))
        if items is not None:
            for item in items:
                item.order = order
        order_events = [_event(order, type, imported=imported, now=at) for type, at in happened]
        if order.pk is None:  # a new order: its items and events go in the same statement
            insert_with(order, (items or [], "order"), (order_events, "order"))
        else:
            order.save()
            if items is not None:
                if not created:
                    order.items.all().delete()
                insert(items)
            insert(order_events)
        if items is not None:
            _remember_items(order, items)
        if not imported:  # historical orders trigger nothing
            for type, _ in happened:
                if type in events.EVENT_TYPES:
                    events.emit(project.pk, type, order)
        customers_refresh_order_summary(
            customer_ids={order.customer_id, previous_customer_id} - {None}, add=summary_add
        )
        if notify:
            customers_changed(
                project.pk, [order.customer_id, previous_customer_id], summary_only=True
            )
    return order, created


def _remember_items(order: Order, items: list[OrderItem]) -> None:
    """Keep the items just written (with their products and SKUs) as the order's prefetched
    items, so that showing the order right away (the API's answer) reads nothing back."""
    queryset = order.items.all()
    queryset._result_cache = sorted(items, key=lambda item: item.position)
    queryset._prefetch_done = True
    order._prefetched_objects_cache = {
        **getattr(order, "_prefetched_objects_cache", {}),
        "items": queryset,
    }


def _created_at(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible, e.g. month 13
        parsed = None
    if parsed is None:
        raise invalid("created_at must be an ISO 8601 date and time", "created_at")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def _lock_or_new(project, payload: dict) -> tuple[Order, bool]:
    public_id, source_id = payload.get("id"), payload.get("source_id")
    if source_id is not None and (not isinstance(source_id, str) or len(source_id) > 255):
        raise invalid("source_id must be text of at most 255 characters", "source_id")
    if not public_id and not source_id:
        return Order(project=project), True
    orders = Order.objects.select_for_update().filter(project=project)
    if public_id:
        order = orders.filter(public_id=public_id).first()
        if order is None:
            raise ApplicationError(
                f"Cannot find order with id {public_id}",
                key="not_found",
                code=404,
                extra={"resource_id": public_id, "resource_type": "order"},
            )
        return order, False
    order = orders.filter(source_id=source_id).first()
    if order is not None:
        return order, False
    # Two requests may create the same source_id at once: the unique constraint decides, and
    # the loser updates the winner's row.
    try:
        with transaction.atomic():
            order = Order.objects.create(project=project, source_id=source_id)
    except IntegrityError:
        return orders.get(source_id=source_id), False
    return order, True


def _set_amounts(order: Order, payload: dict, items: list[OrderItem] | None) -> None:
    amount = _amount(payload.get("amount"), "amount")
    if items is not None:
        items_total = sum(item.amount for item in items)
        order.items_discount_amount = sum(item.discount_amount for item in items)
        if amount is None:
            amount = items_total
    if amount is not None:
        order.amount = amount
    if "initial_amount" in payload:
        order.initial_amount = _amount(payload.get("initial_amount"), "initial_amount")
    if "discount_amount" in payload:
        order.discount_amount = _amount(payload.get("discount_amount"), "discount_amount") or 0
    order.total_discount_amount = order.discount_amount + order.items_discount_amount
    if order.total_discount_amount > order.amount:
        raise invalid(
            f"the discounts ({order.total_discount_amount}) exceed the amount ({order.amount})",
            "discount_amount",
        )
    order.total_amount = order.amount - order.total_discount_amount


def _event(order: Order, type: str, *, imported: bool, now: datetime) -> OrderEvent:
    return OrderEvent(
        project_id=order.project_id,
        order=order,
        customer_id=order.customer_id,
        type=type,
        imported=imported,
        created_at=now,
    )


IMPORT_JOB = "ORDERS.IMPORT"
MAX_IMPORT_ORDERS = 2000  # Voucherify: "There is a 2000 limit of orders per one request."


def orders_import_start(*, project, orders: list, created_by=None) -> Job:
    """Voucherify's Import Orders: historical orders, upserted by a Celery job as `imported`
    (their events trigger nothing). The list's shape is checked here; each order's fields when
    the job applies it (a bad order fails alone and is reported in the job's result)."""
    from .tasks import orders_import_task

    if not isinstance(orders, list) or not orders:
        raise invalid("the body must be a non-empty list of orders")
    if len(orders) > MAX_IMPORT_ORDERS:
        raise invalid(f"an import has at most {MAX_IMPORT_ORDERS} orders (got {len(orders)})")
    for index, order in enumerate(orders):
        if not isinstance(order, dict):
            raise invalid(f"orders[{index}] must be an object", f"orders[{index}]")
    with transaction.atomic():
        job = job_create(
            project=project,
            type=IMPORT_JOB,
            created_by=created_by,
            total=len(orders),
            params={"orders": orders},
        )
        orders_import_task.delay_on_commit(job.pk)
    return job


def orders_import_run(*, job_id: int) -> None:
    """Upsert each order of an import job in its own transaction; the result lists each
    order's id (or its error). A finished job is left alone (a redelivered task)."""
    job = Job.objects.select_related("project").filter(pk=job_id).first()
    if job is None or not job_start(job_id=job.pk):
        return
    try:
        results = _import_orders(job)
    except Exception:
        job_fail(job_id=job.pk, error="The import stopped because of an unexpected error.")
        raise
    failed = sum(1 for result in results if "error" in result)
    imported = len(results) - failed
    if imported:
        customers_bulk_changed(job.project_id)  # segments recompute once, not per order
    job_finish(
        job_id=job.pk,
        result={
            "message": f"{imported} order(s) imported, {failed} failed.",
            "imported": imported,
            "failed": failed,
            "results": results,
        },
    )


def _import_orders(job: Job) -> list[dict]:
    results = []
    for done, payload in enumerate(job.params.get("orders", []), start=1):
        try:
            order, created = order_upsert(
                project=job.project, payload=payload, imported=True, notify=False
            )
            results.append(
                {"id": order.public_id, "source_id": order.source_id, "created": created}
            )
        except ApplicationError as exc:
            results.append(
                {"source_id": payload.get("source_id"), "error": exc.message, "key": exc.key}
            )
        if done % 100 == 0:
            job_progress(job_id=job.pk, processed=done)
    return results


def order_set_status(*, order: Order, status: str, now: datetime | None = None) -> Order:
    updated, _ = order_upsert(
        project=order.project, payload={"id": order.public_id, "status": status}, now=now
    )
    return updated


def customers_refresh_order_summary(
    *, customer_ids, add: tuple[int, dict[str, int]] | None = None
) -> int:
    """Recompute summary.orders for these customers from their PAID/FULFILLED orders, set-based:
    one UPDATE with correlated subqueries, never a read-modify-write in Python. Written as SQL:
    it runs on every order write, and the ORM spent more compiling it than the database running
    it. The average is rounded half away from zero (ROUND of the exact average).

    `add` = (customer id, {column: amount}) adds to that customer's counters in the same UPDATE
    (a redemption writes its order and counts itself at once)."""
    ids = sorted({pk for pk in customer_ids if pk is not None} | ({add[0]} if add else set()))
    if not ids:
        return 0
    added, added_params = "", []
    if add is not None:
        pk, amounts = add
        for name in sorted(amounts):
            column = Customer._meta.get_field(name).column  # a field of ours, or FieldDoesNotExist
            added += f", {column} = {column} + CASE WHEN id = %s THEN %s ELSE 0 END"
            added_params += [pk, amounts[name]]
    orders, customers = Order._meta.db_table, Customer._meta.db_table
    counted = (
        f"FROM {orders} o WHERE o.customer_id = {customers}.id "
        f"AND o.status IN ({placeholders(COUNTED_STATUSES)})"
    )
    statuses = [str(status) for status in COUNTED_STATUSES]
    with connection.cursor() as cursor:
        cursor.execute(
            # one pass over the customer's counted orders for the aggregates, one for the last
            f"UPDATE {customers} SET "  # noqa: S608
            f"(orders_total_amount, orders_total_count, orders_average_amount, "
            f"orders_last_order_date) = (SELECT COALESCE(SUM(o.total_amount), 0), COUNT(*), "
            f"COALESCE(CAST(ROUND(AVG(o.total_amount)) AS BIGINT), 0), MAX(o.created_at) "
            f"{counted}), "
            f"orders_last_order_amount = (SELECT o.total_amount {counted} "
            f"ORDER BY o.created_at DESC, o.id DESC LIMIT 1){added} "
            f"WHERE id IN ({placeholders(ids)})",
            [*statuses * 2, *added_params, *ids],
        )
        return cursor.rowcount
