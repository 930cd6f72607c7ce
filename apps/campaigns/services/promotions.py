"""Promotion tiers and stacks of PROMOTION campaigns."""

from django.db import transaction
from django.db.models import Max

from apps.core.errors import ApplicationError
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

from ..discounts import clean_discount
from ..models import Campaign, CampaignType, PromotionStack, PromotionTier, StackTier
from ..validity import clean_validity
from .campaigns import resolve_category

MAX_TIERS = 100


def _invalid(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, key="invalid_payload", details=field)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _tier_fields(campaign: Campaign, payload: dict, *, partial: bool) -> dict:
    if not isinstance(payload, dict):
        raise _invalid("A promotion tier is an object with a name and an action.", "tiers")
    fields: dict = {}
    if not partial or "name" in payload:
        name = _text(payload.get("name"))
        if not name or len(name) > 255:
            raise _invalid("A promotion tier needs a name (up to 255 characters).", "name")
        fields["name"] = name
    if "banner" in payload:
        banner = payload.get("banner") or ""
        if not isinstance(banner, str):
            raise _invalid("banner must be text.", "banner")
        fields["banner"] = banner[:500]
    if not partial or "action" in payload:
        action = payload.get("action")
        if not isinstance(action, dict):
            raise _invalid("action must be an object with a discount.", "action")
        fields["discount"] = clean_discount(action.get("discount"))
    if "hierarchy" in payload:
        hierarchy = payload["hierarchy"]
        if isinstance(hierarchy, bool) or not isinstance(hierarchy, int) or hierarchy < 1:
            raise _invalid("hierarchy must be a whole number of at least 1.", "hierarchy")
        fields["hierarchy"] = hierarchy
    if "active" in payload:
        if not isinstance(payload["active"], bool):
            raise _invalid("active must be true or false.", "active")
        fields["active"] = payload["active"]
    if "metadata" in payload or not partial:
        fields["metadata"] = schema_for(
            project=campaign.project, resource=Resource.PROMOTION_TIER
        ).check(payload.get("metadata") or {})
    if "category" in payload or "category_id" in payload:
        fields["category"] = resolve_category(campaign.project, payload)
    fields.update(clean_validity(payload, partial=partial))
    return fields


@transaction.atomic
def tier_create(*, campaign: Campaign, payload: dict) -> PromotionTier:
    if campaign.campaign_type != CampaignType.PROMOTION:
        raise _invalid("Only promotion campaigns have tiers.", "campaign")
    # the campaign row is the lock that keeps hierarchy numbers and the tier count exact
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    tiers = PromotionTier.objects.filter(campaign=campaign)
    if tiers.count() >= MAX_TIERS:
        raise _invalid(f"A promotion has at most {MAX_TIERS} tiers.", "promotion.tiers")
    fields = _tier_fields(campaign, payload, partial=False)
    fields.setdefault("hierarchy", (tiers.aggregate(top=Max("hierarchy"))["top"] or 0) + 1)
    return PromotionTier.objects.create(project=campaign.project, campaign=campaign, **fields)


def tier_update(*, tier: PromotionTier, payload: dict) -> PromotionTier:
    for name, value in _tier_fields(tier.campaign, payload, partial=True).items():
        setattr(tier, name, value)
    if tier.start_date and tier.expiration_date and tier.expiration_date <= tier.start_date:
        raise _invalid("expiration_date must be after start_date.", "expiration_date")
    tier.save()
    return tier


def tier_set_active(*, tier: PromotionTier, active: bool) -> PromotionTier:
    PromotionTier.objects.filter(pk=tier.pk).update(active=active)
    tier.active = active
    return tier


def tier_delete(*, tier: PromotionTier) -> None:
    tier.delete()


@transaction.atomic
def tiers_reorder(*, campaign: Campaign, tier_ids: list[str]) -> list[PromotionTier]:
    """Set the tiers' hierarchy to the given order (1, 2, 3, …); every tier must be named once."""
    tiers = {
        t.public_id: t for t in PromotionTier.objects.select_for_update().filter(campaign=campaign)
    }
    if sorted(tier_ids) != sorted(tiers) or len(set(tier_ids)) != len(tier_ids):
        raise _invalid("List every tier of the campaign exactly once.", "tiers")
    for position, public_id in enumerate(tier_ids, start=1):
        tiers[public_id].hierarchy = position
    PromotionTier.objects.bulk_update(tiers.values(), ["hierarchy"])
    return [tiers[public_id] for public_id in tier_ids]


