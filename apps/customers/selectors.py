from django.db.models import QuerySet

from .filters import CustomerFilter
from .models import Customer, CustomEvent


def customer_list(*, project, filters=None) -> tuple[QuerySet[Customer], CustomerFilter]:
    """Customers of the project, filtered by the list page's FilterSet (newest first).

    Returns the queryset and the bound FilterSet (its form renders the filter bar).
    """
    base = Customer.objects.filter(project=project).order_by("-created_at", "-id")
    filterset = CustomerFilter(filters or None, queryset=base, project=project)
    # Unbound (no filters): everything; bound but invalid (e.g. a bad date): nothing, the form
    # shows why.
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    return queryset, filterset


def customer_timeline(*, customer: Customer, limit: int = 50) -> list[dict]:
    """Orders and custom events of one customer, newest first (redemptions and publications join
    when those apps exist)."""
    entries = [
        {"kind": "event", "at": event.created_at, "object": event}
        for event in CustomEvent.objects.filter(customer=customer).order_by("-created_at")[:limit]
    ]
    entries += [
        {"kind": "order", "at": order.created_at, "object": order}
        # the reverse relation: customers never import the orders app above them
        for order in customer.orders.order_by("-created_at")[:limit]
    ]
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries[:limit]
