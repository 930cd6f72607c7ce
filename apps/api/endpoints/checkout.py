"""Checkout endpoints: qualification, stackable validation, redemption, redemptions and their
rollbacks (reference §3.9, §3.10, §3.12). Parse, call the service, serialize."""

from django.db.models import Q
from ninja import Router

from apps.core.errors import ApplicationError
from apps.core.shortcuts import get_for_project_or_404
from apps.redemptions import services
from apps.redemptions.models import ChannelType, Redemption, RelatedObjectType
from apps.redemptions.qualification import qualification_check

from .. import serializers
from ..listing import ordering, page_of
from ..payload import json_body

router = Router(tags=["checkout"])
REDEMPTION_RELATED = ("customer", "voucher__campaign", "tier__campaign", "order", "parent")
ORDER_ITEMS = ("order__items__product", "order__items__sku")


def _channel(request) -> dict:
    return {"channel_type": ChannelType.API, "channel_id": request.api.api_key.public_id}


@router.post("/qualifications", summary="Check Eligibility")
def qualifications(request):
    result = qualification_check(project=request.api.project, payload=json_body(request))
    return serializers.qualification(result)


@router.post("/validations", summary="Validate Stackable Discounts")
def validations(request):
    result = services.validation_check(project=request.api.project, payload=json_body(request))
    return serializers.validation(result, request.request_id)


@router.post("/redemptions", summary="Redeem Stackable Discounts")
def redemptions_create(request):
    done = services.redemption_redeem(
        project=request.api.project, payload=json_body(request), **_channel(request)
    )
    if done.error is not None:
        # Voucherify answers a refused redemption with the error of the first failed redeemable
        raise done.error
    return serializers.redeemed(done, request.request_id)


def _redemption(request, redemption_id: str) -> Redemption:
    queryset = Redemption.objects.select_related(*REDEMPTION_RELATED).prefetch_related(*ORDER_ITEMS)
    return get_for_project_or_404(queryset, request.api.project, public_id=redemption_id)


def _with_order(item: Redemption) -> dict:
    parent_id = item.parent.public_id if item.parent_id else None
    return serializers.redemption(
        item, parent_id=parent_id, order=serializers.stored_order(item.order)
    )


@router.get("/redemptions/{redemption_id}", summary="Get Redemption")
def redemptions_get(request, redemption_id: str):
    return _with_order(_redemption(request, redemption_id))


@router.get("/redemptions", summary="List Redemptions")
def redemptions_list(
    request,
    limit: int = 10,
    page: int = 1,
    result: str | None = None,
    campaign: str | None = None,
    customer: str | None = None,
    order: str = "-created_at",
):
    order_by = ordering(order, {"created_at": "id", "id": "id"}, "-created_at")
    found = (
        Redemption.objects.filter(project=request.api.project)
        .select_related(*REDEMPTION_RELATED)
        .prefetch_related(*ORDER_ITEMS)
    )
    if result:
        found = found.filter(result=result.upper())
    if campaign:
        found = found.filter(Q(campaign__public_id=campaign) | Q(campaign__name=campaign))
    if customer:
        found = found.filter(Q(customer__public_id=customer) | Q(customer__source_id=customer))
    return page_of(
        found, data_ref="redemptions", shape=_with_order, limit=limit, page=page, order_by=order_by
    )


def _rollback(request, redemption_id: str, *, whole_stack: bool, reason, tracking_id):
    item = _redemption(request, redemption_id)
    body = json_body(request)
    done = services.redemption_rollback(
        redemption=item,
        reason=body.get("reason") or reason or "",
        whole_stack=whole_stack,
        tracking_id=body.get("tracking_id") or tracking_id or "",
        metadata=body.get("metadata") if isinstance(body.get("metadata"), dict) else None,
        **_channel(request),
    )
    return done


@router.post("/redemptions/{redemption_id}/rollbacks", summary="Rollback Stackable Redemptions")
def rollbacks_create(
    request, redemption_id: str, reason: str | None = None, tracking_id: str | None = None
):
    done = _rollback(
        request, redemption_id, whole_stack=True, reason=reason, tracking_id=tracking_id
    )
    return serializers.rolled_back(done)


@router.post("/redemptions/{redemption_id}/rollback", summary="Rollback Redemption")
def rollback_create(
    request, redemption_id: str, reason: str | None = None, tracking_id: str | None = None
):
    item = _redemption(request, redemption_id)
    if item.related_object_type == RelatedObjectType.REDEMPTION and item.children.count() > 1:
        raise ApplicationError(
            "This is a stacked redemption: use POST /v1/redemptions/{id}/rollbacks.",
            key="invalid_redemption",
        )
    done = _rollback(
        request, redemption_id, whole_stack=False, reason=reason, tracking_id=tracking_id
    )
    # one redeemable: the rollback of its child, in Voucherify's single-rollback shape
    child = done.rollbacks[0] if done.rollbacks else done.parent
    return serializers.rollback(child, order=serializers.stored_order(done.order))
