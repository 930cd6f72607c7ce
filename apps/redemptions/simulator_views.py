"""Test a cart: try a checkout without redeeming, then redeem it for real if you like.

The page (`simulator`) is a GET form; the cart is in the query string, so a simulated cart can be
bookmarked. Any change re-runs qualification and validation (htmx, debounced) and swaps the
results region only, so what the marketer is typing is never replaced. The other views serve the
form's moving parts: a new row, the customer and product pickers' suggestions, the chosen
customer. They answer with `simulatorChanged` on the form when the cart changed, which re-runs
the simulation. Redeem is a POST of the cart that was validated (hidden fields in the results).
"""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.customers.models import Customer
from apps.projects.permissions import member_required

from . import simulator as sim
from .forms import ROW_ID, ItemForm, MetadataForm, RedeemableForm
from .models import ChannelType
from .services import redemption_redeem

PAGE = "redemptions/simulator.html"
ROWS = "redemptions/_simulator_rows.html"
PICKERS = "redemptions/_simulator_pickers.html"
ROW_KINDS = ("item", "redeemable", "cmeta", "ometa")


def _changed(response):
    """Tell the form the cart changed (after the swap, so it sends the new rows)."""
    trigger_client_event(response, "simulatorChanged", {"target": "#simulator-form"}, after="swap")
    return response


def _context(request, cart: sim.Cart, simulation: sim.Simulation | None = None, **extra) -> dict:
    currency = request.project.currency
    context = {
        "cart": cart,
        "simulation": simulation,
        "simulator_url": reverse("redemptions:simulator"),
        **extra,
    }
    if not request.htmx:  # the form: at least one row of each, to fill in without JavaScript
        context.update(
            tiers=sim.tier_choices(request.project),
            item_rows=cart.items or [sim.ItemRow(ItemForm(currency=currency))],
            redeemable_rows=cart.redeemables or [sim.Row(RedeemableForm(currency=currency))],
        )
    return context


def _started(request) -> str:
    """The simulator's address with the campaign's code or tiers added, unless the cart names
    codes or tiers already."""
    query = request.GET.copy()
    campaign_id = query.pop("campaign", [""])[-1]
    if not any(query.getlist("code") + query.getlist("tier")):
        for name in ("code", "tier", "credits", "points"):
            query.pop(name, None)
        for name, values in sim.start_query(request.project, campaign_id).lists():
            query.setlist(name, values)
    url = reverse("redemptions:simulator")
    return f"{url}?{query.urlencode()}" if query else url


@member_required()
@require_GET
def simulator(request):
    if "campaign" in request.GET:  # from a campaign's page: start with its code or tiers
        return redirect(_started(request))
    cart = sim.read_cart(request.project, request.GET)
    simulation = sim.simulate(request.project, cart)
    return render_page_or_partial(
        request, PAGE, _context(request, cart, simulation), partial="results"
    )


@member_required()
@require_POST
def simulator_redeem(request):
    """Redeem the cart for real (channel USER): the results region shows what happened."""
    cart = sim.read_cart(request.project, request.POST)
    redeemed, error = None, None
    if cart.is_valid and cart.filled_redeemables:
        try:
            redeemed = redemption_redeem(
                project=request.project,
                payload=cart.redemption_payload(),
                channel_type=ChannelType.USER,
                channel_id=str(request.user.pk),
            )
        except ApplicationError as exc:
            error = exc
    elif cart.is_valid:
        error = ApplicationError("Add a code or a promotion tier to redeem.")
    context = _context(
        request,
        cart,
        sim.Simulation(stacking=sim.stacking_rules(request.project)),
        redeemed=redeemed,
        redeemed_verdict=sim.verdict(redeemed.outcome) if redeemed else None,
        redeem_error=error,
    )
    return render_page_or_partial(request, PAGE, context, partial="results")


@member_required()
@require_GET
def simulator_row(request):
    """A new form row: `kind` is item (the default), redeemable, cmeta or ometa. With values
    (a product picked, a code or tier added from the qualification) the cart changed: re-run
    it."""
    kind = request.GET.get("kind", "")
    kind = kind if kind in ROW_KINDS else "item"
    currency = request.project.currency
    uid = request.GET.get("row", "")
    uid = uid if ROW_ID.fullmatch(uid) else sim.row_id()
    changed = False
    if kind == "item":
        row = sim.ItemRow(ItemForm(currency=currency), uid=uid)
        picked = request.GET.get("pick", "").strip()
        if picked:
            products, skus = sim.catalog(request.project, {picked})
            row.sku = skus.get(picked)
            row.product = None if row.sku else products.get(picked)
            qty = request.GET.get("qty", "").strip()
            row.form = ItemForm(
                initial={
                    "item": row.ref or picked,
                    "price": row.catalog_price,
                    "qty": int(qty) if qty.isdigit() and int(qty) > 0 else 1,
                },
                currency=currency,
            )
            changed = True
        context = {"row": row, "picked": changed, "autofocus": not changed}
    elif kind == "redeemable":
        code = request.GET.get("code", "").strip()[:100]
        tier = request.GET.get("tier", "").strip()[:64]
        row = sim.Row(RedeemableForm(initial={"code": code, "tier": tier}, currency=currency), uid)
        changed = bool(code or tier)
        context = {"row": row, "tiers": sim.tier_choices(request.project), "autofocus": not changed}
    else:
        context = {"row": sim.Row(MetadataForm(), uid), "prefix": kind, "autofocus": True}
        kind = "metadata"
    response = render(request, f"{ROWS}#{kind}_row", context)
    return _changed(response) if changed else response


@member_required()
@require_GET
def simulator_row_gone(request):
    """The remove buttons swap their row out with this empty answer; the cart changed."""
    return _changed(render(request, f"{ROWS}#nothing", {}))


@member_required()
@require_GET
def simulator_customers(request):
    """Suggestions for the customer search box (name, email, source id; ten at most)."""
    q = request.GET.get("q", "")
    context = {"suggestions": sim.customer_suggestions(request.project, q), "q": q.strip()}
    return render(request, f"{PICKERS}#customer_suggestions", context)


@member_required()
@require_GET
def simulator_customer(request):
    """The customer picker with `id` chosen (or none: cleared); the cart changed."""
    customer_id = request.GET.get("id", "").strip()
    customer = (
        Customer.objects.filter(project=request.project, public_id=customer_id).first()
        if customer_id
        else None
    )
    return _changed(render(request, f"{PICKERS}#customer_picker", {"customer": customer}))


@member_required()
@require_GET
def simulator_products(request):
    """Suggestions for an item row's product search (products, then SKUs; ten at most)."""
    q = request.GET.get("q", "")
    uid = request.GET.get("row", "")
    context = {
        "suggestions": sim.product_suggestions(request.project, q),
        "q": q.strip(),
        "uid": uid if ROW_ID.fullmatch(uid) else "",
        "row_url": f"{reverse('redemptions:simulator_row')}?{urlencode({'kind': 'item'})}",
    }
    return render(request, f"{PICKERS}#product_suggestions", context)
