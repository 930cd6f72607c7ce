"""Categories and campaign templates."""

from django.db import IntegrityError, transaction

from apps.core.errors import ApplicationError

from ..models import (
    Campaign,
    CampaignTemplate,
    CampaignType,
    Category,
    PromotionTier,
    StackingType,
)


def _name(value, what: str) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > 255:
        raise ApplicationError(
            f"A {what} needs a name (up to 255 characters).", key="invalid_payload", details="name"
        )
    return name


def category_create(*, project, payload: dict) -> Category:
    category = Category(project=project)
    return _category_save(category, payload, partial=False)


def category_update(*, category: Category, payload: dict) -> Category:
    return _category_save(category, payload, partial=True)


def _category_save(category: Category, payload: dict, *, partial: bool) -> Category:
    if not partial or "name" in payload:
        category.name = _name(payload.get("name"), "category")
        taken = Category.objects.filter(project=category.project, name=category.name)
        if taken.exclude(pk=category.pk).exists():
            raise ApplicationError(
                f"A category named “{category.name}” exists.", key="duplicate_found", code=409
            )
    if "hierarchy" in payload:
        hierarchy = payload["hierarchy"]
        if (
            isinstance(hierarchy, bool)
            or not isinstance(hierarchy, int)
            or not 0 <= hierarchy <= 10_000
        ):
            raise ApplicationError(
                "hierarchy must be a whole number from 0 to 10000.",
                key="invalid_payload",
                details="hierarchy",
            )
        category.hierarchy = hierarchy
    if "stacking_rules_type" in payload:
        if payload["stacking_rules_type"] not in StackingType.values:
            raise ApplicationError(
                f"stacking_rules_type must be {' or '.join(StackingType.values)}.",
                key="invalid_payload",
                details="stacking_rules_type",
            )
        category.stacking_rules_type = payload["stacking_rules_type"]
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError as exc:  # the same name, saved meanwhile
        raise ApplicationError(
            f"A category named “{category.name}” exists.", key="duplicate_found", code=409
        ) from exc
    return category


def category_delete(*, category: Category) -> None:
    """Campaigns, vouchers and tiers of the category lose it (they stay)."""
    category.delete()


# What a template keeps of a campaign: everything but its identity, codes and dates.
TEMPLATE_FIELDS = (
    "description",
    "voucher_type",
    "discount",
    "gift_amount",
    "gift_effect",
    "loyalty_points",
    "redemption_quantity",
    "code_config",
    "validity_timeframe",
    "validity_day_of_week",
    "validity_hours",
    "activity_duration_after_publishing",
    "join_once",
    "auto_join",
    "metadata",
)


def campaign_config(campaign: Campaign) -> dict:
    """The campaign as a create payload (Voucherify's shape), without name, dates and codes."""
    config = {
        "campaign_type": campaign.campaign_type,
        "type": campaign.type,
        "description": campaign.description,
        "join_once": campaign.join_once,
        "auto_join": campaign.auto_join,
        "activity_duration_after_publishing": campaign.activity_duration_after_publishing,
        "validity_timeframe": campaign.validity_timeframe,
        "validity_day_of_week": campaign.validity_day_of_week,
        "validity_hours": campaign.validity_hours,
        "metadata": campaign.metadata,
        "category_id": campaign.category.public_id if campaign.category_id else None,
    }
    if campaign.campaign_type == CampaignType.PROMOTION:
        config["promotion"] = {
            "tiers": [
                {
                    "name": tier.name,
                    "banner": tier.banner,
                    "action": {"discount": tier.discount},
                    "metadata": tier.metadata,
                }
                for tier in PromotionTier.objects.filter(campaign=campaign).order_by("hierarchy")
            ]
        }
        return config
    config["voucher"] = {
        "type": campaign.voucher_type,
        "discount": campaign.discount,
        "gift": {"amount": campaign.gift_amount, "effect": campaign.gift_effect}
        if campaign.gift_amount
        else None,
        "loyalty_card": {"points": campaign.loyalty_points}
        if campaign.loyalty_points is not None
        else None,
        "redemption": {"quantity": campaign.redemption_quantity},
        "code_config": campaign.code_config,
    }
    return config


def template_create(*, campaign: Campaign, name: str, description: str = "") -> CampaignTemplate:
    name = _name(name, "template")
    if CampaignTemplate.objects.filter(project=campaign.project, name=name).exists():
        raise ApplicationError(
            f"A template named “{name}” exists.", key="duplicate_found", code=409
        )
    return CampaignTemplate.objects.create(
        project=campaign.project,
        name=name,
        description=str(description or ""),
        campaign_type=campaign.campaign_type,
        config=campaign_config(campaign),
    )


def template_delete(*, template: CampaignTemplate) -> None:
    template.delete()


@transaction.atomic
def campaign_from_template(
    *, template: CampaignTemplate, payload: dict, created_by=None
) -> Campaign:
    """A new campaign from the template; `payload` adds the name and may override anything."""
    from .campaigns import campaign_create

    merged = {**template.config, **payload}
    if template.config.get("voucher") and payload.get("voucher"):
        merged["voucher"] = {**template.config["voucher"], **payload["voucher"]}
    merged["voucher"] = {k: v for k, v in (merged.get("voucher") or {}).items() if v is not None}
    if (
        merged.get("category_id")
        and not Category.objects.filter(
            project=template.project, public_id=merged["category_id"]
        ).exists()
    ):
        merged.pop("category_id")  # the category was deleted since
    return campaign_create(project=template.project, payload=merged, created_by=created_by)


def tier_from_template(*, template: CampaignTemplate, campaign: Campaign, payload: dict):
    """A promotion tier of `campaign` from a template's discount (a discount campaign's, or a
    promotion's first tier)."""
    from .promotions import tier_create

    config = template.config
    discount = (config.get("voucher") or {}).get("discount")
    if discount is None:
        tiers = (config.get("promotion") or {}).get("tiers") or []
        discount = tiers[0]["action"]["discount"] if tiers else None
    if discount is None:
        raise ApplicationError(
            "This template has no discount to make a tier from.", key="invalid_payload"
        )
    return tier_create(
        campaign=campaign,
        payload={"name": template.name, "action": {"discount": discount}, **payload},
    )
