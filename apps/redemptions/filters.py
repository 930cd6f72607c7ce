"""The redemption list's filters.

The list shows one row per checkout (the parent redemption) or, with `show=redeemables`, one row
per redeemable (the children). Every filter lands on an indexed column of the redemptions table:
campaign and voucher code are resolved to ids first (on parents through their children's
`parent_id`), customers to their ids, and the date range compares `created_at` itself.
"""

import django_filters
from django import forms
from django.db.models import Q

from apps.campaigns.models import Campaign, Voucher
from apps.core.filters import DayBoundaryFilter, project_zone
from apps.customers.models import Customer

from .models import ChannelType, Redemption, RelatedObjectType, Result, Status

CHECKOUTS = ""
REDEEMABLES = "redeemables"
SHOW_CHOICES = [(CHECKOUTS, "One row per checkout"), (REDEEMABLES, "One row per redeemable")]
# filters a checkout's children share with it (see _through_children)
SHARED = ("result", "status", "channel_type")
MAX_CUSTOMERS = 100  # an email shared by more customers than this is not a useful filter


class RedemptionFilter(django_filters.FilterSet):
    show = django_filters.ChoiceFilter(
        choices=SHOW_CHOICES[1:],
        empty_label=SHOW_CHOICES[0][1],
        method="filter_show",
        label="Rows",
    )
    result = django_filters.ChoiceFilter(choices=Result.choices, empty_label="Any result")
    status = django_filters.ChoiceFilter(choices=Status.choices, empty_label="Any status")
    campaign = django_filters.ChoiceFilter(
        method="filter_campaign", empty_label="Any campaign", label="Campaign"
    )
    code = django_filters.CharFilter(
        method="filter_code",
        label="Voucher code",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Exact code"}),
    )
    customer = django_filters.CharFilter(
        method="filter_customer",
        label="Customer",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Source id, email or cust_ id"}
        ),
    )
    created_after = DayBoundaryFilter(field_name="created_at", label="From")
    created_before = DayBoundaryFilter(field_name="created_at", until=True, label="Until")
    channel_type = django_filters.ChoiceFilter(
        choices=ChannelType.choices, empty_label="Any channel", label="Channel"
    )

    class Meta:
        model = Redemption
        fields = []

    def __init__(self, data=None, *args, project=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.project = project
        self._customers: dict[str, list[int]] = {}
        self.zone = project_zone(project)
        campaigns = (
            Campaign.objects.filter(project=project)
            .order_by("name")
            .values_list("public_id", "name")
            if project is not None
            else []
        )
        self.filters["campaign"].extra["choices"] = list(campaigns)

    @property
    def per_redeemable(self) -> bool:
        data = getattr(self.form, "cleaned_data", None) or {}
        return data.get("show") == REDEEMABLES

    def filter_queryset(self, queryset):
        if self.per_redeemable:
            queryset = queryset.exclude(related_object_type=RelatedObjectType.REDEMPTION)
        else:
            queryset = queryset.filter(related_object_type=RelatedObjectType.REDEMPTION)
        return super().filter_queryset(queryset)

    def filter_show(self, queryset, name, value):
        return queryset  # applied in filter_queryset: every other filter depends on it

    def _through_children(self, queryset, **lookup):
        """Children match `lookup` directly; parents when one of their children does.

        A checkout's children share its result, status, channel and customer, so those filters
        narrow the children too: the subquery then runs on the (campaign, status, created_at)
        index instead of probing the children of every parent."""
        if self.per_redeemable:
            return queryset.filter(**lookup)
        data = self.form.cleaned_data
        shared = {name: data[name] for name in SHARED if data.get(name)}
        if data.get("customer", "").strip():
            shared["customer_id__in"] = self._customer_ids(data["customer"])
        children = Redemption.objects.filter(project=self.project, **lookup, **shared)
        return queryset.filter(pk__in=children.values("parent_id"))

    def filter_campaign(self, queryset, name, value):
        campaign = Campaign.objects.filter(project=self.project, public_id=value).first()
        if campaign is None:
            return queryset.none()
        return self._through_children(queryset, campaign_id=campaign.pk)

    def filter_code(self, queryset, name, value):
        """The code's voucher, through the voucher index; a code no voucher of the project has
        (a typo a checkout sent, a deleted voucher) through the (project, code) index on the
        code as it was redeemed."""
        value = value.strip()
        if not value:
            return queryset
        key = value if self.project.codes_case_sensitive else value.upper()
        voucher = Voucher.objects.filter(project=self.project, code_key=key).only("pk").first()
        if voucher is None:
            return self._through_children(queryset, code=value)
        return self._through_children(queryset, voucher_id=voucher.pk)

    def filter_customer(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(customer_id__in=self._customer_ids(value))

    def _customer_ids(self, value: str) -> list[int]:
        value = value.strip()
        if value not in self._customers:
            self._customers[value] = list(
                Customer.objects.filter(project=self.project)
                .filter(Q(source_id=value) | Q(public_id=value) | Q(email__iexact=value))
                .values_list("pk", flat=True)[:MAX_CUSTOMERS]
            )
        return self._customers[value]
