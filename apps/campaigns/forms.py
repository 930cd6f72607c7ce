"""Forms of the campaign screens: the wizard's steps (also reused by the edit page) and the
wizard itself, which keeps every step's input in the POST (hidden fields) so Back loses nothing.

Forms only collect and check input; the services apply the rules. Where a step can ask the same
function the service will call (code space, discount, validity, metadata schema), it does, so
the problem shows on the step that caused it.
"""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.urls import reverse
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.core.forms import MoneyField
from apps.customers.models import Customer
from apps.metadata.forms import MetadataFormMixin
from apps.metadata.models import Resource
from apps.metadata.services import schema_for
from apps.products.models import Product
from apps.segments.models import Segment

from .codes import PRESETS, CodeConfig
from .discounts import GIFT_EFFECTS, ORDER_EFFECTS, clean_discount
from .discounts import UNIT_EFFECTS as DISCOUNT_UNIT_EFFECTS
from .models import (
    Campaign,
    CampaignMode,
    CampaignType,
    Category,
    PromotionStack,
    StackingType,
    Voucher,
    VoucherType,
)
from .services.campaigns import MAX_VOUCHERS_COUNT
from .services.publications import MAX_COUNT as MAX_PUBLISH_COUNT
from .validity import clean_validity

TYPE_DESCRIPTIONS = {
    CampaignType.DISCOUNT_COUPONS: "Codes that take an amount or a percentage off an order, "
    "or make products free.",
    CampaignType.GIFT_VOUCHERS: "Prepaid cards with a balance that customers spend over one or "
    "more orders.",
    CampaignType.REFERRAL_PROGRAM: "Codes that customers share with friends: the friend gets a "
    "discount when redeeming it.",
    CampaignType.LOYALTY_PROGRAM: "Cards that collect points customers can later exchange for "
    "rewards.",
    CampaignType.PROMOTION: "Automatic discounts without codes, applied to orders that qualify, "
    "in tiers.",
}
MODES = [  # Voucherify's campaign `type`, shortest first
    (CampaignMode.STATIC, "Static"),
    (CampaignMode.AUTO_UPDATE, "Auto-update"),
    (CampaignMode.STANDALONE, "Standalone"),
]
MODE_DESCRIPTIONS = {
    CampaignMode.STATIC: "A fixed set of codes, generated now. Add more any time.",
    CampaignMode.AUTO_UPDATE: "Codes generated now, and more whenever publishing runs out.",
    CampaignMode.STANDALONE: "One generic code that many customers can share.",
}
CHARSET_LABELS = {
    "alphanumeric_upper": "Letters and digits, upper case (A-Z 0-9)",
    "alphanumeric": "Letters and digits (a-z A-Z 0-9)",
    "alphabetic": "Letters (a-z A-Z)",
    "upper": "Upper case letters (A-Z)",
    "lower": "Lower case letters (a-z)",
    "numbers": "Digits (0-9)",
}
CHARSET_WORDS = {
    "alphanumeric_upper": "A-Z and 0-9",
    "alphanumeric": "a-z, A-Z and 0-9",
    "alphabetic": "a-z and A-Z",
    "upper": "A-Z",
    "lower": "a-z",
    "numbers": "0-9",
}
CUSTOM = "custom"
DISCOUNT_TYPES = [
    ("AMOUNT", "Amount off"),
    ("PERCENT", "Percentage off"),
    ("FIXED", "Fixed price"),
    ("UNIT", "Free units of a product"),
]
EFFECT_LABELS = {
    "APPLY_TO_ORDER": "to the whole order",
    "APPLY_TO_ITEMS": "to each matching item",
    "APPLY_TO_ITEMS_PROPORTIONALLY": "to matching items, split by their value",
    "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY": "to matching items, split by their quantity",
    "APPLY_TO_ITEMS_BY_QUANTITY": "to every unit of matching items",
}
UNIT_EFFECTS = [
    ("ADD_MISSING_ITEMS", "Add the product if it is not in the cart"),
    ("ADD_NEW_ITEMS", "Always add the free units as new items"),
]
GIFT_EFFECT_LABELS = {
    "APPLY_TO_ORDER": "to the whole order",
    "APPLY_TO_ITEMS": "to matching items only",
}
# value = Voucherify's day number (0 = Sunday), shown Monday first
DAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (0, "Sun")]
DAY_NAMES = dict(DAYS)
MAX_ACTIVITY_DAYS = 3650
DATETIME_INPUT = "%Y-%m-%dT%H:%M"  # what a datetime-local input sends and shows


def zone_of(project) -> ZoneInfo:
    return ZoneInfo(project.time_zone or "UTC")


def raw_initial(form: forms.Form) -> dict:
    """What the user typed into a bound form, as initial values: redisplays input without
    validating it (and so without error messages)."""
    values = {}
    for name, field in form.fields.items():
        value = field.widget.value_from_datadict(form.data, form.files, form.add_prefix(name))
        if value is not None:
            values[name] = value
    return values


def error_field(details: str, fields, mapping: dict | None = None) -> str | None:
    """The form field an ApplicationError's `details` names, if the form has it."""
    name = (mapping or {}).get(details) or details.rsplit(".", 1)[-1]
    return name if name in fields else None


# --- step 1 ----------------------------------------------------------------------------------


