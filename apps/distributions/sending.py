"""Sending the queued deliveries of a distribution, a batch at a time.

    claim a batch (conditional UPDATE: QUEUED and due, or SENDING with a lapsed claim →
        SENDING with this run's token and an expiry)
    → skip who opted out or has no address for the channel
    → give each delivery a code (codes.assign_codes: one transaction for the batch)
    → per delivery: render, send; SENT is recorded in the instant before the hand-over
    → transient failures go back to QUEUED with exponential backoff and jitter, permanent
      ones are FAILED with the reason

A worker killed anywhere leaves rows SENDING whose messages were not handed over (the hand-over
is after the record), and whose claims lapse: the next run sends them. The codes of a batch
are committed with the batch's rows, so a resent delivery reuses its code.
"""

# ruff: noqa: S608 -- table and column names come from model meta; values are bound parameters.

import datetime as dt
import functools
import logging
import random
import secrets
import time
from types import SimpleNamespace
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from apps.campaigns import assets
from apps.campaigns.discounts import describe_discount
from apps.campaigns.models import Voucher, VoucherType
from apps.core.money import format_money

from . import codes
from .channels import EmailSender, RateLimiter, SmsSender, WebhookSender, sender_for
from .errors import DeliveryError, HandoverRefused
from .models import Channel, Delivery, DeliveryStatus, Distribution, Status
from .templating import CompiledMessage, TemplateError, customer_context, voucher_context
from .unsubscribe import unsubscribe_url

log = logging.getLogger(__name__)

BATCH = 100
MAX_ATTEMPTS = 6
BACKOFF = [
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=10),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
]
OPEN = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
CLOSED = (DeliveryStatus.SENT, DeliveryStatus.SKIPPED, DeliveryStatus.FAILED)
OPTED_OUT = "The customer opted out of marketing messages."
NO_ADDRESS = {
    Channel.EMAIL: "The customer has no email address.",
    Channel.SMS: "The customer has no phone number.",
}


def claim_seconds() -> int:
    return int(getattr(settings, "DISTRIBUTION_CLAIM_SECONDS", 300))


