"""The campaign list's and a campaign's vouchers table's filters. The vouchers export uses the
same VoucherFilter, so a download matches what the marketer sees."""

import django_filters
from django import forms

from .models import Campaign, CampaignType, Category, Voucher

YES_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]


class CampaignFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    campaign_type = django_filters.ChoiceFilter(
        choices=CampaignType.choices, empty_label="Any type", label="Type"
    )
    active = django_filters.BooleanFilter(label="Enabled", widget=forms.Select(choices=YES_NO))
    category = django_filters.ChoiceFilter(
        field_name="category__public_id", empty_label="Any category", label="Category"
    )

    class Meta:
        model = Campaign
        fields = []

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        categories = Category.objects.filter(project=project).values_list("public_id", "name")
        self.filters["category"].extra["choices"] = list(categories) if project else []


class VoucherFilter(django_filters.FilterSet):
    campaign = django_filters.CharFilter(field_name="campaign__public_id", label="Campaign ID")
    q = django_filters.CharFilter(method="code_prefix", label="Code starts with")
    published = django_filters.BooleanFilter(
        method="filter_published", label="Published", widget=forms.Select(choices=YES_NO)
    )
    active = django_filters.BooleanFilter(label="Enabled", widget=forms.Select(choices=YES_NO))

    class Meta:
        model = Voucher
        fields = []

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.case_sensitive = bool(project and project.codes_case_sensitive)

    def code_prefix(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # code_key is what the unique index holds: a prefix range over it, not a scan of codes
        key = value if self.case_sensitive else value.upper()
        return queryset.filter(code_key__startswith=key)

    def filter_published(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(holder__isnull=not value)
