"""Promotion tiers and stacks (reference §2, §3.3): list, create, read, update, delete, and a
tier's enable/disable. A stack is up to 30 tiers of one campaign, in the given order."""

import datetime as dt

from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ninja import Router

from apps.campaigns import services
from apps.campaigns.models import PromotionStack, PromotionTier

from .. import lookups
from ..listing import envelope, invalid_query, ordering, page_of
from ..payload import json_body
from ..shapes import promotions as shapes

router = Router(tags=["promotions"])

TIER_ORDER = {"created_at": "created_at", "updated_at": "updated_at"}
STACK_ORDER = {"created_at": "created_at", "updated_at": "updated_at", "name": "name"}


def _tier(request, tier_id: str) -> PromotionTier:
    queryset = shapes.tier_queryset(PromotionTier.objects.all())
    return lookups.by_id(queryset, request.api.project, tier_id, "promotion_tier")


def _stack(request, campaign_id: str, stack_id: str) -> PromotionStack:
    campaign = lookups.campaign(request.api.project, campaign_id)
    queryset = shapes.stack_queryset(PromotionStack.objects.filter(campaign=campaign))
    return lookups.by_id(queryset, request.api.project, stack_id, "promotion_stack")


def _available(now) -> Q:
    """Tiers that are on, started and not expired, in a campaign that is the same."""
    q = Q()
    for prefix in ("", "campaign__"):
        q &= Q(**{f"{prefix}active": True})
        q &= Q(**{f"{prefix}start_date__isnull": True}) | Q(**{f"{prefix}start_date__lte": now})
        q &= Q(**{f"{prefix}expiration_date__isnull": True}) | Q(
            **{f"{prefix}expiration_date__gt": now}
        )
    return q


def _date_range(request, queryset, field: str):
    """`created_at[before]=…` / `created_at[after]=…` query filters (the SDK's shape)."""
    for bound, lookup in (("before", "lt"), ("after", "gt")):
        raw = request.GET.get(f"{field}[{bound}]")
        if raw is None:
            continue
        try:
            moment = parse_datetime(raw.strip())
        except ValueError:
            moment = None
        if moment is None:
            raise invalid_query(f"{field}[{bound}] must be an ISO 8601 date and time.")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, dt.UTC)
        queryset = queryset.filter(**{f"{field}__{lookup}": moment})
    return queryset


# -- tiers -------------------------------------------------------------------------------------


@router.get("/promotions/tiers", summary="List Promotion Tiers")
def tiers_list(
    request,
    is_available: bool | None = None,
    limit: int = 10,
    page: int = 1,
    order: str | None = None,
):
    order_by = ordering(order, TIER_ORDER, "created_at")
    queryset = shapes.tier_queryset(PromotionTier.objects.filter(project=request.api.project))
    if is_available is not None:
        available = _available(timezone.now())
        queryset = queryset.filter(available if is_available else ~available)
    body = page_of(
        queryset, data_ref="tiers", shape=lambda t: t, limit=limit, page=page, order_by=order_by
    )
    body["tiers"] = shapes.tiers(body["tiers"])
    body["has_more"] = page * limit < body["total"]
    return body


@router.get("/promotions/stacks", summary="List Promotion Stacks")
def stacks_list(request, limit: int = 10, page: int = 1, order: str | None = None):
    order_by = ordering(order, STACK_ORDER, "created_at")
    queryset = PromotionStack.objects.filter(project=request.api.project)
    queryset = _date_range(request, queryset, "created_at")
    queryset = _date_range(request, queryset, "updated_at")
    return page_of(
        shapes.stack_queryset(queryset),
        data_ref="data",
        shape=shapes.stack,
        limit=limit,
        page=page,
        order_by=order_by,
    )


@router.get("/promotions/tiers/{promotion_tier_id}", summary="Get Promotion Tier")
def tiers_get(request, promotion_tier_id: str):
    return shapes.tier(_tier(request, promotion_tier_id))


@router.put("/promotions/tiers/{promotion_tier_id}", summary="Update Promotion Tier")
def tiers_update(request, promotion_tier_id: str):
    tier = services.tier_update(tier=_tier(request, promotion_tier_id), payload=json_body(request))
    return shapes.tier(tier)


@router.delete("/promotions/tiers/{promotion_tier_id}", summary="Delete Promotion Tier")
def tiers_delete(request, promotion_tier_id: str):
    services.tier_delete(tier=_tier(request, promotion_tier_id))
    return HttpResponse(status=204)


@router.post("/promotions/tiers/{promotion_tier_id}/enable", summary="Enable Promotion Tier")
def tiers_enable(request, promotion_tier_id: str):
    tier = services.tier_set_active(tier=_tier(request, promotion_tier_id), active=True)
    return shapes.tier(tier)


@router.post("/promotions/tiers/{promotion_tier_id}/disable", summary="Disable Promotion Tier")
def tiers_disable(request, promotion_tier_id: str):
    tier = services.tier_set_active(tier=_tier(request, promotion_tier_id), active=False)
    return shapes.tier(tier)


@router.get("/promotions/{campaign_id}/tiers", summary="List Promotion Tiers from Campaign")
def campaign_tiers_list(request, campaign_id: str):
    campaign = lookups.campaign(request.api.project, campaign_id)
    rows = shapes.tier_queryset(PromotionTier.objects.filter(campaign=campaign)).order_by(
        "hierarchy", "pk"
    )
    data = shapes.tiers(rows)
    return {**envelope("tiers", data, len(data)), "has_more": False}


@router.post("/promotions/{campaign_id}/tiers", summary="Add Promotion Tier to Campaign")
def campaign_tiers_create(request, campaign_id: str):
    campaign = lookups.campaign(request.api.project, campaign_id)
    tier = services.tier_create(campaign=campaign, payload=json_body(request))
    return shapes.tier(_tier(request, tier.public_id))


# -- stacks ------------------------------------------------------------------------------------


@router.get("/promotions/{campaign_id}/stacks", summary="List Promotion Stacks in Campaign")
def campaign_stacks_list(request, campaign_id: str):
    campaign = lookups.campaign(request.api.project, campaign_id)
    rows = shapes.stack_queryset(PromotionStack.objects.filter(campaign=campaign)).order_by(
        "created_at", "pk"
    )
    data = [shapes.stack(s) for s in rows]
    return envelope("data", data, len(data))


@router.post("/promotions/{campaign_id}/stacks", summary="Create Promotion Stack")
def campaign_stacks_create(request, campaign_id: str):
    campaign = lookups.campaign(request.api.project, campaign_id)
    stack = services.stack_create(campaign=campaign, payload=json_body(request))
    return shapes.stack(_stack(request, campaign.public_id, stack.public_id))


@router.get("/promotions/{campaign_id}/stacks/{stack_id}", summary="Get Promotion Stack")
def campaign_stacks_get(request, campaign_id: str, stack_id: str):
    return shapes.stack(_stack(request, campaign_id, stack_id))


@router.put("/promotions/{campaign_id}/stacks/{stack_id}", summary="Update Promotion Stack")
def campaign_stacks_update(request, campaign_id: str, stack_id: str):
    stack = services.stack_update(
        stack=_stack(request, campaign_id, stack_id), payload=json_body(request)
    )
    return shapes.stack(_stack(request, stack.campaign.public_id, stack.public_id))


@router.delete("/promotions/{campaign_id}/stacks/{stack_id}", summary="Delete Promotion Stack")
def campaign_stacks_delete(request, campaign_id: str, stack_id: str):
    services.stack_delete(stack=_stack(request, campaign_id, stack_id))
    return HttpResponse(status=204)
