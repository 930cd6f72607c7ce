"""Publications: give codes to customers. Concurrent publications never hand one code to two
customers: free codes are claimed with `SELECT … FOR UPDATE SKIP LOCKED` (each transaction takes
different rows and nobody waits), and a specific code by a conditional UPDATE."""

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import events
from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.customers.services import customer_resolve
from apps.jobs.models import Job
from apps.jobs.services import job_create, job_fail, job_finish, job_progress, job_start
from apps.metadata.models import Resource
from apps.metadata.services import schema_for
from apps.segments.models import Segment, SegmentMember

from ..models import (
    Campaign,
    CampaignMode,
    CampaignType,
    Publication,
    PublicationChannel,
    Voucher,
)
from ..validity import parse_iso_duration
from .generation import generate_codes

MAX_COUNT = 50
JOB_TYPE = "campaign.publish_segment"


def resolve_campaign(project, ref) -> Campaign:
    """A campaign by id or by name (Voucherify accepts both)."""
    ref = str(ref or "").strip()
    matches = Campaign.objects.select_related("project").filter(
        Q(public_id=ref) | Q(name=ref), project=project
    )
    # an id wins over a campaign that happens to be named like one
    campaign = min(matches, key=lambda c: c.public_id != ref, default=None)
    if campaign is None:
        raise ApplicationError(
            f"Cannot find campaign with id {ref}",
            key="not_found",
            code=404,
            extra={"resource_id": ref, "resource_type": "campaign"},
        )
    return campaign


def resolve_voucher(project, ref) -> Voucher:
    """A voucher by code (as the project compares codes) or by `v_` id."""
    ref = str(ref or "").strip()
    key = ref if project.codes_case_sensitive else ref.upper()
    voucher = (
        Voucher.objects.select_related("campaign", "project")
        .filter(Q(code_key=key) | Q(public_id=ref), project=project)
        .first()
    )
    if voucher is None:
        raise ApplicationError(
            f"Cannot find voucher with id {ref}",
            key="not_found",
            code=404,
            extra={"resource_id": ref, "resource_type": "voucher"},
        )
    return voucher


def publication_create(
    *,
    project,
    customer=None,
    customer_payload: dict | None = None,
    voucher: str | None = None,
    campaign: str | None = None,
    count: int = 1,
    source_id: str | None = None,
    channel: str = PublicationChannel.API,
    metadata: dict | None = None,
    join_once: bool | None = None,
    now=None,
) -> Publication:
    """Publish a specific code (`voucher`) or `count` codes of a campaign to a customer (a
    Customer, or a payload `{id}` / `{source_id, …}` upserted as Voucherify does)."""
    now = now or timezone.now()
    if not voucher and not campaign:
        raise ApplicationError("Either Campaign or Voucher is required.", key="missing_vouchers")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ApplicationError("count must be a whole number of at least 1.", key="invalid_payload")
    if count > MAX_COUNT:
        raise ApplicationError(
            f"At most {MAX_COUNT} codes can be published at once.",
            key="too_many_vouchers_requested",
        )
    source_id = (source_id or "").strip() or None
    if source_id and count > 1:
        raise ApplicationError(
            "With a source_id, a publication holds one code.", key="invalid_payload"
        )
    metadata = schema_for(project=project, resource=Resource.PUBLICATION).check(metadata or {})
    if customer is None:
        if not customer_payload:
            raise ApplicationError("A publication needs a customer.", key="invalid_customer")
        customer = customer_resolve(project=project, payload=customer_payload)
    if source_id and Publication.objects.filter(project=project, source_id=source_id).exists():
        raise _duplicate(source_id)
    try:
        with transaction.atomic():
            if voucher:
                target = resolve_voucher(project, voucher)
                vouchers = [_claim_voucher(target, customer, now)]
                the_campaign = target.campaign
            else:
                the_campaign = resolve_campaign(project, campaign)
                once = the_campaign.join_once if join_once is None else join_once
                held = _held(the_campaign, customer) if once else []
                vouchers = held[:count] or _claim_from_campaign(the_campaign, customer, count, now)
            publication = Publication.objects.create(
                project=project,
                customer=customer,
                campaign=the_campaign,
                source_id=source_id,
                channel=channel,
                metadata=metadata,
            )
            Publication.vouchers.through.objects.bulk_create(
                [
                    Publication.vouchers.through(publication=publication, voucher=voucher)
                    for voucher in vouchers
                ]
            )
            events.emit(project.pk, "publication.succeeded", publication, customer=customer)
            for published in vouchers:
                events.emit(project.pk, "voucher.published", published, customer=customer)
    except IntegrityError:
        raise _duplicate(source_id) from None  # the same source_id, published meanwhile
    publication.published_vouchers = vouchers
    return publication


def _duplicate(source_id) -> ApplicationError:
    return ApplicationError(
        f"A publication with source_id {source_id} exists.",
        key="duplicate_source_id",
        code=409,
    )


def _held(campaign: Campaign, customer) -> list[Voucher]:
    return list(Voucher.objects.filter(campaign=campaign, holder=customer).order_by("id"))


