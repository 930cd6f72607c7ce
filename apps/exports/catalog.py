"""What an export made through the API (`POST /v1/exports`) can contain: for each of
Voucherify's `exported_object`s, the rows, the fields (CSV columns, named as Voucherify names
them), the default fields, the fields its `filters` may use and the `order` values.

Cells are written as the API speaks: amounts in minor units, timestamps ISO 8601 UTC, ids as
public ids. `metadata` expands to one `metadata.<key>` column per key; `metadata.<key>` picks
one key.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Case, F, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.fields import TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from apps.campaigns.models import Publication, Voucher
from apps.core.conditions import FieldSpec
from apps.customers.models import Customer
from apps.orders.models import Order
from apps.products.models import Product, Sku
from apps.redemptions.models import Redemption, RelatedObjectType

from .sql import IsoDate, IsoTimestamp


def _flag(field: str):
    return Case(
        When(**{field: True}, then=Value("true")),
        default=Value("false"),
        output_field=TextField(),
    )


def _text(value: str):
    return Value(value, output_field=TextField())


def _stamps() -> dict:
    return {"created_at": IsoTimestamp("created_at"), "updated_at": IsoTimestamp("updated_at")}


def _order_fields(project) -> dict:
    return {
        "id": F("public_id"),
        "source_id": F("source_id"),
        **_stamps(),
        "status": F("status"),
        "amount": F("amount"),
        "discount_amount": F("discount_amount"),
        "items_discount_amount": F("items_discount_amount"),
        "total_discount_amount": F("total_discount_amount"),
        "total_amount": F("total_amount"),
        "customer_id": F("customer__public_id"),
        "referrer_id": F("referrer__public_id"),
    }


def _customer_fields(project) -> dict:
    return {
        "id": F("public_id"),
        "source_id": F("source_id"),
        "name": F("name"),
        "description": F("description"),
        "email": F("email"),
        "phone": F("phone"),
        "birthdate": IsoDate("birthdate"),
        "birthday": IsoDate("birthdate"),
        "address_line_1": F("address_line_1"),
        "address_line_2": F("address_line_2"),
        "address_city": F("address_city"),
        "address_state": F("address_state"),
        "address_postal_code": F("address_postal_code"),
        "address_country": F("address_country"),
        "redemptions_total_redeemed": F("redemptions_total_redeemed"),
        "redemptions_total_failed": F("redemptions_total_failed"),
        "redemptions_total_succeeded": F("redemptions_total_succeeded"),
        "redemptions_total_rolled_back": F("redemptions_total_rolled_back"),
        "redemptions_total_rollback_failed": F("redemptions_total_rollback_failed"),
        "redemptions_total_rollback_succeeded": F("redemptions_total_rollback_succeeded"),
        "orders_total_amount": F("orders_total_amount"),
        "orders_total_count": F("orders_total_count"),
        "orders_average_amount": F("orders_average_amount"),
        "orders_last_order_amount": F("orders_last_order_amount"),
        "orders_last_order_date": IsoTimestamp("orders_last_order_date"),
        "loyalty_referred_customers": F("loyalty_referred_customers"),
        **_stamps(),
    }


def _voucher_fields(project) -> dict:
    return {
        "id": F("public_id"),
        "code": F("code"),
        "voucher_type": F("type"),
        "campaign": F("campaign__name"),
        "campaign_id": F("campaign__public_id"),
        "category": F("category__name"),
        "discount_type": KeyTextTransform("type", "discount"),
        "discount_effect": KeyTextTransform("effect", "discount"),
        "gift_balance": F("gift_balance"),
        "loyalty_balance": F("loyalty_balance"),
        "redemption_quantity": F("redemption_quantity"),
        "redemption_count": F("redeemed_quantity"),
        "active": _flag("active"),
        "is_referral_code": _flag("is_referral_code"),
        "start_date": IsoTimestamp("start_date"),
        "expiration_date": IsoTimestamp("expiration_date"),
        "additional_info": F("additional_info"),
        "customer_id": F("holder__public_id"),
        "customer_source_id": F("holder__source_id"),
        **_stamps(),
    }


def _product_fields(project) -> dict:
    return {
        "id": F("public_id"),
        "source_id": F("source_id"),
        "name": F("name"),
        "price": F("price"),
        "attributes": Cast("attributes", TextField()),
        "image_url": F("image_url"),
        **_stamps(),
    }


def _sku_fields(project) -> dict:
    return {
        "id": F("public_id"),
        "source_id": F("source_id"),
        "sku": F("sku"),
        "product_id": F("product__public_id"),
        "price": F("price"),
        "currency": _text(project.currency),
        "attributes": Cast("attributes", TextField()),
        "image_url": F("image_url"),
        **_stamps(),
    }


def _redemption_fields(project) -> dict:
    return {
        "id": F("public_id"),
        "object": _text("redemption"),
        "date": IsoTimestamp("created_at"),
        "voucher_code": F("code"),
        "campaign": F("campaign__name"),
        "campaign_id": F("campaign__public_id"),
        "promotion_tier_id": F("tier__public_id"),
        "customer_id": F("customer__public_id"),
        "customer_source_id": F("customer__source_id"),
        "customer_name": F("customer__name"),
        "tracking_id": F("tracking_id"),
        "order_id": F("order__public_id"),
        "order_amount": F("order_amount"),
        "amount": F("amount"),
        "gift_amount": F("gift_amount"),
        "loyalty_points": F("loyalty_points"),
        "result": F("result"),
        "status": F("status"),
        "failure_code": F("failure_code"),
        "failure_message": F("failure_message"),
    }


def _publication_fields(project) -> dict:
    first_code = (
        Publication.vouchers.through.objects.filter(publication_id=OuterRef("pk"))
        .order_by("pk")
        .values("voucher__code")[:1]
    )
    return {
        "id": F("public_id"),
        "object": _text("publication"),
        "date": IsoTimestamp("created_at"),
        "voucher_code": Subquery(first_code, output_field=TextField()),
        "campaign": F("campaign__name"),
        "customer_id": F("customer__public_id"),
        "customer_source_id": F("customer__source_id"),
        "source_id": F("source_id"),
        "channel": F("channel"),
    }


def _specs(**specs: tuple[str, str]) -> dict[str, FieldSpec]:
    return {name: FieldSpec(lookup, kind) for name, (lookup, kind) in specs.items()}


STAMPS = {"created_at": ("created_at", "datetime"), "updated_at": ("updated_at", "datetime")}


@dataclass(frozen=True)
class ExportObject:
    """One of Voucherify's `exported_object`s. `kind` names the export kind (and job type)."""

    name: str
    kind: str
    rows: Callable[..., QuerySet]  # (project) -> the project's rows
    fields: Callable[..., dict]  # (project) -> {field: expression}
    default_fields: tuple[str, ...]
    filters: dict[str, FieldSpec]
    orders: dict[str, str]  # API order name -> model field


