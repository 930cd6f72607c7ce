"""The customer fields a segment filter may use, for the compiler in apps/core/conditions.py.

Besides the customer's columns and metadata:

    events.<name>.count            how many custom events of that name the customer has (0: none)
    events.<name>.last_occurrence  when the last one happened
    system_metadata.<path>         what the platform recorded, e.g. system_metadata.source

Event fields compile to `pk IN (SELECT customer_id ... GROUP BY customer_id HAVING ...)`, one
grouped scan of the event index, never a subquery per customer.
"""

import re

from django.db.models import Count, Max, Q

from apps.core.conditions import FieldSpec, FilterError, metadata_key
from apps.customers.models import CustomEvent
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

COLUMNS = {
    "name": FieldSpec("name", "string", label="Name"),
    "email": FieldSpec("email", "string", label="Email"),
    "phone": FieldSpec("phone", "string", label="Phone"),
    "source_id": FieldSpec("source_id", "string", label="Source ID"),
    "created_at": FieldSpec("created_at", "datetime", label="Created"),
    "birthdate": FieldSpec("birthdate", "date", label="Birthdate", anniversary=True),
    "address.city": FieldSpec("address_city", "string", label="City"),
    "address.state": FieldSpec("address_state", "string", label="State"),
    "address.country": FieldSpec("address_country", "string", label="Country"),
    "address.postal_code": FieldSpec("address_postal_code", "string", label="Postal code"),
    "summary.orders.total_amount": FieldSpec("orders_total_amount", "number", label="Total spent"),
    "summary.orders.total_count": FieldSpec("orders_total_count", "number", label="Orders"),
    "summary.orders.average_amount": FieldSpec(
        "orders_average_amount", "number", label="Average order"
    ),
    "summary.orders.last_order_amount": FieldSpec(
        "orders_last_order_amount", "number", label="Last order amount"
    ),
    "summary.orders.last_order_date": FieldSpec(
        "orders_last_order_date", "datetime", label="Last order date"
    ),
    "summary.redemptions.total_redeemed": FieldSpec(
        "redemptions_total_redeemed", "number", label="Redemptions"
    ),
    "summary.redemptions.total_succeeded": FieldSpec(
        "redemptions_total_succeeded", "number", label="Successful redemptions"
    ),
    "summary.redemptions.total_failed": FieldSpec(
        "redemptions_total_failed", "number", label="Failed redemptions"
    ),
    "summary.redemptions.total_rolled_back": FieldSpec(
        "redemptions_total_rolled_back", "number", label="Rolled back redemptions"
    ),
    "summary.redemptions.gift.redeemed_amount": FieldSpec(
        "gift_redeemed_amount", "number", label="Gift credits redeemed"
    ),
    "summary.redemptions.loyalty_card.redeemed_points": FieldSpec(
        "loyalty_redeemed_points", "number", label="Loyalty points redeemed"
    ),
    "loyalty.referred_customers": FieldSpec(
        "loyalty_referred_customers", "number", label="Referred customers"
    ),
}
EVENT_FIELD = re.compile(r"events\.(?P<name>.{1,255})\.(?P<part>count|last_occurrence)")
SYSTEM_PREFIX = "system_metadata."
SYSTEM_PATH = re.compile(r"[A-Za-z0-9_\-]{1,64}(\.[A-Za-z0-9_\-]{1,64}){0,4}")
_CHECKS = {
    "exact": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "in": lambda a, b: a in b,
}

# metadata-schema types -> compiler types
SCHEMA_TYPES = {
    "string": "string",
    "image_url": "string",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


def event_field(project, name: str, part: str) -> FieldSpec:
    """`events.<name>.count` (a number; no events is 0) or `.last_occurrence` (a date-time;
    no events is unknown), compiled to `pk IN (customers grouped by an aggregate)`."""
    count = part == "count"

    def build(lookup: str, value) -> Q:
        events = CustomEvent.objects.filter(project=project, name=name)
        if lookup == "isnull":  # "unknown": never happened
            return ~Q(pk__in=events.values("customer_id"))
        grouped = events.values("customer_id").annotate(
            figure=Count("id") if count else Max("created_at")
        )
        condition = {f"figure__{lookup}": value}
        if count and _CHECKS[lookup](0, value):
            # Customers without any such event match too: exclude those whose count fails.
            return ~Q(pk__in=grouped.exclude(**condition).values("customer_id"))
        return Q(pk__in=grouped.filter(**condition).values("customer_id"))

    label = f"{name}: count" if count else f"{name}: last time"
    kind = "number" if count else "datetime"
    return FieldSpec(f"events.{name}.{part}", kind, label=label, build=build)


def customer_fields(project):
    """`name -> FieldSpec | None` for the project's customers; metadata keys take the type their
    metadata schema gives them (text when the schema does not define them)."""
    properties = schema_for(project=project, resource=Resource.CUSTOMER).properties

    def resolve(name: str) -> FieldSpec | None:
        if name in COLUMNS:
            return COLUMNS[name]
        event = EVENT_FIELD.fullmatch(name)
        if event:
            return event_field(project, event["name"], event["part"])
        if name.startswith(SYSTEM_PREFIX):
            path = name[len(SYSTEM_PREFIX) :]
            if not SYSTEM_PATH.fullmatch(path):
                raise FilterError(f"{name}: not a system_metadata path", field=name)
            lookup = "system_metadata__" + path.replace(".", "__")
            return FieldSpec(lookup, "string", json=True, label=name)
        key = metadata_key(name)
        if key is None or key not in properties:
            return None
        spec = properties[key]
        kind = SCHEMA_TYPES.get(spec.get("type", "string"))
        if kind is None or spec.get("array"):
            raise FilterError(f"{name}: {spec.get('type')} metadata cannot be filtered", field=name)
        return FieldSpec(f"metadata__{key}", kind, json=True, label=key)

    return resolve