class TypeChoiceWidget(forms.RadioSelect):
    """Radio buttons whose options carry a description (the page renders them as cards)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["description"] = TYPE_DESCRIPTIONS.get(value, MODE_DESCRIPTIONS.get(value, ""))
        return option


class BasicsForm(forms.Form):
    campaign_type = forms.ChoiceField(
        choices=CampaignType.choices,
        initial=CampaignType.DISCOUNT_COUPONS,
        widget=TypeChoiceWidget(attrs={"class": "form-check-input flex-shrink-0"}),
        label="What kind of campaign?",
    )
    name = forms.CharField(max_length=255, label="Name")
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    category = forms.ChoiceField(required=False, label="Category")

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["category"].choices = [
            ("", "None"),
            *Category.objects.filter(project=project).values_list("public_id", "name"),
        ]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Campaign.objects.filter(project=self.project, name=name).exists():
            raise forms.ValidationError(f"A campaign named “{name}” exists.")
        return name

    def payload(self) -> dict:
        data = self.cleaned_data
        payload = {
            "campaign_type": data["campaign_type"],
            "name": data["name"],
            "description": data["description"],
        }
        if data["category"]:
            payload["category_id"] = data["category"]
        return payload


# --- step 2 ----------------------------------------------------------------------------------


class CodesForm(forms.Form):
    type = forms.ChoiceField(
        choices=MODES,
        initial=CampaignMode.STATIC,
        widget=TypeChoiceWidget(attrs={"class": "form-check-input flex-shrink-0"}),
        label="Kind of code set",
    )
    vouchers_count = forms.IntegerField(
        min_value=0,
        max_value=MAX_VOUCHERS_COUNT,
        initial=100,
        label="Number of codes",
        help_text="More than 100 codes are generated in the background; you can follow the "
        "progress on the campaign's page.",
    )
    charset = forms.ChoiceField(
        choices=[*CHARSET_LABELS.items(), (CUSTOM, "Custom characters")],
        initial="alphanumeric_upper",
        label="Characters",
    )
    custom_charset = forms.CharField(
        required=False,
        max_length=200,
        label="Custom characters",
        help_text="For example ABCDEFGHJKLMNPQRSTUVWXYZ23456789 (no 0/O or 1/I to confuse).",
    )
    length = forms.IntegerField(
        required=False, min_value=1, max_value=100, initial=8, label="Length"
    )
    pattern = forms.CharField(
        required=False,
        max_length=100,
        label="Pattern",
        help_text="Each # is a random character, e.g. SPRING-####-####. A pattern overrides the "
        "length.",
    )
    prefix = forms.CharField(required=False, max_length=50)
    postfix = forms.CharField(required=False, max_length=50)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.config: CodeConfig | None = None
        self.space = None

    def code_config(self, data: dict) -> dict:
        charset = data.get("charset") or "alphanumeric_upper"
        chars = (data.get("custom_charset") or "") if charset == CUSTOM else PRESETS[charset]
        config = {"charset": chars, "prefix": data.get("prefix") or ""}
        config["postfix"] = data.get("postfix") or ""
        if (data.get("pattern") or "").strip():
            config["pattern"] = data["pattern"].strip()
        else:
            config["length"] = data.get("length") or 0
        return config

    def count(self, data: dict) -> int:
        if data.get("type") == CampaignMode.STANDALONE:
            return 1
        return data.get("vouchers_count") or 0

    def clean(self):
        data = super().clean()
        if data.get("charset") == CUSTOM and not (data.get("custom_charset") or "").strip():
            self.add_error("custom_charset", "Enter the characters codes are made of.")
            return data
        if not (data.get("pattern") or "").strip() and not data.get("length"):
            if "length" not in self.errors:
                self.add_error("length", "Enter a length, or a pattern.")
            return data
        if data.get("type") == CampaignMode.STATIC and data.get("vouchers_count") == 0:
            self.add_error("vouchers_count", "A static campaign needs at least one code.")
        try:
            self.config = CodeConfig(
                self.code_config(data), case_sensitive=self.project.codes_case_sensitive
            )
        except ApplicationError as exc:
            field = error_field(exc.details, self.fields, {"code_config.charset": "charset"})
            if field == "charset" and data.get("charset") == CUSTOM:
                field = "custom_charset"
            self.add_error(field, exc.message)
            return data
        self.space = self.config.space(requested=self.count(data))
        if not self.space.fits:
            try:
                self.config.check_room(live=0, requested=self.count(data))
            except ApplicationError as exc:
                self.add_error(None, exc.message)
        return data

    def payload(self) -> dict:
        data = self.cleaned_data
        return {
            "type": data["type"],
            "vouchers_count": self.count(data),
            "code_config": self.code_config(data),
        }


# --- step 3 ----------------------------------------------------------------------------------


class DiscountForm(forms.Form):
    """Voucherify's Discount object, one type at a time (the page shows the type's fields)."""

    discount_type = forms.ChoiceField(choices=DISCOUNT_TYPES, initial="PERCENT", label="Discount")
    amount_off = MoneyField(required=False, label="Amount off")
    percent_off = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_value=100,
        decimal_places=2,
        label="Percent off",
    )
    amount_limit = MoneyField(
        required=False, label="Up to", help_text="Optional cap of a percentage discount."
    )
    fixed_amount = MoneyField(
        required=False, label="Fixed price", help_text="What the order or item costs after it."
    )
    unit_off = forms.IntegerField(
        required=False, min_value=1, max_value=1000, initial=1, label="Free units"
    )
    unit_type = forms.CharField(
        required=False,
        max_length=100,
        label="Product ID",
        widget=forms.TextInput(attrs={"list": "product-ids", "placeholder": "prod_…"}),
    )
    effect = forms.ChoiceField(
        choices=[(effect, f"Apply {EFFECT_LABELS[effect]}") for effect in ORDER_EFFECTS],
        initial="APPLY_TO_ORDER",
        label="Applies",
    )
    unit_effect = forms.ChoiceField(choices=UNIT_EFFECTS, initial="ADD_MISSING_ITEMS", label="Adds")

    FIELDS = {  # the discount type's own fields, shown by the page when the type is chosen
        "AMOUNT": ("amount_off", "effect"),
        "PERCENT": ("percent_off", "amount_limit", "effect"),
        "FIXED": ("fixed_amount", "effect"),
        "UNIT": ("unit_off", "unit_type", "unit_effect"),
    }
    ERRORS = {
        "discount.amount_off": "amount_off",
        "discount.percent_off": "percent_off",
        "discount.amount_limit": "amount_limit",
        "discount.fixed_amount": "fixed_amount",
        "discount.unit_off": "unit_off",
        "discount.unit_type": "unit_type",
        "discount.effect": "effect",
        "discount.type": "discount_type",
    }

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        for name in ("amount_off", "amount_limit", "fixed_amount"):
            self.fields[name].currency = currency
            self.fields[name].label = f"{self.fields[name].label} ({currency})"
        self.discount: dict | None = None

    def field_groups(self):
        """[(bound field, "TYPE …")]: which discount types each field belongs to (the page
        hides the fields of other types)."""
        groups = []
        for name in ("amount_off", "percent_off", "amount_limit", "fixed_amount", "unit_off"):
            groups.append((self[name], " ".join(t for t, f in self.FIELDS.items() if name in f)))
        groups += [(self["unit_type"], "UNIT"), (self["effect"], "AMOUNT PERCENT FIXED")]
        groups.append((self["unit_effect"], "UNIT"))
        return groups

    def build(self, data: dict) -> dict:
        kind = data.get("discount_type")
        if kind == "UNIT":
            return {
                "type": "UNIT",
                "unit_off": data.get("unit_off"),
                "unit_type": (data.get("unit_type") or "").strip(),
                "effect": data.get("unit_effect") or "ADD_MISSING_ITEMS",
            }
        discount = {"type": kind, "effect": data.get("effect") or "APPLY_TO_ORDER"}
        if kind == "AMOUNT":
            discount["amount_off"] = data.get("amount_off")
        elif kind == "FIXED":
            discount["fixed_amount"] = data.get("fixed_amount")
        elif kind == "PERCENT":
            percent = data.get("percent_off")
            if percent is not None:
                percent = int(percent) if percent == int(percent) else float(percent)
            discount["percent_off"] = percent
            if data.get("amount_limit"):
                discount["amount_limit"] = data["amount_limit"]
        return discount

    def clean(self):
        data = super().clean()
        kind = data.get("discount_type")
        if kind not in self.FIELDS or any(name in self.errors for name in self.FIELDS[kind]):
            return data
        required = {"AMOUNT": "amount_off", "PERCENT": "percent_off", "FIXED": "fixed_amount"}
        required.update(UNIT="unit_type")
        if data.get(required[kind]) in (None, ""):
            self.add_error(required[kind], "Enter a value for this discount.")
            return data
        try:
            self.discount = clean_discount(self.build(data))
        except ApplicationError as exc:
            self.add_error(error_field(exc.details, self.fields, self.ERRORS), exc.message)
        return data

    @staticmethod
    def initial_from(discount: dict | None) -> dict:
        if not discount:
            return {}
        initial = {"discount_type": discount.get("type")}
        if discount.get("type") == "UNIT":
            unit = (discount.get("units") or [discount])[0]
            initial.update(
                unit_off=unit.get("unit_off"),
                unit_type=unit.get("unit_type"),
                unit_effect=unit.get("effect"),
            )
            return initial
        for name in ("amount_off", "percent_off", "amount_limit", "fixed_amount", "effect"):
            if discount.get(name) is not None:
                initial[name] = discount[name]
        return initial


class GiftForm(forms.Form):
    gift_amount = MoneyField(label="Card value")
    gift_effect = forms.ChoiceField(
        choices=[(effect, f"Apply {GIFT_EFFECT_LABELS[effect]}") for effect in GIFT_EFFECTS],
        initial="APPLY_TO_ORDER",
        label="Credits apply",
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gift_amount"].currency = currency
        self.fields["gift_amount"].label = f"Card value ({currency})"

    def clean_gift_amount(self):
        amount = self.cleaned_data["gift_amount"]
        if not amount or amount < 1:
            raise forms.ValidationError("A gift card holds more than nothing.")
        return amount

    def voucher(self) -> dict:
        data = self.cleaned_data
        return {"gift": {"amount": data["gift_amount"], "effect": data["gift_effect"]}}


class LoyaltyForm(forms.Form):
    loyalty_points = forms.IntegerField(
        min_value=0,
        max_value=10**12,
        initial=0,
        label="Points on a new card",
        help_text="Usually 0: customers earn points as they buy.",
    )

    def voucher(self) -> dict:
        return {"loyalty_card": {"points": self.cleaned_data["loyalty_points"]}}


class TierForm(DiscountForm):
    """A promotion tier: a name and a discount. A row left untouched is skipped."""

    name = forms.CharField(required=False, max_length=255, label="Tier name")

    field_order = ["name"]

    def has_input(self) -> bool:
        return bool((self.data.get(self.add_prefix("name")) or "").strip()) or self.has_changed()

    def clean(self):
        if self.cleaned_data.get("DELETE") or not self.has_input():
            return self.cleaned_data
        data = super().clean()
        if not (data.get("name") or "").strip():
            self.add_error("name", "Give the tier a name, e.g. “10% off orders above 100”.")
        return data

    def tier(self) -> dict | None:
        if self.cleaned_data.get("DELETE") or not self.has_input():
            return None
        return {
            "name": self.cleaned_data["name"].strip(),
            "action": {"discount": self.discount},
        }


class BaseTierFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not [form for form in self.forms if form.tier() is not None]:
            raise forms.ValidationError("Add at least one tier: its name and discount.")

    def tiers(self) -> list[dict]:
        return [tier for form in self.forms if (tier := form.tier()) is not None]


TierFormSet = forms.formset_factory(TierForm, formset=BaseTierFormSet, extra=0, can_delete=True)


# --- step 4 ----------------------------------------------------------------------------------


class ZonedDateTimeField(forms.DateTimeField):
    """A date and time typed in the project's time zone (a datetime-local input)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT)

    def __init__(self, *args, **kwargs):
        self.zone = dt.UTC
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            return value.astimezone(self.zone).strftime(DATETIME_INPUT)
        return value

    def to_python(self, value):
        result = super().to_python(value)
        if result is None:
            return None
        return timezone.make_naive(result).replace(tzinfo=self.zone)


