"""Vouchers: the detail page (QR code, barcode, card ledger and balance adjustments), standalone
create, edit, enable/disable, delete and publish; the QR/barcode images; the publications list
and publishing a campaign's codes to a customer or a whole segment.

The forms live here because they serve only these screens; every write goes through
apps.campaigns.services, whose ApplicationErrors are put back on the form field they name.
"""

import re

import django_filters
from django import forms
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
from apps.core.filters import project_zone
from apps.core.forms import MoneyField
from apps.core.htmx import render_page_or_partial
from apps.core.money import format_money
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.customers.models import Customer
from apps.jobs.models import Job
from apps.metadata.forms import MetadataFormMixin
from apps.metadata.models import Resource
from apps.metadata.services import schema_for
from apps.projects.permissions import member_required
from apps.segments.models import Segment

from .. import assets, services
from ..codes import PRESETS, CodeConfig
from ..discounts import GIFT_EFFECTS, ORDER_EFFECTS, UNIT_EFFECTS, clean_discount
from ..discounts import describe_discount as _describe_discount
from ..models import (
    Campaign,
    CampaignType,
    Category,
    Publication,
    PublicationChannel,
    Voucher,
    VoucherType,
)
from ..services.publications import JOB_TYPE as PUBLISH_SEGMENT_JOB
from ..services.publications import MAX_COUNT as MAX_PUBLISH_COUNT
from ..validity import clean_validity

