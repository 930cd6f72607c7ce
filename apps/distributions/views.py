"""The distribution screens: the list, the editor (with a live preview and a test send), a
distribution's page (progress, counts, delivery log) and the public unsubscribe page.

The editor re-renders its fields (`#distribution-fields`) when the type, audience, trigger or
channel changes, and asks for a preview (`#distribution-preview`) as the marketer types; both
are htmx POSTs of the whole form.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Q
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.campaigns.models import Campaign
from apps.core.errors import ApplicationError
from apps.core.filters import project_zone
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.customers.models import Customer
from apps.projects.permissions import member_required
from apps.segments.models import Segment

from . import selectors, services
from .forms import DistributionForm, ScheduleForm, initial_for
from .models import Channel, Delivery, Distribution, Kind, Status
from .templating import TemplateError
from .unsubscribe import customer_for_token, customer_unsubscribe

PAGE_SIZE = 25
DELIVERIES_PAGE_SIZE = 50
FORM = "distributions/distribution_form.html"
STARTER = {
    "kind": Kind.MANUAL,
    "channel": Channel.EMAIL,
    "subject": "{{ customer.name|default:'Hello' }}, here is {{ voucher.discount }}",
    "body_html": (
        "<p>Hi {{ customer.name|default:'there' }},</p>\n"
        "<p>Your code: <strong>{{ voucher.code }}</strong> ({{ voucher.discount }}).</p>\n"
        '<p><img src="{{ voucher.qr_url }}" alt="QR code of {{ voucher.code }}" width="160"></p>\n'
        '<p style="font-size:small"><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
    ),
    "body_text": (
        "Hi {{ customer.name|default:'there' }},\n\nYour code: {{ voucher.code }} "
        "({{ voucher.discount }}).\n\nUnsubscribe: {{ unsubscribe_url }}"
    ),
}
DETAIL = "distributions/distribution_detail.html"


def _get_distribution_or_404(request, distribution_id: str) -> Distribution:
    queryset = Distribution.objects.select_related("project", "campaign", "segment", "job")
    return get_for_project_or_404(queryset, request.project, public_id=distribution_id)


# -- the list ---------------------------------------------------------------------------------


@member_required()
@require_GET
def distributions(request):
    queryset, filters = selectors.distribution_list(
        project=request.project, filters=request.GET or None
    )
    page = paginate(queryset, request.GET.get("page"), PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "filters": filters, "query": query.urlencode()}
    return render_page_or_partial(
        request, "distributions/distribution_list.html", context, partial="results"
    )


# -- the editor -------------------------------------------------------------------------------


def _editor(request, form, distribution=None, status=200):
    context = {"form": form, "distribution": distribution, "kinds": Kind, "channels": Channel}
    if request.htmx and request.POST.get("_refresh"):
        return render(request, f"{FORM}#fields", context)
    return render(request, FORM, context, status=status)


def _refreshed(request, distribution=None):
    """The fields again after a change of type, audience, trigger or channel: the values as
    typed, no errors yet."""
    form = DistributionForm(initial=request.POST.dict(), project=request.project)
    return _editor(request, form, distribution)


def _save(request, form, distribution=None):
    data = dict(form.cleaned_data)
    customers = data.pop("customers")
    try:
        if distribution is None:
            return services.distribution_create(
                project=request.project, created_by=request.user, customers=customers, **data
            )
        return services.distribution_update(distribution=distribution, customers=customers, **data)
    except ApplicationError as exc:
        form.add_error(exc.details if exc.details in form.fields else None, exc.message)
        return None


@member_required()
@require_http_methods(["GET", "POST"])
def distribution_create(request):
    if request.method == "POST" and request.POST.get("_refresh"):
        return _refreshed(request)
    form = DistributionForm(request.POST or None, initial=STARTER, project=request.project)
    if request.method == "POST" and form.is_valid():
        distribution = _save(request, form)
        if distribution is not None:
            messages.success(request, f"Distribution “{distribution.name}” created.")
            return redirect("distributions:detail", distribution_id=distribution.public_id)
    return _editor(request, form)


@member_required()
@require_http_methods(["GET", "POST"])
def distribution_edit(request, distribution_id: str):
    distribution = _get_distribution_or_404(request, distribution_id)
    if not distribution.can_edit:
        messages.error(request, "A distribution that is sending or was sent cannot change.")
        return redirect("distributions:detail", distribution_id=distribution.public_id)
    if request.method == "POST" and request.POST.get("_refresh"):
        return _refreshed(request, distribution)
    form = DistributionForm(
        request.POST or None, initial=initial_for(distribution), project=request.project
    )
    if request.method == "POST" and form.is_valid() and _save(request, form, distribution):
        messages.success(request, "Distribution saved.")
        return redirect("distributions:detail", distribution_id=distribution.public_id)
    return _editor(request, form, distribution)


def _draft(request) -> Distribution:
    """An unsaved distribution from the editor's fields as typed (for previews)."""
    post = request.POST
    campaign = Campaign.objects.filter(
        project=request.project, public_id=post.get("campaign") or ""
    ).first()
    channel = post.get("channel") if post.get("channel") in Channel.values else Channel.EMAIL
    return Distribution(
        project=request.project,
        name=post.get("name", ""),
        channel=channel,
        campaign=campaign,
        subject=post.get("subject", ""),
        body_html=post.get("body_html", ""),
        body_text=post.get("body_text", ""),
    )