class ValidityForm(forms.Form):
    start_date = ZonedDateTimeField(required=False, label="Starts")
    expiration_date = ZonedDateTimeField(required=False, label="Ends")
    days_of_week = forms.TypedMultipleChoiceField(
        choices=DAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        label="Only on these days",
        help_text="None ticked: every day.",
    )
    hours_start = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}), label="Daily from"
    )
    hours_end = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}), label="Daily until"
    )
    activity_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ACTIVITY_DAYS,
        label="Codes stay valid for (days after publishing)",
        help_text="Empty: until the campaign ends.",
    )

    ERRORS = {
        "start_date": "start_date",
        "expiration_date": "expiration_date",
        "validity_day_of_week": "days_of_week",
        "validity_hours": "hours_end",
        "activity_duration_after_publishing": "activity_days",
    }

    def __init__(self, *args, project, current=None, **kwargs):
        """`current`: the campaign being edited, whose values this form may not express."""
        super().__init__(*args, **kwargs)
        self.zone = zone_of(project)
        for name in ("start_date", "expiration_date"):
            self.fields[name].zone = self.zone
            self.fields[name].help_text = f"In {self.zone.key} time. Empty: no limit."
        # a duration that is not whole days (set through the API, e.g. PT12H) stays as it is
        # unless days are entered
        duration = getattr(current, "activity_duration_after_publishing", "") or ""
        self.kept_duration = "" if day_count(duration) else duration
        if self.kept_duration:
            self.fields[
                "activity_days"
            ].help_text = f"Now {self.kept_duration}; enter days to replace it."
        windows = ((getattr(current, "validity_hours", None) or {}).get("daily")) or []
        if len(windows) > 1:
            self.fields[
                "hours_end"
            ].help_text = (
                f"This campaign has {len(windows)} daily windows; saving keeps only this one."
            )

    def build(self, data: dict) -> dict:
        days = sorted(data.get("days_of_week") or [])
        hours = None
        if data.get("hours_start") and data.get("hours_end"):
            hours = {
                "daily": [
                    {
                        "start_time": data["hours_start"].strftime("%H:%M"),
                        "expiration_time": data["hours_end"].strftime("%H:%M"),
                        "days_of_week": days or list(range(7)),
                    }
                ]
            }
        return {
            "start_date": data.get("start_date"),
            "expiration_date": data.get("expiration_date"),
            "validity_day_of_week": days or None,
            "validity_hours": hours,
        }

    def clean(self):
        data = super().clean()
        if bool(data.get("hours_start")) != bool(data.get("hours_end")) and not self.errors:
            self.add_error("hours_end", "Give both times of the daily window, or neither.")
        if self.errors:
            return data
        try:
            clean_validity(self.build(data))
        except ApplicationError as exc:
            field = error_field(exc.details, self.fields, self.ERRORS)
            if field is None and exc.details.startswith("validity_hours"):
                field = "hours_end"
            self.add_error(field, exc.message)
        return data

    def payload(self) -> dict:
        data = self.cleaned_data
        payload = self.build(data)
        for name in ("start_date", "expiration_date"):
            payload[name] = payload[name].isoformat() if payload[name] else None
        days = data.get("activity_days")
        payload["activity_duration_after_publishing"] = f"P{days}D" if days else self.kept_duration
        return payload

    @staticmethod
    def initial_from(obj) -> dict:
        initial = {
            "start_date": obj.start_date,
            "expiration_date": obj.expiration_date,
            "days_of_week": obj.validity_day_of_week or [],
        }
        daily = (obj.validity_hours or {}).get("daily") or []
        if daily:
            initial["hours_start"] = daily[0].get("start_time")
            initial["hours_end"] = daily[0].get("expiration_time")
        days = day_count(getattr(obj, "activity_duration_after_publishing", "") or "")
        if days:
            initial["activity_days"] = days
        return initial


