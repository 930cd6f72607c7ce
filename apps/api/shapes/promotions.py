"""Categories, promotion tiers and promotion stacks in Voucherify's shapes (reference §3.3).

`tier(t)` carries the tier's redemption summary and its validation rule assignments; for a page
of tiers, `tier_page_extras(tiers)` loads both in two queries and `tier(t, extras=...)` reads
them from there (a single tier loads its own).
"""

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Sum

from apps.campaigns.models import Category, PromotionStack, PromotionTier, StackTier
from apps.redemptions.models import Redemption, RelatedObjectType, Result
from apps.rules.models import RuleAssignment

from ..serializers import iso
from .rules import assignment, assignments_list


def category(c: Category) -> dict:
    return {
        "id": c.public_id,
        "name": c.name,
        "hierarchy": c.hierarchy,
        "stacking_rules_type": c.stacking_rules_type,
        "object": "category",
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }


def categories(c: Category | None) -> list[dict]:
    """The `categories` array of a campaign, voucher, tier or stack (at most one here)."""
    return [category(c)] if c is not None else []


def validity(obj) -> dict:
    """The validity fields every campaign, voucher and tier has."""
    return {
        "start_date": iso(obj.start_date),
        "expiration_date": iso(obj.expiration_date),
        "validity_timeframe": obj.validity_timeframe or None,
        "validity_day_of_week": obj.validity_day_of_week or None,
        "validity_hours": obj.validity_hours or None,
    }


@dataclass
class TierExtras:
    """Figures and assignments of a page of tiers, keyed by tier pk."""

    summaries: dict[int, dict] = field(default_factory=dict)
    assignments: dict[int, list[dict]] = field(default_factory=dict)


def tier_page_extras(tiers) -> TierExtras:
    """Each tier's redemption summary and rule assignments: two queries for the whole page."""
    ids = [t.pk for t in tiers]
    extras = TierExtras()
    if not ids:
        return extras
    rows = (
        Redemption.objects.filter(
            tier_id__in=ids,
            related_object_type=RelatedObjectType.PROMOTION_TIER,
            result=Result.SUCCESS,
        )
        .order_by()
        .values("tier_id")
        .annotate(redeemed=Count("pk"), discounted=Sum("amount"), ordered=Sum("order_amount"))
    )
    for row in rows:
        extras.summaries[row["tier_id"]] = {
            "redemptions": {"total_redeemed": row["redeemed"]},
            "orders": {
                "total_amount": row["ordered"] or 0,
                "total_discount_amount": row["discounted"] or 0,
            },
        }
    for item in RuleAssignment.objects.filter(tier_id__in=ids).select_related("rule", "tier"):
        extras.assignments.setdefault(item.tier_id, []).append(assignment(item))
    return extras


EMPTY_SUMMARY = {
    "redemptions": {"total_redeemed": 0},
    "orders": {"total_amount": 0, "total_discount_amount": 0},
}


def tier(t: PromotionTier, *, extras: TierExtras | None = None) -> dict:
    """One promotion tier; its campaign (and category) should be select_related."""
    extras = extras if extras is not None else tier_page_extras([t])
    campaign = t.campaign
    return {
        "id": t.public_id,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "name": t.name,
        "banner": t.banner or None,
        "action": {"discount": t.discount},
        "metadata": t.metadata or {},
        "hierarchy": t.hierarchy,
        "promotion_id": campaign.public_id,
        "campaign": {
            "id": campaign.public_id,
            **validity(campaign),
            "active": campaign.active,
            "category_id": campaign.category.public_id if campaign.category_id else None,
            "object": "campaign",
        },
        "campaign_id": campaign.public_id,
        "active": t.active,
        **validity(t),
        "summary": extras.summaries.get(t.pk, EMPTY_SUMMARY),
        "object": "promotion_tier",
        "validation_rule_assignments": assignments_list(extras.assignments.get(t.pk, [])),
        "category_id": t.category.public_id if t.category_id else None,
        "categories": categories(t.category),
    }


def tiers(rows) -> list[dict]:
    rows = list(rows)
    extras = tier_page_extras(rows)
    return [tier(t, extras=extras) for t in rows]


def stack(s: PromotionStack, tier_ids: list[str] | None = None) -> dict:
    """One promotion stack; `tier_ids` in stack order (loaded from the stack when omitted)."""
    if tier_ids is None:
        tier_ids = [entry.tier.public_id for entry in s.entries.all()]
    return {
        "id": s.public_id,
        "name": s.name,
        "tiers": {"ids": tier_ids, "hierarchy_mode": "MANUAL"},
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
        "campaign_id": s.campaign.public_id,
        "object": "promotion_stack",
        "category_id": s.category.public_id if s.category_id else None,
        "categories": categories(s.category),
    }


def stack_queryset(queryset):
    """Stacks with what `stack()` reads, in a fixed number of queries for any page."""
    return queryset.select_related("campaign", "category").prefetch_related(
        Prefetch("entries", queryset=StackTier.objects.select_related("tier").order_by("position"))
    )


def tier_queryset(queryset):
    return queryset.select_related("campaign__category", "category")
