from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.projects.models import Role
from apps.projects.permissions import member_required

from . import services
from .forms import DeliveryFilter, WebhookForm
from .models import Webhook, WebhookDelivery
from .signing import TOLERANCE_SECONDS

ADMIN = {"read": Role.ADMIN, "write": Role.ADMIN}


@member_required(**ADMIN)
@require_http_methods(["GET", "POST"])
def webhooks(request):
    """The project's webhooks; POST adds one."""
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            webhook = services.webhook_create(project=request.project, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Webhook added. Copy its signing secret below.")
            return redirect("webhooks:detail", webhook_id=webhook.public_id)
    context = {
        "tab": "webhooks",
        "webhooks": Webhook.objects.filter(project=request.project),
        "form": form,
    }
    return render(request, "webhooks/webhook_list.html", context)


def _deliveries(request, webhook):
    queryset = WebhookDelivery.objects.filter(project=request.project, webhook=webhook)
    filters = DeliveryFilter(request.GET or None, queryset=queryset)
    page = paginate(filters.qs.order_by("-created_at", "-id"), request.GET.get("page"), 25)
    query = request.GET.copy()
    query.pop("page", None)
    return {"filters": filters, "page": page, "query": query.urlencode()}


@member_required(**ADMIN)
@require_http_methods(["GET", "POST"])
def webhook_detail(request, webhook_id: str):
    webhook = get_for_project_or_404(Webhook, request.project, public_id=webhook_id)
    initial = {"url": webhook.url, "description": webhook.description, "events": webhook.events}
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_update(webhook=webhook, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Webhook saved.")
            return redirect("webhooks:detail", webhook_id=webhook.public_id)
    context = {
        "tab": "webhooks",
        "webhook": webhook,
        "form": form,
        "tolerance_minutes": TOLERANCE_SECONDS // 60,
        **_deliveries(request, webhook),
    }
    return render_page_or_partial(
        request, "webhooks/webhook_detail.html", context, partial="deliveries"
    )


def _webhook_action(request, webhook_id: str):
    return get_for_project_or_404(Webhook, request.project, public_id=webhook_id)


@member_required(**ADMIN)
@require_POST
def webhook_test(request, webhook_id: str):
    webhook = _webhook_action(request, webhook_id)
    if not webhook.active:
        messages.error(request, "Switch the webhook on before sending a test event.")
    else:
        services.webhook_send_test(webhook=webhook)
        messages.success(request, "Test event sent; its delivery is at the top of the log.")
    return redirect("webhooks:detail", webhook_id=webhook.public_id)


@member_required(**ADMIN)
@require_POST
def webhook_rotate(request, webhook_id: str):
    webhook = _webhook_action(request, webhook_id)
    services.webhook_rotate_secret(webhook=webhook)
    messages.success(
        request,
        "New signing secret created. The previous one keeps signing for 24 hours, so update "
        "your receiver before then.",
    )
    return redirect("webhooks:detail", webhook_id=webhook.public_id)


@member_required(**ADMIN)
@require_POST
def webhook_toggle(request, webhook_id: str):
    webhook = _webhook_action(request, webhook_id)
    if webhook.active:
        services.webhook_disable(webhook=webhook)
        messages.success(request, "Webhook switched off; no events are sent to it.")
    else:
        services.webhook_enable(webhook=webhook)
        messages.success(request, "Webhook switched on.")
    return redirect("webhooks:detail", webhook_id=webhook.public_id)


@member_required(**ADMIN)
@require_POST
def webhook_delete(request, webhook_id: str):
    webhook = _webhook_action(request, webhook_id)
    services.webhook_delete(webhook=webhook)
    messages.success(request, f"Webhook {webhook.url} deleted.")
    return redirect("webhooks:list")


@member_required(**ADMIN)
@require_POST
def delivery_retry(request, webhook_id: str, delivery_id: int):
    webhook = _webhook_action(request, webhook_id)
    delivery = get_for_project_or_404(WebhookDelivery, request.project, pk=delivery_id)
    if delivery.webhook_id != webhook.pk:
        return redirect("webhooks:detail", webhook_id=webhook.public_id)
    try:
        services.delivery_retry(delivery=delivery)
        messages.success(request, "Delivery queued again.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("webhooks:detail", webhook_id=webhook.public_id)
