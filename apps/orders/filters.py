import django_filters
from django import forms
from django.db.models import Q

from apps.core.filters import DayBoundaryFilter, project_zone
from apps.products.filters import MoneyFilter

from .models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    """The order list's filters; the export uses the same FilterSet."""

    status = django_filters.ChoiceFilter(choices=OrderStatus.choices, empty_label="Any status")
    created_after = DayBoundaryFilter(field_name="created_at", label="Created from")
    created_before = DayBoundaryFilter(field_name="created_at", until=True, label="Created until")
    customer = django_filters.CharFilter(
        method="filter_customer",
        label="Customer",
        widget=forms.TextInput(attrs={"placeholder": "Source id or email", "type": "search"}),
    )
    amount_min = MoneyFilter(field_name="amount", lookup_expr="gte", label="Amount from")
    amount_max = MoneyFilter(field_name="amount", lookup_expr="lte", label="Amount up to")

    class Meta:
        model = Order
        fields = []

    def __init__(self, data=None, *args, project=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.zone = project_zone(project)
        if project is not None:
            for name in ("amount_min", "amount_max"):
                self.filters[name].extra["currency"] = project.currency

    def filter_customer(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(customer__source_id=value)
            | Q(customer__email__iexact=value)
            | Q(customer__public_id=value)
        )
