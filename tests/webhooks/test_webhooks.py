"""Project webhooks: signed deliveries to a real local receiver, retries with backoff, exactly
one successful delivery per event, auto-disable, rotation, and the settings screens."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from apps.core import events
from apps.webhooks import services, signing
from apps.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from tests.projects.factories import ProjectFactory

from .receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_signatures_verify_with_the_secret_only_and_only_while_fresh():
    body = b'{"a":1}'
    header = signing.sign(body, ["whsec_one"], timestamp=1_000_000)
    assert signing.verify(header, body, "whsec_one", now=1_000_100)
    assert not signing.verify(header, body, "whsec_two", now=1_000_100)
    assert not signing.verify(header, body + b" ", "whsec_one", now=1_000_100)
    assert not signing.verify(header, body, "whsec_one", now=1_000_000 + 301)  # a replay
    assert not signing.verify("t=1000000", body, "whsec_one", now=1_000_000)
    assert not signing.verify("garbage", body, "whsec_one", now=1_000_000)


def test_a_delivery_failing_twice_lands_once_with_a_valid_signature(receiver):
    receiver.fail_first = 2
    project = ProjectFactory()
    webhook = services.webhook_create(project=project, url=receiver.url)
    start = timezone.now()
    [pk] = services.deliveries_create(
        project=project, webhooks=[webhook], event_type="order.paid", data={"x": 1}, now=start
    )
    # Celery runs eagerly in tests: the first attempt ran on commit? not inside this test's
    # transaction, so drive the attempts as the worker and the sweeper would
    moment = start
    statuses = []
    for _ in range(5):
        status = services.delivery_attempt(delivery_id=pk, now=moment)
        if status is not None:
            statuses.append(status)
        delivery = WebhookDelivery.objects.get(pk=pk)
        if delivery.status != DeliveryStatus.PENDING:
            break
        assert delivery.next_attempt_at > moment  # backoff: not due again at once
        assert services.delivery_attempt(delivery_id=pk, now=moment) is None
        moment = delivery.next_attempt_at
    assert statuses == ["PENDING", "PENDING", "DELIVERED"]
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.attempts == 3 and delivery.response_status == 200
    assert len(receiver.requests) == 3
    final = receiver.requests[-1]
    header = final.headers["X-Signature"]
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert signing.verify(header, final.body, webhook.secret, now=timestamp)
    payload = json.loads(final.body)
    assert payload["type"] == "order.paid" and payload["data"] == {"x": 1}
    assert payload["id"] == final.headers["X-Event-Id"] and payload["id"].startswith("evt_")
    assert payload["webhook_id"] == webhook.public_id
    # once delivered, nothing sends it again
    assert services.delivery_attempt(delivery_id=pk, now=moment + dt.timedelta(days=1)) is None
    assert len(receiver.requests) == 3


def test_backoff_grows_and_gives_up_after_three_days():
    waits = [services.backoff(n) for n in range(1, len(services.BACKOFF) + 1)]
    assert waits[0] < dt.timedelta(minutes=1) and waits[-1] >= dt.timedelta(hours=9)
    total = sum(services.BACKOFF, dt.timedelta())
    assert dt.timedelta(days=2) < total * 1.2 and total * 0.8 < dt.timedelta(days=3)


def test_an_event_reaches_the_webhooks_that_listen_to_it(django_capture_on_commit_callbacks):
    project = ProjectFactory()
    paid = services.webhook_create(
        project=project, url="http://127.0.0.1:9/a", events=["order.paid"]
    )
    everything = services.webhook_create(project=project, url="http://127.0.0.1:9/b")
    services.webhook_create(project=project, url="http://127.0.0.1:9/c", events=["order.created"])
    services.webhook_create(project=ProjectFactory(), url="http://127.0.0.1:9/other")
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(project.pk, "order.paid", project)
    deliveries = WebhookDelivery.objects.filter(event_type="order.paid")
    assert {d.webhook_id for d in deliveries} == {paid.pk, everything.pk}
    assert len({d.event_id for d in deliveries}) == 1  # one event, one id for every webhook


def test_a_repeated_dispatch_never_duplicates_a_delivery():
    project = ProjectFactory()
    webhook = services.webhook_create(project=project, url="http://127.0.0.1:9/a")
    [pk] = services.deliveries_create(
        project=project, webhooks=[webhook], event_type="order.paid", data={}
    )
    event_id = WebhookDelivery.objects.get(pk=pk).event_id
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                project=project,
                webhook=webhook,
                event_id=event_id,
                event_type="order.paid",
                payload={},
            )
        ],
        ignore_conflicts=True,
    )
    assert WebhookDelivery.objects.filter(event_id=event_id).count() == 1


def test_repeated_failures_switch_the_webhook_off(settings):
    settings.WEBHOOK_DISABLE_AFTER = 3
    project = ProjectFactory()
    # nothing listens on port 9 of loopback: every attempt fails fast
    webhook = services.webhook_create(project=project, url="http://127.0.0.1:9/down")
    now = timezone.now()
    ids = [
        services.deliveries_create(
            project=project, webhooks=[webhook], event_type="order.paid", data={}, now=now
        )[0]
        for _ in range(4)
    ]
    for pk in ids[:3]:
        services.delivery_attempt(delivery_id=pk, now=now)
    webhook.refresh_from_db()
    assert webhook.active is False and "3 failed deliveries" in webhook.disabled_reason
    assert WebhookDelivery.objects.get(pk=ids[3]).status == DeliveryStatus.FAILED
    services.webhook_enable(webhook=webhook)
    webhook.refresh_from_db()
    assert webhook.active and webhook.consecutive_failures == 0


def test_rotation_signs_with_both_secrets_for_a_day(receiver):
    project = ProjectFactory()
    webhook = services.webhook_create(project=project, url=receiver.url)
    old = webhook.secret
    now = timezone.now()
    new = services.webhook_rotate_secret(webhook=webhook, now=now)
    assert new != old and services.signing_secrets(webhook, now) == [new, old]
    later = now + dt.timedelta(hours=25)
    assert services.signing_secrets(webhook, later) == [new]
    [pk] = services.deliveries_create(
        project=project, webhooks=[webhook], event_type="order.paid", data={}, now=now
    )
    services.delivery_attempt(delivery_id=pk, now=now)
    got = receiver.requests[-1]
    stamp = int(now.timestamp())
    for secret in (old, new):
        assert signing.verify(got.headers["X-Signature"], got.body, secret, now=stamp)


def test_unknown_event_types_are_refused():
    with pytest.raises(Exception, match="Unknown event type"):
        services.webhook_create(project=ProjectFactory(), url="https://x.test", events=["nope"])


def test_the_sweeper_lists_due_unclaimed_deliveries_only():
    project = ProjectFactory()
    webhook = services.webhook_create(project=project, url="http://127.0.0.1:9/a")
    now = timezone.now()
    [due] = services.deliveries_create(
        project=project, webhooks=[webhook], event_type="order.paid", data={}, now=now
    )
    services.deliveries_create(
        project=project,
        webhooks=[webhook],
        event_type="order.paid",
        data={},
        now=now + dt.timedelta(hours=1),
    )
    [held] = services.deliveries_create(
        project=project, webhooks=[webhook], event_type="order.paid", data={}, now=now
    )
    WebhookDelivery.objects.filter(pk=held).update(claimed_until=now + dt.timedelta(minutes=1))
    assert services.deliveries_due(now=now) == [due]
    assert Webhook.objects.get(pk=webhook.pk).active