def _expiry(campaign: Campaign | None, now):
    if campaign is None or not campaign.activity_duration_after_publishing:
        return None
    return now + parse_iso_duration(
        campaign.activity_duration_after_publishing, "activity_duration_after_publishing"
    )


def _claim_voucher(voucher: Voucher, customer, now) -> Voucher:
    """A specific code: free, or already this customer's (publishing twice is harmless)."""
    if not voucher.active:
        raise ApplicationError(
            f"Voucher {voucher.code} is disabled.", key="voucher_disabled", code=400
        )
    changes = {"holder": customer, "published_at": now, "updated_at": now}
    expiry = _expiry(voucher.campaign, now)
    if expiry is not None:
        changes["expiration_date"] = expiry
    claimed = Voucher.objects.filter(
        Q(holder__isnull=True) | Q(holder=customer), pk=voucher.pk
    ).update(**changes)
    if not claimed:
        raise ApplicationError(
            f"Voucher {voucher.code} is already published to another customer.",
            key="voucher_already_published",
            code=400,
        )
    voucher.refresh_from_db()
    return voucher


def _claim_from_campaign(campaign: Campaign, customer, count: int, now) -> list[Voucher]:
    if campaign.campaign_type == CampaignType.PROMOTION:
        raise ApplicationError(
            "Promotion campaigns have no codes to publish.",
            key="no_voucher_suitable_for_publication",
        )
    if not campaign.active:
        raise ApplicationError(
            f"Campaign {campaign.name} is disabled.", key="campaign_disabled", code=400
        )
    free = Voucher.objects.filter(campaign=campaign, holder__isnull=True, active=True)
    vouchers = list(free.select_for_update(skip_locked=True).order_by("id")[:count])
    if len(vouchers) < count and campaign.type == CampaignMode.AUTO_UPDATE:
        generate_codes(campaign, count - len(vouchers), now=now)
        vouchers += list(
            free.exclude(pk__in=[v.pk for v in vouchers])
            .select_for_update(skip_locked=True)
            .order_by("id")[: count - len(vouchers)]
        )
    ids = [voucher.pk for voucher in vouchers]
    if len(ids) < count:
        raise ApplicationError(
            f"Campaign {campaign.name} has no free code left to publish.",
            key="no_voucher_suitable_for_publication",
            code=400,
        )
    changes = {"holder": customer, "published_at": now, "updated_at": now}
    expiry = _expiry(campaign, now)
    if expiry is not None:
        changes["expiration_date"] = expiry
    # The rows are locked by this transaction, so the condition always holds; it stays as the
    # guarantee that a code held by someone is never handed over.
    claimed = Voucher.objects.filter(pk__in=ids, holder__isnull=True).update(**changes)
    if claimed != len(ids):
        raise ApplicationError(
            "Codes were taken meanwhile; try again.", key="no_voucher_suitable_for_publication"
        )
    for voucher in vouchers:
        for name, value in changes.items():
            setattr(voucher, name, value)
    return vouchers


def publish_segment_start(*, campaign: Campaign, segment, created_by=None):
    """Publish one code of the campaign to every member of the segment (a job)."""
    from ..tasks import publish_segment_task

    job = job_create(
        project=campaign.project,
        type=JOB_TYPE,
        created_by=created_by,
        params={"campaign": campaign.public_id, "segment": segment.public_id},
    )
    publish_segment_task.delay_on_commit(job.pk)
    return job


def publish_segment(*, job_id: int, batch: int = 500) -> dict:
    """The job. Each publication's source_id is derived from the job and the customer, so a
    resumed job skips whom it already served; customers already holding a code of a join-once
    campaign keep theirs."""
    job = Job.objects.select_related("project").get(pk=job_id)
    if not job_start(job_id=job_id):
        return {}
    project = job.project
    try:
        campaign = resolve_campaign(project, job.params["campaign"])
        segment = Segment.objects.get(project=project, public_id=job.params["segment"])
        members = SegmentMember.objects.filter(segment=segment).order_by("customer_id")
        total = members.count()
        Job.objects.filter(pk=job_id).update(total=total)
        published = skipped = done = 0
        last = 0
        while True:
            ids = list(
                members.filter(customer_id__gt=last).values_list("customer_id", flat=True)[:batch]
            )
            if not ids:
                break
            last = ids[-1]
            for customer in Customer.objects.filter(pk__in=ids).order_by("pk"):
                source = f"{job.public_id}:{customer.public_id}"
                if Publication.objects.filter(project=project, source_id=source).exists():
                    skipped += 1
                    continue
                publication_create(
                    project=project,
                    customer=customer,
                    campaign=campaign.public_id,
                    source_id=source,
                    channel=PublicationChannel.SEGMENT,
                )
                published += 1
            done += len(ids)
            job_progress(job_id=job_id, processed=done)
    except ApplicationError as exc:
        job_fail(job_id=job_id, error=exc.message)
        return {}
    except Exception as exc:
        job_fail(job_id=job_id, error=str(exc))
        raise
    result = {"published": published, "skipped": skipped, "customers": total}
    job_finish(job_id=job_id, result=result)
    return result
