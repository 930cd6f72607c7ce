from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.metadata.models import Resource
from apps.metadata.services import schema_for
from apps.projects.models import Role
from apps.projects.permissions import member_required

from . import services
from .forms import CustomerForm
from .models import Customer
from .selectors import customer_list, customer_timeline

PAGE_SIZE = 25


@member_required()
def customers(request):
    queryset, filterset = customer_list(project=request.project, filters=request.GET)
    page = paginate(queryset, request.GET.get("page"), PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "filter": filterset, "query": query.urlencode()}
    return render_page_or_partial(
        request, "customers/customer_list.html", context, partial="results"
    )


@member_required()
def customer_detail(request, customer_id: str):
    customer = get_for_project_or_404(Customer, request.project, public_id=customer_id)
    context = {
        "customer": customer,
        "timeline": customer_timeline(customer=customer),
        "recent_orders": customer.orders.order_by("-created_at")[:10],
        # the reverse relation: customers never import the segments app above them
        "segments": list(
            customer.segment_memberships.order_by("segment__name").values_list(
                "segment__public_id", "segment__name"
            )
        ),
    }
    return render(request, "customers/customer_detail.html", context)


def _save(request, form: CustomerForm, customer: Customer | None):
    try:
        if customer is None:
            return services.customer_create(
                project=request.project,
                data=form.service_data(),
                source_id=form.cleaned_data.get("source_id"),
                source="dashboard",
            )
        data = form.service_data()
        if not customer.source_id and form.cleaned_data.get("source_id"):
            data["source_id"] = form.cleaned_data["source_id"]
        return services.customer_update(customer=customer, data=data)
    except ApplicationError as exc:
        if exc.extra.get("fields"):
            form.apply_service_errors(exc.extra["fields"])
        else:
            form.add_error("source_id" if exc.key == "duplicate_found" else None, exc.message)
        return None


@member_required()
@require_http_methods(["GET", "POST"])
def customer_form(request, customer_id: str | None = None):
    customer = (
        get_for_project_or_404(Customer, request.project, public_id=customer_id)
        if customer_id
        else None
    )
    schema = schema_for(project=request.project, resource=Resource.CUSTOMER)
    form = CustomerForm(request.POST or None, instance=customer, schema=schema)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, customer)
        if saved is not None:
            messages.success(request, f"Customer “{saved}” saved.")
            return redirect("customers:detail", customer_id=saved.public_id)
    return render(request, "customers/customer_form.html", {"form": form, "customer": customer})


@member_required()
@require_POST
def customer_delete(request, customer_id: str):
    customer = get_for_project_or_404(Customer, request.project, public_id=customer_id)
    services.customer_delete(customer=customer)
    messages.success(request, f"Customer “{customer}” deleted; their orders are kept.")
    return redirect("customers:list")


@member_required(write=Role.ADMIN)
@require_POST
def customer_erase(request, customer_id: str):
    customer = get_for_project_or_404(Customer, request.project, public_id=customer_id)
    receipt = services.customer_permanently_delete(customer=customer)
    messages.success(
        request,
        f"Personal data erased permanently (receipt {receipt.public_id}); "
        f"{receipt.counts.get('orders', 0)} orders kept anonymously.",
    )
    return redirect("customers:list")