def _stack_tiers(campaign: Campaign, tiers) -> list[PromotionTier]:
    """The tiers a stack's `tiers: {ids: [...], hierarchy_mode: "MANUAL"}` names, in order."""
    if not isinstance(tiers, dict):
        raise _invalid("tiers must be {ids: [...], hierarchy_mode: MANUAL}.", "tiers")
    if tiers.get("hierarchy_mode", "MANUAL") != "MANUAL":
        raise _invalid("tiers.hierarchy_mode can only be MANUAL.", "tiers.hierarchy_mode")
    tier_ids = tiers.get("ids")
    if not isinstance(tier_ids, list) or not 1 <= len(tier_ids) <= PromotionStack.MAX_TIERS:
        raise _invalid(f"A stack holds 1 to {PromotionStack.MAX_TIERS} tiers.", "tiers.ids")
    if not all(isinstance(ref, str) for ref in tier_ids):
        raise _invalid("tiers.ids lists promotion tier ids.", "tiers.ids")
    if len(set(tier_ids)) != len(tier_ids):
        raise _invalid("A tier can be in a stack once.", "tiers.ids")
    found = {
        t.public_id: t
        for t in PromotionTier.objects.filter(campaign=campaign, public_id__in=tier_ids)
    }
    missing = [ref for ref in tier_ids if ref not in found]
    if missing:
        raise ApplicationError(
            f"Not tiers of this campaign: {', '.join(map(str, missing))}",
            key="not_found",
            code=404,
            details="tiers.ids",
        )
    return [found[ref] for ref in tier_ids]


@transaction.atomic
def stack_create(*, campaign: Campaign, payload: dict) -> PromotionStack:
    if campaign.campaign_type != CampaignType.PROMOTION:
        raise _invalid("Only promotion campaigns have stacks.", "campaign")
    name = _text(payload.get("name"))
    if not name or len(name) > 255:
        raise _invalid("A stack needs a name (up to 255 characters).", "name")
    if PromotionStack.objects.filter(campaign=campaign, name=name).exists():
        raise ApplicationError(f"A stack named “{name}” exists.", key="duplicate_found", code=409)
    tiers = _stack_tiers(campaign, payload.get("tiers"))
    stack = PromotionStack.objects.create(
        project=campaign.project,
        campaign=campaign,
        name=name,
        category=resolve_category(campaign.project, payload),
    )
    StackTier.objects.bulk_create(
        [StackTier(stack=stack, tier=tier, position=i) for i, tier in enumerate(tiers)]
    )
    return stack


@transaction.atomic
def stack_update(*, stack: PromotionStack, payload: dict) -> PromotionStack:
    if "name" in payload:
        name = _text(payload.get("name"))
        if not name or len(name) > 255:
            raise _invalid("A stack needs a name (up to 255 characters).", "name")
        if (
            PromotionStack.objects.filter(campaign=stack.campaign, name=name)
            .exclude(pk=stack.pk)
            .exists()
        ):
            raise ApplicationError(
                f"A stack named “{name}” exists.", key="duplicate_found", code=409
            )
        stack.name = name
    if "category" in payload or "category_id" in payload:
        stack.category = resolve_category(stack.project, payload)
    stack.save()
    if "tiers" in payload:
        tiers = _stack_tiers(stack.campaign, payload.get("tiers"))
        StackTier.objects.filter(stack=stack).delete()
        StackTier.objects.bulk_create(
            [StackTier(stack=stack, tier=tier, position=i) for i, tier in enumerate(tiers)]
        )
    return stack


def stack_delete(*, stack: PromotionStack) -> None:
    stack.delete()


def stack_tiers(stack: PromotionStack) -> list[PromotionTier]:
    return [entry.tier for entry in stack.entries.select_related("tier").order_by("position")]
