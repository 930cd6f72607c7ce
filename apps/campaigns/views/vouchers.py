"""Vouchers: the detail page (QR code, barcode, card ledger and balance adjustments), standalone
create, edit, enable/disable, delete and publish; the QR/barcode images; the publications list
and publishing a campaign's codes to a customer or a whole segment.

The forms live here because they serve only these screens; every write goes through
apps.campaigns.services, whose ApplicationErrors are put back on the form field they name.
"""

import django_filters
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.money import format_money
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.jobs.models import Job
from apps.projects.permissions import member_required

from .. import assets, services
from ..discounts import describe_discount as _describe_discount
from ..forms import (
    ALIASES,
    VOUCHER_DAYS,
    AdjustForm,
    PublishCampaignForm,
    PublishSegmentForm,
    PublishToCustomerForm,
    VoucherCreateForm,
    VoucherEditForm,
    hours_text,
    put_service_error,
    zone_of,
)
from ..models import (
    Campaign,
    CampaignType,
    Publication,
    PublicationChannel,
    Voucher,
    VoucherType,
)
from ..services.publications import JOB_TYPE as PUBLISH_SEGMENT_JOB
from ..services.publications import MAX_COUNT as MAX_PUBLISH_COUNT

PAGE_SIZE = 25
LEDGER_PAGE_SIZE = 20
ASSET_MAX_AGE = 24 * 60 * 60
KIND_LABELS = {
    VoucherType.DISCOUNT_VOUCHER: "Discount voucher",
    VoucherType.GIFT_VOUCHER: "Gift card",
    VoucherType.LOYALTY_CARD: "Loyalty card",
}


