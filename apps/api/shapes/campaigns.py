"""Campaigns and vouchers (reference §3.1 to 3.3) in Voucherify's shapes.

`voucher(v)` is the full Voucher object every endpoint answering a voucher returns; `campaign(c)`
the Campaign object. Both read related rows (campaign, category, holder, rule assignments,
publication count): pass list querysets through `with_voucher_relations()` /
`with_campaign_relations()` so a page costs a fixed number of queries.

Gift and loyalty lifetime figures: `gift_amount`/`loyalty_points` only grow (additions), the
balance moves both ways, so what was spent is their difference.
"""

from urllib.parse import quote

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.campaigns import assets
from apps.campaigns.codes import PRESETS
from apps.campaigns.models import (
    Campaign,
    CampaignType,
    PromotionTier,
    Publication,
    Voucher,
    VoucherType,
)
from apps.rules.models import RuleAssignment

from ..serializers import iso
from .promotions import categories, validity

CODE_CONFIG_KEYS = ("length", "charset", "prefix", "postfix", "pattern", "initial_count")


# -- shared parts ------------------------------------------------------------------------------


def _assignments(obj, what: str) -> dict:
    rows = getattr(obj, "api_rule_assignments", None)
    if rows is None:
        rows = list(RuleAssignment.objects.filter(**{what: obj}).select_related("rule"))
    data = [
        {
            "id": row.public_id,
            "rule_id": row.rule.public_id,
            "related_object_id": obj.public_id,
            "related_object_type": what,
            "created_at": iso(row.created_at),
            "object": "validation_rules_assignment",
        }
        for row in rows
    ]
    return {"object": "list", "data_ref": "data", "data": data, "total": len(data)}


def _rules_prefetch() -> Prefetch:
    return Prefetch(
        "rule_assignments",
        queryset=RuleAssignment.objects.select_related("rule").order_by("pk"),
        to_attr="api_rule_assignments",
    )


def code_config(config: dict | None) -> dict:
    """The stored code config as Voucherify answers it: preset charsets spelt out."""
    body = {key: value for key, value in (config or {}).items() if key in CODE_CONFIG_KEYS}
    if body.get("charset") in PRESETS:
        body["charset"] = PRESETS[body["charset"]]
    for key in ("length", "initial_count"):
        if key in body and not (isinstance(body[key], int) and not isinstance(body[key], bool)):
            body.pop(key)
    return body


# -- voucher -----------------------------------------------------------------------------------


