import django_filters
from django import forms
from django.db.models import Q

from apps.core.forms import MoneyField

from .models import Product


class MoneyFilter(django_filters.Filter):
    """A price bound typed in major units ("12.50"), compared in cents."""

    field_class = MoneyField


class ProductFilter(django_filters.FilterSet):
    """The product list's filters; the export uses the same FilterSet."""

    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Name or exact source id", "type": "search"}),
    )
    price_min = MoneyFilter(field_name="price", lookup_expr="gte", label="Price from")
    price_max = MoneyFilter(field_name="price", lookup_expr="lte", label="Price up to")

    class Meta:
        model = Product
        fields = []

    def __init__(self, data=None, *args, project=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        if project is not None:
            for name in ("price_min", "price_max"):
                self.filters[name].extra["currency"] = project.currency

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # source_id is an id: exact match; the name by substring.
        return queryset.filter(Q(source_id=value) | Q(name__icontains=value))
