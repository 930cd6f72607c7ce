import contextlib
import re

import django_filters
from django import forms
from django.db import connection
from django.db.models import Q

from apps.core.filters import DayBoundaryFilter, project_zone

from .models import Customer

MIN_SUBSTRING = 3
METADATA_KEY = re.compile(r"[A-Za-z0-9_\-. ]{1,100}")


class CustomerFilter(django_filters.FilterSet):
    """The customer list's filters. The export uses the same FilterSet, so a download matches
    what the marketer sees."""

    q = django_filters.CharFilter(method="search", label="Search")
    city = django_filters.CharFilter(field_name="address_city", lookup_expr="iexact", label="City")
    country = django_filters.CharFilter(
        field_name="address_country", lookup_expr="iexact", label="Country"
    )
    created_after = DayBoundaryFilter(field_name="created_at", label="Created from")
    created_before = DayBoundaryFilter(field_name="created_at", until=True, label="Created until")
    has_email = django_filters.BooleanFilter(
        method="filter_has_email",
        label="Has email",
        widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]),
    )
    metadata_key = django_filters.CharFilter(method="filter_metadata", label="Metadata key")
    metadata_value = django_filters.CharFilter(method="filter_metadata", label="Metadata value")
    # The segments app sits above customers: filter through the reverse relation, never an import.
    segment = django_filters.CharFilter(
        field_name="segment_memberships__segment__public_id", label="Segment ID"
    )

    class Meta:
        model = Customer
        fields = []

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = project_zone(project)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if len(value) < MIN_SUBSTRING:
            # Too short for a substring search over a million rows: exact source_id only.
            return queryset.filter(source_id=value)
        # source_id is matched exactly (it is an id); name and email by substring, which
        # PostgreSQL answers from trigram indexes.
        return queryset.filter(
            Q(source_id=value) | Q(email__icontains=value) | Q(name__icontains=value)
        )

    def filter_has_email(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(email="") if value else queryset.filter(email="")

    def filter_metadata(self, queryset, name, value):
        # Applied once, from filter_queryset, when the key is set.
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        key = (self.form.cleaned_data.get("metadata_key") or "").strip()
        if not key:
            return queryset
        if not METADATA_KEY.fullmatch(key) or "__" in key:
            return queryset.none()
        value = self.form.cleaned_data.get("metadata_value")
        if value in (None, ""):
            return queryset.filter(metadata__has_key=key)
        candidates = [value]
        for cast in (int, float):
            with contextlib.suppress(ValueError):
                candidates.append(cast(value))
        if value.lower() in ("true", "false"):
            candidates.append(value.lower() == "true")
        condition = Q()
        for candidate in candidates:
            if connection.vendor == "postgresql":
                # jsonb @> uses the GIN index on metadata
                condition |= Q(metadata__contains={key: candidate})
            else:
                condition |= Q(**{f"metadata__{key}": candidate})
        return queryset.filter(condition)
