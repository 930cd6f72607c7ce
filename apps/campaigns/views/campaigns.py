"""Campaign screens: the list, the create wizard (with its live code preview), a campaign's page
with its codes, and edit, enable/disable, add codes, export codes and delete."""

from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.money import format_money
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.exports.services import export_start
from apps.metadata.models import Resource
from apps.metadata.services import schema_for
from apps.projects.permissions import member_required

from .. import selectors, services
from ..codes import PRESETS, CodeConfig
from ..discounts import describe_discount
from ..forms import (
    CHARSET_WORDS,
    DAY_NAMES,
    DAYS,
    MODES,
    REVIEW,
    BaseMetadataFormSet,
    CampaignEditForm,
    CampaignWizard,
    CodesForm,
    DiscountForm,
    MetadataFormSet,
    ValidityForm,
    day_count,
    product_choices,
    value_form,
    value_initial,
    zone_of,
)
from ..models import Campaign, CampaignType, VoucherType

PAGE_SIZE = 25
VOUCHERS_PAGE_SIZE = 25
SAMPLES = 5
TEMPLATES = "campaigns/campaigns/"


def _get_campaign_or_404(request, campaign_id: str) -> Campaign:
    return get_for_project_or_404(
        Campaign.objects.select_related("category", "project"),
        request.project,
        public_id=campaign_id,
    )


def _query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- words for what a campaign does ----------------------------------------------------------


def big_number(value: int) -> str:
    if value < 10**15:
        return f"{value:,}"
    digits = str(value)
    return f"about {digits[0]}.{digits[1]} x 10^{len(digits) - 1}"


def odds(probability: float) -> str:
    if probability <= 0:
        return "none"
    if probability >= 1:
        return "certain"
    if probability >= 0.01:
        return f"{probability:.0%}"
    inverse = 1 / probability
    if inverse >= 10**15:
        return "less than 1 in a million billion"
    return f"1 in {round(inverse):,}"


def code_space_figures(space) -> dict:
    return {
        "capacity": big_number(space.capacity),
        "requested": f"{space.requested + space.live:,}",
        "collision": odds(space.collision_odds),
        "guess": odds(space.guess_odds),
        "fits": space.fits,
    }


def describe_code_config(config: dict) -> str:
    config = config or {}
    charset = config.get("charset") or "alphanumeric_upper"
    preset = charset if charset in PRESETS else None
    preset = preset or next((name for name, chars in PRESETS.items() if chars == charset), None)
    chars = CHARSET_WORDS[preset] if preset else charset
    if config.get("pattern"):
        text = f"pattern {config['pattern']} (each # one of {chars})"
    else:
        text = f"{config.get('length') or 8} characters from {chars}"
    if config.get("prefix"):
        text += f", prefix {config['prefix']}"
    if config.get("postfix"):
        text += f", postfix {config['postfix']}"
    return text[0].upper() + text[1:]


def describe_value(campaign: Campaign, currency: str) -> str:
    if campaign.campaign_type == CampaignType.PROMOTION:
        return "Promotion tiers (below)"
    if campaign.voucher_type == VoucherType.GIFT_VOUCHER:
        return f"Gift card of {format_money(campaign.gift_amount, currency)}"
    if campaign.voucher_type == VoucherType.LOYALTY_CARD:
        return f"Loyalty card starting with {campaign.loyalty_points or 0:,} points"
    return describe_discount(campaign.discount, currency)


def describe_validity(values: dict, zone) -> list[str]:
    def moment(value) -> str:
        return timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M")

    start, end = values.get("start_date"), values.get("expiration_date")
    if start and end:
        lines = [f"From {moment(start)} to {moment(end)} ({zone.key})"]
    elif start:
        lines = [f"From {moment(start)} ({zone.key}), no end"]
    elif end:
        lines = [f"Until {moment(end)} ({zone.key})"]
    else:
        lines = ["No start or end date"]
    days = values.get("validity_day_of_week")
    if days:
        lines.append("Only on " + ", ".join(DAY_NAMES[d] for d, _ in DAYS if d in days))
    for entry in (values.get("validity_hours") or {}).get("daily") or []:
        lines.append(f"Daily {entry['start_time']}-{entry['expiration_time']}")
    frame = values.get("validity_timeframe")
    if frame:
        lines.append(f"Active for {frame['duration']} every {frame['interval']}")
    duration = values.get("activity_duration_after_publishing")
    if duration:
        days_after = day_count(duration)
        lines.append(
            f"Codes stay valid for {days_after} days after publishing"
            if days_after
            else f"Codes stay valid for {duration} after publishing"
        )
    return lines