def day_count(duration: str) -> int | None:
    """30 for "P30D"; None for any other duration."""
    if duration.startswith("P") and duration.endswith("D") and duration[1:-1].isdigit():
        return int(duration[1:-1])
    return None


# --- step 5 ----------------------------------------------------------------------------------


class LimitsForm(forms.Form):
    redemption_quantity = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_VOUCHERS_COUNT,
        label="Redemptions per code",
        help_text="Empty: unlimited.",
    )
    join_once = forms.BooleanField(
        required=False,
        label="Join once",
        help_text="A customer gets at most one code of this campaign, however often it is "
        "published to them.",
    )
    auto_join = forms.BooleanField(
        required=False,
        label="Auto-join",
        help_text="Customers join the program (get a card) automatically when they qualify.",
    )

    def payload(self) -> dict:
        data = self.cleaned_data
        return {"join_once": data["join_once"], "auto_join": data["auto_join"]}

    def redemption(self) -> dict:
        return {"quantity": self.cleaned_data.get("redemption_quantity")}


# --- step 6 ----------------------------------------------------------------------------------


class MetadataRowForm(forms.Form):
    key = forms.CharField(required=False, max_length=100, label="Key")
    value = forms.CharField(required=False, max_length=1000, label="Value")


class BaseMetadataFormSet(forms.BaseFormSet):
    """Key/value rows. Values are text, turned into the type the campaign metadata schema
    gives the key (number, flag); the schema itself is checked as the service will."""

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema_for(project=project, resource=Resource.CAMPAIGN)

    def clean(self):
        if any(self.errors):
            return
        metadata = {}
        for form in self.forms:
            key = (form.cleaned_data.get("key") or "").strip()
            if not key:
                continue
            if key in metadata:
                raise forms.ValidationError(f"The key “{key}” is there twice.")
            metadata[key] = self._typed(key, form.cleaned_data.get("value") or "")
        try:
            self.metadata = self.schema.check(metadata)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None

    def _typed(self, key: str, text: str):
        kind = (self.schema.properties.get(key) or {}).get("type")
        if kind == "number":
            try:
                number = float(text)
            except ValueError:
                return text
            return int(number) if number.is_integer() and "." not in text else number
        if kind == "boolean" and text.lower() in ("true", "false", "yes", "no"):
            return text.lower() in ("true", "yes")
        return text

    @staticmethod
    def initial_from(metadata: dict | None, schema_keys=()) -> list[dict]:
        rows = [{"key": key, "value": _text(value)} for key, value in (metadata or {}).items()]
        rows += [{"key": key} for key in schema_keys if key not in (metadata or {})]
        return rows


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


MetadataFormSet = forms.formset_factory(MetadataRowForm, formset=BaseMetadataFormSet, extra=2)


# --- the wizard ------------------------------------------------------------------------------

STEPS = {
    1: "Type and name",
    2: "Codes",
    3: "Value",
    4: "Validity",
    5: "Limits",
    6: "Metadata",
    7: "Review",
}
REVIEW = 7
NOT_CARRIED = ("csrfmiddlewaretoken", "step", "nav")


