"""Publications (reference §3.11) and a customer's redeemables in Voucherify's shapes."""

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from apps.campaigns.models import Publication, Voucher, VoucherType
from apps.redemptions.services import tracking_id_for

from ..serializers import iso
from .campaigns import gift, loyalty_card, voucher
from .customers import customer, customer_reference

HOLDER_PREFIX = "hold_"


def _tracking_id(c) -> str | None:
    """The customer's tracking id (Voucherify derives it from the source_id)."""
    return tracking_id_for(c, None) if c is not None and c.source_id else None


def _vouchers(p: Publication) -> list[Voucher]:
    published = getattr(p, "published_vouchers", None)
    return published if published is not None else list(p.vouchers.all())


def created(p: Publication, request=None) -> dict:
    """The answer to a publication request: the customer in full and the code(s) it got."""
    vouchers = _vouchers(p)
    body = {
        "id": p.public_id,
        "object": "publication",
        "created_at": iso(p.created_at),
        "customer_id": p.customer.public_id,
        "tracking_id": _tracking_id(p.customer),
        "metadata": p.metadata or {},
        "channel": "API",
        "source_id": p.source_id,
        "result": "SUCCESS",
        "customer": customer(p.customer),
        "vouchers": [v.code for v in vouchers],
        "vouchers_id": [v.public_id for v in vouchers],
    }
    if len(vouchers) == 1:
        body["voucher"] = voucher(vouchers[0], request)
    return body


def with_list_relations(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("customer").prefetch_related(
        Prefetch("vouchers", queryset=Voucher.objects.select_related("campaign").order_by("pk"))
    )


def _short_voucher(v: Voucher) -> dict:
    return {
        "code": v.code,
        "object": "voucher",
        "campaign": v.campaign.name if v.campaign_id else None,
        "gift": gift(v),
        "loyalty_card": loyalty_card(v),
        "discount": v.discount if v.type == VoucherType.DISCOUNT_VOUCHER else None,
        "is_referral_code": v.is_referral_code,
    }


def listed(p: Publication) -> dict:
    """One publication of a list (with_list_relations): codes named, the customer in short."""
    vouchers = _vouchers(p)
    body = {
        "id": p.public_id,
        "object": "publication",
        "created_at": iso(p.created_at),
        "customer_id": p.customer.public_id,
        "tracking_id": _tracking_id(p.customer),
        "metadata": p.metadata or {},
        "channel": p.channel,
        "source_id": p.source_id,
        "result": "SUCCESS",
        "customer": customer_reference(p.customer),
        "vouchers": [v.code for v in vouchers],
        "vouchers_id": [v.public_id for v in vouchers],
    }
    if vouchers:
        body["voucher"] = _short_voucher(vouchers[0])
    return body


# -- customer redeemables ----------------------------------------------------------------------


def holder_id(v: Voucher) -> str:
    """A holding's id: the code's id under the holder prefix (one holder per code here)."""
    return HOLDER_PREFIX + v.public_id.removeprefix("v_")


def voucher_id_of_holder(value: str) -> str:
    return "v_" + value.removeprefix(HOLDER_PREFIX) if value.startswith(HOLDER_PREFIX) else value


def redeemable_status(v: Voucher, now) -> str:
    """ACTIVE, or why the code cannot be used now (Voucherify's holder statuses)."""
    campaign = v.campaign if v.campaign_id else None
    if not v.active or (campaign is not None and not campaign.active):
        return "DISABLED"
    ends = [d for d in (v.expiration_date, campaign and campaign.expiration_date) if d]
    if any(end <= now for end in ends):
        return "EXPIRED"
    starts = [d for d in (v.start_date, campaign and campaign.start_date) if d]
    if any(start > now for start in starts):
        return "NOT_ACTIVE_YET"
    if v.redemption_quantity is not None and v.redeemed_quantity >= v.redemption_quantity:
        return "USED"
    if v.type == VoucherType.GIFT_VOUCHER and not v.gift_balance:
        return "NO_BALANCE"
    if v.type == VoucherType.LOYALTY_CARD and not v.loyalty_balance:
        return "NO_BALANCE"
    return "ACTIVE"


def customer_redeemable(v: Voucher, request=None, now=None) -> dict:
    """A code the customer holds (the voucher with_voucher_relations)."""
    campaign = v.campaign if v.campaign_id else None
    return {
        "id": holder_id(v),
        "created_at": iso(v.published_at or v.created_at),
        "redeemable_id": v.public_id,
        "redeemable_object": "voucher",
        "customer_id": v.holder.public_id,
        "holder_role": "REFERRER" if v.is_referral_code else "OWNER",
        "campaign_id": campaign.public_id if campaign else None,
        "campaign_type": campaign.campaign_type if campaign else None,
        "voucher_type": v.type,
        "redeemable": {
            "type": "voucher",
            "voucher": voucher(v, request),
            "status": redeemable_status(v, now or timezone.now()),
        },
        "object": "customer_redeemable",
    }
