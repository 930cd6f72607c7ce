"""The customer fields a segment filter may use, for the compiler in apps/core/conditions.py."""

from apps.core.conditions import FieldSpec, FilterError, metadata_key
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

COLUMNS = {
    "name": FieldSpec("name", "string", label="Name"),
    "email": FieldSpec("email", "string", label="Email"),
    "phone": FieldSpec("phone", "string", label="Phone"),
    "source_id": FieldSpec("source_id", "string", label="Source ID"),
    "created_at": FieldSpec("created_at", "datetime", label="Created"),
    "birthdate": FieldSpec("birthdate", "date", label="Birthdate"),
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


def customer_fields(project):
    """`name -> FieldSpec | None` for the project's customers; metadata keys take the type their
    metadata schema gives them (text when the schema does not define them)."""
    properties = schema_for(project=project, resource=Resource.CUSTOMER).properties

    def resolve(name: str) -> FieldSpec | None:
        if name in COLUMNS:
            return COLUMNS[name]
        key = metadata_key(name)
        if key is None or key not in properties:
            return None
        spec = properties[key]
        kind = SCHEMA_TYPES.get(spec.get("type", "string"))
        if kind is None or spec.get("array"):
            raise FilterError(f"{name}: {spec.get('type')} metadata cannot be filtered", field=name)
        return FieldSpec(f"metadata__{key}", kind, json=True, label=key)

    return resolve
