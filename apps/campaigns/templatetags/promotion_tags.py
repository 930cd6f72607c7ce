"""`{% promotion_section campaign as section %}`: a promotion campaign's tiers (in hierarchy
order) and its stacks with their tiers, in three queries. The tiers section on the campaign page
renders from it."""

from dataclasses import dataclass

from django import template
from django.db.models import Prefetch
from django.utils import timezone

from apps.core.filters import project_zone

from ..discounts import describe_discount
from ..models import PromotionStack, PromotionTier, StackTier

register = template.Library()


@dataclass
class TierRow:
    tier: PromotionTier
    discount_text: str
    position: int
    starts: str = ""  # start_date in the project's time zone, as text
    ends: str = ""
    can_move_up: bool = False
    can_move_down: bool = False


@dataclass
class StackRow:
    stack: PromotionStack
    tiers: list[PromotionTier]


@dataclass
class PromotionSection:
    tiers: list[TierRow]
    stacks: list[StackRow]
    zone_name: str = "UTC"

    @property
    def tier_count(self) -> int:
        return len(self.tiers)


def promotion_section_data(campaign, project) -> PromotionSection:
    zone = project_zone(project)
    tiers = list(
        PromotionTier.objects.filter(campaign=campaign)
        .select_related("category")
        .order_by("hierarchy", "id")
    )
    rows = []

    def local(value) -> str:
        # text, not a datetime: the |date filter would convert it back to UTC
        return timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M") if value else ""

    for i, tier in enumerate(tiers):
        rows.append(
            TierRow(
                tier=tier,
                discount_text=describe_discount(tier.discount, project.currency),
                position=i + 1,
                starts=local(tier.start_date),
                ends=local(tier.expiration_date),
                can_move_up=i > 0,
                can_move_down=i < len(tiers) - 1,
            )
        )
    entries = Prefetch(
        "entries", queryset=StackTier.objects.select_related("tier").order_by("position")
    )
    stacks = [
        StackRow(stack=stack, tiers=[entry.tier for entry in stack.entries.all()])
        for stack in PromotionStack.objects.filter(campaign=campaign)
        .select_related("category")
        .prefetch_related(entries)
        .order_by("name")
    ]
    return PromotionSection(tiers=rows, stacks=stacks, zone_name=project.time_zone)


@register.simple_tag(takes_context=True)
def promotion_section(context, campaign) -> PromotionSection:
    project = context.get("project") or campaign.project
    return promotion_section_data(campaign, project)
