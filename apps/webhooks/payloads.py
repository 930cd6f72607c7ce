"""The `data` of a webhook event: the object in the API's JSON shape, plus related objects."""

from apps.core.events import Event


def _generic(obj) -> dict:
    body = {"id": getattr(obj, "public_id", None) or str(obj.pk), "object": obj._meta.model_name}
    for field in ("code", "name", "source_id", "status", "type"):
        value = getattr(obj, field, None)
        if isinstance(value, str | int):
            body[field] = value
    return body


def shape(obj) -> dict:
    """`obj` as the API shows it (the same serializers, so receivers parse one format)."""
    from apps.api import serializers
    from apps.api.shapes import campaigns, customers, orders, publications

    name = obj._meta.model_name
    shapes = {
        "customer": customers.customer,
        "voucher": campaigns.voucher,
        "campaign": campaigns.campaign,
        "order": orders.order,
        "publication": publications.created,
        "redemption": lambda r: serializers.redemption(r, order=serializers.stored_order(r.order)),
        "redemptionrollback": lambda r: serializers.rollback(
            r, order=serializers.stored_order(r.order)
        ),
        # a permanently deleted customer: nothing personal is left
        "customererasure": lambda e: {
            "id": e.customer_public_id,
            "object": "customer",
            "deleted": True,
        },
    }
    return shapes[name](obj) if name in shapes else _generic(obj)


def with_relations(queryset):
    """A bulk event's objects with what their shapes read, so a chunk costs a few queries."""
    from apps.api.shapes import customers

    if queryset.model._meta.model_name == "customer":
        return customers.with_cards(queryset)
    return queryset


def data(event: Event) -> dict:
    body = {"object": shape(event.object)}
    for name, related in event.related.items():
        body[name] = shape(related) if hasattr(related, "_meta") else related
    return body
