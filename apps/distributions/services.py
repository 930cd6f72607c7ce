"""Writes for distributions: editing, sending (now or scheduled), pausing, the fan-out of a manual
send into delivery rows, the beat sweep, automatic triggers, previews and test sends.

A manual send: `distribution_send` creates a Job and marks the distribution SENDING; the plan
task walks the audience by customer id, inserts one delivery row per customer (skipped right
away when they opted out or have no address for the channel) and enqueues a `bulk.` task per
chunk of CHUNK customers (sending.deliveries_process). Chunks report progress to the Job; the
last one to finish closes the Job and the distribution. The sweep (beat) starts scheduled sends,
sends what is due (delayed triggers, retries, lapsed claims) and picks up sends whose workers
died.
"""

import datetime as dt

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_create, job_fail, job_finish, job_start

from . import triggers
from .channels import EmailSender
from .errors import DeliveryError, HandoverRefused
from .models import (
    MANUAL_TRIGGER,
    SEGMENT_TRIGGERS,
    Audience,
    Channel,
    Delivery,
    DeliveryStatus,
    Distribution,
    Kind,
    Status,
    Trigger,
)
from .sending import (
    OPEN,
    claim_seconds,
    claimable,
    message_context,
    skip_reason_for,
    voucher_details,
)
from .templating import CompiledMessage, Message, TemplateError, check_templates, sample_context

CHUNK = 500
JOB_TYPE = "distribution.send"
SAMPLE_CODE = "SAMPLE-CODE"
FIELDS = (
    "name",
    "kind",
    "channel",
    "campaign",
    "audience",
    "segment",
    "trigger",
    "custom_event",
    "delay_minutes",
    "subject",
    "body_html",
    "body_text",
    "webhook_url",
)


# -- editing ----------------------------------------------------------------------------------


def _invalid(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, details=field)


def _validate(distribution: Distribution, customers) -> None:
    """The rules a distribution must follow whatever screen or task saves it."""
    project_id = distribution.project_id
    if not distribution.name.strip():
        raise _invalid("A distribution needs a name.", "name")
    for field in ("campaign", "segment"):
        related = getattr(distribution, field)
        if related is not None and related.project_id != project_id:
            raise _invalid("Not found in this project.", field)
    if distribution.kind == Kind.MANUAL:
        if distribution.audience == Audience.SEGMENT and distribution.segment is None:
            raise _invalid("Choose the segment to send to.", "segment")
        if distribution.audience == Audience.CUSTOMERS and not customers:
            raise _invalid("List the customers to send to.", "customers")
    else:
        if distribution.trigger not in Trigger.values:
            raise _invalid("Choose what triggers the message.", "trigger")
        if distribution.trigger in SEGMENT_TRIGGERS and distribution.segment is None:
            raise _invalid("Choose the segment whose entries or exits trigger it.", "segment")
        if distribution.trigger == Trigger.CUSTOM_EVENT and not distribution.custom_event.strip():
            raise _invalid("Name the custom event that triggers it.", "custom_event")
    if distribution.channel == Channel.EMAIL and not distribution.subject.strip():
        raise _invalid("An email needs a subject.", "subject")
    if distribution.channel == Channel.WEBHOOK and not distribution.webhook_url:
        raise _invalid("A webhook needs the URL to POST to.", "webhook_url")
    if not (distribution.body_text.strip() or distribution.body_html.strip()):
        raise _invalid("Write the message.", "body_text")
    errors = check_templates(
        subject=distribution.subject, html=distribution.body_html, text=distribution.body_text
    )
    if errors:
        field, message = next(iter(errors.items()))
        raise _invalid(message, field)


def _apply(distribution: Distribution, fields: dict) -> None:
    for name in FIELDS:
        if name not in fields:
            continue
        value = fields[name]
        if name in ("campaign", "segment"):
            value = value or None
        elif name == "delay_minutes":
            value = int(value or 0)
        else:
            value = value or ""
            if name not in ("body_html", "body_text"):
                value = value.strip()
        setattr(distribution, name, value)
    if distribution.kind == Kind.AUTOMATIC:
        distribution.audience = ""
        distribution.scheduled_at = None
        if distribution.trigger not in SEGMENT_TRIGGERS:
            distribution.segment = None
    else:
        distribution.trigger = ""
        distribution.delay_minutes = 0
        if distribution.audience != Audience.SEGMENT:
            distribution.segment = None
    if distribution.trigger != Trigger.CUSTOM_EVENT:
        distribution.custom_event = ""