class CampaignWizard:
    """The seven steps of the create wizard over one POST: every step's fields travel along as
    hidden inputs (`carry`) while another step is shown, so going back and forth keeps them.

    A step's fields share a prefix (`s1-name`); step 3's depends on the campaign type, so
    switching types and back keeps each type's values.
    """

    def __init__(self, *, project, data=None, initial_type: str | None = None):
        self.project = project
        self.data = data
        self.initial_type = initial_type if initial_type in CampaignType.values else None

    @property
    def campaign_type(self) -> str:
        chosen = (self.data or {}).get("s1-campaign_type")
        if chosen in CampaignType.values:
            return chosen
        return self.initial_type or CampaignType.DISCOUNT_COUPONS

    @property
    def is_promotion(self) -> bool:
        return self.campaign_type == CampaignType.PROMOTION

    def steps(self) -> list[int]:
        skip = (2, 5) if self.is_promotion else ()
        return [step for step in STEPS if step not in skip]

    def step_list(self, current: int) -> list[dict]:
        return [
            {"number": index, "step": step, "title": STEPS[step], "current": step == current}
            for index, step in enumerate(self.steps(), start=1)
        ]

    def clean_step(self, value) -> int:
        try:
            step = int(value)
        except (TypeError, ValueError):
            return 1
        return step if step in self.steps() else self.nearest(step)

    def nearest(self, step: int) -> int:
        earlier = [s for s in self.steps() if s <= step]
        return earlier[-1] if earlier else 1

    def next(self, step: int) -> int:
        later = [s for s in self.steps() if s > step]
        return later[0] if later else REVIEW

    def previous(self, step: int) -> int:
        earlier = [s for s in self.steps() if s < step]
        return earlier[-1] if earlier else 1

    def prefix(self, step: int) -> str:
        if step == 3:
            return {
                CampaignType.GIFT_VOUCHERS: "s3g",
                CampaignType.LOYALTY_PROGRAM: "s3l",
                CampaignType.PROMOTION: "tiers",
            }.get(self.campaign_type, "s3d")
        if step == 6:
            return "meta"
        return f"s{step}"

    def seen(self, step: int) -> bool:
        start = self.prefix(step) + "-"
        return any(key.startswith(start) for key in (self.data or {}))

    def _build(self, step: int, data):
        prefix, project, currency = self.prefix(step), self.project, self.project.currency
        if step == 1:
            initial = {"campaign_type": self.initial_type} if self.initial_type else None
            return BasicsForm(data, prefix=prefix, project=project, initial=initial)
        if step == 2:
            return CodesForm(data, prefix=prefix, project=project)
        if step == 3:
            if self.is_promotion:
                return TierFormSet(data, prefix=prefix, form_kwargs={"currency": currency})
            if self.campaign_type == CampaignType.GIFT_VOUCHERS:
                return GiftForm(data, prefix=prefix, currency=currency)
            if self.campaign_type == CampaignType.LOYALTY_PROGRAM:
                return LoyaltyForm(data, prefix=prefix)
            return DiscountForm(data, prefix=prefix, currency=currency)
        if step == 4:
            return ValidityForm(data, prefix=prefix, project=project)
        if step == 5:
            return LimitsForm(data, prefix=prefix)
        if step == 6:
            return MetadataFormSet(data, prefix=prefix, project=project)
        return None

    def bound(self, step: int):
        """The step's form bound to the POST: validating it shows its errors."""
        return self._build(step, self.data)

    def display(self, step: int, *, add_row: bool = False):
        """The step's form to show after navigating: the values typed so far, no errors yet."""
        form = self._build(step, None)
        if form is None or not self.seen(step):
            if add_row and isinstance(form, forms.BaseFormSet):
                return self._rows(step, [{}] * (form.total_form_count() + 1))
            if step == 3 and self.is_promotion:
                return self._rows(step, [{}])
            if step == 6:
                schema_keys = form.schema.properties.keys()
                return self._rows(step, BaseMetadataFormSet.initial_from({}, schema_keys))
            return form
        typed = self.bound(step)
        if isinstance(typed, forms.BaseFormSet):
            rows = [raw_initial(row) for row in typed.forms]
            if isinstance(typed, BaseTierFormSet):
                rows = [row for row in rows if not row.get("DELETE")]
            else:  # blank metadata rows come back as the formset's extra rows
                rows = [row for row in rows if (row.get("key") or "").strip()]
            return self._rows(step, rows + ([{}] if add_row else []))
        return self._build_initial(step, raw_initial(typed))

    def _build_initial(self, step: int, initial: dict):
        form = self._build(step, None)
        form.initial = initial
        return form

    def _rows(self, step: int, rows: list[dict]):
        prefix, currency = self.prefix(step), self.project.currency
        if step == 3:
            return TierFormSet(initial=rows, prefix=prefix, form_kwargs={"currency": currency})
        return MetadataFormSet(initial=rows, prefix=prefix, project=self.project)

    def carry(self, step: int) -> list[tuple[str, str]]:
        """Hidden inputs for every value not shown by `step`."""
        if not self.data:
            return []
        own = self.prefix(step) + "-"
        return [
            (key, value)
            for key in self.data
            if key not in NOT_CARRIED and not key.startswith(own)
            for value in self.data.getlist(key)
        ]

    def first_invalid(self) -> tuple[int, object] | None:
        """The first step whose input does not validate, with its bound form."""
        self.forms = {}
        for step in self.steps():
            if step == REVIEW:
                continue
            form = self.bound(step)
            if not form.is_valid():
                return step, form
            self.forms[step] = form
        return None

    def payload(self) -> dict:
        """Voucherify's create body, from the validated forms (after `first_invalid()`)."""
        forms_ = self.forms
        payload = forms_[1].payload()
        payload.update(forms_[4].payload())
        payload.update(join_once=False, auto_join=False)
        payload["metadata"] = forms_[6].metadata
        if self.is_promotion:
            payload["promotion"] = {"tiers": forms_[3].tiers()}
            return payload
        payload.update(forms_[5].payload())
        codes = forms_[2].payload()
        voucher = {"code_config": codes.pop("code_config")}
        payload.update(codes)
        value = forms_[3]
        if isinstance(value, DiscountForm):
            voucher["discount"] = value.discount
        else:
            voucher.update(value.voucher())
        voucher["redemption"] = forms_[5].redemption()
        payload["voucher"] = voucher
        return payload

    def step_for_error(self, details: str) -> int:
        """The step whose input an ApplicationError's `details` is about."""
        d = details or ""
        if d.startswith("metadata"):
            step = 6
        elif d.startswith(("code_config", "vouchers_count")) or d == "type":
            step = 2
        elif "redemption" in d or d in ("join_once", "auto_join"):
            step = 5
        elif d.startswith(("voucher", "discount", "promotion", "gift", "loyalty")):
            step = 3
        elif d.startswith(("start_date", "expiration_date", "validity", "activity_duration")):
            step = 4
        else:
            step = 1
        return self.nearest(step)


# --- edit ------------------------------------------------------------------------------------