def backoff(attempts: int, *, rng=random) -> dt.timedelta:
    """The wait after `attempts` failed attempts: the schedule above, ±20 % jitter."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1] * rng.uniform(0.8, 1.2)


def address_of(channel: str, customer) -> str:
    if channel == Channel.WEBHOOK:
        return customer.public_id
    return address_for(channel, customer.email, customer.phone)


def address_for(channel: str, email: str, phone: str) -> str:
    if channel == Channel.EMAIL:
        return email if "@" in (email or "") else ""
    if channel == Channel.SMS:
        return (phone or "").strip()
    return "webhook"


def skip_reason_for(channel: str, email: str, phone: str, opted_out: bool) -> str:
    """Why a customer gets no message on `channel` ("" when they do)."""
    if opted_out:
        return OPTED_OUT
    if not address_for(channel, email, phone):
        return NO_ADDRESS.get(channel, "")
    return ""


def skip_reason(channel: str, customer) -> str:
    return skip_reason_for(channel, customer.email, customer.phone, customer.marketing_opt_out)


def claimable(now) -> Q:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return (Q(status=DeliveryStatus.QUEUED) & due) | Q(
        status=DeliveryStatus.SENDING, claimed_until__lt=now
    )


def _claim(queryset, now, batch: int) -> tuple[str, list[Delivery]] | None:
    """(token, rows) of one claimed batch; None when nothing is left to claim."""
    while True:
        candidates = list(
            queryset.filter(claimable(now)).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not candidates:
            return None
        token = secrets.token_hex(8)
        claimed = Delivery.objects.filter(claimable(now), pk__in=candidates).update(
            status=DeliveryStatus.SENDING,
            claim_token=token,
            claimed_until=now + dt.timedelta(seconds=claim_seconds()),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        if claimed:
            rows = list(
                Delivery.objects.filter(pk__in=candidates, claim_token=token)
                .select_related("customer")
                .order_by("pk")
            )
            return token, rows
        # every candidate was taken by another worker meanwhile: look again


def _close(delivery: Delivery, token: str, status: str, error: str = "", **fields) -> bool:
    """SENDING (or SENT, when the server refused after the hand-over) → a final status."""
    return bool(
        Delivery.objects.filter(
            pk=delivery.pk,
            claim_token=token,
            status__in=[DeliveryStatus.SENDING, DeliveryStatus.SENT],
        ).update(status=status, error=error[:500], claimed_until=None, **fields)
    )


def _retry_later(delivery: Delivery, token: str, error: str, now, *, counted=True) -> str:
    attempts = delivery.attempts if counted else max(delivery.attempts - 1, 0)
    if counted and attempts >= MAX_ATTEMPTS:
        reason = f"Gave up after {attempts} attempts: {error}"
        _close(delivery, token, DeliveryStatus.FAILED, reason)
        return DeliveryStatus.FAILED
    _close(
        delivery,
        token,
        DeliveryStatus.QUEUED,
        error,
        next_attempt_at=now + backoff(max(attempts, 1)),
        attempts=attempts,
    )
    return DeliveryStatus.QUEUED


_MARK_SENT = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, claimed_until = NULL, "
    "recipient = %s, error = '' WHERE id = %s AND claim_token = %s AND status = %s"
)


# The same statement for the two-phase hand-over, sent without waiting for its answer.
_MARK_SENT_SENT_AHEAD = (
    f"UPDATE {Delivery._meta.db_table} SET status = $1, sent_at = $2::timestamptz, "
    "claimed_until = NULL, recipient = $3, error = '' "
    "WHERE id = $4::bigint AND claim_token = $5 AND status = $6"
).encode()
_MARK_SENT_NAME = b"distributions_mark_sent"
# a claim this close to running out is checked before the message goes, not after
CLAIM_MARGIN = dt.timedelta(seconds=1)


class _Handover:
    """Records a delivery as SENT while this run still holds its claim.

    Called, it runs the conditional UPDATE and says whether the claim held: the channel then
    hands the message over. On PostgreSQL the mail channel uses two phases instead, to leave
    no gap a killed worker could fall into: `begin()` sends the UPDATE (autocommit: the server
    commits it on its own) without waiting for the answer, the channel writes the message's
    final byte straight after, and `finish()` reads the answer. Between the two writes there
    is nothing but a system call, where waiting for the commit's round trip before the final
    byte left a gap of a few hundred microseconds in which a kill lost the message."""

    def __init__(self, delivery: Delivery, token: str, recipient: str):
        self.delivery, self.token, self.recipient = delivery, token, recipient[:500]
        self._sent_ahead = None

    def _params(self, now) -> list:
        return [
            DeliveryStatus.SENT.value,
            now,
            self.recipient,
            self.delivery.pk,
            self.token,
            DeliveryStatus.SENDING.value,
        ]

    def __call__(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(_MARK_SENT, self._params(timezone.now()))
            return cursor.rowcount == 1

    def begin(self) -> bool:
        """Send the UPDATE ahead (PostgreSQL, outside a transaction, with time left on the
        claim); False: the caller uses the one-phase hand-over."""
        now = timezone.now()
        claimed_until = self.delivery.claimed_until
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return False
        if claimed_until is None or claimed_until - now < CLAIM_MARGIN:
            return False
        from psycopg import generators, pq

        connection.ensure_connection()
        raw = connection.connection
        if raw.info.transaction_status != pq.TransactionStatus.IDLE:
            return False
        params = [str(value).encode() for value in self._params(now)]
        params[1] = now.isoformat().encode()
        if not getattr(raw, "_mark_sent_prepared", False):
            # a named statement, prepared once per connection: each message only binds it
            raw.pgconn.send_prepare(_MARK_SENT_NAME, _MARK_SENT_SENT_AHEAD)
            raw.wait(generators.send(raw.pgconn))
            raw.wait(generators.fetch_many(raw.pgconn))
            raw._mark_sent_prepared = True
        raw.pgconn.send_query_prepared(_MARK_SENT_NAME, params)
        raw.wait(generators.send(raw.pgconn))
        self._sent_ahead = raw
        return True

    def finish(self) -> bool:
        """The answer to `begin()`'s UPDATE: did the claim hold?"""
        from psycopg import generators, pq

        raw, self._sent_ahead = self._sent_ahead, None
        results = raw.wait(generators.fetch_many(raw.pgconn))
        held = bool(results) and results[0].status == pq.ExecStatus.COMMAND_OK
        held = held and results[0].command_tuples == 1
        if not held:
            log.warning(
                "delivery %s: its claim ran out while the message was handed over",
                self.delivery.pk,
            )
        return held


