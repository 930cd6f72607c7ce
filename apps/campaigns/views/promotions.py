"""A promotion campaign's tiers and stacks: add, edit, enable/disable, delete, reorder.

The tiers section (`campaigns/promotions/_tiers_section.html`) sits on the campaign page; its
buttons post here with htmx and get the section back. Without htmx they redirect to the campaign
page. Adding and editing use full-page forms.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.errors import ApplicationError
from apps.core.shortcuts import get_for_project_or_404
from apps.projects.models import Role
from apps.projects.permissions import member_required

from .. import services
from ..discounts import describe_discount
from ..forms import PromotionTierForm, StackForm
from ..models import (
    Campaign,
    CampaignTemplate,
    CampaignType,
    PromotionStack,
    PromotionTier,
)

SECTION = "campaigns/promotions/_tiers_section.html"


def _get_promotion_or_404(request, campaign_id: str) -> Campaign:
    return get_for_project_or_404(
        Campaign.objects.select_related("project"),
        request.project,
        public_id=campaign_id,
        campaign_type=CampaignType.PROMOTION,
    )


def _get_tier_or_404(request, tier_id: str) -> PromotionTier:
    queryset = PromotionTier.objects.select_related("campaign__project", "category")
    return get_for_project_or_404(queryset, request.project, public_id=tier_id)


def _get_stack_or_404(request, stack_id: str) -> PromotionStack:
    queryset = PromotionStack.objects.select_related("campaign__project", "category")
    return get_for_project_or_404(queryset, request.project, public_id=stack_id)


def _section(request, campaign: Campaign, *, done: str = "", error: str = ""):
    """After a change from the section: the section again (htmx), or back to the campaign."""
    if request.htmx:
        return render(request, SECTION, {"campaign": campaign, "error": error})
    if error:
        messages.error(request, error)
    elif done:
        messages.success(request, done)
    return redirect("campaigns:detail", campaign_id=campaign.public_id)


def _discount_templates(project):
    """Templates whose discount can become a tier: discount campaigns' and promotions'."""
    return CampaignTemplate.objects.filter(
        project=project,
        campaign_type__in=[
            CampaignType.DISCOUNT_COUPONS,
            CampaignType.REFERRAL_PROGRAM,
            CampaignType.PROMOTION,
        ],
    ).order_by("name")


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def tier_create(request, campaign_id: str):
    campaign = _get_promotion_or_404(request, campaign_id)
    templates = list(_discount_templates(request.project))
    form = PromotionTierForm(request.POST or None, campaign=campaign, templates=templates)
    if request.method == "POST" and form.is_valid():
        payload = form.payload()
        try:
            if form.cleaned_data.get("template"):
                template = get_for_project_or_404(
                    CampaignTemplate, request.project, public_id=form.cleaned_data["template"]
                )
                tier = services.tier_from_template(
                    template=template, campaign=campaign, payload=payload
                )
            else:
                tier = services.tier_create(campaign=campaign, payload=payload)
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Tier “{tier.name}” added.")
            return redirect("campaigns:detail", campaign_id=campaign.public_id)
    return render(
        request, "campaigns/promotions/tier_form.html", {"form": form, "campaign": campaign}
    )


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def tier_edit(request, tier_id: str):
    tier = _get_tier_or_404(request, tier_id)
    campaign = tier.campaign
    form = PromotionTierForm(request.POST or None, campaign=campaign, tier=tier)
    if request.method == "POST" and form.is_valid():
        try:
            services.tier_update(tier=tier, payload=form.payload())
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Tier “{tier.name}” saved.")
            return redirect("campaigns:detail", campaign_id=campaign.public_id)
    context = {"form": form, "campaign": campaign, "tier": tier}
    return render(request, "campaigns/promotions/tier_form.html", context)


@member_required()
@require_POST
def tier_toggle(request, tier_id: str):
    tier = _get_tier_or_404(request, tier_id)
    wanted = request.POST.get("active")
    active = (wanted == "true") if wanted in ("true", "false") else not tier.active
    services.tier_set_active(tier=tier, active=active)
    state = "enabled" if active else "disabled"
    return _section(request, tier.campaign, done=f"Tier “{tier.name}” {state}.")


@member_required()
@require_POST
def tier_delete(request, tier_id: str):
    tier = _get_tier_or_404(request, tier_id)
    services.tier_delete(tier=tier)
    return _section(request, tier.campaign, done=f"Tier “{tier.name}” deleted.")


def _moved(tier_ids: list[str], move: str) -> list[str]:
    """The order after `move` ("<tier id>:up" or ":down") swaps a tier with its neighbour."""
    tier_id, _, direction = move.rpartition(":")
    if tier_id not in tier_ids or direction not in ("up", "down"):
        return tier_ids
    i = tier_ids.index(tier_id)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(tier_ids):
        tier_ids[i], tier_ids[j] = tier_ids[j], tier_ids[i]
    return tier_ids


@member_required()
@require_POST
def tiers_reorder(request, campaign_id: str):
    """Every tier id in the new order (`tier`, repeated), or the order as shown plus `move`
    (one tier up or down, as the section's buttons send)."""
    campaign = _get_promotion_or_404(request, campaign_id)
    tier_ids = _moved(request.POST.getlist("tier"), request.POST.get("move") or "")
    try:
        services.tiers_reorder(campaign=campaign, tier_ids=tier_ids)
    except ApplicationError as exc:
        # e.g. a tier was added or deleted in another tab since the page was shown
        return _section(request, campaign, error=f"{exc.message} Reload the page and try again.")
    return _section(request, campaign, done="Tier order saved.")


def _tiers_for_stack(campaign: Campaign) -> list[PromotionTier]:
    tiers = list(PromotionTier.objects.filter(campaign=campaign).order_by("hierarchy", "id"))
    for tier in tiers:
        tier.discount_text = describe_discount(tier.discount, campaign.project.currency)
    return tiers


def _stack_form(request, campaign: Campaign, stack: PromotionStack | None):
    tiers = _tiers_for_stack(campaign)
    chosen = [t.public_id for t in services.stack_tiers(stack)] if stack is not None else ()
    form = StackForm(
        request.POST or None, campaign=campaign, tiers=tiers, stack=stack, chosen=chosen
    )
    if request.method == "POST" and form.is_valid():
        try:
            if stack is None:
                stack = services.stack_create(campaign=campaign, payload=form.payload())
            else:
                stack = services.stack_update(stack=stack, payload=form.payload())
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Stack “{stack.name}” saved.")
            return redirect("campaigns:detail", campaign_id=campaign.public_id)
    context = {
        "form": form,
        "campaign": campaign,
        "stack": stack,
        "max_tiers": PromotionStack.MAX_TIERS,
    }
    return render(request, "campaigns/promotions/stack_form.html", context)


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def stack_create(request, campaign_id: str):
    campaign = _get_promotion_or_404(request, campaign_id)
    return _stack_form(request, campaign, None)


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def stack_edit(request, stack_id: str):
    stack = _get_stack_or_404(request, stack_id)
    return _stack_form(request, stack.campaign, stack)


@member_required()
@require_POST
def stack_delete(request, stack_id: str):
    stack = _get_stack_or_404(request, stack_id)
    services.stack_delete(stack=stack)
    return _section(request, stack.campaign, done=f"Stack “{stack.name}” deleted.")
