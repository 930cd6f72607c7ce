import django_filters
from django import forms
from django.db.models import Q

from .models import Channel, Delivery, DeliveryStatus, Distribution, Kind, Status

MIN_SUBSTRING = 3


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices, empty_label="Any status")
    channel = django_filters.ChoiceFilter(choices=Channel.choices, empty_label="Any channel")
    q = django_filters.CharFilter(
        method="search",
        label="Customer",
        widget=forms.TextInput(
            attrs={"placeholder": "Customer name, email, id or code", "type": "search"}
        ),
    )

    class Meta:
        model = Delivery
        fields = ["status", "channel"]

    def search(self, queryset, name, value):
        """A customer's id or source_id exactly, or a name, email, phone or code fragment."""
        value = (value or "").strip()
        if not value:
            return queryset
        exact = (
            Q(customer__public_id=value)
            | Q(customer__source_id=value)
            | Q(code=value)
            | Q(customer__email__iexact=value)
        )
        if len(value) < MIN_SUBSTRING:
            return queryset.filter(exact)
        return queryset.filter(
            exact
            | Q(customer__name__icontains=value)
            | Q(customer__email__icontains=value)
            | Q(customer__phone__icontains=value)
        )


class DistributionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    kind = django_filters.ChoiceFilter(choices=Kind.choices, empty_label="Any type")
    status = django_filters.ChoiceFilter(choices=Status.choices, empty_label="Any status")

    class Meta:
        model = Distribution
        fields = ["kind", "status"]