# -- message context ---------------------------------------------------------------------------


def discount_words(voucher, currency: str) -> str:
    if voucher.type == VoucherType.GIFT_VOUCHER:
        return f"{format_money(voucher.gift_amount or 0, currency)} gift card"
    if voucher.type == VoucherType.LOYALTY_CARD:
        return f"Loyalty card with {voucher.loyalty_points or 0} points"
    return describe_discount(voucher.discount, currency)


_VOUCHER = "__voucher__"


@functools.cache
def _asset_pattern(kind: str) -> str:
    """assets.asset_url for a placeholder voucher, once: reverse() is slow for every message."""
    return assets.asset_url(kind, SimpleNamespace(public_id=_VOUCHER), signed=False)


def _asset_url(kind: str, voucher) -> str:
    path = _asset_pattern(kind).replace(_VOUCHER, voucher.public_id)
    signature = urlencode({assets.SIGNATURE_PARAM: assets.sign(kind, voucher.public_id)})
    return f"{settings.SITE_URL}{path}?{signature}"


def voucher_details(voucher, currency: str) -> dict:
    return voucher_context(
        code=voucher.code,
        discount=discount_words(voucher, currency),
        expiration_date=voucher.expiration_date,
        qr_url=_asset_url(assets.QR, voucher),
        barcode_url=_asset_url(assets.BARCODE, voucher),
    )


def message_context(*, distribution, customer, voucher: dict | None, unsubscribe: str) -> dict:
    campaign = distribution.campaign
    return {
        "customer": customer_context(customer) if not isinstance(customer, dict) else customer,
        "voucher": voucher or {},
        "campaign": {"name": campaign.name} if campaign else {},
        "unsubscribe_url": unsubscribe,
    }


def _vouchers(ids: list[int]) -> dict[int, SimpleNamespace]:
    fields = (
        "pk",
        "public_id",
        "code",
        "type",
        "discount",
        "gift_amount",
        "loyalty_points",
        "expiration_date",
    )
    rows = Voucher.objects.filter(pk__in=ids).values_list(*fields)
    return {row[0]: SimpleNamespace(**dict(zip(fields, row, strict=True))) for row in rows}


