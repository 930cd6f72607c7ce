"""Loyalty card balance: add or remove points on a member's card (reference §2, "Adjust
Loyalty Card Balance"). `memberId` is the card's code (or its `v_` id)."""

from ninja import Router

from apps.campaigns import services
from apps.campaigns.models import Voucher, VoucherType
from apps.core.errors import ApplicationError

from .. import lookups
from ..payload import json_body

router = Router(tags=["loyalties"])


def _text(body: dict, field: str) -> str:
    value = body.get(field, "")
    if not isinstance(value, str):
        raise ApplicationError(f"{field} must be text.", key="invalid_payload", details=field)
    return value


def _adjust(request, card: Voucher) -> dict:
    if card.type != VoucherType.LOYALTY_CARD:
        raise ApplicationError(
            f"{card.code} is not a loyalty card.", key="invalid_voucher", details="memberId"
        )
    body = json_body(request)
    points = body.get("points")
    if isinstance(points, bool) or not isinstance(points, int):
        raise ApplicationError(
            "points must be a whole number (negative to remove points).",
            key="invalid_payload",
            details="points",
        )
    entry = services.card_adjust(
        voucher=card,
        amount=points,
        reason=_text(body, "reason"),
        source_id=_text(body, "source_id"),
    )
    return {
        "points": entry.amount,
        "total": card.loyalty_points or 0,
        "balance": entry.balance_after,
        "type": "loyalty_card",
        "object": "balance",
        "related_object": {"type": "voucher", "id": card.public_id},
        "operation_type": "MANUAL",
    }


@router.post("/loyalties/members/{member_id}/balance", summary="Adjust Loyalty Card Balance")
def members_balance(request, member_id: str):
    return _adjust(request, lookups.voucher(request.api.project, member_id))


@router.post(
    "/loyalties/{campaign_id}/members/{member_id}/balance",
    summary="Adjust Loyalty Card Balance",
)
def campaign_members_balance(request, campaign_id: str, member_id: str):
    campaign = lookups.campaign(request.api.project, campaign_id)
    card = lookups.voucher(
        request.api.project, member_id, Voucher.objects.filter(campaign=campaign)
    )
    return _adjust(request, card)