def distribution_create(*, project, created_by=None, customers=None, **fields) -> Distribution:
    """A new distribution: a manual one starts as a draft, an automatic one listens at once."""
    distribution = Distribution(project=project, created_by=created_by)
    _apply(distribution, fields)
    distribution.status = Status.ACTIVE if distribution.kind == Kind.AUTOMATIC else Status.DRAFT
    customers = list(customers or [])
    _validate(distribution, customers)
    with transaction.atomic():
        distribution.save()
        if distribution.audience == Audience.CUSTOMERS:
            distribution.customers.set(customers)
    triggers.forget(project.pk)
    return distribution


def distribution_update(*, distribution: Distribution, customers=None, **fields) -> Distribution:
    if not distribution.can_edit:
        raise ApplicationError("A distribution that is sending or was sent cannot change.")
    was_manual = distribution.kind == Kind.MANUAL
    _apply(distribution, fields)
    if was_manual and distribution.kind == Kind.AUTOMATIC:
        distribution.status = Status.ACTIVE
    elif not was_manual and distribution.kind == Kind.MANUAL:
        distribution.status = Status.DRAFT
    customers = list(customers or []) if customers is not None else None
    _validate(
        distribution,
        customers if customers is not None else list(distribution.customers.all()[:1]),
    )
    with transaction.atomic():
        distribution.save()
        if distribution.audience == Audience.CUSTOMERS and customers is not None:
            distribution.customers.set(customers)
        elif distribution.audience != Audience.CUSTOMERS:
            distribution.customers.clear()
    triggers.forget(distribution.project_id)
    return distribution


def distribution_delete(*, distribution: Distribution) -> None:
    if distribution.status == Status.SENDING:
        raise ApplicationError("Wait until the distribution has been sent, then delete it.")
    distribution.delete()
    triggers.forget(distribution.project_id)


def distribution_pause(*, distribution: Distribution) -> None:
    """An automatic distribution stops listening; what waits for a delay waits until resumed."""
    if distribution.kind != Kind.AUTOMATIC:
        raise ApplicationError("Only automatic distributions can be paused.")
    Distribution.objects.filter(pk=distribution.pk, status=Status.ACTIVE).update(
        status=Status.PAUSED, updated_at=timezone.now()
    )
    triggers.forget(distribution.project_id)


def distribution_resume(*, distribution: Distribution) -> None:
    if distribution.kind != Kind.AUTOMATIC:
        raise ApplicationError("Only automatic distributions can be resumed.")
    resumed = Distribution.objects.filter(pk=distribution.pk, status=Status.PAUSED).update(
        status=Status.ACTIVE, updated_at=timezone.now()
    )
    triggers.forget(distribution.project_id)
    if resumed and _has_due(distribution.pk, timezone.now()):
        _enqueue_deliver(distribution.pk)


# -- the audience -----------------------------------------------------------------------------


def audience(distribution: Distribution):
    """The customers a manual distribution goes to (a queryset, in no particular order)."""
    customers = Customer.objects.filter(project_id=distribution.project_id)
    if distribution.audience == Audience.SEGMENT:
        if distribution.segment_id is None:
            return customers.none()
        return customers.filter(segment_memberships__segment_id=distribution.segment_id)
    if distribution.audience == Audience.CUSTOMERS:
        return customers.filter(
            pk__in=distribution.customers.through.objects.filter(
                distribution_id=distribution.pk
            ).values("customer_id")
        )
    return customers


def reachable_count(*, project, segment, channel: str) -> dict:
    """How many members a segment has and how many of them a channel reaches."""
    members = Customer.objects.filter(project=project, segment_memberships__segment=segment)
    reachable = members.filter(marketing_opt_out=False)
    if channel == Channel.EMAIL:
        reachable = reachable.filter(email__contains="@")
    elif channel == Channel.SMS:
        reachable = reachable.exclude(phone="")
    return {"size": segment.size, "reachable": reachable.count()}


# -- sending a manual distribution ------------------------------------------------------------