def _preview_customer(request) -> tuple[Customer | None, str]:
    ref = (request.POST.get("preview_customer") or "").strip()
    if not ref:
        return None, ""
    customer = (
        Customer.objects.filter(project=request.project)
        .filter(Q(public_id=ref) | Q(source_id=ref) | Q(email__iexact=ref))
        .order_by("pk")
        .first()
    )
    return customer, "" if customer else f"No customer “{ref}”: showing a sample customer."


@member_required()
@require_POST
def distribution_preview(request):
    draft = _draft(request)
    customer, notice = _preview_customer(request)
    context = {"draft": draft, "customer": customer, "notice": notice}
    try:
        context["message"] = services.message_preview(distribution=draft, customer=customer)
    except TemplateError as exc:
        context["error"] = exc.message
        context["error_field"] = {"subject": "Subject", "body_html": "HTML body"}.get(
            exc.field, "Text"
        )
    return render(request, "distributions/partials/_preview.html", context)


@member_required()
@require_POST
def distribution_test_send(request):
    draft = _draft(request)
    customer, _ = _preview_customer(request)
    context = {}
    if draft.channel != Channel.EMAIL:
        context["error"] = "Test sends are for email; the preview shows what the message says."
    else:
        try:
            services.distribution_test_send(
                distribution=draft, to=request.user.email, customer=customer
            )
            context["sent_to"] = request.user.email
        except ApplicationError as exc:
            context["error"] = exc.message
    return render(request, "distributions/partials/_test_send.html", context)


@member_required()
@require_GET
def segment_size(request):
    """The live size of the segment picked in the editor, and how many the channel reaches."""
    segment = Segment.objects.filter(
        project=request.project, public_id=request.GET.get("segment") or ""
    ).first()
    channel = request.GET.get("channel") or Channel.EMAIL
    context = {"segment": segment, "channel": Channel(channel) if channel in Channel.values else ""}
    if segment is not None:
        context.update(
            services.reachable_count(project=request.project, segment=segment, channel=channel)
        )
    return render(request, "distributions/partials/_segment_size.html", context)


# -- a distribution's page --------------------------------------------------------------------


def _progress_context(distribution) -> dict:
    counts = services.delivery_counts(distribution=distribution)
    return {
        "distribution": distribution,
        "job": distribution.job,
        "counts": counts,
        "polling": distribution.status == Status.SENDING,
    }


