"""Reads for the redemption screens, and the redemption sections of the order, customer and
campaign pages (served by this app as htmx partials, so those lower apps never import it).

Lists never count: pages come from apps.core.pagination. A page of parents brings its children
(codes and tier names) in one prefetch query.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.campaigns.models import Campaign, Voucher
from apps.campaigns.selectors import STATUS_LABELS, status_expression
from apps.customers.models import Customer
from apps.orders.models import Order, OrderItem

from .filters import RedemptionFilter
from .models import ChannelType, Redemption, RedemptionRollback, RelatedObjectType, Status

CUSTOMER_REDEMPTIONS = 20
CUSTOMER_VOUCHERS = 50


def _children() -> Prefetch:
    return Prefetch(
        "children",
        queryset=Redemption.objects.select_related("tier").order_by("id"),
    )


def redemption_list(*, project, filters=None) -> tuple[QuerySet[Redemption], RedemptionFilter]:
    """Redemptions of the project, newest first, filtered by the list's FilterSet: parents by
    default (with their children prefetched), every redeemable with `show=redeemables`."""
    base = Redemption.objects.filter(project=project).order_by("-id")
    filterset = RedemptionFilter(filters or {}, queryset=base, project=project)  # always bound
    if not filterset.is_valid():
        return base.none(), filterset
    queryset = filterset.qs.select_related("customer", "order")
    if filterset.per_redeemable:
        queryset = queryset.select_related("tier", "campaign")
    else:
        queryset = queryset.prefetch_related(_children())
    return queryset, filterset


def redemption_queryset(*, project) -> QuerySet[Redemption]:
    """Redemptions ready for the detail page header."""
    return Redemption.objects.filter(project=project).select_related("customer", "order", "parent")


@dataclass
class AppliedItem:
    item: OrderItem | None
    position: int
    amount: int


@dataclass
class Redeemable:
    """A child redemption with what it did, in the template's terms."""

    redemption: Redemption
    applied_items: list[AppliedItem] = field(default_factory=list)
    added_items: list[AppliedItem] = field(default_factory=list)

    @property
    def details(self) -> dict:
        return self.redemption.details or {}

    @property
    def failures(self) -> list[dict]:
        return [f for f in self.details.get("failures") or [] if isinstance(f, dict)]

    @property
    def explanation(self) -> str:
        return self.details.get("explanation") or ""


def _positions(raw) -> list[tuple[int, int]]:
    pairs = []
    for position, amount in (raw or {}).items():
        try:
            pairs.append((int(position), int(amount)))
        except (TypeError, ValueError):
            continue
    return sorted(pairs)


def redemption_redeemables(*, parent: Redemption, items: list[OrderItem]) -> list[Redeemable]:
    """The parent's children (voucher, tier, campaign in the same query), each with the order
    lines it discounted or added, looked up in the order's `items`."""
    by_position = {item.position: item for item in items}
    children = (
        Redemption.objects.filter(parent=parent)
        .select_related("voucher", "tier", "campaign")
        .order_by("id")
    )
    redeemables = []
    for child in children:
        details = child.details or {}
        redeemables.append(
            Redeemable(
                redemption=child,
                applied_items=[
                    AppliedItem(by_position.get(p), p, a)
                    for p, a in _positions(details.get("items"))
                    if a
                ],
                added_items=[
                    AppliedItem(by_position.get(p), p, a)
                    for p, a in _positions(details.get("added"))
                ],
            )
        )
    return redeemables


def redemption_order_items(*, redemption: Redemption) -> list[OrderItem]:
    if redemption.order_id is None:
        return []
    return list(
        OrderItem.objects.filter(order_id=redemption.order_id)
        .select_related("product", "sku")
        .order_by("position")
    )


def redemption_rollbacks(*, redemption: Redemption) -> QuerySet[RedemptionRollback]:
    """The rollbacks of a parent redemption (one per rollback request), newest first."""
    return (
        RedemptionRollback.objects.filter(redemption=redemption, parent__isnull=True)
        .select_related("created_by")
        .order_by("-id")
    )


def redemption_channel_user(*, redemption: Redemption):
    """The dashboard user who redeemed (channel USER), if they still exist."""
    if redemption.channel_type != ChannelType.USER or not redemption.channel_id.isdigit():
        return None
    return get_user_model().objects.filter(pk=int(redemption.channel_id)).first()


# -- sections of other pages -------------------------------------------------------------------


def order_redemptions(*, order: Order) -> list[Redemption]:
    """The order's redemptions (checkouts, newest first) with their redeemables."""
    return list(
        Redemption.objects.filter(
            project_id=order.project_id,
            order=order,
            related_object_type=RelatedObjectType.REDEMPTION,
        )
        .prefetch_related(_children())
        .order_by("-id")
    )


def customer_redemptions(
    *, customer: Customer, limit: int = CUSTOMER_REDEMPTIONS
) -> list[Redemption]:
    """The customer's latest checkouts with their redeemables."""
    return list(
        Redemption.objects.filter(
            project_id=customer.project_id,
            customer=customer,
            related_object_type=RelatedObjectType.REDEMPTION,
        )
        .select_related("order")
        .prefetch_related(_children())
        .order_by("-id")[:limit]
    )


def customer_vouchers(*, customer: Customer, limit: int = CUSTOMER_VOUCHERS) -> list[Voucher]:
    """The vouchers the customer holds (published to them), newest first, with `status` and
    `status_label` (text, badge class); one more than `limit`, so the caller knows of more."""
    vouchers = list(
        Voucher.objects.filter(project_id=customer.project_id, holder=customer)
        .select_related("campaign")
        .annotate(status=status_expression(timezone.now()))
        .order_by("-id")[: limit + 1]
    )
    for voucher in vouchers:
        voucher.status_label = STATUS_LABELS[voucher.status]
    return vouchers


def campaign_redemption_figures(*, campaign: Campaign) -> dict:
    """Succeeded, failed and rolled back redeemables of the campaign, the discount they gave and
    the gift credits they used (succeeded only): one aggregate query over the campaign index."""
    succeeded = Q(status=Status.SUCCEEDED)
    return Redemption.objects.filter(campaign=campaign).aggregate(
        succeeded=Count("pk", filter=succeeded),
        failed=Count("pk", filter=Q(status=Status.FAILED)),
        rolled_back=Count("pk", filter=Q(status=Status.ROLLED_BACK)),
        discount=Coalesce(Sum("amount", filter=succeeded), 0),
        gift_credits=Coalesce(Sum("gift_amount", filter=succeeded), 0),
        loyalty_points=Coalesce(Sum("loyalty_points", filter=succeeded), 0),
    )