class CampaignEditForm(forms.Form):
    name = forms.CharField(max_length=255)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    category = forms.ChoiceField(required=False)
    active = forms.BooleanField(required=False, label="Enabled")
    join_once = forms.BooleanField(
        required=False,
        label="Join once",
        help_text="A customer gets at most one code of this campaign.",
    )
    auto_join = forms.BooleanField(
        required=False,
        label="Auto-join",
        help_text="Customers join the program automatically when they qualify.",
    )
    redemption_quantity = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_VOUCHERS_COUNT,
        label="Redemptions per code",
        help_text="Empty: unlimited. New codes only.",
    )

    def __init__(self, *args, campaign: Campaign, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "name": campaign.name,
                "description": campaign.description,
                "category": campaign.category.public_id if campaign.category else "",
                "active": campaign.active,
                "join_once": campaign.join_once,
                "auto_join": campaign.auto_join,
                "redemption_quantity": campaign.redemption_quantity,
            },
        )
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.fields["category"].choices = [
            ("", "None"),
            *Category.objects.filter(project_id=campaign.project_id).values_list(
                "public_id", "name"
            ),
        ]
        if campaign.campaign_type == CampaignType.PROMOTION:  # no codes: no code settings
            for name in ("redemption_quantity", "join_once", "auto_join"):
                del self.fields[name]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = Campaign.objects.filter(project_id=self.campaign.project_id, name=name)
        if taken.exclude(pk=self.campaign.pk).exists():
            raise forms.ValidationError(f"A campaign named “{name}” exists.")
        return name

    def payload(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "category_id": data["category"] or None,
            "active": data["active"],
            **{name: data[name] for name in ("join_once", "auto_join") if name in data},
        }


def value_form(campaign_type: str, *, data=None, initial=None, currency: str, prefix: str):
    """The form of a campaign type's voucher value (None for promotions)."""
    if campaign_type == CampaignType.PROMOTION:
        return None
    if campaign_type == CampaignType.GIFT_VOUCHERS:
        return GiftForm(data, initial=initial, currency=currency, prefix=prefix)
    if campaign_type == CampaignType.LOYALTY_PROGRAM:
        return LoyaltyForm(data, initial=initial, prefix=prefix)
    return DiscountForm(data, initial=initial, currency=currency, prefix=prefix)


def value_initial(campaign: Campaign) -> dict:
    if campaign.campaign_type == CampaignType.GIFT_VOUCHERS:
        return {"gift_amount": campaign.gift_amount, "gift_effect": campaign.gift_effect}
    if campaign.campaign_type == CampaignType.LOYALTY_PROGRAM:
        return {"loyalty_points": campaign.loyalty_points or 0}
    return DiscountForm.initial_from(campaign.discount)


def product_choices(project, limit: int = 200) -> list[tuple[str, str]]:
    """Product ids for the unit discount's datalist."""
    return list(
        Product.objects.filter(project=project)
        .order_by("name")
        .values_list("public_id", "name")[:limit]
    )


# --- Promotion tier, stack, category and template screens -------------------------------------

PROMOTION_DISCOUNT_TYPES = [
    ("AMOUNT", "Amount off"),
    ("PERCENT", "Percent off"),
    ("FIXED", "Fixed price"),
    ("UNIT", "Free units of a product"),
]
PROMOTION_EFFECT_LABELS = {
    "APPLY_TO_ORDER": "On the whole order",
    "APPLY_TO_ITEMS": "On each matching item",
    "APPLY_TO_ITEMS_PROPORTIONALLY": "Split over matching items by value",
    "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY": "Split over matching items by quantity",
    "APPLY_TO_ITEMS_BY_QUANTITY": "On each matching unit",
    "ADD_MISSING_ITEMS": "Add the product if missing",
    "ADD_NEW_ITEMS": "Always add it as a new item",
}
EFFECTS = [(effect, PROMOTION_EFFECT_LABELS.get(effect, effect)) for effect in ORDER_EFFECTS]
UNIT_EFFECT_CHOICES = [
    (effect, PROMOTION_EFFECT_LABELS.get(effect, effect)) for effect in DISCOUNT_UNIT_EFFECTS[:2]
]


def category_choices(project) -> list[tuple[str, str]]:
    rows = Category.objects.filter(project=project).values_list("public_id", "name")
    return [("", "— no category —"), *rows]


class ServiceErrorsMixin:
    """Show an ApplicationError on the field its `details` names, else above the form."""

    field_aliases: dict[str, str] = {}

    def add_service_error(self, exc: ApplicationError) -> None:
        for name, message in (exc.extra.get("fields") or {}).items():
            self._add_for(name, message)
        if not exc.extra.get("fields"):
            self._add_for(exc.details or "", exc.message)

    def _add_for(self, details: str, message: str) -> None:
        name = details.removeprefix("discount.").removeprefix("action.")
        name = self.field_aliases.get(name, name)
        if name.startswith("metadata."):
            key = name.removeprefix("metadata.").split("[")[0]
            name = f"meta__{key}" if f"meta__{key}" in self.fields else "metadata_other"
        if name in self.fields and name not in self.errors:
            self.add_error(name, message)
        else:
            self.add_error(None, message)


