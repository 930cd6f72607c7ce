"""Settings → Webhooks: add, edit, test-send, rotate, switch off/on, retry, delete; admins only;
other projects' webhooks are 404."""

import pytest
from django.urls import reverse

from apps.projects.models import Role
from apps.webhooks import services
from apps.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from tests.projects.factories import ProjectFactory

from .receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_an_admin_adds_a_webhook_and_sends_a_test_event(
    owner_client, project, receiver, django_capture_on_commit_callbacks
):
    response = owner_client.post(
        reverse("webhooks:list"),
        {
            "url": receiver.url,
            "description": "ERP",
            "events": ["order.paid", "redemption.succeeded"],
        },
    )
    webhook = Webhook.objects.get(project=project)
    assert response.status_code == 302
    assert webhook.events == ["order.paid", "redemption.succeeded"]
    page = owner_client.get(reverse("webhooks:detail", args=[webhook.public_id]))
    assert webhook.secret in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("webhooks:test", args=[webhook.public_id]))
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert delivery.event_type == "webhook.test" and delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 1
    log = owner_client.get(
        reverse("webhooks:detail", args=[webhook.public_id]), {"status": "DELIVERED"}
    )
    assert delivery.event_id in log.content.decode()
    empty = owner_client.get(
        reverse("webhooks:detail", args=[webhook.public_id]), {"status": "FAILED"}
    )
    assert delivery.event_id not in empty.content.decode()


def test_a_bad_url_re_renders_the_form(owner_client, project):
    response = owner_client.post(reverse("webhooks:list"), {"url": "not a url"})
    assert response.status_code == 200
    assert "Enter a valid URL" in response.content.decode()
    assert not Webhook.objects.filter(project=project).exists()


def test_rotate_toggle_retry_and_delete(owner_client, project, django_capture_on_commit_callbacks):
    webhook = services.webhook_create(project=project, url="http://127.0.0.1:9/down")
    old = webhook.secret
    owner_client.post(reverse("webhooks:rotate", args=[webhook.public_id]))
    webhook.refresh_from_db()
    assert webhook.secret != old and webhook.previous_secret == old
    owner_client.post(reverse("webhooks:toggle", args=[webhook.public_id]))
    webhook.refresh_from_db()
    assert webhook.active is False
    page = owner_client.get(reverse("webhooks:detail", args=[webhook.public_id])).content.decode()
    assert "This webhook is off" in page
    owner_client.post(reverse("webhooks:toggle", args=[webhook.public_id]))
    [pk] = services.deliveries_create(
        project=project, webhooks=[webhook], event_type="order.paid", data={}
    )
    WebhookDelivery.objects.filter(pk=pk).update(status=DeliveryStatus.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("webhooks:delivery_retry", args=[webhook.public_id, pk]))
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.attempts == 1  # attempted again (and failed again: nothing listens)
    owner_client.post(reverse("webhooks:delete", args=[webhook.public_id]))
    assert not Webhook.objects.filter(pk=webhook.pk).exists()


def test_marketers_cannot_see_webhooks_and_other_projects_are_404(member_client, project):
    marketer = member_client(Role.MARKETER)
    assert marketer.get(reverse("webhooks:list")).status_code == 403
    admin = member_client(Role.ADMIN)
    theirs = services.webhook_create(project=ProjectFactory(), url="https://them.example.com/h")
    assert admin.get(reverse("webhooks:detail", args=[theirs.public_id])).status_code == 404
    assert admin.post(reverse("webhooks:delete", args=[theirs.public_id])).status_code == 404
    assert Webhook.objects.filter(pk=theirs.pk).exists()