def _deliveries_context(request, distribution) -> dict:
    queryset, filters = selectors.delivery_list(
        distribution=distribution, filters=request.GET or None
    )
    page = paginate(queryset, request.GET.get("page"), DELIVERIES_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    return {"page": page, "filters": filters, "query": query.urlencode()}


@member_required()
def distribution_detail(request, distribution_id: str):
    distribution = _get_distribution_or_404(request, distribution_id)
    if request.method != "GET":  # after the lookup: another project's id is a 404 first
        return HttpResponseNotAllowed(["GET"])
    if request.htmx and request.htmx.target == "distribution-progress":
        return render(request, f"{DETAIL}#progress", _progress_context(distribution))
    context = {
        **_progress_context(distribution),
        **_deliveries_context(request, distribution),
        "schedule_form": ScheduleForm(),
        "zone": project_zone(request.project),
    }
    return render_page_or_partial(request, DETAIL, context, partial="deliveries")


def _back(distribution):
    return redirect("distributions:detail", distribution_id=distribution.public_id)


@member_required()
@require_POST
def distribution_send(request, distribution_id: str):
    """Send now, or with a time: schedule."""
    distribution = _get_distribution_or_404(request, distribution_id)
    form = ScheduleForm(request.POST)
    at = None
    if form.is_valid() and form.cleaned_data["scheduled_at"]:
        with timezone.override(project_zone(request.project)):
            at = timezone.make_aware(form.cleaned_data["scheduled_at"].replace(tzinfo=None))
        if at <= timezone.now():
            messages.error(request, "Pick a time in the future, or send now.")
            return _back(distribution)
    elif not form.is_valid():
        messages.error(request, "That is not a date and time.")
        return _back(distribution)
    try:
        distribution = services.distribution_send(distribution=distribution, by=request.user, at=at)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(distribution)
    if distribution.status == Status.SCHEDULED:
        local = timezone.localtime(distribution.scheduled_at, project_zone(request.project))
        messages.success(request, f"Scheduled for {local:%Y-%m-%d %H:%M} ({local.tzname()}).")
    else:
        messages.success(request, "Sending started. The counts below update as messages go out.")
    return _back(distribution)


@member_required()
@require_POST
def distribution_unschedule(request, distribution_id: str):
    distribution = _get_distribution_or_404(request, distribution_id)
    try:
        services.distribution_unschedule(distribution=distribution)
        messages.success(request, "Schedule canceled; the distribution is a draft again.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _back(distribution)


@member_required()
@require_POST
def distribution_toggle(request, distribution_id: str):
    """Pause an active automatic distribution, or resume a paused one."""
    distribution = _get_distribution_or_404(request, distribution_id)
    try:
        if distribution.status == Status.ACTIVE:
            services.distribution_pause(distribution=distribution)
            messages.success(request, "Paused: triggers send nothing until you resume.")
        else:
            services.distribution_resume(distribution=distribution)
            messages.success(request, "Resumed: triggers send messages again.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _back(distribution)


@member_required()
@require_POST
def distribution_delete(request, distribution_id: str):
    distribution = _get_distribution_or_404(request, distribution_id)
    try:
        services.distribution_delete(distribution=distribution)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(distribution)
    messages.success(request, f"Distribution “{distribution.name}” deleted.")
    return redirect("distributions:list")


@member_required()
@require_POST
def delivery_retry(request, distribution_id: str, message_id: int):
    distribution = _get_distribution_or_404(request, distribution_id)
    delivery = get_for_project_or_404(
        Delivery.objects.filter(distribution=distribution), request.project, pk=message_id
    )
    try:
        services.delivery_retry(delivery=delivery)
        messages.success(request, "Delivery queued again.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _back(distribution)


# -- unsubscribe (public) ---------------------------------------------------------------------


@login_not_required
@csrf_exempt  # the signed token is the credential; mail clients POST one-click unsubscribes
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    customer = customer_for_token(token)
    if customer is None:
        return render(request, "distributions/unsubscribe.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        customer_unsubscribe(customer=customer)
        done = True
    context = {"customer": customer, "done": done or customer.marketing_opt_out}
    response = render(request, "distributions/unsubscribe.html", context)
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        return HttpResponse("Unsubscribed.", content_type="text/plain")
    return response