class DiscountFieldsMixin:
    """Discount type, value and effect, like the campaign wizard's discount step."""

    discount_required = True

    def add_discount_fields(self, currency: str, discount: dict | None) -> None:
        self.fields["discount_type"] = forms.ChoiceField(
            label="Discount type",
            choices=PROMOTION_DISCOUNT_TYPES,
            initial="PERCENT",
            required=False,
        )
        self.fields["amount_off"] = MoneyField(
            label=f"Amount off ({currency})", currency=currency, required=False
        )
        self.fields["percent_off"] = forms.DecimalField(
            label="Percent off",
            required=False,
            min_value=Decimal("0.01"),
            max_value=Decimal(100),
            decimal_places=2,
        )
        self.fields["amount_limit"] = MoneyField(
            label=f"Up to ({currency}, optional)", currency=currency, required=False
        )
        self.fields["fixed_amount"] = MoneyField(
            label=f"Fixed price ({currency})", currency=currency, required=False
        )
        self.fields["unit_off"] = forms.IntegerField(
            label="Free units", required=False, min_value=1, max_value=1000
        )
        self.fields["unit_type"] = forms.CharField(
            label="Product or SKU id", required=False, max_length=255
        )
        self.fields["effect"] = forms.ChoiceField(
            label="Applies", choices=EFFECTS, required=False, initial="APPLY_TO_ORDER"
        )
        self.fields["unit_effect"] = forms.ChoiceField(
            label="Free units", choices=UNIT_EFFECT_CHOICES, required=False
        )
        if discount:
            self.initial.update(DiscountForm.initial_from(discount))

    def clean_discount_fields(self) -> dict | None:
        """The Discount object, or None with field errors added."""
        data = self.cleaned_data
        kind = data.get("discount_type") or ""
        if not kind:
            if self.discount_required:
                self.add_error("discount_type", "Choose a discount.")
            return None
        discount: dict = {"type": kind}
        if kind == "UNIT":
            discount.update(
                unit_off=data.get("unit_off"),
                unit_type=data.get("unit_type") or "",
                effect=data.get("unit_effect") or "ADD_MISSING_ITEMS",
            )
        else:
            discount["effect"] = data.get("effect") or "APPLY_TO_ORDER"
            if kind == "AMOUNT":
                discount["amount_off"] = data.get("amount_off")
            elif kind == "FIXED":
                discount["fixed_amount"] = data.get("fixed_amount")
            else:
                percent = data.get("percent_off")
                if percent is not None:
                    percent = int(percent) if percent == percent.to_integral() else float(percent)
                discount["percent_off"] = percent
                if data.get("amount_limit") is not None:
                    discount["amount_limit"] = data["amount_limit"]
        try:
            return clean_discount(discount)
        except ApplicationError as exc:
            field = (exc.details or "").removeprefix("discount.")
            if field == "effect" and kind == "UNIT":
                field = "unit_effect"
            self.add_error(field if field in self.fields else "discount_type", _short(exc.message))
            return None


def _short(message: str) -> str:
    """ "discount.percent_off must be …" → "Must be …", for the field it is shown on."""
    if not message.startswith("discount."):
        return message
    rest = message.split(" ", 1)[1] if " " in message else message
    if rest == "is required.":
        return "Enter a value for this discount."
    return rest[:1].upper() + rest[1:]


