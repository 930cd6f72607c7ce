"""Codes for a batch of deliveries, in one transaction: the batch's publications and the code on
each delivery row commit together or not at all.

For a batch of customers: customers who already got a publication of this very message (its
`source_id` is derived from the distribution, the customer and the trigger) keep its code;
with the campaign's `join_once`, customers holding a code of the campaign get that code; the
rest take free codes claimed with `SELECT … FOR UPDATE SKIP LOCKED` (concurrent batches take
different rows and never wait on each other) and made theirs by one conditional UPDATE
(`holder IS NULL`). An AUTO_UPDATE campaign generates the codes it lacks. Then the
publications and their voucher links are bulk-inserted and the deliveries updated.

`apps.campaigns.services.publications.publication_create` does the same for one customer at a
time (about six statements each); this does it for hundreds in a handful.
"""

# ruff: noqa: S608 -- table and column names come from model meta; values are bound parameters.

import hashlib

from django.db import connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from apps.campaigns.models import (
    Campaign,
    CampaignMode,
    CampaignType,
    Publication,
    PublicationChannel,
    Voucher,
)
from apps.campaigns.services.generation import generate_codes
from apps.campaigns.validity import parse_iso_duration

from .models import Delivery

NO_CODE_LEFT = "The campaign has no free code left."


def publication_source_id(distribution, customer_public_id: str, trigger_key: str) -> str:
    source = f"{distribution.public_id}:{customer_public_id}:{trigger_key}"
    if len(source) > 255:
        digest = hashlib.sha256(trigger_key.encode()).hexdigest()[:32]
        source = f"{distribution.public_id}:{customer_public_id}:{digest}"
    return source


def _expiry(campaign: Campaign, now):
    if not campaign.activity_duration_after_publishing:
        return None
    return now + parse_iso_duration(
        campaign.activity_duration_after_publishing, "activity_duration_after_publishing"
    )


def _claim_free(campaign: Campaign, count: int, exclude: list[int]) -> list[tuple[int, str]]:
    free = Voucher.objects.filter(campaign=campaign, holder__isnull=True, active=True)
    if exclude:
        free = free.exclude(pk__in=exclude)
    return list(
        free.select_for_update(skip_locked=True).order_by("id").values_list("id", "code")[:count]
    )


def _set_holders(voucher_ids: list[int], holder_ids: list[int], changes: dict) -> int:
    """Each code to its customer, if nobody holds it: one statement for the batch."""
    if connection.vendor == "postgresql":
        sets = ", ".join(f"{column} = %s" for column in changes)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Voucher._meta.db_table} AS v SET holder_id = d.holder, {sets} "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS d(id, holder) "
                "WHERE v.id = d.id AND v.holder_id IS NULL",
                [*changes.values(), voucher_ids, holder_ids],
            )
            return cursor.rowcount
    holder = Case(
        *(When(pk=v, then=Value(c)) for v, c in zip(voucher_ids, holder_ids, strict=True))
    )
    return Voucher.objects.filter(pk__in=voucher_ids, holder__isnull=True).update(
        holder_id=holder, **changes
    )


def _set_codes(code_of: dict[int, tuple[int, str]], now) -> None:
    """Each delivery's code, in one statement."""
    ordered = sorted(code_of)
    if not ordered:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Delivery._meta.db_table} AS d SET voucher_id = c.voucher, code = c.code, "
                "updated_at = %s FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) "
                "AS c(id, voucher, code) WHERE d.id = c.id",
                [
                    now,
                    ordered,
                    [code_of[pk][0] for pk in ordered],
                    [code_of[pk][1] for pk in ordered],
                ],
            )
        return
    Delivery.objects.filter(pk__in=ordered).update(
        voucher_id=Case(*(When(pk=pk, then=Value(code_of[pk][0])) for pk in ordered)),
        code=Case(*(When(pk=pk, then=Value(code_of[pk][1])) for pk in ordered)),
        updated_at=now,
    )


