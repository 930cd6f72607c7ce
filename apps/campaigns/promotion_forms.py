"""Forms of the promotion tier, stack, category and template screens.

They only collect input and turn it into the Voucherify-shaped payloads the services take; the
services apply the rules and their `ApplicationError`s are put back on the fields
(`add_service_error`).
"""

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.core.filters import project_zone
from apps.core.forms import MoneyField
from apps.metadata.forms import MetadataFormMixin
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

from .discounts import ORDER_EFFECTS, UNIT_EFFECTS, clean_discount
from .models import Campaign, CampaignType, Category, PromotionStack, StackingType

DISCOUNT_TYPES = [
    ("AMOUNT", "Amount off"),
    ("PERCENT", "Percent off"),
    ("FIXED", "Fixed price"),
    ("UNIT", "Free units of a product"),
]
EFFECT_LABELS = {
    "APPLY_TO_ORDER": "On the whole order",
    "APPLY_TO_ITEMS": "On each matching item",
    "APPLY_TO_ITEMS_PROPORTIONALLY": "Split over matching items by value",
    "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY": "Split over matching items by quantity",
    "APPLY_TO_ITEMS_BY_QUANTITY": "On each matching unit",
    "ADD_MISSING_ITEMS": "Add the product if missing",
    "ADD_NEW_ITEMS": "Always add it as a new item",
}
EFFECTS = [(effect, EFFECT_LABELS.get(effect, effect)) for effect in ORDER_EFFECTS]
UNIT_EFFECT_CHOICES = [(effect, EFFECT_LABELS.get(effect, effect)) for effect in UNIT_EFFECTS[:2]]
DATETIME_INPUT = "%Y-%m-%dT%H:%M"


def _datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=[DATETIME_INPUT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
    )


def in_zone(value: dt.datetime | None, zone) -> dt.datetime | None:
    """A date-time typed in the project's zone → aware. Django's field made it aware in the
    current time zone (UTC), so that is undone first."""
    if value is None:
        return None
    if timezone.is_aware(value):
        value = timezone.make_naive(value)
    return value.replace(tzinfo=zone)


def for_input(value: dt.datetime | None, zone) -> str:
    return value.astimezone(zone).strftime(DATETIME_INPUT) if value else ""


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
            label="Discount type", choices=DISCOUNT_TYPES, initial="PERCENT", required=False
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
            self.initial.update(_discount_initial(discount))

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


def _discount_initial(discount: dict) -> dict:
    initial = {"discount_type": discount.get("type")}
    if discount.get("type") == "UNIT":
        unit = (discount.get("units") or [discount])[0]
        initial.update(
            unit_off=unit.get("unit_off"),
            unit_type=unit.get("unit_type"),
            unit_effect=unit.get("effect"),
        )
        return initial
    initial["effect"] = discount.get("effect")
    for name in ("amount_off", "percent_off", "amount_limit", "fixed_amount"):
        if discount.get(name) is not None:
            initial[name] = discount[name]
    return initial


class TierForm(ServiceErrorsMixin, DiscountFieldsMixin, MetadataFormMixin, forms.Form):
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
    start_date = _datetime_field("Valid from")
    expiration_date = _datetime_field("Valid until")

    field_aliases = {"category_id": "category", "promotion.tiers": "name"}

    def __init__(self, *args, campaign: Campaign, tier=None, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        project = campaign.project
        self.zone = project_zone(project)
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
                start_date=for_input(tier.start_date, self.zone),
                expiration_date=for_input(tier.expiration_date, self.zone),
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
            "start_date": in_zone(data.get("start_date"), self.zone),
            "expiration_date": in_zone(data.get("expiration_date"), self.zone),
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
    start_date = _datetime_field("Starts")
    expiration_date = _datetime_field("Ends")

    field_aliases = {"voucher.redemption.quantity": "__all__", "code_config": "vouchers_count"}

    def __init__(self, *args, template, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = project_zone(project)
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
                payload[name] = in_zone(data[name], self.zone)
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
