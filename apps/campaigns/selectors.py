"""Reads for the campaign screens: the list (with each campaign's code count and status, one
query), a campaign's figures, its latest generation job and its vouchers table."""

from django.db.models import (
    Case,
    CharField,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.jobs.models import Job

from .filters import CampaignFilter, VoucherFilter
from .models import Campaign, Voucher
from .services.generation import JOB_TYPE as GENERATION_JOB

STATUS_LABELS = {
    "active": ("Active", "text-bg-success"),
    "inactive": ("Disabled", "text-bg-secondary"),
    "expired": ("Expired", "text-bg-dark"),
    "scheduled": ("Scheduled", "text-bg-info"),
}


def status_expression(now) -> Case:
    """inactive (switched off) before expired (past its end) before scheduled (not started)."""
    return Case(
        When(active=False, then=Value("inactive")),
        When(expiration_date__lte=now, then=Value("expired")),
        When(start_date__gt=now, then=Value("scheduled")),
        default=Value("active"),
        output_field=CharField(),
    )


def campaign_status(campaign: Campaign, now=None) -> str:
    """The same rule as status_expression, for one loaded campaign."""
    now = now or timezone.now()
    if not campaign.active:
        return "inactive"
    if campaign.expiration_date and campaign.expiration_date <= now:
        return "expired"
    if campaign.start_date and campaign.start_date > now:
        return "scheduled"
    return "active"


def campaign_list(*, project, filters=None, now=None) -> tuple[QuerySet[Campaign], CampaignFilter]:
    """The project's campaigns, newest first, each with `codes` (its vouchers, counted by a
    correlated subquery that runs only for the rows of the page) and `status`."""
    codes = (
        Voucher.objects.filter(campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    base = (
        Campaign.objects.filter(project=project)
        .select_related("category")
        .annotate(
            codes=Coalesce(Subquery(codes, output_field=IntegerField()), Value(0)),
            status=status_expression(now or timezone.now()),
        )
        .order_by("-created_at", "-id")
    )
    filterset = CampaignFilter(filters or None, queryset=base, project=project)
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    return queryset, filterset


def campaign_figures(*, campaign: Campaign) -> dict:
    """Codes generated, published (a holder is set) and redeemed at least once: one query."""
    return Voucher.objects.filter(campaign=campaign).aggregate(
        generated=Count("pk"),
        published=Count("pk", filter=Q(holder__isnull=False)),
        redeemed=Count("pk", filter=Q(redeemed_quantity__gt=0)),
    )


def campaign_generation_job(*, campaign: Campaign) -> Job | None:
    """The latest code generation job of the campaign, if any."""
    return (
        Job.objects.filter(
            project_id=campaign.project_id,
            type=GENERATION_JOB,
            params__campaign=campaign.public_id,
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def voucher_list(*, project, filters=None) -> tuple[QuerySet[Voucher], VoucherFilter]:
    """The project's vouchers filtered by VoucherFilter (campaign, code prefix, published,
    enabled), newest first. Used by the campaign's vouchers table and the vouchers export."""
    base = (
        Voucher.objects.filter(project=project).select_related("campaign", "holder").order_by("-id")
    )
    filterset = VoucherFilter(filters or None, queryset=base, project=project)
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    return queryset, filterset


def campaign_vouchers(
    *, campaign: Campaign, filters=None
) -> tuple[QuerySet[Voucher], VoucherFilter]:
    """The campaign's codes, newest first, filtered like the table's filter bar."""
    base = (
        Voucher.objects.filter(project_id=campaign.project_id, campaign=campaign)
        .select_related("holder")
        .order_by("-id")
    )
    data = filters.copy() if filters is not None else None
    if data is not None:
        data.pop("campaign", None)
        data.pop("page", None)
    filterset = VoucherFilter(data or None, queryset=base, project=campaign.project)
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    return queryset, filterset