def assign_codes(*, distribution, deliveries: list[Delivery], now=None) -> dict[int, str]:
    """Give each delivery (with `customer` loaded) a code of the distribution's campaign.
    Returns {delivery id: error} for the deliveries that could not get one; the others have
    `voucher_id` and `code` set (in the database and on the objects)."""
    campaign = distribution.campaign
    if campaign is None or not deliveries:
        return {}
    now = now or timezone.now()
    if campaign.campaign_type == CampaignType.PROMOTION:
        return {d.pk: "Promotion campaigns have no codes." for d in deliveries}
    if not campaign.active:
        return {d.pk: f"Campaign {campaign.name} is disabled." for d in deliveries}
    source_ids = {
        d.pk: publication_source_id(distribution, d.customer.public_id, d.trigger_key)
        for d in deliveries
    }
    with transaction.atomic():
        code_of: dict[int, tuple[int, str]] = {}  # delivery id -> (voucher id, code)
        # a publication of this very message exists (the row was reset after a crash)
        published = dict(
            Publication.vouchers.through.objects.filter(
                publication__project_id=distribution.project_id,
                publication__source_id__in=list(source_ids.values()),
            ).values_list("publication__source_id", "voucher_id")
        )
        by_source = {source: pk for pk, source in source_ids.items()}
        if published:
            codes = dict(
                Voucher.objects.filter(pk__in=published.values()).values_list("pk", "code")
            )
            for source, voucher_id in published.items():
                code_of[by_source[source]] = (voucher_id, codes[voucher_id])
        held: dict[int, tuple[int, str]] = {}
        if campaign.join_once:
            customer_ids = [d.customer_id for d in deliveries if d.pk not in code_of]
            for holder_id, voucher_id, code in (
                Voucher.objects.filter(campaign=campaign, holder_id__in=customer_ids)
                .order_by("-id")
                .values_list("holder_id", "id", "code")
            ):
                held[holder_id] = (voucher_id, code)  # the oldest code wins (ordered last)
        needed = []
        for delivery in deliveries:
            if delivery.pk in code_of:
                continue
            if delivery.customer_id in held:
                code_of[delivery.pk] = held[delivery.customer_id]
            else:
                needed.append(delivery)
        # join-once campaigns: two deliveries of one customer in one batch share a code
        firsts: dict[int, Delivery] = {}
        sharing: list[Delivery] = []
        if campaign.join_once:
            for delivery in needed:
                if delivery.customer_id in firsts:
                    sharing.append(delivery)
                else:
                    firsts[delivery.customer_id] = delivery
            needed = list(firsts.values())
        free = _claim_free(campaign, len(needed), [])
        if len(free) < len(needed) and campaign.type == CampaignMode.AUTO_UPDATE:
            generate_codes(campaign, len(needed) - len(free), now=now)
            free += _claim_free(campaign, len(needed) - len(free), [pk for pk, _ in free])
        failed = {d.pk: NO_CODE_LEFT for d in needed[len(free) :]}
        needed = needed[: len(free)]
        if needed:
            changes = {"published_at": now, "updated_at": now}
            expiry = _expiry(campaign, now)
            if expiry is not None:
                changes["expiration_date"] = expiry
            ids = [voucher_id for voucher_id, _ in free]
            holders = [delivery.customer_id for delivery in needed]
            claimed = _set_holders(ids, holders, changes)
            if claimed != len(ids):  # rows locked by us: cannot happen, but never hand over
                raise RuntimeError("codes were taken meanwhile")
            for delivery, voucher in zip(needed, free, strict=False):
                code_of[delivery.pk] = voucher
        for delivery in sharing:
            if firsts[delivery.customer_id].pk in code_of:
                code_of[delivery.pk] = code_of[firsts[delivery.customer_id].pk]
            else:
                failed[delivery.pk] = NO_CODE_LEFT
        # one publication per delivery that got a code now
        publications = [
            Publication(
                project_id=distribution.project_id,
                customer_id=delivery.customer_id,
                campaign=campaign,
                source_id=source_ids[delivery.pk],
                channel=PublicationChannel.DISTRIBUTION,
                metadata={"distribution": distribution.public_id},
                created_at=now,
            )
            for delivery in deliveries
            if delivery.pk in code_of and source_ids[delivery.pk] not in published
        ]
        Publication.objects.bulk_create(publications)
        through = Publication.vouchers.through
        pub_of_source = {p.source_id: p.pk for p in publications}
        through.objects.bulk_create(
            [
                through(publication_id=pub_of_source[source_ids[pk]], voucher_id=voucher_id)
                for pk, (voucher_id, _) in code_of.items()
                if source_ids[pk] in pub_of_source
            ]
        )
        _set_codes(code_of, now)
    for delivery in deliveries:
        if delivery.pk in code_of:
            delivery.voucher_id, delivery.code = code_of[delivery.pk]
    return failed