def validity_of(obj) -> dict:
    return {
        "start_date": obj.start_date,
        "expiration_date": obj.expiration_date,
        "validity_day_of_week": obj.validity_day_of_week,
        "validity_hours": obj.validity_hours,
        "validity_timeframe": obj.validity_timeframe,
        "activity_duration_after_publishing": obj.activity_duration_after_publishing,
    }


# --- list ------------------------------------------------------------------------------------


@member_required()
def campaign_list(request):
    queryset, filterset = selectors.campaign_list(project=request.project, filters=request.GET)
    page = paginate(queryset, request.GET.get("page"), PAGE_SIZE)
    for campaign in page:
        campaign.status_label, campaign.status_class = selectors.STATUS_LABELS[campaign.status]
        campaign.mode_label = dict(MODES)[campaign.type]
    context = {"page": page, "filter": filterset, "query": _query(request)}
    return render_page_or_partial(
        request, TEMPLATES + "campaign_list.html", context, partial="results"
    )


# --- wizard ----------------------------------------------------------------------------------


def _review(wizard: CampaignWizard, payload: dict) -> dict:
    project = wizard.project
    currency, zone = project.currency, zone_of(project)
    basics = wizard.forms[1].cleaned_data
    review = {
        "type": CampaignType(payload["campaign_type"]).label,
        "name": payload["name"],
        "description": payload.get("description"),
        "category": dict(wizard.forms[1].fields["category"].choices).get(basics["category"]),
        "validity": describe_validity(
            {
                **wizard.forms[4].build(wizard.forms[4].cleaned_data),
                "activity_duration_after_publishing": payload["activity_duration_after_publishing"],
            },
            zone,
        ),
        "metadata": payload["metadata"],
    }
    if wizard.is_promotion:
        review["tiers"] = [
            (tier["name"], describe_discount(tier["action"]["discount"], currency))
            for tier in payload["promotion"]["tiers"]
        ]
        return review
    voucher = payload["voucher"]
    config = CodeConfig(voucher["code_config"], case_sensitive=project.codes_case_sensitive)
    review.update(
        mode=dict(MODES)[payload["type"]],
        count=payload["vouchers_count"],
        code_format=describe_code_config(voucher["code_config"]),
        samples=config.samples(SAMPLES),
        quantity=voucher["redemption"]["quantity"],
        join_once=payload["join_once"],
        auto_join=payload["auto_join"],
    )
    if "discount" in voucher:
        review["value"] = describe_discount(voucher["discount"], currency)
    elif "gift" in voucher:
        review["value"] = f"Gift card of {format_money(voucher['gift']['amount'], currency)}"
    else:
        review["value"] = f"Loyalty card starting with {voucher['loyalty_card']['points']} points"
    return review


def _wizard_page(request, wizard: CampaignWizard, step: int, form=None, *, error=""):
    context = {
        "wizard": wizard,
        "step": step,
        "steps": wizard.step_list(step),
        "title": wizard.step_list(step)[wizard.steps().index(step)]["title"],
        "form": form,
        "carry": wizard.carry(step),
        "error": error,
        "is_last": step == REVIEW,
        "campaign_type": wizard.campaign_type,
        "is_promotion": wizard.is_promotion,
        "currency": request.project.currency,
    }
    if step == 3:
        context["products"] = product_choices(request.project)
        context["is_discount"] = isinstance(form, DiscountForm)
    if step == REVIEW:
        payload = wizard.payload()
        context["review"] = _review(wizard, payload)
    return render(request, TEMPLATES + "campaign_wizard.html", context)


def _wizard_review(request, wizard: CampaignWizard):
    invalid = wizard.first_invalid()
    if invalid is not None:
        return _wizard_page(request, wizard, *invalid)
    return _wizard_page(request, wizard, REVIEW)


def _wizard_create(request, wizard: CampaignWizard):
    invalid = wizard.first_invalid()
    if invalid is not None:
        return _wizard_page(request, wizard, *invalid)
    try:
        campaign = services.campaign_create(
            project=request.project, payload=wizard.payload(), created_by=request.user
        )
    except ApplicationError as exc:
        step = wizard.step_for_error(exc.details)
        return _wizard_page(request, wizard, step, wizard.display(step), error=exc.message)
    messages.success(request, f"Campaign “{campaign.name}” created.")
    return redirect("campaigns:detail", campaign_id=campaign.public_id)