OBJECTS = {
    spec.name: spec
    for spec in (
        ExportObject(
            "order",
            "orders",
            lambda project: Order.objects.filter(project=project),
            _order_fields,
            (
                "id",
                "source_id",
                "created_at",
                "updated_at",
                "status",
                "amount",
                "discount_amount",
                "items_discount_amount",
                "total_discount_amount",
                "total_amount",
                "customer_id",
                "referrer_id",
                "metadata",
            ),
            _specs(
                id=("public_id", "string"),
                source_id=("source_id", "string"),
                status=("status", "string"),
                amount=("amount", "number"),
                discount_amount=("discount_amount", "number"),
                total_discount_amount=("total_discount_amount", "number"),
                total_amount=("total_amount", "number"),
                customer_id=("customer__public_id", "string"),
                referrer_id=("referrer__public_id", "string"),
                **STAMPS,
            ),
            {
                "created_at": "created_at",
                "updated_at": "updated_at",
                "status": "status",
                "id": "id",
                "source_id": "source_id",
            },
        ),
        ExportObject(
            "customer",
            "customers",
            lambda project: Customer.objects.filter(project=project),
            _customer_fields,
            ("id", "source_id", "name", "email", "phone", "created_at", "updated_at", "metadata"),
            _specs(
                id=("public_id", "string"),
                source_id=("source_id", "string"),
                name=("name", "string"),
                email=("email", "string"),
                phone=("phone", "string"),
                **{
                    f"address.{part}": (f"address_{part}", "string")
                    for part in ("city", "state", "country", "postal_code", "line_1", "line_2")
                },
                **STAMPS,
            ),
            {
                "created_at": "created_at",
                "updated_at": "updated_at",
                "name": "name",
                "email": "email",
                "source_id": "source_id",
                "id": "id",
            },
        ),
        ExportObject(
            "voucher",
            "vouchers",
            lambda project: Voucher.objects.filter(project=project),
            _voucher_fields,
            (
                "code",
                "voucher_type",
                "campaign",
                "discount_type",
                "gift_balance",
                "loyalty_balance",
                "redemption_quantity",
                "redemption_count",
                "active",
                "start_date",
                "expiration_date",
                "created_at",
                "metadata",
            ),
            _specs(
                id=("public_id", "string"),
                code=("code", "string"),
                campaign=("campaign__name", "string"),
                campaign_id=("campaign__public_id", "string"),
                voucher_type=("type", "string"),
                type=("type", "string"),
                active=("active", "boolean"),
                customer_id=("holder__public_id", "string"),
                holder_id=("holder__public_id", "string"),
                start_date=("start_date", "datetime"),
                expiration_date=("expiration_date", "datetime"),
                **STAMPS,
            ),
            {
                "created_at": "created_at",
                "updated_at": "updated_at",
                "code": "code",
                "id": "id",
                "expires_at": "expiration_date",
            },
        ),
        ExportObject(
            "product",
            "products",
            lambda project: Product.objects.filter(project=project),
            _product_fields,
            (
                "id",
                "source_id",
                "name",
                "price",
                "attributes",
                "image_url",
                "created_at",
                "updated_at",
                "metadata",
            ),
            _specs(
                id=("public_id", "string"),
                source_id=("source_id", "string"),
                name=("name", "string"),
                price=("price", "number"),
                image_url=("image_url", "string"),
                **STAMPS,
            ),
            {
                "created_at": "created_at",
                "updated_at": "updated_at",
                "name": "name",
                "source_id": "source_id",
                "id": "id",
            },
        ),
        ExportObject(
            "sku",
            "skus",
            lambda project: Sku.objects.filter(project=project),
            _sku_fields,
            (
                "id",
                "source_id",
                "sku",
                "product_id",
                "price",
                "currency",
                "attributes",
                "image_url",
                "created_at",
                "updated_at",
                "metadata",
            ),
            _specs(
                id=("public_id", "string"),
                source_id=("source_id", "string"),
                sku=("sku", "string"),
                product_id=("product__public_id", "string"),
                price=("price", "number"),
                **STAMPS,
            ),
            {
                "created_at": "created_at",
                "updated_at": "updated_at",
                "sku": "sku",
                "product_id": "product__public_id",
                "source_id": "source_id",
                "id": "id",
            },
        ),
        ExportObject(
            "redemption",
            "redemptions",
            # the redeemables (a code or a promotion each), not the stacks that group them
            lambda project: Redemption.objects.filter(project=project).exclude(
                related_object_type=RelatedObjectType.REDEMPTION
            ),
            _redemption_fields,
            (
                "id",
                "object",
                "date",
                "voucher_code",
                "campaign",
                "promotion_tier_id",
                "customer_id",
                "customer_source_id",
                "customer_name",
                "tracking_id",
                "order_amount",
                "gift_amount",
                "loyalty_points",
                "result",
                "failure_code",
                "failure_message",
                "metadata",
            ),
            _specs(
                id=("public_id", "string"),
                result=("result", "string"),
                status=("status", "string"),
                voucher_code=("code", "string"),
                campaign=("campaign__name", "string"),
                campaign_id=("campaign__public_id", "string"),
                customer_id=("customer__public_id", "string"),
                tracking_id=("tracking_id", "string"),
                order_id=("order__public_id", "string"),
                date=("created_at", "datetime"),
                created_at=("created_at", "datetime"),
            ),
            {
                "created_at": "created_at",
                "id": "id",
                "voucher_code": "code",
                "tracking_id": "tracking_id",
                "customer_id": "customer__public_id",
            },
        ),
        ExportObject(
            "publication",
            "publications",
            lambda project: Publication.objects.filter(project=project),
            _publication_fields,
            (
                "id",
                "object",
                "date",
                "voucher_code",
                "campaign",
                "customer_id",
                "customer_source_id",
                "source_id",
                "channel",
                "metadata",
            ),
            _specs(
                id=("public_id", "string"),
                campaign=("campaign__name", "string"),
                customer_id=("customer__public_id", "string"),
                source_id=("source_id", "string"),
                channel=("channel", "string"),
                date=("created_at", "datetime"),
                created_at=("created_at", "datetime"),
            ),
            {
                "created_at": "created_at",
                "id": "id",
                "customer_id": "customer__public_id",
                "channel": "channel",
            },
        ),
    )
}
# Voucherify exports we do not make: the request is refused saying so.
NOT_SUPPORTED = ("points_expiration", "voucher_transactions")
