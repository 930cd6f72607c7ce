"""Reads for the distribution screens."""

from django.db.models import QuerySet

from .filters import DeliveryFilter, DistributionFilter
from .models import Delivery, Distribution


def distribution_list(
    *, project, filters=None
) -> tuple[QuerySet[Distribution], DistributionFilter]:
    base = (
        Distribution.objects.filter(project=project)
        .select_related("campaign", "segment", "job")
        .order_by("-created_at", "-id")
    )
    filterset = DistributionFilter(filters or None, queryset=base)
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    return queryset, filterset


def delivery_list(*, distribution, filters=None) -> tuple[QuerySet[Delivery], DeliveryFilter]:
    base = (
        Delivery.objects.filter(project_id=distribution.project_id, distribution=distribution)
        .select_related("customer")
        .order_by("-id")
    )
    filterset = DeliveryFilter(filters or None, queryset=base)
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    return queryset, filterset
