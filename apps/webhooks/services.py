"""Project webhooks: subscriptions, secrets, and deliveries that are attempted until they land.

A delivery is claimed by a conditional UPDATE before it is attempted (`claimed_until`), so two
workers never post the same delivery at once; a worker killed mid-attempt loses its claim when
it runs out and the sweeper picks the delivery up again. Failed attempts are retried with
exponential backoff and jitter for up to three days; a webhook that fails
`WEBHOOK_DISABLE_AFTER` attempts in a row is switched off, with the reason shown in Settings.
"""

import datetime as dt
import json
import random
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.core.ids import random_public_ids

from . import signing
from .dispatch import forget
from .models import DeliveryStatus, Webhook, WebhookDelivery, new_secret

# delays before the 2nd, 3rd, ... attempt; with jitter they add up to about three days
BACKOFF = [
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=10),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=1),
    dt.timedelta(hours=2),
    dt.timedelta(hours=4),
    dt.timedelta(hours=8),
    dt.timedelta(hours=12),
    dt.timedelta(hours=12),
    dt.timedelta(hours=12),
    dt.timedelta(hours=12),
]
GIVE_UP_AFTER = dt.timedelta(days=3)
ROTATION_OVERLAP = dt.timedelta(hours=24)
CLAIM_MARGIN = dt.timedelta(seconds=30)
MAX_RESPONSE_BODY = 2000
TEST_EVENT = "webhook.test"


def _timeout() -> float:
    return getattr(settings, "WEBHOOK_TIMEOUT", 10)


def _disable_after() -> int:
    return getattr(settings, "WEBHOOK_DISABLE_AFTER", 20)


def backoff(attempts: int, *, rng=random) -> dt.timedelta:
    """The wait after `attempts` failed attempts: the schedule above, ±20% jitter."""
    base = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return base * rng.uniform(0.8, 1.2)


# -- subscriptions -----------------------------------------------------------------------------


def _clean_events(events) -> list[str]:
    from apps.core.events import EVENT_TYPES

    events = sorted({str(event) for event in events or []})
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown:
        raise ApplicationError(f"Unknown event type: {', '.join(unknown)}.", details="events")
    return events


def webhook_create(*, project, url: str, events=None, description: str = "") -> Webhook:
    webhook = Webhook(
        project=project, url=url, events=_clean_events(events), description=description
    )
    webhook.full_clean()
    webhook.save()
    forget(project.pk)
    return webhook


def webhook_update(*, webhook: Webhook, url: str, events=None, description: str = "") -> Webhook:
    webhook.url = url
    webhook.events = _clean_events(events)
    webhook.description = description
    webhook.full_clean()
    webhook.save(update_fields=["url", "events", "description", "updated_at"])
    forget(webhook.project_id)
    return webhook


def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()
    forget(webhook.project_id)


def webhook_enable(*, webhook: Webhook) -> None:
    """Switch a webhook back on (after fixing the receiver); its failure count starts over."""
    Webhook.objects.filter(pk=webhook.pk).update(
        active=True, consecutive_failures=0, disabled_reason="", disabled_at=None
    )
    forget(webhook.project_id)


def webhook_disable(*, webhook: Webhook, reason: str = "Disabled by a member.") -> None:
    Webhook.objects.filter(pk=webhook.pk).update(
        active=False, disabled_reason=reason[:255], disabled_at=timezone.now()
    )
    forget(webhook.project_id)


def webhook_rotate_secret(*, webhook: Webhook, now: dt.datetime | None = None) -> str:
    """A new signing secret; the old one keeps signing for a day so the receiver can switch."""
    now = now or timezone.now()
    secret = new_secret()
    Webhook.objects.filter(pk=webhook.pk).update(
        previous_secret=F("secret"),
        previous_secret_expires_at=now + ROTATION_OVERLAP,
        secret=secret,
    )
    webhook.refresh_from_db()
    return secret


def signing_secrets(webhook: Webhook, now: dt.datetime) -> list[str]:
    secrets = [webhook.secret]
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret and expires and expires > now:
        secrets.append(webhook.previous_secret)
    return secrets


# -- deliveries --------------------------------------------------------------------------------


def event_payload(*, event_id: str, event_type: str, project, data: dict, now) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "project_id": project.public_id,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "data": data,
    }


def deliveries_create(
    *, project, webhooks, event_type: str, data: dict, now: dt.datetime | None = None
) -> list[int]:
    """Queue one event for each of `webhooks`; return the new deliveries' ids. The attempts
    are enqueued after the transaction commits."""
    return deliveries_create_many(
        project=project, webhooks=webhooks, event_type=event_type, datas=[data], now=now
    )