PAGE_SIZE = 25
LEDGER_PAGE_SIZE = 20
ASSET_MAX_AGE = 24 * 60 * 60
DAYS = [(0, "Sun"), (1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat")]
DAY_NUMBERS = {name.lower(): number for number, name in DAYS}
HOURS_LINE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*(.*)$")
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DISCOUNT_TYPES = [
    ("AMOUNT", "Amount off"),
    ("PERCENT", "Percent off"),
    ("FIXED", "Fixed price"),
    ("UNIT", "Free units of a product"),
]
EFFECT_CHOICES = [("", "Default (whole order, or add missing items)")] + [
    (effect, effect.replace("_", " ").capitalize()) for effect in ORDER_EFFECTS + UNIT_EFFECTS[:2]
]
CHARSET_CHOICES = [(name, name.replace("_", " ")) for name in PRESETS]
KIND_LABELS = {
    VoucherType.DISCOUNT_VOUCHER: "Discount voucher",
    VoucherType.GIFT_VOUCHER: "Gift card",
    VoucherType.LOYALTY_CARD: "Loyalty card",
}


# Form helpers ------------------------------------------------------------------------------------


def _put_error(form: forms.Form, exc: ApplicationError, aliases: dict[str, str]) -> None:
    """Show a service error on the field it names (`exc.details`), else above the form."""
    details = exc.details or ""
    for prefix, field in aliases.items():
        if (details == prefix or details.startswith(prefix + ".")) and field in form.fields:
            form.add_error(field, exc.message)
            return
    form.add_error(None, exc.message)


DISCOUNT_ALIASES = {
    "discount.type": "discount_type",
    "discount.amount_off": "amount_off",
    "discount.percent_off": "percent_off",
    "discount.amount_limit": "amount_limit",
    "discount.fixed_amount": "fixed_amount",
    "discount.unit_off": "unit_off",
    "discount.unit_type": "unit_type",
    "discount.effect": "effect",
}
VALIDITY_ALIASES = {
    "start_date": "start_date",
    "expiration_date": "expiration_date",
    "validity_timeframe.interval": "timeframe_interval",
    "validity_timeframe.duration": "timeframe_duration",
    "validity_timeframe": "timeframe_interval",
    "validity_day_of_week": "days",
    "validity_hours": "hours",
}
OTHER_ALIASES = {
    "code_config.length": "code_length",
    "code_config.charset": "code_charset",
    "code_config.prefix": "code_prefix",
    "code_config.postfix": "code_postfix",
    "code_config": "code_length",
    "code": "code",
    "redemption.quantity": "redemption_quantity",
    "voucher.gift.amount": "gift_amount",
    "voucher.gift.effect": "gift_effect",
    "voucher.loyalty_card.points": "loyalty_points",
    "category": "category",
    "metadata": "metadata_other",
}
ALIASES = {**DISCOUNT_ALIASES, **VALIDITY_ALIASES, **OTHER_ALIASES}


class DiscountFieldsMixin:
    """A Discount object as typed inputs: money in major units, percent as a number."""

    def add_discount_fields(self, currency: str, discount: dict | None) -> None:
        self.fields["discount_type"] = forms.ChoiceField(
            label="Discount", choices=DISCOUNT_TYPES, required=False
        )
        self.fields["amount_off"] = MoneyField(
            label=f"Amount off ({currency})", currency=currency, required=False
        )
        self.fields["percent_off"] = forms.DecimalField(
            label="Percent off", min_value=0, max_value=100, decimal_places=2, required=False
        )
        self.fields["amount_limit"] = MoneyField(
            label=f"Up to ({currency})",
            currency=currency,
            required=False,
            help_text="Optional cap of a percent discount.",
        )
        self.fields["fixed_amount"] = MoneyField(
            label=f"Fixed price ({currency})", currency=currency, required=False
        )
        self.fields["unit_off"] = forms.IntegerField(
            label="Free units", min_value=1, max_value=1000, required=False
        )
        self.fields["unit_type"] = forms.CharField(
            label="Product or SKU id", max_length=255, required=False
        )
        self.fields["effect"] = forms.ChoiceField(
            label="Applies to", choices=EFFECT_CHOICES, required=False
        )
        self.original_discount = discount or {}
        if discount:
            self.initial.setdefault("discount_type", discount.get("type"))
            for name in ("amount_off", "amount_limit", "fixed_amount", "unit_off", "unit_type"):
                self.initial.setdefault(name, discount.get(name))
            self.initial.setdefault("percent_off", discount.get("percent_off"))
            self.initial.setdefault("effect", discount.get("effect", ""))

    def discount_payload(self) -> dict:
        data = self.cleaned_data
        kind = data.get("discount_type") or "AMOUNT"
        discount: dict = {"type": kind}
        if data.get("effect"):
            discount["effect"] = data["effect"]
        if kind == "AMOUNT":
            discount["amount_off"] = data.get("amount_off")
        elif kind == "PERCENT":
            percent = data.get("percent_off")
            if percent is not None:
                discount["percent_off"] = (
                    int(percent) if percent == int(percent) else float(percent)
                )
            if data.get("amount_limit"):
                discount["amount_limit"] = data["amount_limit"]
        elif kind == "FIXED":
            discount["fixed_amount"] = data.get("fixed_amount")
        else:
            discount["unit_off"] = data.get("unit_off")
            discount["unit_type"] = data.get("unit_type")
        kept = self.original_discount.get("aggregated_amount_limit")
        if kept and kind != "UNIT":
            discount["aggregated_amount_limit"] = kept
        return discount

    def clean_discount_fields(self) -> dict | None:
        """The discount, checked by the same rules the services use (errors on the fields)."""
        try:
            return clean_discount(self.discount_payload())
        except ApplicationError as exc:
            _put_error(self, exc, DISCOUNT_ALIASES)
            return None


def _hours_text(hours: dict | None) -> str:
    lines = []
    for entry in (hours or {}).get("daily") or []:
        days = entry.get("days_of_week") or []
        names = (
            "" if sorted(days) == list(range(7)) else " " + " ".join(dict(DAYS)[d] for d in days)
        )
        lines.append(f"{entry.get('start_time')}-{entry.get('expiration_time')}{names}")
    return "\n".join(lines)


def _parse_hours(text: str) -> dict | None:
    daily = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = HOURS_LINE.match(line)
        if not match:
            raise forms.ValidationError(f"Line {number}: write 09:00-17:00, then days if any.")
        start, end, rest = match.groups()
        days = []
        for token in re.split(r"[\s,]+", rest.strip()) if rest.strip() else []:
            if token.lower()[:3] not in DAY_NUMBERS:
                raise forms.ValidationError(f"Line {number}: “{token}” is not a day (Mon…Sun).")
            days.append(DAY_NUMBERS[token.lower()[:3]])
        entry = {"start_time": start.zfill(5), "expiration_time": end.zfill(5)}
        daily.append({**entry, "days_of_week": sorted(set(days)) or list(range(7))})
    return {"daily": daily} if daily else None


class ValidityFieldsMixin:
    """Voucherify's validity fields as inputs; dates are in the project's time zone (the view
    activates it)."""

    def add_validity_fields(self, obj=None) -> None:
        self.fields["start_date"] = forms.DateTimeField(
            label="Start", required=False, widget=DATETIME_WIDGET
        )
        self.fields["expiration_date"] = forms.DateTimeField(
            label="Expiration", required=False, widget=DATETIME_WIDGET
        )
        self.fields["days"] = forms.TypedMultipleChoiceField(
            label="Only on these days",
            choices=DAYS,
            coerce=int,
            required=False,
            widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
            help_text="None ticked: every day.",
        )
        self.fields["hours"] = forms.CharField(
            label="Only at these hours",
            required=False,
            widget=forms.Textarea(attrs={"rows": 2, "placeholder": "09:00-17:00 Mon Tue Wed"}),
            help_text="One window a line: 09:00-17:00, optionally followed by days.",
        )
        self.fields["timeframe_interval"] = forms.CharField(
            label="Repeat every",
            required=False,
            widget=forms.TextInput(attrs={"placeholder": "P7D"}),
            help_text="ISO 8601 duration, e.g. P7D (a week) or PT12H.",
        )
        self.fields["timeframe_duration"] = forms.CharField(
            label="Active for",
            required=False,
            widget=forms.TextInput(attrs={"placeholder": "PT2H"}),
            help_text="How long each repetition lasts, from the start date.",
        )
        if obj is not None:
            timeframe = obj.validity_timeframe or {}
            self.initial.update(
                start_date=obj.start_date,
                expiration_date=obj.expiration_date,
                days=obj.validity_day_of_week or [],
                hours=_hours_text(obj.validity_hours),
                timeframe_interval=timeframe.get("interval", ""),
                timeframe_duration=timeframe.get("duration", ""),
            )

    def clean_hours(self):
        return _parse_hours(self.cleaned_data.get("hours"))

    def validity_payload(self) -> dict:
        data = self.cleaned_data
        interval = (data.get("timeframe_interval") or "").strip()
        duration = (data.get("timeframe_duration") or "").strip()
        return {
            "start_date": data.get("start_date"),
            "expiration_date": data.get("expiration_date"),
            "validity_day_of_week": data.get("days") or None,
            "validity_hours": data.get("hours"),
            "validity_timeframe": (
                {"interval": interval, "duration": duration} if interval or duration else None
            ),
        }

    def clean_validity_fields(self) -> None:
        try:
            clean_validity(self.validity_payload())
        except ApplicationError as exc:
            _put_error(self, exc, VALIDITY_ALIASES)


class VoucherFieldsMixin(DiscountFieldsMixin, ValidityFieldsMixin, MetadataFormMixin):
    def add_common_fields(self, project, voucher=None) -> None:
        self.project = project
        self.fields["redemption_quantity"] = forms.IntegerField(
            label="Redemptions allowed",
            min_value=1,
            required=False,
            help_text="Empty: unlimited.",
        )
        self.fields["category"] = forms.ModelChoiceField(
            queryset=Category.objects.filter(project=project),
            to_field_name="public_id",
            required=False,
            empty_label="No category",
        )
        self.fields["additional_info"] = forms.CharField(
            label="Additional info", required=False, widget=forms.Textarea(attrs={"rows": 2})
        )
        self.fields["active"] = forms.BooleanField(label="Active", required=False, initial=True)
        self.add_validity_fields(voucher)
        if voucher is not None:
            self.initial.update(
                redemption_quantity=voucher.redemption_quantity,
                category=voucher.category.public_id if voucher.category_id else None,
                additional_info=voucher.additional_info,
                active=voucher.active,
            )
        schema = schema_for(project=project, resource=Resource.VOUCHER)
        self.add_metadata_fields(schema, voucher.metadata if voucher is not None else {})

    def metadata_fields(self) -> list:
        return [self[name] for name in self.metadata_field_names()]

    def common_payload(self) -> dict:
        data = self.cleaned_data
        category = data.get("category")
        return {
            **self.validity_payload(),
            "active": bool(data.get("active")),
            "additional_info": data.get("additional_info") or "",
            "category_id": category.public_id if category else None,
            "metadata": data.get("metadata") or {},
            "redemption": {"quantity": data.get("redemption_quantity")},
        }


class VoucherEditForm(VoucherFieldsMixin, forms.Form):
    def __init__(self, *args, voucher: Voucher, **kwargs):
        super().__init__(*args, **kwargs)
        self.voucher = voucher
        self.add_common_fields(voucher.project, voucher)
        discount = voucher.discount or {}
        # A discount of several units (API-made) has no form; it is kept as it is.
        self.edits_discount = (
            voucher.type == VoucherType.DISCOUNT_VOUCHER and "units" not in discount
        )
        if self.edits_discount:
            self.add_discount_fields(voucher.project.currency, discount)

    def clean(self):
        cleaned = super().clean()
        self.clean_metadata_fields()
        self.clean_validity_fields()
        if self.edits_discount:
            cleaned["discount"] = self.clean_discount_fields()
        return cleaned

    def payload(self) -> dict:
        payload = self.common_payload()
        if self.edits_discount:
            payload["discount"] = self.cleaned_data["discount"]
        return payload


class VoucherCreateForm(VoucherFieldsMixin, forms.Form):
    """A standalone voucher (its own type and value), or one more code of a campaign (then the
    campaign's template applies and only the code is asked)."""

    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label="None: a standalone voucher",
        help_text="In a campaign, the voucher takes the campaign's discount, value and dates.",
    )
    code = forms.CharField(
        max_length=100,
        required=False,
        help_text="Leave empty to generate a random code.",
    )

    def __init__(self, *args, project, campaign_mode: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.campaign_mode = campaign_mode
        self.fields["campaign"].queryset = (
            Campaign.objects.filter(project=project)
            .exclude(campaign_type=CampaignType.PROMOTION)
            .order_by("name")
        )
        self.fields["campaign"].widget.attrs.update(
            {
                "hx-get": reverse("campaigns:voucher_create"),
                "hx-target": "#voucher-form",
                "hx-swap": "outerHTML",
                "hx-select": "#voucher-form",
            }
        )
        if campaign_mode:
            return
        currency = project.currency
        self.fields["type"] = forms.ChoiceField(
            label="Type",
            choices=VoucherType.choices,
            initial=VoucherType.DISCOUNT_VOUCHER,
            widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        )
        self.fields["code_length"] = forms.IntegerField(
            label="Length", min_value=1, max_value=100, initial=8, required=False
        )
        self.fields["code_charset"] = forms.ChoiceField(
            label="Characters", choices=CHARSET_CHOICES, initial="alphanumeric_upper"
        )
        self.fields["code_prefix"] = forms.CharField(label="Prefix", max_length=50, required=False)
        self.fields["code_postfix"] = forms.CharField(
            label="Postfix", max_length=50, required=False
        )
        self.add_discount_fields(currency, None)
        self.fields["gift_amount"] = MoneyField(
            label=f"Gift card value ({currency})", currency=currency, required=False
        )
        self.fields["gift_effect"] = forms.ChoiceField(
            label="Credits apply to",
            choices=[(effect, effect.replace("_", " ").capitalize()) for effect in GIFT_EFFECTS],
            required=False,
        )
        self.fields["loyalty_points"] = forms.IntegerField(
            label="Opening points", min_value=0, required=False, initial=0
        )
        self.add_common_fields(project)

    def clean_code(self):
        return (self.cleaned_data.get("code") or "").strip()

    def clean(self):
        cleaned = super().clean()
        if self.campaign_mode:
            return cleaned
        self.clean_metadata_fields()
        self.clean_validity_fields()
        kind = cleaned.get("type")
        if kind == VoucherType.DISCOUNT_VOUCHER:
            cleaned["discount"] = self.clean_discount_fields()
        elif (
            kind == VoucherType.GIFT_VOUCHER
            and not cleaned.get("gift_amount")
            and "gift_amount" not in self.errors
        ):
            self.add_error("gift_amount", "Enter the gift card's value.")
        if not cleaned.get("code"):
            try:
                CodeConfig(self.code_config(), case_sensitive=self.project.codes_case_sensitive)
            except ApplicationError as exc:
                _put_error(self, exc, OTHER_ALIASES)
        return cleaned

    def code_config(self) -> dict:
        data = self.cleaned_data
        return {
            "length": data.get("code_length") or 8,
            "charset": data.get("code_charset") or "alphanumeric_upper",
            "prefix": data.get("code_prefix") or "",
            "postfix": data.get("code_postfix") or "",
        }

    def payload(self) -> dict:
        if self.campaign_mode:
            return {}
        data = self.cleaned_data
        kind = data["type"]
        payload = {**self.common_payload(), "type": kind, "code_config": self.code_config()}
        if kind == VoucherType.DISCOUNT_VOUCHER:
            payload["discount"] = data["discount"]
        elif kind == VoucherType.GIFT_VOUCHER:
            payload["gift"] = {
                "amount": data["gift_amount"],
                "effect": data.get("gift_effect") or "APPLY_TO_ORDER",
            }
        else:
            payload["loyalty_card"] = {"points": data.get("loyalty_points") or 0}
        return payload


class AdjustForm(forms.Form):
    """Add or remove gift credits (money) or loyalty points (a whole number)."""

    reason = forms.CharField(max_length=500, help_text="Kept in the card's history.")

    def __init__(self, *args, voucher: Voucher, **kwargs):
        super().__init__(*args, **kwargs)
        if voucher.type == VoucherType.GIFT_VOUCHER:
            currency = voucher.project.currency
            self.fields["amount"] = MoneyField(
                label=f"Amount ({currency})",
                currency=currency,
                allow_negative=True,
                help_text="Positive adds credits, negative (e.g. -10.00) removes them.",
            )
        else:
            self.fields["amount"] = forms.IntegerField(
                label="Points",
                help_text="Positive adds points, negative (e.g. -100) removes them.",
            )
        self.order_fields(["amount", "reason"])

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("Enter an amount other than zero.")
        return amount


class PublishToCustomerForm(forms.Form):
    customer = forms.CharField(
        label="Customer",
        max_length=255,
        help_text="The customer's source ID or ID (cust_…); an unknown source ID creates them.",
    )

    def customer_payload(self, project) -> dict:
        ref = self.cleaned_data["customer"].strip()
        if Customer.objects.filter(project=project, public_id=ref).exists():
            return {"id": ref}
        return {"source_id": ref}


class PublishCampaignForm(PublishToCustomerForm):
    count = forms.IntegerField(label="Codes", min_value=1, max_value=MAX_PUBLISH_COUNT, initial=1)
    source_id = forms.CharField(
        label="Publication source ID",
        max_length=255,
        required=False,
        help_text="Optional: publishing twice with the same source ID is refused (one code only).",
    )


class PublishSegmentForm(forms.Form):
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.none(), to_field_name="public_id", empty_label=None
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.filter(project=project).order_by("name")


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
    return timezone.override(project_zone(request.project))


def _validity_lines(obj) -> list[str]:
    lines = []
    if obj.validity_day_of_week:
        lines.append("On " + ", ".join(dict(DAYS)[day] for day in obj.validity_day_of_week))
    for line in _hours_text(obj.validity_hours).splitlines():
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
                _put_error(form, exc, {"amount": "amount"})
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
                _put_error(form, exc, ALIASES)
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
                _put_error(form, exc, ALIASES)
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
