"""Reads for orders."""

from django.db.models import Prefetch, QuerySet

from .filters import OrderFilter
from .models import Order, OrderEvent, OrderItem


def order_list(*, project, filters=None) -> tuple[QuerySet[Order], OrderFilter]:
    """Orders of the project with their customer, filtered by the list page's FilterSet
    (newest first). Returns the queryset and the bound FilterSet."""
    base = (
        Order.objects.filter(project=project)
        .select_related("customer")
        .order_by("-created_at", "-id")
    )
    filterset = OrderFilter(filters or {}, queryset=base, project=project)
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    return queryset, filterset


def order_detail_queryset(*, project) -> QuerySet[Order]:
    """Orders ready for the detail page: customer, referrer, items (with product/SKU) and events
    in a fixed number of queries."""
    return (
        Order.objects.filter(project=project)
        .select_related("customer", "referrer")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=OrderItem.objects.select_related("product", "sku").order_by("position"),
            ),
            Prefetch("events", queryset=OrderEvent.objects.order_by("-created_at", "-id")),
        )
    )