class PublicationFilter(django_filters.FilterSet):
    campaign = django_filters.ModelChoiceFilter(
        queryset=Campaign.objects.none(),
        to_field_name="public_id",
        empty_label="All campaigns",
    )
    q = django_filters.CharFilter(method="search_customer", label="Customer")
    code = django_filters.CharFilter(method="search_code", label="Code")

    class Meta:
        model = Publication
        fields = []

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.filters["campaign"].queryset = (
            Campaign.objects.filter(project=project)
            .exclude(campaign_type=CampaignType.PROMOTION)
            .order_by("name")
        )

    def search_customer(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(customer__source_id=value)
            | Q(customer__public_id=value)
            | Q(customer__email__icontains=value)
            | Q(customer__name__icontains=value)
        )

    def search_code(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        key = value if self.project.codes_case_sensitive else value.upper()
        return queryset.filter(vouchers__code_key=key)


# Assets (QR code, barcode) -----------------------------------------------------------------------


def _may_see_asset(request, kind: str, voucher: Voucher) -> bool:
    """A member of the voucher's project, a signed link, or a project with public assets."""
    project = getattr(request, "project", None)
    if project is not None and request.membership is not None and project.pk == voucher.project_id:
        return True
    if assets.signature_valid(kind, voucher.public_id, request.GET.get(assets.SIGNATURE_PARAM)):
        return True
    return voucher.project.public_assets


def _asset(request, kind: str, voucher_id: str, fmt: str) -> HttpResponse:
    if fmt not in assets.FORMATS[kind]:
        raise Http404("No such format")
    voucher = (
        Voucher.objects.select_related("project")
        .only("public_id", "code", "project_id", "project__public_assets")
        .filter(public_id=voucher_id)
        .first()
    )
    # Whatever the reason (no voucher, no access, undrawable code): a 404 tells nothing.
    if voucher is None or not _may_see_asset(request, kind, voucher):
        raise Http404("No such voucher")
    try:
        body = assets.render(kind, voucher.code, fmt)
    except assets.AssetError as exc:
        raise Http404(str(exc)) from exc
    response = HttpResponse(body, content_type=assets.CONTENT_TYPES[fmt])
    patch_cache_control(response, private=True, max_age=ASSET_MAX_AGE)
    response["X-Content-Type-Options"] = "nosniff"
    if fmt == "svg":
        # an SVG opened directly is a document: no scripts, nothing loaded
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@login_not_required
@require_GET
def voucher_qr(request, voucher_id: str, fmt: str):
    return _asset(request, assets.QR, voucher_id, fmt)


@login_not_required
@require_GET
def voucher_barcode(request, voucher_id: str, fmt: str):
    return _asset(request, assets.BARCODE, voucher_id, fmt)


# Voucher pages -----------------------------------------------------------------------------------


def _get_voucher(request, voucher_id: str) -> Voucher:
    queryset = Voucher.objects.select_related("project", "campaign", "category", "holder")
    return get_for_project_or_404(queryset, request.project, public_id=voucher_id)


def _zone(request):
    return timezone.override(zone_of(request.project))


def _validity_lines(obj) -> list[str]:
    lines = []
    if obj.validity_day_of_week:
        lines.append("On " + ", ".join(dict(VOUCHER_DAYS)[day] for day in obj.validity_day_of_week))
    for line in hours_text(obj.validity_hours).splitlines():
        lines.append(f"At {line}")
    if obj.validity_timeframe:
        frame = obj.validity_timeframe
        lines.append(f"Every {frame.get('interval')}, for {frame.get('duration')}")
    return lines


def _detail_context(request, voucher: Voucher, *, adjust_form=None, publish_form=None) -> dict:
    project = request.project
    is_gift = voucher.type == VoucherType.GIFT_VOUCHER
    is_loyalty = voucher.type == VoucherType.LOYALTY_CARD
    context = {
        "voucher": voucher,
        "kind_label": KIND_LABELS.get(voucher.type, voucher.type),
        "is_gift": is_gift,
        "is_loyalty": is_loyalty,
        "is_card": is_gift or is_loyalty,
        "discount_text": _describe_discount(voucher.discount, project.currency),
        "validity_lines": _validity_lines(voucher),
        "qr_url": assets.asset_url(assets.QR, voucher, fmt="svg", signed=False),
        "barcode_url": assets.asset_url(assets.BARCODE, voucher, fmt="svg", signed=False),
        "share_urls": assets.asset_urls(voucher, request),
        "publications": list(
            Publication.objects.filter(project=project, vouchers=voucher)
            .select_related("customer", "campaign")
            .order_by("-created_at", "-id")[:50]
        ),
        "publish_form": publish_form or PublishToCustomerForm(),
    }
    if is_gift or is_loyalty:
        ledger = voucher.transactions.select_related("created_by").order_by("-id")
        totals = voucher.transactions.aggregate(total=Sum("amount"), entries=Count("id"))
        balance = (voucher.gift_balance if is_gift else voucher.loyalty_balance) or 0
        context.update(
            balance=balance,
            ledger=paginate(ledger, request.GET.get("page"), LEDGER_PAGE_SIZE),
            ledger_total=totals["total"] or 0,
            ledger_entries=totals["entries"],
            ledger_matches=(totals["total"] or 0) == balance,
            adjust_form=adjust_form or AdjustForm(voucher=voucher),
        )
    return context


@member_required()
def voucher_detail(request, voucher_id: str):
    voucher = _get_voucher(request, voucher_id)
    with _zone(request):
        context = _detail_context(request, voucher)
        if request.htmx and context["is_card"]:  # the ledger's pager
            return render(request, "campaigns/vouchers/voucher_detail.html#card", context)
        return render(request, "campaigns/vouchers/voucher_detail.html", context)


def _money_or_points(voucher: Voucher, amount: int) -> str:
    if voucher.type == VoucherType.GIFT_VOUCHER:
        return format_money(amount, voucher.project.currency)
    return f"{amount:,} points"


@member_required()
@require_POST
def voucher_adjust(request, voucher_id: str):
    voucher = _get_voucher(request, voucher_id)
    if voucher.type not in (VoucherType.GIFT_VOUCHER, VoucherType.LOYALTY_CARD):
        raise Http404("Only cards have a balance")
    form = AdjustForm(request.POST, voucher=voucher)
    if form.is_valid():
        amount = form.cleaned_data["amount"]
        try:
            services.card_adjust(
                voucher=voucher,
                amount=amount,
                reason=form.cleaned_data["reason"],
                created_by=request.user,
            )
        except ApplicationError as exc:
            if exc.key in ("not_enough_balance", "not_enough_points"):
                voucher.refresh_from_db()
                held = voucher.gift_balance if voucher.gift_balance is not None else 0
                if voucher.type == VoucherType.LOYALTY_CARD:
                    held = voucher.loyalty_balance or 0
                form.add_error(
                    "amount",
                    f"The card holds {_money_or_points(voucher, held)}; removing "
                    f"{_money_or_points(voucher, -amount)} would make its balance negative.",
                )
            else:
                put_service_error(form, exc, {"amount": "amount"})
        else:
            voucher.refresh_from_db()
            messages.success(request, f"{_money_or_points(voucher, amount)} recorded.")
            if not request.htmx:
                return redirect("campaigns:voucher_detail", voucher_id=voucher.public_id)
            form = None
    with _zone(request):
        context = _detail_context(request, voucher, adjust_form=form)
        return render_page_or_partial(
            request, "campaigns/vouchers/voucher_detail.html", context, partial="card"
        )


@member_required()
@require_POST
def voucher_toggle(request, voucher_id: str):
    voucher = _get_voucher(request, voucher_id)
    services.voucher_set_active(voucher=voucher, active=not voucher.active)
    state = "enabled" if voucher.active else "disabled"
    messages.success(request, f"Voucher {voucher.code} {state}.")
    return redirect("campaigns:voucher_detail", voucher_id=voucher.public_id)


@member_required()
@require_POST
def voucher_publish(request, voucher_id: str):
    voucher = _get_voucher(request, voucher_id)
    form = PublishToCustomerForm(request.POST)
    if form.is_valid():
        try:
            publication = services.publication_create(
                project=request.project,
                customer_payload=form.customer_payload(request.project),
                voucher=voucher.public_id,
                channel=PublicationChannel.DASHBOARD,
            )
        except ApplicationError as exc:
            form.add_error("customer", exc.message)
        else:
            messages.success(
                request, f"Voucher {voucher.code} published to {publication.customer}."
            )
            return redirect("campaigns:voucher_detail", voucher_id=voucher.public_id)
    with _zone(request):
        context = _detail_context(request, voucher, publish_form=form)
        return render(request, "campaigns/vouchers/voucher_detail.html", context)


@member_required()
@require_http_methods(["GET", "POST"])
def voucher_edit(request, voucher_id: str):
    voucher = _get_voucher(request, voucher_id)
    with _zone(request):
        form = VoucherEditForm(request.POST or None, voucher=voucher)
        if request.method == "POST" and form.is_valid():
            try:
                services.voucher_update(voucher=voucher, payload=form.payload())
            except ApplicationError as exc:
                put_service_error(form, exc, ALIASES)
            else:
                messages.success(request, f"Voucher {voucher.code} saved.")
                return redirect("campaigns:voucher_detail", voucher_id=voucher.public_id)
        context = {"form": form, "voucher": voucher}
        return render(request, "campaigns/vouchers/voucher_edit.html", context)


@member_required()
@require_http_methods(["GET", "POST"])
def voucher_delete(request, voucher_id: str):
    voucher = _get_voucher(request, voucher_id)
    if request.method == "POST":
        campaign = voucher.campaign
        services.voucher_delete(voucher=voucher)
        messages.success(request, f"Voucher {voucher.code} deleted.")
        if campaign is not None:
            return redirect("campaigns:detail", campaign_id=campaign.public_id)
        return redirect("campaigns:list")
    context = {"voucher": voucher, "publication_count": voucher.publications.count()}
    return render(request, "campaigns/vouchers/voucher_delete.html", context)


@member_required()
@require_http_methods(["GET", "POST"])
def voucher_create(request):
    project = request.project
    data = request.POST if request.method == "POST" else None
    chosen = (data or request.GET).get("campaign") or ""
    campaign_mode = bool(chosen)
    with _zone(request):
        form = VoucherCreateForm(
            data, project=project, campaign_mode=campaign_mode, initial={"campaign": chosen}
        )
        if data is not None and form.is_valid():
            try:
                voucher = services.voucher_create(
                    project=project,
                    payload=form.payload(),
                    campaign=form.cleaned_data.get("campaign"),
                    code=form.cleaned_data.get("code") or None,
                )
            except ApplicationError as exc:
                put_service_error(form, exc, ALIASES)
            else:
                messages.success(request, f"Voucher {voucher.code} created.")
                return redirect("campaigns:voucher_detail", voucher_id=voucher.public_id)
        context = {"form": form, "campaign_mode": campaign_mode}
        return render_page_or_partial(
            request, "campaigns/vouchers/voucher_create.html", context, partial="form"
        )


# Publications ------------------------------------------------------------------------------------


@member_required()
def publication_list(request):
    project = request.project
    base = (
        Publication.objects.filter(project=project)
        .select_related("customer", "campaign")
        .prefetch_related("vouchers")
        .order_by("-created_at", "-id")
    )
    filterset = PublicationFilter(request.GET or None, queryset=base, project=project)
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    page = paginate(queryset, request.GET.get("page"), PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "filter": filterset, "query": query.urlencode()}
    with _zone(request):
        return render_page_or_partial(
            request, "campaigns/publications/publication_list.html", context, partial="results"
        )


def _publish_job(request, campaign: Campaign) -> Job | None:
    job_id = request.GET.get("job")
    if not job_id:
        return None
    job = get_for_project_or_404(
        Job.objects.select_related("created_by"),
        request.project,
        public_id=job_id,
        type=PUBLISH_SEGMENT_JOB,
    )
    if job.params.get("campaign") != campaign.public_id:
        raise Http404("Not a publication of this campaign")
    return job


@member_required()
@require_http_methods(["GET", "POST"])
def campaign_publish(request, campaign_id: str):
    """Publish codes of a campaign to one customer, or one code to every member of a segment
    (a job whose progress this page shows)."""
    project = request.project
    campaign = get_for_project_or_404(Campaign, project, public_id=campaign_id)
    url = reverse("campaigns:publish", kwargs={"campaign_id": campaign.public_id})
    publishable = campaign.campaign_type != CampaignType.PROMOTION
    if request.method == "POST" and not publishable:
        messages.error(request, "Promotion campaigns apply automatically; they have no codes.")
        return redirect(url)
    action = request.POST.get("action") if request.method == "POST" else None
    customer_form = PublishCampaignForm(
        request.POST if action == "customer" else None, prefix="one", initial={"count": 1}
    )
    segment_form = PublishSegmentForm(
        request.POST if action == "segment" else None, prefix="seg", project=project
    )
    if action == "customer" and customer_form.is_valid():
        data = customer_form.cleaned_data
        try:
            publication = services.publication_create(
                project=project,
                customer_payload=customer_form.customer_payload(project),
                campaign=campaign.public_id,
                count=data["count"],
                source_id=data.get("source_id") or None,
                channel=PublicationChannel.DASHBOARD,
            )
        except ApplicationError as exc:
            customer_form.add_error(None, exc.message)
        else:
            codes = ", ".join(v.code for v in publication.published_vouchers)
            messages.success(request, f"Published {codes} to {publication.customer}.")
            return redirect(url)
    elif action == "segment" and segment_form.is_valid():
        job = services.publish_segment_start(
            campaign=campaign, segment=segment_form.cleaned_data["segment"], created_by=request.user
        )
        messages.success(request, f"Publishing to “{segment_form.cleaned_data['segment']}”.")
        return redirect(f"{url}?job={job.public_id}")
    elif action not in (None, "customer", "segment"):
        messages.error(request, "Choose whom to publish to.")
    job = _publish_job(request, campaign)
    context = {
        "campaign": campaign,
        "customer_form": customer_form,
        "segment_form": segment_form,
        "job": job,
        "publishable": publishable,
        "max_count": MAX_PUBLISH_COUNT,
        "recent": Publication.objects.filter(project=project, campaign=campaign)
        .select_related("customer")
        .prefetch_related("vouchers")
        .order_by("-created_at", "-id")[:10],
    }
    template = "campaigns/publications/campaign_publish.html"
    with _zone(request):
        if request.htmx and job is not None:  # the progress poll
            return render(request, f"{template}#job", context)
        return render(request, template, context)