def with_voucher_relations(queryset: QuerySet) -> QuerySet:
    """What `voucher()` reads, loaded for a whole page at once."""
    # a correlated subquery, not a join: count() of the page's queryset drops it
    links = (
        Publication.vouchers.through.objects.filter(voucher_id=OuterRef("pk"))
        .order_by()
        .values("voucher_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        queryset.select_related("campaign", "category", "holder")
        .annotate(api_publish_count=Coalesce(Subquery(links, output_field=IntegerField()), 0))
        .prefetch_related(_rules_prefetch())
    )


def _asset(kind: str, v: Voucher, request) -> dict:
    return {
        "id": assets.sign(kind, v.public_id),
        "url": assets.asset_url(kind, v, request=request),
    }


def gift(v: Voucher) -> dict | None:
    if v.type != VoucherType.GIFT_VOUCHER:
        return None
    amount, balance = v.gift_amount or 0, v.gift_balance or 0
    return {
        "amount": amount,
        "subtracted_amount": max(0, amount - balance),
        "balance": balance,
        "effect": v.gift_effect or "APPLY_TO_ORDER",
    }


def loyalty_card(v: Voucher) -> dict | None:
    if v.type != VoucherType.LOYALTY_CARD:
        return None
    points, balance = v.loyalty_points or 0, v.loyalty_balance or 0
    return {
        "points": points,
        "balance": balance,
        "subtracted_points": max(0, points - balance),
        "pending_points": 0,
        "expired_points": 0,
    }


def voucher(v: Voucher, request=None) -> dict:
    """The full Voucher object (§3.1). With `request`, asset URLs are absolute."""
    campaign = v.campaign if v.campaign_id else None
    cat = v.category if v.category_id else None
    publish_count = getattr(v, "api_publish_count", None)
    if publish_count is None:
        publish_count = v.publications.count() if v.pk else 0
    loyalty = loyalty_card(v)
    path = f"/v1/vouchers/{quote(v.code, safe='')}"
    return {
        "id": v.public_id,
        "code": v.code,
        "campaign": campaign.name if campaign else None,
        "campaign_id": campaign.public_id if campaign else None,
        "category": cat.name if cat else None,
        "category_id": cat.public_id if cat else None,
        "categories": categories(cat),
        "type": v.type,
        "discount": v.discount if v.type == VoucherType.DISCOUNT_VOUCHER else None,
        "gift": gift(v),
        "loyalty_card": loyalty,
        **validity(v),
        "active": v.active,
        "additional_info": v.additional_info or None,
        "metadata": v.metadata or {},
        "assets": {
            "qr": _asset(assets.QR, v, request),
            "barcode": _asset(assets.BARCODE, v, request),
        },
        "is_referral_code": v.is_referral_code,
        "holder_id": v.holder.public_id if v.holder_id else None,
        "referrer_id": None,
        "created_at": iso(v.created_at),
        "updated_at": iso(v.updated_at),
        "publish": {
            "object": "list",
            "count": publish_count,
            "url": f"{path}/publications?page=1&limit=10",
        },
        "redemption": {
            "quantity": v.redemption_quantity,
            "redeemed_quantity": v.redeemed_quantity,
            "redeemed_points": loyalty["subtracted_points"] if loyalty else 0,
            "object": "list",
            "url": f"{path}/redemption?page=1&limit=10",
        },
        "validation_rules_assignments": _assignments(v, "voucher"),
        "object": "voucher",
    }


# -- campaign ----------------------------------------------------------------------------------


def with_campaign_relations(queryset: QuerySet) -> QuerySet:
    """What `campaign()` reads, loaded for a whole page at once."""
    tiers = Prefetch("tiers", queryset=PromotionTier.objects.order_by("hierarchy", "pk"))
    return queryset.select_related("category").prefetch_related(_rules_prefetch(), tiers)


def _voucher_template(c: Campaign) -> dict:
    body = {
        "type": c.voucher_type,
        "code_config": code_config(c.code_config),
        "redemption": {"quantity": c.redemption_quantity},
        "is_referral_code": c.is_referral,
        **validity(c),
    }
    if c.voucher_type == VoucherType.DISCOUNT_VOUCHER:
        body["discount"] = c.discount
    elif c.voucher_type == VoucherType.GIFT_VOUCHER:
        body["gift"] = {"amount": c.gift_amount or 0, "effect": c.gift_effect or "APPLY_TO_ORDER"}
    else:
        body["loyalty_card"] = {"points": c.loyalty_points or 0}
    return body


def _tier(t) -> dict:
    return {
        "id": t.public_id,
        "object": "promotion_tier",
        "name": t.name,
        "banner": t.banner or None,
        "action": {"discount": t.discount},
        "metadata": t.metadata or {},
        "hierarchy": t.hierarchy,
        "campaign_id": None,
        "active": t.active,
        **validity(t),
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
    }


def _promotion(c: Campaign) -> dict:
    tiers = []
    prefetched = "tiers" in getattr(c, "_prefetched_objects_cache", {})
    for t in c.tiers.all() if prefetched else c.tiers.order_by("hierarchy", "pk"):
        body = _tier(t)
        body["campaign_id"] = c.public_id
        tiers.append(body)
    return {
        "object": "list",
        "data_ref": "tiers",
        "tiers": tiers,
        "total": len(tiers),
        "has_more": False,
    }


def campaign(c: Campaign) -> dict:
    """The Campaign object (§3.3). A promotion carries its tiers; others their voucher
    template (`voucher.code_config` is always present: the SDK requires it)."""
    cat = c.category if c.category_id else None
    body = {
        "id": c.public_id,
        "name": c.name,
        "description": c.description or None,
        "campaign_type": c.campaign_type,
        "type": c.type,
        "auto_join": c.auto_join,
        "join_once": c.join_once,
        "use_voucher_metadata_schema": True,
        **validity(c),
        "activity_duration_after_publishing": c.activity_duration_after_publishing or None,
        "vouchers_count": c.vouchers_count,
        "active": c.active,
        "metadata": c.metadata or {},
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "category": cat.name if cat else None,
        "category_id": cat.public_id if cat else None,
        "categories": categories(cat),
        "creation_status": c.creation_status,
        "vouchers_generation_status": c.vouchers_generation_status,
        "readonly": False,
        "protected": False,
        "validation_rules_assignments": _assignments(c, "campaign"),
        "object": "campaign",
    }
    if c.campaign_type == CampaignType.PROMOTION:
        body["promotion"] = _promotion(c)
    else:
        body["voucher"] = _voucher_template(c)
    return body
