"""The order object (reference §3.8) in Voucherify's shape: amounts, items with their products
and SKUs, the customer and referrer as `{id, object}`, and the redemptions made on it.

Pass orders through `with_relations(queryset)` so a page of orders costs a fixed number of
queries: customer, referrer, items (with product and SKU) and redemptions are loaded with it.
"""

from django.db.models import Prefetch, QuerySet

from apps.orders.models import Order, OrderItem
from apps.redemptions.models import Redemption, RedemptionRollback, RelatedObjectType

from ..serializers import iso


def with_relations(queryset: QuerySet) -> QuerySet:
    checkouts = (
        Redemption.objects.filter(related_object_type=RelatedObjectType.REDEMPTION)
        .only("public_id", "created_at", "order_id")
        .prefetch_related(
            Prefetch(
                "children",
                queryset=Redemption.objects.only("public_id", "parent_id").order_by("id"),
            ),
            Prefetch("rollbacks", queryset=_rollbacks()),
        )
        .order_by("id")
    )
    return queryset.select_related("customer", "referrer").prefetch_related(
        Prefetch(
            "items",
            queryset=OrderItem.objects.select_related("product", "sku").order_by("position"),
        ),
        Prefetch("redemptions", queryset=checkouts, to_attr="checkouts"),
    )


def _rollbacks() -> QuerySet:
    return (
        RedemptionRollback.objects.filter(parent__isnull=True)
        .only("public_id", "created_at", "redemption_id")
        .order_by("id")
    )


def _customer_ref(customer) -> dict | None:
    return {"id": customer.public_id, "object": "customer"} if customer is not None else None


def item(line: OrderItem) -> dict:
    body = {
        "object": "order_item",
        "related_object": "sku" if line.related_object == "sku" else "product",
        "source_id": line.source_id or None,
        "quantity": line.quantity,
        "amount": line.amount,
        "price": line.price,
        "discount_amount": line.discount_amount,
        "subtotal_amount": line.amount - line.discount_amount,
        "metadata": line.metadata or {},
    }
    if line.product_id:
        product = line.product
        body["product_id"] = product.public_id
        body["product"] = {
            "id": product.public_id,
            "source_id": product.source_id,
            "name": product.name or None,
            "price": product.price,
            "metadata": product.metadata or {},
        }
    if line.sku_id:
        sku = line.sku
        body["sku_id"] = sku.public_id
        body["sku"] = {
            "id": sku.public_id,
            "source_id": sku.source_id,
            "sku": sku.sku or None,
            "price": sku.price,
            "metadata": sku.metadata or {},
        }
    return body


def _redemptions(o: Order) -> dict:
    """`{redemption id: {date, related_object_type, related_object_id, stacked, ...}}` for
    each checkout redeemed on the order (parent redemptions; their children as `stacked`)."""
    checkouts = getattr(o, "checkouts", None)
    if checkouts is None:
        checkouts = list(with_relations(Order.objects.filter(pk=o.pk)).get().checkouts)
    entries = {}
    for parent in checkouts:
        entry = {
            "date": iso(parent.created_at),
            "related_object_type": "redemption",
            "related_object_id": parent.public_id,
            "stacked": [child.public_id for child in parent.children.all()],
        }
        rollbacks = list(parent.rollbacks.all())
        if rollbacks:
            entry["rollback_id"] = rollbacks[-1].public_id
            entry["rollback_date"] = iso(rollbacks[-1].created_at)
        entries[parent.public_id] = entry
    return entries


def order(o: Order) -> dict:
    return {
        "id": o.public_id,
        "source_id": o.source_id,
        "status": o.status,
        "amount": o.amount,
        "initial_amount": o.initial_amount,
        "discount_amount": o.discount_amount,
        "items_discount_amount": o.items_discount_amount,
        "total_discount_amount": o.total_discount_amount,
        "total_amount": o.total_amount,
        "items": [item(line) for line in o.items.all()],
        "metadata": o.metadata or {},
        "customer_id": o.customer.public_id if o.customer_id else None,
        "customer": _customer_ref(o.customer if o.customer_id else None),
        "referrer_id": o.referrer.public_id if o.referrer_id else None,
        "referrer": _customer_ref(o.referrer if o.referrer_id else None),
        "redemptions": _redemptions(o),
        "created_at": iso(o.created_at),
        "updated_at": iso(o.updated_at),
        "object": "order",
    }
