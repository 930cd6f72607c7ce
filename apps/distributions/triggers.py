"""Domain events → deliveries of automatic distributions. Runs after the event's transaction
commits (apps.core.events): one cached look-up says whether any active distribution of the
project listens to the event type; only then is anything read or written.

Each event gives a trigger key per customer, so an event seen twice makes one delivery: an
order's status change is keyed by the order and the status; a custom event, publication or
redemption by its id; a segment entry or exit by the segment, the customer and the day (a
customer who leaves and comes back on another day gets the message again). Bulk events (a
recompute moving thousands of customers) are handled a chunk of customers at a time.
"""

from django.utils import timezone

from apps.core.events import Event, Listeners

from .models import SEGMENT_TRIGGERS, Distribution, Kind, Status, Trigger

CHUNK = 500

# (id, trigger, segment id, custom event name) of the project's active automatic distributions
listening = Listeners(
    "distributions",
    lambda project_id: list(
        Distribution.objects.filter(
            project_id=project_id, kind=Kind.AUTOMATIC, status=Status.ACTIVE
        ).values_list("pk", "trigger", "segment_id", "custom_event")
    ),
)
forget = listening.forget  # call after any change to a project's distributions


def _segment_id(event: Event):
    segment = event.related.get("segment") or getattr(event.object, "segment", None)
    return getattr(segment, "pk", segment)


def _customer_of(event: Event):
    from apps.customers.models import Customer

    obj = event.object
    if isinstance(obj, Customer):
        return obj
    customer = event.related.get("customer") or getattr(obj, "customer", None)
    return customer if isinstance(customer, Customer) else None


def _matches(event: Event, trigger: str, segment_id, custom_event: str) -> bool:
    if trigger != event.type:
        return False
    if trigger in SEGMENT_TRIGGERS:
        return segment_id is not None and segment_id == _segment_id(event)
    if trigger == Trigger.CUSTOM_EVENT:
        return custom_event == getattr(event.object, "name", None)
    if trigger == Trigger.PUBLICATION:
        # distributions publish too: their publications never trigger distributions (no loops)
        return getattr(event.object, "channel", "") != "distribution"
    if event.type.startswith("order."):
        return not getattr(event.object, "imported", False)
    return True


def key_of(event: Event):
    """customer id -> the trigger key of this event for that customer."""
    if event.type in SEGMENT_TRIGGERS:
        day = timezone.now().date().isoformat()
        segment = _segment_id(event)
        return lambda customer_id: f"{event.type}:{segment}:{customer_id}:{day}"
    ref = getattr(event.object, "public_id", None) or event.object.pk
    return lambda customer_id: f"{event.type}:{ref}"


def on_event(event: Event) -> None:
    if event.type not in Trigger.values:
        return
    ids = [
        pk
        for pk, trigger, segment_id, custom_event in listening(event.project_id)
        if _matches(event, trigger, segment_id, custom_event)
    ]
    if not ids:
        return
    from apps.customers.models import Customer

    from .services import TRIGGER_CUSTOMER_FIELDS, deliveries_for_trigger

    distributions = list(
        Distribution.objects.filter(pk__in=ids, status=Status.ACTIVE, project_id=event.project_id)
    )
    customers = Customer.objects.filter(project_id=event.project_id)
    if event.is_bulk:
        if event.model != "customers.Customer":
            return
        chunks = [event.ids[i : i + CHUNK] for i in range(0, len(event.ids), CHUNK)]
    else:
        customer = _customer_of(event)
        if customer is None:
            return
        chunks = [(customer.pk,)]
    keys = key_of(event)
    for chunk in chunks:
        rows = list(customers.filter(pk__in=chunk).values_list(*TRIGGER_CUSTOMER_FIELDS))
        for distribution in distributions:
            deliveries_for_trigger(distribution=distribution, customers=rows, key_of=keys)