class PromotionTierForm(ServiceErrorsMixin, DiscountFieldsMixin, MetadataFormMixin, forms.Form):
    """A promotion tier: name, banner, discount, hierarchy, dates, category, metadata; on create
    it can start from a saved template's discount instead."""

    template = forms.ChoiceField(label="Start from a template", required=False)
    name = forms.CharField(label="Name", max_length=255, required=False)
    banner = forms.CharField(
        label="Banner",
        max_length=500,
        required=False,
        help_text="The text customers see, e.g. “10% off orders over $100”.",
    )
    hierarchy = forms.IntegerField(
        label="Position",
        min_value=1,
        required=False,
        help_text="1 is tried first. Empty: after the last tier.",
    )
    category = forms.ChoiceField(label="Category", required=False)
    start_date = ZonedDateTimeField(label="Valid from", required=False)
    expiration_date = ZonedDateTimeField(label="Valid until", required=False)

    field_aliases = {"category_id": "category", "promotion.tiers": "name"}

    def __init__(self, *args, campaign: Campaign, tier=None, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        project = campaign.project
        self.zone = zone_of(project)
        self.fields["start_date"].zone = self.fields["expiration_date"].zone = self.zone
        self.tier = tier
        self.fields["category"].choices = category_choices(project)
        self.add_discount_fields(project.currency, tier.discount if tier else None)
        if tier is None and templates:
            self.fields["template"].choices = [
                ("", "— none: set the discount below —"),
                *[(t.public_id, t.name) for t in templates],
            ]
            self.discount_required = False
        else:
            del self.fields["template"]
        if tier is not None:
            self.fields["hierarchy"].help_text = "1 is tried first."
            self.initial.update(
                name=tier.name,
                banner=tier.banner,
                hierarchy=tier.hierarchy,
                category=tier.category.public_id if tier.category else "",
                start_date=tier.start_date,
                expiration_date=tier.expiration_date,
            )
        schema = schema_for(project=project, resource=Resource.PROMOTION_TIER)
        self.add_metadata_fields(schema, tier.metadata if tier else {})

    @property
    def metadata_fields(self):
        return [self[name] for name in self.metadata_field_names()]

    def clean(self):
        cleaned = super().clean()
        self.clean_metadata_fields()
        template = cleaned.get("template")
        if not template and not (cleaned.get("name") or "").strip():
            self.add_error("name", "A promotion tier needs a name.")
        values = ("amount_off", "percent_off", "fixed_amount", "unit_off", "unit_type")
        if template and not any(cleaned.get(name) not in (None, "") for name in values):
            cleaned["discount"] = None  # the template's discount
        else:
            cleaned["discount"] = self.clean_discount_fields()
        start, end = cleaned.get("start_date"), cleaned.get("expiration_date")
        if start and end and end <= start:
            self.add_error("expiration_date", "Must be after the start.")
        return cleaned

    def payload(self) -> dict:
        data = self.cleaned_data
        payload = {
            "banner": data.get("banner") or "",
            "category_id": data.get("category") or None,
            "metadata": data["metadata"],
            "start_date": data.get("start_date"),
            "expiration_date": data.get("expiration_date"),
        }
        if (data.get("name") or "").strip():
            payload["name"] = data["name"].strip()
        if data.get("discount") is not None:
            payload["action"] = {"discount": data["discount"]}
        if data.get("hierarchy"):
            payload["hierarchy"] = data["hierarchy"]
        return payload


class StackForm(ServiceErrorsMixin, forms.Form):
    """A stack: its name and which tiers (up to 30) apply in which order. Each tier has a
    checkbox and a position; checked tiers are ordered by position, then by hierarchy."""

    name = forms.CharField(label="Name", max_length=255)
    category = forms.ChoiceField(label="Category", required=False)

    field_aliases = {"tiers.ids": "__all__", "category_id": "category"}

    def __init__(self, *args, campaign: Campaign, tiers, stack=None, chosen=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.tiers = list(tiers)
        self.fields["category"].choices = category_choices(campaign.project)
        positions = {public_id: i for i, public_id in enumerate(chosen, start=1)}
        if stack is not None:
            self.initial.update(
                name=stack.name, category=stack.category.public_id if stack.category else ""
            )
        for tier in self.tiers:
            self.fields[f"use_{tier.public_id}"] = forms.BooleanField(
                label=tier.name, required=False, initial=tier.public_id in positions
            )
            self.fields[f"pos_{tier.public_id}"] = forms.IntegerField(
                label=f"Position of {tier.name}",
                required=False,
                min_value=1,
                max_value=PromotionStack.MAX_TIERS,
                initial=positions.get(tier.public_id),
            )

    @property
    def tier_rows(self):
        return [
            (tier, self[f"use_{tier.public_id}"], self[f"pos_{tier.public_id}"])
            for tier in self.tiers
        ]

    def clean(self):
        cleaned = super().clean()
        picked = []
        for index, tier in enumerate(self.tiers):
            if cleaned.get(f"use_{tier.public_id}"):
                position = cleaned.get(f"pos_{tier.public_id}")
                picked.append((position or PromotionStack.MAX_TIERS + 1, index, tier.public_id))
        if not picked:
            raise forms.ValidationError("Choose at least one tier for the stack.")
        if len(picked) > PromotionStack.MAX_TIERS:
            raise forms.ValidationError(
                f"A stack holds at most {PromotionStack.MAX_TIERS} tiers; {len(picked)} are chosen."
            )
        cleaned["tier_ids"] = [public_id for _, _, public_id in sorted(picked)]
        return cleaned

    def payload(self) -> dict:
        return {
            "name": self.cleaned_data["name"].strip(),
            "category_id": self.cleaned_data.get("category") or None,
            "tiers": {"ids": self.cleaned_data["tier_ids"]},
        }


class CategoryForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=255)
    hierarchy = forms.IntegerField(
        label="Hierarchy",
        min_value=0,
        max_value=10_000,
        initial=1,
        help_text="Lower numbers are applied first when stacking.",
    )
    stacking_rules_type = forms.ChoiceField(
        label="Stacking", choices=StackingType.choices, initial=StackingType.JOINT
    )

    def __init__(self, *args, category: Category | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if category is not None:
            self.initial.update(
                name=category.name,
                hierarchy=category.hierarchy,
                stacking_rules_type=category.stacking_rules_type,
            )

    def payload(self) -> dict:
        return {**self.cleaned_data, "name": self.cleaned_data["name"].strip()}


class TemplateSaveForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label="Template name", max_length=255)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class TemplateCampaignForm(ServiceErrorsMixin, forms.Form):
    """A new campaign from a template: its name, and optionally codes and dates."""

    name = forms.CharField(label="New campaign name", max_length=255)
    vouchers_count = forms.IntegerField(
        label="Codes to generate",
        required=False,
        min_value=0,
        max_value=10_000_000,
        help_text="Empty: the campaign starts without codes.",
    )
    start_date = ZonedDateTimeField(label="Starts", required=False)
    expiration_date = ZonedDateTimeField(label="Ends", required=False)

    field_aliases = {"voucher.redemption.quantity": "__all__", "code_config": "vouchers_count"}

    def __init__(self, *args, template, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone_of(project)
        self.fields["start_date"].zone = self.fields["expiration_date"].zone = self.zone
        if template.campaign_type == CampaignType.PROMOTION:
            del self.fields["vouchers_count"]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("expiration_date")
        if start and end and end <= start:
            self.add_error("expiration_date", "Must be after the start.")
        return cleaned

    def payload(self) -> dict:
        data = self.cleaned_data
        payload = {"name": data["name"].strip()}
        if data.get("vouchers_count"):
            payload["vouchers_count"] = data["vouchers_count"]
        for name in ("start_date", "expiration_date"):
            if data.get(name):
                payload[name] = data[name]
        return payload


class TemplateTierForm(ServiceErrorsMixin, forms.Form):
    """Add a template's discount as a tier of one of the project's promotion campaigns."""

    campaign = forms.ChoiceField(label="Promotion campaign")
    tier_name = forms.CharField(
        label="Tier name", max_length=255, required=False, help_text="Empty: the template's name."
    )

    field_aliases = {"name": "tier_name"}

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        promotions = Campaign.objects.filter(
            project=project, campaign_type=CampaignType.PROMOTION
        ).values_list("public_id", "name")
        self.fields["campaign"].choices = [("", "— choose —"), *promotions]


# --- Voucher screens ---------------------------------------------------------------------------

VOUCHER_DAYS = [(0, "Sun"), (1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat")]
DAY_NUMBERS = {name.lower(): number for number, name in VOUCHER_DAYS}
HOURS_LINE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*(.*)$")
VOUCHER_DISCOUNT_TYPES = [
    ("AMOUNT", "Amount off"),
    ("PERCENT", "Percent off"),
    ("FIXED", "Fixed price"),
    ("UNIT", "Free units of a product"),
]
EFFECT_CHOICES = [("", "Default (whole order, or add missing items)")] + [
    (effect, effect.replace("_", " ").capitalize())
    for effect in ORDER_EFFECTS + DISCOUNT_UNIT_EFFECTS[:2]
]
CHARSET_CHOICES = [(name, name.replace("_", " ")) for name in PRESETS]

# Form helpers ------------------------------------------------------------------------------------


def put_service_error(form: forms.Form, exc: ApplicationError, aliases: dict[str, str]) -> None:
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


class VoucherDiscountFieldsMixin:
    """A Discount object as typed inputs: money in major units, percent as a number."""

    def add_discount_fields(self, currency: str, discount: dict | None) -> None:
        self.fields["discount_type"] = forms.ChoiceField(
            label="Discount", choices=VOUCHER_DISCOUNT_TYPES, required=False
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
            put_service_error(self, exc, DISCOUNT_ALIASES)
            return None


def hours_text(hours: dict | None) -> str:
    lines = []
    for entry in (hours or {}).get("daily") or []:
        days = entry.get("days_of_week") or []
        names = (
            ""
            if sorted(days) == list(range(7))
            else " " + " ".join(dict(VOUCHER_DAYS)[d] for d in days)
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
            label="Start", required=False, widget=ZonedDateTimeField.widget
        )
        self.fields["expiration_date"] = forms.DateTimeField(
            label="Expiration", required=False, widget=ZonedDateTimeField.widget
        )
        self.fields["days"] = forms.TypedMultipleChoiceField(
            label="Only on these days",
            choices=VOUCHER_DAYS,
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
                hours=hours_text(obj.validity_hours),
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
            put_service_error(self, exc, VALIDITY_ALIASES)


class VoucherFieldsMixin(VoucherDiscountFieldsMixin, ValidityFieldsMixin, MetadataFormMixin):
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
                put_service_error(self, exc, OTHER_ALIASES)
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
