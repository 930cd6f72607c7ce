"""Orders (reference §3.8): create (an upsert by id or source_id), get, update, list, the import
of historical orders and the orders export. Parse, call the orders services, serialize."""

from ninja import Router, Status

from apps.orders import services
from apps.orders.models import Order

from .. import lookups
from ..listing import ordering, page_of
from ..payload import MAX_BODY, json_body, json_list
from ..shapes import orders as shapes
from .async_actions import accepted
from .exports import created

router = Router(tags=["orders"])

ORDER_ORDER = {"created_at": "created_at", "updated_at": "updated_at"}
MAX_IMPORT_BODY = 10 * MAX_BODY  # 2,000 orders with items


def _payload(body: dict) -> dict:
    """Voucherify's order body for the service: `referrer_id` is a referrer given by id."""
    if "referrer_id" in body and "referrer" not in body:
        body = {**body, "referrer": {"id": body["referrer_id"]}}
    return body


def _order_body(request, found: Order) -> dict:
    queryset = shapes.with_relations(Order.objects.all())
    return shapes.order(lookups.order(request.api.project, found.public_id, queryset))


# -- literal paths first: Django matches in order ------------------------------------------------


@router.post("/orders/import", summary="Import Orders", response={202: dict})
def orders_import(request):
    job = services.orders_import_start(
        project=request.api.project, orders=json_list(request, max_body=MAX_IMPORT_BODY)
    )
    return Status(202, accepted(job))


@router.post("/orders/export", summary="Create Orders Export")
def orders_export(request):
    body = json_body(request)
    return created(request, {"exported_object": "order", "parameters": body.get("parameters")})


@router.post("/orders", summary="Create Order")
def orders_create(request):
    created_order, _ = services.order_upsert(
        project=request.api.project, payload=_payload(json_body(request))
    )
    return _order_body(request, created_order)


@router.get("/orders", summary="List Orders")
def orders_list(request, limit: int = 10, page: int = 1, order: str | None = None):
    return page_of(
        shapes.with_relations(Order.objects.filter(project=request.api.project)),
        data_ref="orders",
        shape=shapes.order,
        limit=limit,
        page=page,
        order_by=ordering(order, ORDER_ORDER, "-created_at"),
    )


@router.get("/orders/{order_id}", summary="Get Order")
def orders_get(request, order_id: str):
    queryset = shapes.with_relations(Order.objects.all())
    return shapes.order(lookups.order(request.api.project, order_id, queryset))


@router.put("/orders/{order_id}", summary="Update Order")
def orders_update(request, order_id: str):
    """Only the fields sent change; the order is named by the path (its `source_id` stays)."""
    found = lookups.order(request.api.project, order_id)
    body = {k: v for k, v in json_body(request).items() if k not in ("id", "source_id", "object")}
    updated, _ = services.order_upsert(
        project=request.api.project, payload=_payload({**body, "id": found.public_id})
    )
    return _order_body(request, updated)
