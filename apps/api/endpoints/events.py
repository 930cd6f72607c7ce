"""Custom events (reference §3.13): POST /v1/events."""

from ninja import Router

from apps.core.errors import ApplicationError
from apps.customers import services

from ..payload import json_body
from ..shapes.customers import customer_reference

router = Router(tags=["events"])


@router.post("/events", summary="Track Custom Event")
def events_create(request):
    """Record a custom event for a customer, who is upserted as everywhere a customer is named.
    `referral` and `loyalty` are accepted (objects) but have no effect here yet."""
    body = json_body(request)
    for part in ("referral", "loyalty"):
        if part in body and not isinstance(body[part], dict):
            raise ApplicationError(f"{part} must be an object", key="invalid_payload", details=part)
    event = services.custom_event_track(
        project=request.api.project,
        name=body.get("event"),
        customer=body.get("customer"),
        metadata=body.get("metadata"),
    )
    return {
        "object": "event",
        "type": event.name,
        "customer": customer_reference(event.customer),
        "referral": None,
        "loyalty": None,
        "metadata": event.metadata or {},
    }