@member_required()
@require_http_methods(["GET", "POST"])
def campaign_wizard(request):
    """One view, seven steps. Next validates the step shown; Back and the step links keep what
    was typed without checking it; Create checks every step again, then calls the service."""
    if request.method == "GET":
        wizard = CampaignWizard(
            project=request.project, initial_type=request.GET.get("campaign_type")
        )
        return _wizard_page(request, wizard, 1, wizard.display(1))
    wizard = CampaignWizard(project=request.project, data=request.POST)
    step = wizard.clean_step(request.POST.get("step"))
    nav = request.POST.get("nav", "next")
    if nav == "back":
        target = wizard.previous(step)
        return _wizard_page(request, wizard, target, wizard.display(target))
    if nav.startswith("goto-"):
        target = wizard.clean_step(nav.removeprefix("goto-"))
        if target < step:
            return _wizard_page(request, wizard, target, wizard.display(target))
    if nav == "add_row" and step in (3, 6):
        return _wizard_page(request, wizard, step, wizard.display(step, add_row=True))
    if step == REVIEW:
        if nav == "create":
            return _wizard_create(request, wizard)
        return _wizard_review(request, wizard)
    form = wizard.bound(step)
    if not form.is_valid():
        return _wizard_page(request, wizard, step, form)
    target = wizard.next(step)
    if target == REVIEW:
        return _wizard_review(request, wizard)
    return _wizard_page(request, wizard, target, wizard.display(target))


@member_required()
@require_GET
def code_preview(request):
    """Five sample codes and the code space of the wizard's code settings (htmx, as typed)."""
    data = request.GET.copy()
    defaults = CodesForm(prefix="s2", project=request.project)
    for name, field in defaults.fields.items():
        key = defaults.add_prefix(name)
        if key not in data and field.initial is not None:
            data[key] = field.initial
    form = CodesForm(data, prefix="s2", project=request.project)
    form.is_valid()
    context = {
        "samples": form.config.samples(SAMPLES) if form.config else [],
        "space": code_space_figures(form.space) if form.space else None,
        "errors": [str(e) for errors in form.errors.values() for e in errors],
    }
    return render(request, TEMPLATES + "_code_preview.html", context)


# --- one campaign ----------------------------------------------------------------------------


def _vouchers_context(request, campaign: Campaign) -> dict:
    queryset, filterset = selectors.campaign_vouchers(campaign=campaign, filters=request.GET)
    page = paginate(queryset, request.GET.get("page"), VOUCHERS_PAGE_SIZE)
    return {
        "campaign": campaign,
        "vouchers": page,
        "voucher_filter": filterset,
        "voucher_query": _query(request),
    }


@member_required()
def campaign_detail(request, campaign_id: str):
    campaign = _get_campaign_or_404(request, campaign_id)
    job = selectors.campaign_generation_job(campaign=campaign)
    context = {
        "campaign": campaign,
        "job": job,
        "figures": selectors.campaign_figures(campaign=campaign),
    }
    if request.htmx:  # the generation progress poll
        response = render(request, TEMPLATES + "campaign_detail.html#generation", context)
        if job is not None and job.is_finished:
            trigger_client_event(response, "codesGenerated")
        return response
    currency, zone = request.project.currency, zone_of(request.project)
    status = selectors.campaign_status(campaign)
    context.update(
        status=status,
        status_label=selectors.STATUS_LABELS[status],
        value=describe_value(campaign, currency),
        validity=describe_validity(validity_of(campaign), zone),
        is_promotion=campaign.campaign_type == CampaignType.PROMOTION,
    )
    if not context["is_promotion"]:  # a promotion's tiers section loads its own data
        context["code_format"] = describe_code_config(campaign.code_config)
        context.update(_vouchers_context(request, campaign))
    return render(request, TEMPLATES + "campaign_detail.html", context)


@member_required()
def campaign_vouchers(request, campaign_id: str):
    campaign = _get_campaign_or_404(request, campaign_id)
    return render_page_or_partial(
        request,
        TEMPLATES + "campaign_vouchers.html",
        _vouchers_context(request, campaign),
        partial="results",
    )


