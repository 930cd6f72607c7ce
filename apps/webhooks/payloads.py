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

    name = obj._meta.model_name
    if name == "customererasure":  # a permanently deleted customer: nothing personal is left
        return {"id": obj.customer_public_id, "object": "customer", "deleted": True}
    if name == "redemption":
        return serializers.redemption(obj, order=serializers.stored_order(obj.order))
    if name == "redemptionrollback":
        return serializers.rollback(obj, order=serializers.stored_order(obj.order))
    if name == "order":
        return serializers.stored_order(obj)
    try:
        if name == "customer":
            from apps.api.shapes.customers import customer

            return customer(obj)
        if name == "voucher":
            from apps.api.shapes.campaigns import voucher

            return voucher(obj)
        if name == "campaign":
            from apps.api.shapes.campaigns import campaign

            return campaign(obj)
    except ImportError:  # pragma: no cover - the shapes module is part of the API app
        pass
    return _generic(obj)


def data(event: Event) -> dict:
    body = {"object": shape(event.object)}
    for name, related in event.related.items():
        body[name] = shape(related) if hasattr(related, "_meta") else related
    return body