def deliveries_create_many(
    *, project, webhooks, event_type: str, datas: list[dict], now: dt.datetime | None = None
) -> list[int]:
    """One event per entry of `datas` (a bulk change: one per customer), each for every one of
    `webhooks`, written in one statement; return the new deliveries' ids."""
    from .tasks import webhook_deliver_task

    now = now or timezone.now()
    event_ids = random_public_ids("evt", len(datas))
    rows = []
    for event_id, data in zip(event_ids, datas, strict=True):
        payload = event_payload(
            event_id=event_id, event_type=event_type, project=project, data=data, now=now
        )
        rows += [
            WebhookDelivery(
                project=project,
                webhook=webhook,
                event_id=event_id,
                event_type=event_type,
                payload={**payload, "webhook_id": webhook.public_id},
                next_attempt_at=now,
            )
            for webhook in webhooks
        ]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    # (webhook, event_id) is the unique index: the look-up of the new rows uses it
    ids = list(
        WebhookDelivery.objects.filter(webhook__in=webhooks, event_id__in=event_ids).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        transaction.on_commit(lambda pk=pk: webhook_deliver_task.delay(pk))
    return ids


def webhook_send_test(*, webhook: Webhook) -> int:
    [pk] = deliveries_create(
        project=webhook.project,
        webhooks=[webhook],
        event_type=TEST_EVENT,
        data={"object": {"id": webhook.public_id, "object": "webhook", "url": webhook.url}},
    )
    return pk


def _claim(delivery_id: int, now: dt.datetime) -> bool:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return bool(
        WebhookDelivery.objects.filter(
            due & free, pk=delivery_id, status=DeliveryStatus.PENDING
        ).update(
            claimed_until=now + dt.timedelta(seconds=_timeout()) + CLAIM_MARGIN,
            attempts=F("attempts") + 1,
        )
    )


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str, str]:
    """(status, response body, error) of one POST; never raises."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=_timeout()) as response:  # noqa: S310
            return response.status, response.read(MAX_RESPONSE_BODY).decode(errors="replace"), ""
    except urllib.error.HTTPError as exc:
        text = exc.read(MAX_RESPONSE_BODY).decode(errors="replace") if exc.fp else ""
        return exc.code, text, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, "", str(reason)[:500] or type(exc).__name__


def delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> str | None:
    """Attempt a delivery if it is due and nobody holds it; return its new status, or None
    when there was nothing to do."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("webhook", "project").get(pk=delivery_id)
    webhook = delivery.webhook
    if not webhook.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED,
            error="The webhook is disabled.",
            claimed_until=None,
            attempts=F("attempts") - 1,
        )
        return DeliveryStatus.FAILED
    body = json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "voucherify-clone-webhooks/1",
        signing.HEADER: signing.sign(body, signing_secrets(webhook, now), int(now.timestamp())),
        "X-Webhook-Id": webhook.public_id,
        "X-Event-Id": delivery.event_id,
        "X-Event-Type": delivery.event_type,
    }
    started = time.monotonic()
    status, text, error = _post(webhook.url, body, headers)
    elapsed = int((time.monotonic() - started) * 1000)
    done = {"response_status": status, "response_body": text, "response_ms": elapsed}
    if status is not None and 200 <= status < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.DELIVERED,
            delivered_at=now,
            claimed_until=None,
            next_attempt_at=None,
            error="",
            **done,
        )
        Webhook.objects.filter(pk=webhook.pk, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
        return DeliveryStatus.DELIVERED
    return _failed(delivery, webhook, now, error or f"HTTP {status}", done)


def _failed(delivery, webhook, now, error: str, done: dict) -> str:
    attempts = delivery.attempts
    retry_at = now + backoff(attempts) if attempts <= len(BACKOFF) else None
    if retry_at is not None and retry_at - delivery.created_at > GIVE_UP_AFTER:
        retry_at = None
    status = DeliveryStatus.PENDING if retry_at else DeliveryStatus.FAILED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status, next_attempt_at=retry_at, claimed_until=None, error=error[:500], **done
    )
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    limit = _disable_after()
    switched_off = Webhook.objects.filter(
        pk=webhook.pk, active=True, consecutive_failures__gte=limit
    ).update(
        active=False,
        disabled_at=now,
        disabled_reason=f"Switched off after {limit} failed deliveries in a row (last: {error})"[
            :255
        ],
    )
    if switched_off:
        forget(webhook.project_id)
        # what was waiting for this webhook will not be sent; say so in the log
        WebhookDelivery.objects.filter(webhook=webhook, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, error="The webhook was switched off."
        )
        return DeliveryStatus.FAILED
    if retry_at is not None and retry_at - now <= dt.timedelta(minutes=10):
        from .tasks import webhook_deliver_task

        webhook_deliver_task.apply_async((delivery.pk,), eta=retry_at)
    return status


def delivery_retry(*, delivery: WebhookDelivery) -> None:
    """A member asks for another attempt of a failed delivery, now."""
    from .tasks import webhook_deliver_task

    updated = WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), claimed_until=None
    )
    if not updated:
        raise ApplicationError("Only a failed delivery can be retried.")
    transaction.on_commit(lambda: webhook_deliver_task.delay(delivery.pk))


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Deliveries whose next attempt is due and that nobody holds (the beat sweeper's list)."""
    now = now or timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return list(
        WebhookDelivery.objects.filter(
            free, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