def distribution_send(
    *,
    distribution: Distribution,
    by=None,
    at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Distribution:
    """Send a manual distribution now, or schedule it for `at`."""
    now = now or timezone.now()
    if distribution.kind != Kind.MANUAL:
        raise ApplicationError("Automatic distributions send when they are triggered.")
    if distribution.status not in (Status.DRAFT, Status.SCHEDULED):
        raise ApplicationError("This distribution was already sent.")
    _validate(distribution, list(distribution.customers.all()[:1]))
    if at is not None and at > now:
        Distribution.objects.filter(
            pk=distribution.pk, status__in=[Status.DRAFT, Status.SCHEDULED]
        ).update(
            status=Status.SCHEDULED,
            scheduled_at=at,
            created_by=distribution.created_by or by,
            updated_at=now,
        )
        distribution.refresh_from_db()
        return distribution
    _start(distribution, by=by, now=now)
    distribution.refresh_from_db()
    return distribution


def distribution_unschedule(*, distribution: Distribution) -> None:
    updated = Distribution.objects.filter(pk=distribution.pk, status=Status.SCHEDULED).update(
        status=Status.DRAFT, scheduled_at=None, updated_at=timezone.now()
    )
    if not updated:
        raise ApplicationError("This distribution is not scheduled.")


def _start(distribution: Distribution, *, by=None, now) -> bool:
    """DRAFT/SCHEDULED → SENDING with a job, once (a conditional UPDATE)."""
    from .tasks import distribution_plan_task

    with transaction.atomic():
        job = job_create(
            project=distribution.project,
            type=JOB_TYPE,
            created_by=by or distribution.created_by,
            params={"distribution": distribution.public_id, "name": distribution.name},
        )
        started = Distribution.objects.filter(
            pk=distribution.pk, status__in=[Status.DRAFT, Status.SCHEDULED]
        ).update(status=Status.SENDING, job=job, started_at=now, updated_at=now)
        if not started:
            transaction.set_rollback(True)
            return False
        distribution_plan_task.delay_on_commit(distribution.pk)
    return True


def distribution_plan(*, distribution_id: int, chunk: int = CHUNK) -> int:
    """Make the delivery rows of a manual send, a chunk of customers at a time, and enqueue each
    chunk's sending. Re-running it (a redelivered task, the sweep after a crash) continues from
    the last customer planned. Returns the number of rows made."""
    from .tasks import distribution_deliver_task

    distribution = Distribution.objects.select_related("project").get(pk=distribution_id)
    if distribution.status != Status.SENDING or distribution.planned_at is not None:
        return 0
    job_id = distribution.job_id
    if job_id and not job_start(job_id=job_id, total=audience(distribution).count()):
        return 0
    mine = Delivery.objects.filter(distribution=distribution, trigger_key=MANUAL_TRIGGER)
    last = mine.aggregate(last=Max("customer_id"))["last"] or 0
    if last:  # resumed: rows made before a crash may have lost their chunk task
        distribution_deliver_task.delay(distribution.pk)
    made = 0
    fields = ("pk", "email", "phone", "marketing_opt_out")
    customers = audience(distribution)
    try:
        while True:
            rows = list(customers.filter(pk__gt=last).order_by("pk").values_list(*fields)[:chunk])
            if not rows:
                break
            now = timezone.now()
            deliveries = [
                _new_delivery(distribution, row, trigger_key=MANUAL_TRIGGER, now=now)
                for row in rows
            ]
            Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
            skipped = sum(1 for d in deliveries if d.status == DeliveryStatus.SKIPPED)
            if skipped and job_id:
                _count_processed(job_id, skipped)
            if skipped < len(deliveries):
                distribution_deliver_task.delay(distribution.pk, rows[0][0], rows[-1][0])
            made += len(deliveries)
            last = rows[-1][0]
    except Exception as exc:
        if job_id:
            job_fail(job_id=job_id, error=f"Planning failed: {exc}")
        raise
    Distribution.objects.filter(pk=distribution.pk, planned_at__isnull=True).update(
        planned_at=timezone.now()
    )
    if job_id:
        Job.objects.filter(pk=job_id).update(total=mine.count())
    distribution_finish_if_done(distribution_id=distribution.pk)
    return made


def _count_processed(job_id: int, count: int) -> None:
    from django.db.models import F

    Job.objects.filter(pk=job_id, status=JobStatus.IN_PROGRESS).update(
        processed=F("processed") + count, updated_at=timezone.now()
    )


def delivery_counts(*, distribution: Distribution) -> dict[str, int]:
    counts = dict.fromkeys(DeliveryStatus.values, 0)
    for status, count in (
        Delivery.objects.filter(distribution=distribution)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[status] = count
    return counts


def distribution_finish_if_done(*, distribution_id: int) -> bool:
    """Close the job and the distribution once every row of a planned send is final."""
    distribution = Distribution.objects.filter(
        pk=distribution_id, status=Status.SENDING, planned_at__isnull=False
    ).first()
    if distribution is None:
        return False
    if Delivery.objects.filter(distribution=distribution, status__in=OPEN).exists():
        return False
    now = timezone.now()
    finished = Distribution.objects.filter(pk=distribution.pk, status=Status.SENDING).update(
        status=Status.SENT, finished_at=now, updated_at=now
    )
    if finished and distribution.job_id:
        counts = delivery_counts(distribution=distribution)
        total = sum(counts.values())
        Job.objects.filter(pk=distribution.job_id).update(total=total, processed=total)
        job_finish(
            job_id=distribution.job_id,
            now=now,
            result={
                "sent": counts[DeliveryStatus.SENT],
                "skipped": counts[DeliveryStatus.SKIPPED],
                "failed": counts[DeliveryStatus.FAILED],
                "recipients": total,
            },
        )
    return bool(finished)


def _has_due(distribution_id: int, now) -> bool:
    return Delivery.objects.filter(claimable(now), distribution_id=distribution_id).exists()


def _enqueue_deliver(distribution_id: int, **kwargs) -> None:
    from .tasks import distribution_deliver_task

    transaction.on_commit(lambda: distribution_deliver_task.delay(distribution_id, **kwargs))


def delivery_retry(*, delivery: Delivery) -> None:
    """A member asks for another attempt of a failed delivery, now."""
    updated = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.QUEUED,
        next_attempt_at=None,
        claimed_until=None,
        attempts=0,
        error="",
        updated_at=timezone.now(),
    )
    if not updated:
        raise ApplicationError("Only a failed delivery can be retried.")
    _enqueue_deliver(delivery.distribution_id, ids=[delivery.pk])


def distributions_sweep(*, now=None) -> dict:
    """The beat's round: start scheduled sends that are due, send what is due (delayed
    triggers, retries, lapsed claims), restart sends whose worker died, close finished ones."""
    from .tasks import distribution_deliver_task, distribution_plan_task

    now = now or timezone.now()
    started = 0
    for distribution in Distribution.objects.filter(
        status=Status.SCHEDULED, scheduled_at__lte=now
    ).select_related("project"):
        started += _start(distribution, now=now)
    due = list(
        Delivery.objects.filter(
            (Q(status=DeliveryStatus.QUEUED) & Q(next_attempt_at__lte=now))
            | Q(status=DeliveryStatus.SENDING, claimed_until__lt=now)
        )
        .exclude(distribution__status__in=[Status.PAUSED, Status.DRAFT])
        .values_list("distribution_id", flat=True)
        .distinct()
    )
    stalled = now - dt.timedelta(seconds=claim_seconds())
    resumed = 0
    for distribution in Distribution.objects.filter(status=Status.SENDING).select_related("job"):
        job = distribution.job
        if job is not None and job.is_finished and job.status == JobStatus.FAILED:
            continue
        quiet = job is None or job.updated_at < stalled
        if distribution.planned_at is None:
            if quiet:
                Job.objects.filter(pk=distribution.job_id).update(updated_at=now)
                distribution_plan_task.delay(distribution.pk)
                resumed += 1
        elif not distribution_finish_if_done(distribution_id=distribution.pk) and quiet:
            if distribution.pk not in due and _has_due(distribution.pk, now):
                due.append(distribution.pk)
            Job.objects.filter(pk=distribution.job_id).update(updated_at=now)
    for distribution_id in due:
        distribution_deliver_task.delay(distribution_id)
    return {"started": started, "deliver": len(due), "replanned": resumed}


# -- automatic distributions ------------------------------------------------------------------


TRIGGER_CUSTOMER_FIELDS = ("pk", "email", "phone", "marketing_opt_out")


def _new_delivery(distribution, row: tuple, *, trigger_key: str, now, due_at=None) -> Delivery:
    """An unsaved delivery for a customer row (pk, email, phone, marketing_opt_out): queued, or
    skipped with the reason when the channel cannot reach the customer."""
    pk, email, phone, opted_out = row
    reason = skip_reason_for(distribution.channel, email, phone, opted_out)
    return Delivery(
        project_id=distribution.project_id,
        distribution_id=distribution.pk,
        customer_id=pk,
        channel=distribution.channel,
        trigger_key=trigger_key,
        status=DeliveryStatus.SKIPPED if reason else DeliveryStatus.QUEUED,
        error=reason,
        next_attempt_at=due_at,
        created_at=now,
        updated_at=now,
    )


def deliveries_for_trigger(
    *, distribution: Distribution, customers: list[tuple], key_of, now=None
) -> list[int]:
    """Deliveries for an event's customers (rows of TRIGGER_CUSTOMER_FIELDS), due after the
    distribution's delay; `key_of(customer_id)` is the trigger key. A customer whose delivery
    for that key exists already (the event was seen before) gets none. Returns the new rows'
    ids; those due now are enqueued."""
    now = now or timezone.now()
    due_at = now + dt.timedelta(minutes=distribution.delay_minutes)
    rows = [
        _new_delivery(distribution, row, trigger_key=key_of(row[0])[:200], now=now, due_at=due_at)
        for row in customers
    ]
    if not rows:
        return []
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    # the rows this call made carry its timestamp; older ones (a repeated event) do not
    made = list(
        Delivery.objects.filter(
            distribution_id=distribution.pk,
            customer_id__in=[row.customer_id for row in rows],
            trigger_key__in={row.trigger_key for row in rows},
            created_at=now,
        ).values_list("pk", "status")
    )
    due = [pk for pk, status in made if status == DeliveryStatus.QUEUED]
    if due and distribution.delay_minutes == 0:
        _enqueue_deliver(distribution.pk, ids=due)
    return [pk for pk, _ in made]


# -- previews and test sends ------------------------------------------------------------------


def _sample_voucher(distribution: Distribution) -> dict:
    sample = sample_context()["voucher"]
    campaign = distribution.campaign
    if campaign is None:
        return {}
    from types import SimpleNamespace

    from apps.campaigns.models import Voucher

    voucher = Voucher.objects.filter(campaign=campaign).order_by("id").first() or SimpleNamespace(
        public_id="v_sample",
        code=SAMPLE_CODE,
        type=campaign.voucher_type,
        discount=campaign.discount,
        gift_amount=campaign.gift_amount,
        loyalty_points=campaign.loyalty_points,
        expiration_date=campaign.expiration_date,
    )
    details = voucher_details(voucher, campaign.project.currency)
    # a preview never shows a real code: the sample stands in for the one each customer gets
    return {
        **details,
        "code": SAMPLE_CODE,
        "qr_url": sample["qr_url"],
        "barcode_url": sample["barcode_url"],
    }


def message_preview(*, distribution: Distribution, customer: Customer | None = None) -> Message:
    """The message as `customer` (or a sample customer) would get it, with a sample code.
    Raises TemplateError."""
    compiled = CompiledMessage(
        subject=distribution.subject, html=distribution.body_html, text=distribution.body_text
    )
    sample = sample_context()
    context = message_context(
        distribution=distribution,
        customer=customer if customer is not None else sample["customer"],
        voucher=_sample_voucher(distribution),
        # never a customer's real link: a test send must not let anyone unsubscribe them
        unsubscribe=sample["unsubscribe_url"],
    )
    return compiled.render(context)


def distribution_test_send(
    *, distribution: Distribution, to: str, customer: Customer | None = None
) -> Message:
    """Email the message to `to` (the marketer), filled for `customer` or a sample, with a
    sample code: nothing is published and no delivery is recorded."""
    if not to or "@" not in to:
        raise ApplicationError("Your account has no email address to send the test to.")
    try:
        message = message_preview(distribution=distribution, customer=customer)
    except TemplateError as exc:
        raise ApplicationError(f"The template has an error: {exc.message}") from exc
    sender = EmailSender()
    email = sender.build(
        to=to,
        message=Message(subject=f"[Test] {message.subject}", html=message.html, text=message.text),
        headers={"X-Distribution-Test": "1"},
    )
    try:
        sender.send(email, lambda: True)
    except (DeliveryError, HandoverRefused) as exc:
        reason = getattr(exc, "reason", "the claim was refused")
        raise ApplicationError(f"The test message was not sent: {reason}") from exc
    finally:
        sender.close()
    return message
