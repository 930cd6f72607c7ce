import json

from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.projects.permissions import member_required

from . import services
from .forms import OrderStatusForm
from .models import Order
from .selectors import order_detail_queryset, order_list

PAGE_SIZE = 25


@member_required()
@require_GET
def orders(request):
    queryset, filterset = order_list(project=request.project, filters=request.GET)
    page = paginate(queryset, request.GET.get("page"), PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "filter": filterset, "query": query.urlencode()}
    return render_page_or_partial(request, "orders/order_list.html", context, partial="results")


def _render_detail(request, order: Order, status_form=None, *, status: int = 200):
    context = {
        "order": order,
        "items": order.items.all(),
        "events": order.events.all(),
        "status_form": status_form or OrderStatusForm(initial={"status": order.status}),
        "metadata_rows": [
            (key, json.dumps(value, ensure_ascii=False))
            for key, value in (order.metadata or {}).items()
        ],
    }
    return render_page_or_partial(
        request, "orders/order_detail.html", context, partial="status", status=status
    )


@member_required()
def order_detail(request, order_id: str):
    order = get_for_project_or_404(
        order_detail_queryset(project=request.project), request.project, public_id=order_id
    )
    if request.method != "GET":  # after the lookup: another project's id is a 404 first
        return HttpResponseNotAllowed(["GET"])
    return _render_detail(request, order)


@member_required()
@require_POST
def order_status(request, order_id: str):
    """Change the status (PAID, FULFILLED, ...): records the event and refreshes the customer's
    order summary, like the API's order update."""
    order = get_for_project_or_404(Order, request.project, public_id=order_id)
    form = OrderStatusForm(request.POST)
    if form.is_valid():
        status = form.cleaned_data["status"]
        if status == order.status:
            messages.info(request, f"The order is already {order.get_status_display().lower()}.")
        else:
            try:
                order = services.order_set_status(order=order, status=status)
            except ApplicationError as exc:
                form.add_error("status", exc.message)
            else:
                messages.success(
                    request, f"Order status changed to {order.get_status_display().lower()}."
                )
                if not request.htmx:
                    return redirect("orders:detail", order_id=order.public_id)
                form = None
    fresh = get_for_project_or_404(
        order_detail_queryset(project=request.project), request.project, public_id=order_id
    )
    return _render_detail(request, fresh, form)
