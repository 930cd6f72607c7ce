"""The redemption screens: the list, a redemption's page with its rollback, and the redemption
sections of the order, customer and campaign pages.

Those three sections are partials these views serve (`for_order`, `for_customer`,
`for_campaign`); the pages load them with `hx-get` on load, so apps/orders, apps/customers and
apps/campaigns never import this app above them.
"""

from django import forms
from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from apps.campaigns.models import Campaign
from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.customers.models import Customer
from apps.orders.models import Order
from apps.projects.permissions import member_required

from . import selectors, services
from .models import ChannelType, Redemption, Status

PAGE_SIZE = 25
DETAIL = "redemptions/redemption_detail.html"
SECTIONS = "redemptions/_sections.html"


class RollbackForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500}),
        help_text="Required; kept in the rollback history (at most 500 characters).",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why this redemption is rolled back.")
        return reason


def _get_redemption_or_404(request, redemption_id: str) -> Redemption:
    return get_for_project_or_404(
        selectors.redemption_queryset(project=request.project),
        request.project,
        public_id=redemption_id,
    )


def _detail_url(redemption: Redemption) -> str:
    return reverse("redemptions:detail", args=[redemption.public_id])


# --- the list --------------------------------------------------------------------------------


@member_required()
@require_GET
@vary_on_headers("HX-Request")  # the same URL is a page or a partial: the back button needs both
def redemption_list(request):
    queryset, filterset = selectors.redemption_list(project=request.project, filters=request.GET)
    page = paginate(queryset, request.GET.get("page"), PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filter": filterset,
        "per_redeemable": filterset.per_redeemable,
        "query": query.urlencode(),
    }
    return render_page_or_partial(
        request, "redemptions/redemption_list.html", context, partial="results"
    )


# --- a redemption's page ------------------------------------------------------------------------


def _detail_context(request, parent: Redemption, form=None) -> dict:
    items = selectors.redemption_order_items(redemption=parent)
    return {
        "redemption": parent,
        "redeemables": selectors.redemption_redeemables(parent=parent, items=items),
        "items": items,
        "rollbacks": selectors.redemption_rollbacks(redemption=parent),
        "channel_user": selectors.redemption_channel_user(redemption=parent),
        "metadata": sorted((parent.metadata or {}).items()),
        "can_roll_back": parent.status == Status.SUCCEEDED and request.membership.can_write,
        "form": form or RollbackForm(),
    }


@member_required()
@vary_on_headers("HX-Request")
def redemption_detail(request, redemption_id: str):
    redemption = _get_redemption_or_404(request, redemption_id)
    if request.method != "GET":  # after the lookup: another project's id is a 404 first
        return HttpResponseNotAllowed(["GET"])
    if redemption.parent_id is not None:  # a redeemable: its checkout's page, at its row
        return redirect(f"{_detail_url(redemption.parent)}#redeemable-{redemption.public_id}")
    context = _detail_context(request, redemption)
    return render_page_or_partial(request, DETAIL, context, partial="detail")


@member_required()
def redemption_rollback(request, redemption_id: str):
    """Roll back a whole checkout (every redeemable of it), with a reason."""
    redemption = _get_redemption_or_404(request, redemption_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    parent = redemption.parent or redemption
    form = RollbackForm(request.POST)
    if form.is_valid():
        try:
            services.redemption_rollback(
                redemption=parent,
                reason=form.cleaned_data["reason"],
                user=request.user,
                channel_type=ChannelType.USER,
                channel_id=str(request.user.pk),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Redemption {parent.public_id} rolled back.")
            form = None
            if not request.htmx:
                return redirect(_detail_url(parent))
    parent = _get_redemption_or_404(request, parent.public_id)  # the status it has now
    return render_page_or_partial(
        request, DETAIL, _detail_context(request, parent, form), partial="detail"
    )


# --- sections of the order, customer and campaign pages ----------------------------------------


def _section(request, partial: str, page_url: str, context: dict):
    """A section loaded by its page; opened directly, the address goes to that page."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if not request.htmx:
        return redirect(page_url)
    return render(request, f"{SECTIONS}#{partial}", context)


@member_required()
def order_section(request, order_id: str):
    order = get_for_project_or_404(Order, request.project, public_id=order_id)
    context = {"order": order, "redemptions": selectors.order_redemptions(order=order)}
    return _section(request, "order", reverse("orders:detail", args=[order.public_id]), context)


@member_required()
def customer_section(request, customer_id: str):
    customer = get_for_project_or_404(Customer, request.project, public_id=customer_id)
    limit = selectors.CUSTOMER_VOUCHERS
    vouchers = selectors.customer_vouchers(customer=customer, limit=limit)
    context = {
        "customer": customer,
        "vouchers": vouchers[:limit],
        "more_vouchers": len(vouchers) > limit,
        "redemptions": selectors.customer_redemptions(customer=customer),
        "list_url": f"{reverse('redemptions:list')}?customer={customer.public_id}",
    }
    return _section(
        request, "customer", reverse("customers:detail", args=[customer.public_id]), context
    )


@member_required()
def campaign_section(request, campaign_id: str):
    campaign = get_for_project_or_404(Campaign, request.project, public_id=campaign_id)
    context = {
        "campaign": campaign,
        "figures": selectors.campaign_redemption_figures(campaign=campaign),
        "list_url": f"{reverse('redemptions:list')}?campaign={campaign.public_id}",
    }
    return _section(
        request, "campaign", reverse("campaigns:detail", args=[campaign.public_id]), context
    )
