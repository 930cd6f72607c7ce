"""Workers racing for the same delivery: the conditional UPDATE lets exactly one post it."""

import pytest
from django.utils import timezone

from apps.webhooks import services
from apps.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.concurrency import requires_postgres, run_concurrently
from tests.projects.factories import ProjectFactory

from .receiver import Receiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, requires_postgres()]


def test_twelve_workers_attempting_one_delivery_post_it_once():
    receiver = Receiver().start()
    try:
        project = ProjectFactory()
        webhook = services.webhook_create(project=project, url=receiver.url)
        now = timezone.now()
        # a pending delivery, as the dispatcher leaves it (written directly: the dispatcher's
        # own enqueue would run at once under eager Celery)
        pk = WebhookDelivery.objects.create(
            project=project,
            webhook=webhook,
            event_id="evt_race",
            event_type="order.paid",
            payload={"id": "evt_race"},
            next_attempt_at=now,
        ).pk
        results = run_concurrently(
            *[lambda: services.delivery_attempt(delivery_id=pk, now=now) for _ in range(12)]
        )
    finally:
        receiver.stop()
    assert [r for r in results if isinstance(r, Exception)] == []
    assert sorted(r for r in results if r is not None) == [DeliveryStatus.DELIVERED]
    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