@member_required()
@require_POST
def campaign_toggle(request, campaign_id: str):
    campaign = _get_campaign_or_404(request, campaign_id)
    wanted = request.POST.get("active")
    active = wanted == "true" if wanted in ("true", "false") else not campaign.active
    services.campaign_set_active(campaign=campaign, active=active)
    messages.success(request, f"Campaign “{campaign.name}” {'enabled' if active else 'disabled'}.")
    return redirect("campaigns:detail", campaign_id=campaign.public_id)


@member_required()
@require_POST
def campaign_add_codes(request, campaign_id: str):
    campaign = _get_campaign_or_404(request, campaign_id)
    try:
        count = int(request.POST.get("count", ""))
    except ValueError:
        messages.error(request, "Enter how many codes to add.")
        return redirect("campaigns:detail", campaign_id=campaign.public_id)
    try:
        # one transaction: a refused code space leaves the campaign's target count unchanged
        with transaction.atomic():
            services.campaign_add_vouchers(campaign=campaign, count=count, created_by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Generating {count:,} more codes.")
    return redirect("campaigns:detail", campaign_id=campaign.public_id)


@member_required()
@require_POST
def campaign_export_codes(request, campaign_id: str):
    campaign = _get_campaign_or_404(request, campaign_id)
    try:
        job = export_start(
            project=request.project,
            kind="vouchers",
            filters=urlencode({"campaign": campaign.public_id}),
            created_by=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:detail", campaign_id=campaign.public_id)
    return redirect("exports:detail", job_id=job.public_id)


@member_required()
@require_http_methods(["GET", "POST"])
def campaign_delete(request, campaign_id: str):
    campaign = _get_campaign_or_404(request, campaign_id)
    if request.method == "POST":
        services.campaign_delete(campaign=campaign)
        messages.success(request, f"Campaign “{campaign.name}” and its codes deleted.")
        return redirect("campaigns:list")
    context = {"campaign": campaign, "figures": selectors.campaign_figures(campaign=campaign)}
    return render(request, TEMPLATES + "campaign_delete.html", context)


def _edit_forms(request, campaign: Campaign):
    project = request.project
    data = request.POST if request.method == "POST" else None
    schema_keys = schema_for(project=project, resource=Resource.CAMPAIGN).properties.keys()
    return {
        "form": CampaignEditForm(data, campaign=campaign),
        "validity": ValidityForm(
            data,
            prefix="v",
            project=project,
            current=campaign,
            initial=ValidityForm.initial_from(campaign),
        ),
        "value": value_form(
            campaign.campaign_type,
            data=data,
            initial=value_initial(campaign),
            currency=project.currency,
            prefix="value",
        ),
        "metadata": MetadataFormSet(
            data,
            prefix="meta",
            project=project,
            initial=BaseMetadataFormSet.initial_from(campaign.metadata, schema_keys),
        ),
    }


def _edit_payload(forms: dict) -> dict:
    payload = forms["form"].payload()
    payload.update(forms["validity"].payload())
    payload["metadata"] = forms["metadata"].metadata
    value = forms["value"]
    if value is not None:
        if isinstance(value, DiscountForm):
            voucher = {"discount": value.discount}
        else:
            voucher = value.voucher()
        quantity = forms["form"].cleaned_data.get("redemption_quantity")
        voucher["redemption"] = {"quantity": quantity}
        payload["voucher"] = voucher
    return payload


@member_required()
@require_http_methods(["GET", "POST"])
def campaign_edit(request, campaign_id: str):
    campaign = _get_campaign_or_404(request, campaign_id)
    forms = _edit_forms(request, campaign)
    error = ""
    if request.method == "POST" and all(f.is_valid() for f in forms.values() if f is not None):
        try:
            services.campaign_update(campaign=campaign, payload=_edit_payload(forms))
        except ApplicationError as exc:
            campaign.refresh_from_db()  # the service may have changed it before refusing
            if exc.details == "name":
                forms["form"].add_error("name", exc.message)
            else:
                error = exc.message
        else:
            messages.success(request, f"Campaign “{campaign.name}” saved.")
            return redirect("campaigns:detail", campaign_id=campaign.public_id)
    context = {
        "campaign": campaign,
        **forms,
        "error": error,
        "is_discount": isinstance(forms["value"], DiscountForm),
        "products": product_choices(request.project),
    }
    return render(request, TEMPLATES + "campaign_edit.html", context)