def _headers(distribution, delivery, unsubscribe: str) -> dict:
    domain = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    return {
        # the same id if the message is ever sent again: receivers drop repeated ids
        "Message-ID": f"<{distribution.public_id}.{delivery.pk}@{domain}>",
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _webhook_payload(distribution, delivery, context: dict, message) -> dict:
    return {
        "object": "distribution_message",
        "id": f"{distribution.public_id}.{delivery.pk}",
        "distribution": {"id": distribution.public_id, "name": distribution.name},
        "trigger": delivery.trigger_key,
        "customer": context["customer"],
        "voucher": context["voucher"] or None,
        "message": {"subject": message.subject, "text": message.text, "html": message.html},
        "unsubscribe_url": context["unsubscribe_url"],
    }


def _send_one(distribution, sender, delivery: Delivery, message, context, handover, address):
    if isinstance(sender, EmailSender):
        email = sender.build(
            to=address,
            message=message,
            headers=_headers(distribution, delivery, context["unsubscribe_url"]),
        )
        sender.send(email, handover)
    elif isinstance(sender, SmsSender):
        sender.send(to=address, body=message.text, handover=handover)
    elif isinstance(sender, WebhookSender):
        payload = _webhook_payload(distribution, delivery, context, message)
        headers = {"Idempotency-Key": payload["id"], "User-Agent": "voucherify-clone/1"}
        sender.send(payload=payload, headers=headers, handover=handover)


# -- the batch loop ----------------------------------------------------------------------------


def deliveries_process(
    *,
    distribution_id: int,
    first_customer: int | None = None,
    last_customer: int | None = None,
    ids: list[int] | None = None,
    batch: int = BATCH,
    max_seconds: float | None = None,
) -> dict:
    """Send what is due of one distribution (optionally: of a customer range or some rows);
    returns counts by outcome. Idempotent: run it twice, at once or after a crash, and every
    delivery is sent once."""
    distribution = (
        Distribution.objects.select_related("project", "campaign")
        .filter(pk=distribution_id)
        .first()
    )
    if distribution is None or distribution.status in (Status.PAUSED, Status.DRAFT):
        return {}
    queryset = Delivery.objects.filter(distribution_id=distribution_id)
    if first_customer is not None:
        queryset = queryset.filter(customer_id__gte=first_customer)
    if last_customer is not None:
        queryset = queryset.filter(customer_id__lte=last_customer)
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    limiter = RateLimiter(distribution.channel)
    if limiter.limit:
        batch = max(1, min(batch, limiter.limit * claim_seconds() // 4))
    totals: dict[str, int] = {}
    started = time.monotonic()
    try:
        message = CompiledMessage(
            subject=distribution.subject, html=distribution.body_html, text=distribution.body_text
        )
    except TemplateError as exc:
        message, broken = None, exc.message
    sender = sender_for(distribution)
    try:
        while True:
            claimed = _claim(queryset, timezone.now(), batch)
            if claimed is None:
                break
            token, rows = claimed
            if message is None:
                for delivery in rows:
                    _close(delivery, token, DeliveryStatus.FAILED, f"Template error: {broken}")
                totals[DeliveryStatus.FAILED] = totals.get(DeliveryStatus.FAILED, 0) + len(rows)
                continue
            outcome, stop = _process_batch(distribution, sender, limiter, message, token, rows)
            for status, count in outcome.items():
                totals[status] = totals.get(status, 0) + count
            _batch_done(distribution, outcome)
            if stop or (max_seconds is not None and time.monotonic() - started > max_seconds):
                break
    finally:
        sender.close()
    return totals


def _batch_done(distribution, outcome: dict) -> None:
    closed = sum(count for status, count in outcome.items() if status in CLOSED)
    if distribution.job_id and closed:
        from apps.jobs.models import Job, JobStatus

        Job.objects.filter(pk=distribution.job_id, status=JobStatus.IN_PROGRESS).update(
            processed=F("processed") + closed, updated_at=timezone.now()
        )


def _process_batch(distribution, sender, limiter, message, token, rows) -> tuple[dict, bool]:
    now = timezone.now()
    outcome: dict[str, int] = {}

    def count(status):
        outcome[status] = outcome.get(status, 0) + 1

    sendable = []
    for delivery in rows:
        reason = skip_reason(distribution.channel, delivery.customer)
        if reason:
            _close(delivery, token, DeliveryStatus.SKIPPED, reason)
            count(DeliveryStatus.SKIPPED)
        else:
            sendable.append(delivery)
    if distribution.campaign_id:
        failed = codes.assign_codes(
            distribution=distribution,
            deliveries=[d for d in sendable if d.voucher_id is None],
            now=now,
        )
        for delivery in sendable:
            if delivery.pk in failed:
                _close(delivery, token, DeliveryStatus.FAILED, failed[delivery.pk])
                count(DeliveryStatus.FAILED)
        sendable = [d for d in sendable if d.pk not in failed]
    vouchers = _vouchers([d.voucher_id for d in sendable if d.voucher_id])
    currency = distribution.project.currency
    for index, delivery in enumerate(sendable):
        customer = delivery.customer
        voucher = vouchers.get(delivery.voucher_id)
        context = message_context(
            distribution=distribution,
            customer=customer,
            voucher=voucher_details(voucher, currency) if voucher else None,
            unsubscribe=unsubscribe_url(customer),
        )
        address = address_of(distribution.channel, customer)
        try:
            rendered = message.render(context)
        except TemplateError as exc:
            _close(delivery, token, DeliveryStatus.FAILED, f"Template error: {exc.message}")
            count(DeliveryStatus.FAILED)
            continue
        limiter.wait()
        handover = _Handover(delivery, token, address)
        try:
            _send_one(distribution, sender, delivery, rendered, context, handover, address)
        except HandoverRefused:
            count("lost")  # another worker holds it now
            continue
        except DeliveryError as exc:
            if exc.permanent:
                _close(delivery, token, DeliveryStatus.FAILED, exc.reason)
                count(DeliveryStatus.FAILED)
                continue
            count(_retry_later(delivery, token, exc.reason, timezone.now()))
            if exc.connection:
                # the transport is down: the rest of the batch waits too, without an attempt
                for rest in sendable[index + 1 :]:
                    _retry_later(rest, token, exc.reason, timezone.now(), counted=False)
                    count(DeliveryStatus.QUEUED)
                return outcome, True
            continue
        count(DeliveryStatus.SENT)
    return outcome, False
