"""The customer object (reference §3.4) in Voucherify's shape.

`customer(c)` is what every endpoint answering a customer returns: profile, `summary` (the
denormalised figures services keep), `loyalty` and `referrals`. Gift and loyalty balances come
from the cards the customer holds: pass a queryset through `with_cards()` so a page of customers
costs one extra query, not one per customer.
"""

from django.db.models import Prefetch, QuerySet

from apps.campaigns.models import Voucher, VoucherType
from apps.customers.models import Customer

from ..serializers import iso

CARD_TYPES = (VoucherType.GIFT_VOUCHER, VoucherType.LOYALTY_CARD)


def _cards_queryset() -> QuerySet:
    return (
        Voucher.objects.filter(type__in=CARD_TYPES)
        .select_related("campaign")
        .only("type", "code", "gift_balance", "loyalty_balance", "holder_id", "campaign__name")
        .order_by("pk")
    )


def with_cards(queryset: QuerySet) -> QuerySet:
    """`queryset` with each customer's gift and loyalty cards prefetched (as `held_cards`)."""
    return queryset.prefetch_related(
        Prefetch("vouchers", queryset=_cards_queryset(), to_attr="held_cards")
    )


def _cards(c: Customer) -> list:
    cards = getattr(c, "held_cards", None)
    if cards is None:
        cards = list(_cards_queryset().filter(holder=c)) if c.pk else []
    return cards


def address(c: Customer) -> dict:
    return c.address


def summary(c: Customer, cards: list) -> dict:
    gift_to_go = sum(v.gift_balance or 0 for v in cards if v.type == VoucherType.GIFT_VOUCHER)
    points_to_go = sum(v.loyalty_balance or 0 for v in cards if v.type == VoucherType.LOYALTY_CARD)
    return {
        "redemptions": {
            "total_redeemed": c.redemptions_total_redeemed,
            "total_failed": c.redemptions_total_failed,
            "total_succeeded": c.redemptions_total_succeeded,
            "total_rolled_back": c.redemptions_total_rolled_back,
            "total_rollback_failed": c.redemptions_total_rollback_failed,
            "total_rollback_succeeded": c.redemptions_total_rollback_succeeded,
            "gift": {"redeemed_amount": c.gift_redeemed_amount, "amount_to_go": gift_to_go},
            "loyalty_card": {
                "redeemed_points": c.loyalty_redeemed_points,
                "points_to_go": points_to_go,
            },
        },
        "orders": {
            "total_amount": c.orders_total_amount,
            "total_count": c.orders_total_count,
            "average_amount": c.orders_average_amount,
            "last_order_amount": c.orders_last_order_amount,
            "last_order_date": iso(c.orders_last_order_date),
        },
    }


def loyalty(c: Customer, cards: list) -> dict:
    campaigns: dict[str, dict] = {}
    for card in cards:
        if card.type != VoucherType.LOYALTY_CARD:
            continue
        name = card.campaign.name if card.campaign_id else card.code
        entry = campaigns.setdefault(name, {"points": 0, "referred_customers": 0})
        entry["points"] += card.loyalty_balance or 0
    return {
        "points": sum(entry["points"] for entry in campaigns.values()),
        "referred_customers": c.loyalty_referred_customers,
        "campaigns": campaigns,
    }


def customer(c: Customer) -> dict:
    """One customer, as GET /v1/customers/{id} answers it."""
    cards = _cards(c)
    return {
        "id": c.public_id,
        "source_id": c.source_id,
        "name": c.name or None,
        "description": c.description or None,
        "email": c.email or None,
        "phone": c.phone or None,
        "birthdate": c.birthdate.isoformat() if c.birthdate else None,
        "address": address(c),
        "summary": summary(c, cards),
        "loyalty": loyalty(c, cards),
        "referrals": {"total": 0, "campaigns": []},
        "metadata": c.metadata or {},
        "system_metadata": c.system_metadata or {},
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "assets": {"cockpit_url": None, "cockpit_preference_center_url": None},
        "object": "customer",
    }


def customer_reference(c: Customer | None) -> dict | None:
    """The short customer reference other objects embed: id, source_id and the profile."""
    if c is None:
        return None
    return {
        "id": c.public_id,
        "source_id": c.source_id,
        "name": c.name or None,
        "email": c.email or None,
        "metadata": c.metadata or {},
        "object": "customer",
    }
