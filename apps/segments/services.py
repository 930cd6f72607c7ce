"""Writes for segments: create, update, delete, recompute set-based, re-evaluate changed
customers, and the daily recompute of segments whose filters depend on the date."""

# ruff: noqa: S608 -- the diff SQL interpolates table names from model meta and Django's own
# compiled subquery; every value is a bound parameter.

import json
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import BooleanField, Case, ExpressionWrapper, F, Value, When
from django.utils import timezone

from apps.core import events
from apps.core.conditions import FilterError, compile_filter, uses_time
from apps.core.errors import ApplicationError
from apps.core.filters import project_zone
from apps.core.rows import placeholders
from apps.customers.models import Customer
from apps.jobs.services import job_create, job_fail, job_finish, job_start
from apps.metadata.models import MetadataSchema, Resource

from .fields import customer_fields
from .models import (
    Segment,
    SegmentEvent,
    SegmentEventType,
    SegmentMember,
    SegmentSize,
    SegmentType,
    SyncStatus,
)
from .usage import segment_usages


def segment_filter_q(segment: Segment, fields=None, now: datetime | None = None):
    return compile_filter(
        segment.filter or {},
        fields or customer_fields(segment.project),
        now=now,
        zone=project_zone(segment.project),
    )


def _check_filter(project, filter_json) -> bool:
    """Raise ApplicationError when the filter does not compile; -> whether it uses the date."""
    if not isinstance(filter_json, dict):
        raise ApplicationError("An auto-update segment needs a filter.", details="filter")
    fields = customer_fields(project)
    try:
        compile_filter(filter_json, fields)
    except FilterError as exc:
        raise ApplicationError(exc.message, key="invalid_payload", details=exc.field) from exc
    return uses_time(filter_json, fields)


def _clean_name(project, name, *, exclude_pk=None) -> str:
    if name is not None and not isinstance(name, str):
        raise ApplicationError("A segment name is text.", details="name")
    name = (name or "").strip()
    if not name:
        raise ApplicationError("A segment needs a name.", details="name")
    if len(name) > 255:
        raise ApplicationError("A segment name has at most 255 characters.", details="name")
    taken = Segment.objects.filter(project=project, name=name).exclude(pk=exclude_pk)
    if taken.exists():
        raise ApplicationError(f"A segment named “{name}” exists.", key="duplicate_found", code=409)
    return name


def segment_create(
    *,
    project,
    name: str,
    type: str,
    filter: dict | None = None,
    customer_ids=None,
    created_by=None,
    refuse_unknown: bool = False,
) -> Segment:
    """Create a segment. Filter segments are computed by a bulk job after commit; static ones
    get their members now (`customer_ids` are public ids or source_ids of this project; with
    `refuse_unknown`, one that matches no customer is a 404 and nothing is created)."""
    if customer_ids is not None and (
        not isinstance(customer_ids, list | tuple)
        or not all(isinstance(ref, str) for ref in customer_ids)
    ):
        raise ApplicationError("customers must be a list of customer ids.", details="customers")
    if type not in SegmentType.values:
        raise ApplicationError(
            f"type must be one of {', '.join(SegmentType.values)}", details="type"
        )
    name = _clean_name(project, name)
    time_based = False
    if type == SegmentType.STATIC:
        if filter:
            raise ApplicationError("A static segment has members, not a filter.", details="filter")
    else:
        time_based = _check_filter(project, filter)
    with transaction.atomic():
        segment = Segment.objects.create(
            project=project,
            name=name,
            type=type,
            filter=filter if type != SegmentType.STATIC else None,
            uses_time=time_based,
            initial_sync_status=SyncStatus.DONE
            if type == SegmentType.STATIC
            else SyncStatus.IN_PROGRESS,
        )
        if type == SegmentType.STATIC:
            unknown = segment_add_members(segment=segment, refs=customer_ids or [])
            if unknown and refuse_unknown:
                raise ApplicationError(
                    "Resource not found",
                    key="not_found",
                    code=404,
                    details=f"Cannot find customer with id {', '.join(unknown[:10])}",
                )
        else:
            segment_recompute_start(segment=segment, created_by=created_by)
    return segment


def segment_update(
    *, segment: Segment, name: str | None = None, filter: dict | None = None, updated_by=None
) -> Segment:
    """Rename a segment, or change a filter segment's filter (then it is recomputed)."""
    fields = ["updated_at"]
    if name is not None:
        segment.name = _clean_name(segment.project, name, exclude_pk=segment.pk)
        fields.append("name")
    recompute = False
    if filter is not None and segment.follows_filter and filter != segment.filter:
        segment.uses_time = _check_filter(segment.project, filter)
        segment.filter = filter
        fields += ["filter", "uses_time"]
        recompute = True
    elif filter and not segment.follows_filter:
        raise ApplicationError("A static segment has members, not a filter.", details="filter")
    with transaction.atomic():
        segment.save(update_fields=fields)
        if recompute:
            segment_recompute_start(segment=segment, created_by=updated_by)
    return segment


def segment_delete(*, segment: Segment) -> None:
    """Delete the segment and its membership, unless something still uses it."""
    usages = segment_usages(segment)
    if usages:
        raise ApplicationError(
            f"“{segment.name}” is in use by {', '.join(usages)}. Remove it there first.",
            key="resource_in_use",
            code=409,
        )
    segment.delete()
    summary_segments.forget(segment.project_id)


ADD_MEMBERS_BATCH = 5_000  # refs per statement: far below PostgreSQL's 65,535 parameters


def segment_add_members(*, segment: Segment, refs, now: datetime | None = None) -> list[str]:
    """Add customers (public ids or source_ids) to a static segment; returns the unknown refs."""
    if segment.type != SegmentType.STATIC:
        raise ApplicationError("Only static segments take members by hand.")
    refs = list(dict.fromkeys(str(ref).strip() for ref in refs if str(ref).strip()))
    now = now or timezone.now()
    customers = Customer.objects.filter(project=segment.project)
    found: dict[str, int] = {}
    # a batch at a time: no statement may carry more parameters than the database takes
    for start in range(0, len(refs), ADD_MEMBERS_BATCH):
        batch = refs[start : start + ADD_MEMBERS_BATCH]
        found.update(customers.filter(public_id__in=batch).values_list("public_id", "pk"))
        found.update(customers.filter(source_id__in=batch).values_list("source_id", "pk"))
    SegmentMember.objects.bulk_create(
        [
            SegmentMember(segment=segment, customer_id=pk, created_at=now)
            for pk in set(found.values())
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )
    _refresh_size(segment, now)
    return [ref for ref in refs if ref not in found]


def segment_remove_members(*, segment: Segment, customer_ids: list[int]) -> int:
    """Take customers (primary keys) out of a static segment; returns how many were in it."""
    if segment.type != SegmentType.STATIC:
        raise ApplicationError("Only static segments lose members by hand.")
    now = timezone.now()
    with transaction.atomic():
        removed, _ = SegmentMember.objects.filter(
            segment=segment, customer_id__in=customer_ids
        ).delete()
        _add_to_sizes({segment.pk: -removed}, now)
    return removed


def _refresh_size(segment: Segment, now: datetime) -> None:
    Segment.objects.filter(pk=segment.pk).update(
        size=SegmentMember.objects.filter(segment=segment).count(), computed_at=now, updated_at=now
    )
    _record_sizes([segment.pk], now)


def _add_to_sizes(deltas: dict[int, int], now: datetime, *, computed=False) -> None:
    """Segments' size changes in two statements, whatever their number. Exact: each delta
    counts rows this transaction really inserted or deleted. `computed` marks a full recompute
    (the daily recompute of date-based segments looks at `computed_at`)."""
    if not deltas:
        return
    changes = {"computed_at": now} if computed else {}
    change = Case(*(When(pk=pk, then=Value(delta)) for pk, delta in deltas.items()))
    Segment.objects.filter(pk__in=deltas).update(size=F("size") + change, updated_at=now, **changes)
    _record_sizes(list(deltas), now)


def _record_sizes(segment_ids: list[int], now: datetime) -> None:
    """Today's (UTC) point of the size chart: each segment's size as this transaction left it."""
    holes = placeholders(segment_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SegmentSize._meta.db_table} (segment_id, day, size) "
            f"SELECT id, %s, size FROM {Segment._meta.db_table} WHERE id IN ({holes}) "
            "ON CONFLICT (segment_id, day) DO UPDATE SET size = excluded.size",
            [now.astimezone(UTC).date(), *segment_ids],
        )


# Which filter segments of a project read order or redemption summaries, cached per process
# for SUMMARY_SEGMENTS_SECONDS (plus Listeners.LOCAL_SECONDS): every order and redemption asks
# (see customers_changed_listener).
SUMMARY_SEGMENTS_SECONDS = 5


def _summary_segments(project_id: int) -> list[int]:
    """Filter segments whose filter could change when only a customer's order or redemption
    summary does (`summary.*` fields, or `updated_at`, which every write moves)."""
    found = []
    for pk, stored in Segment.objects.filter(
        project_id=project_id, type__in=[SegmentType.AUTO_UPDATE, SegmentType.PASSIVE]
    ).values_list("pk", "filter"):
        text = json.dumps(stored or {})
        if "summary" in text or "updated_at" in text:
            found.append(pk)
    return found


summary_segments = events.Listeners(
    "segments-summaries", _summary_segments, seconds=SUMMARY_SEGMENTS_SECONDS
)


def customers_changed_listener(project_id: int, ids: list[int], summary_only: bool = False):
    """Re-evaluate changed customers' segments in a task, unless only their summaries changed
    and no segment of the project reads a summary: most orders and redemptions then enqueue
    nothing."""
    from .tasks import segments_evaluate_customers_task

    if summary_only and not summary_segments(project_id):
        return
    segments_evaluate_customers_task.delay(project_id, ids)


def segment_recompute_start(*, segment: Segment, created_by=None):
    """Recompute in a bulk job after commit. A filter that reads summaries is recomputed only
    once every process's cached `summary_segments` has expired: an order another process wrote
    meanwhile without re-evaluating its customer is then counted by the recompute itself."""
    from .tasks import segment_recompute_task

    job = job_create(
        project=segment.project,
        type="segment.recompute",
        created_by=created_by,
        params={"segment": segment.public_id},
    )
    summary_segments.forget(segment.project_id)
    reads_summaries = segment.pk in _summary_segments(segment.project_id)
    countdown = summary_segments.reach if reads_summaries else 0
    transaction.on_commit(
        lambda: segment_recompute_task.apply_async((segment.pk, job.pk), countdown=countdown)
    )
    return job


def segment_recompute(
    *, segment_id: int, job_id: int | None = None, now: datetime | None = None
) -> dict:
    """Bring membership in line with the filter in two statements: insert who entered and delete
    who left, each returning the customers it touched, then write their events."""
    now = now or timezone.now()
    if job_id is not None and not job_start(job_id=job_id):
        return {}
    try:
        with transaction.atomic():
            segment = Segment.objects.select_for_update().get(
                pk=segment_id
            )  # one recompute at a time
            if not segment.follows_filter:
                raise ApplicationError("Static segments are not computed.")
            matching = Customer.objects.filter(project=segment.project).filter(
                segment_filter_q(segment, now=now)
            )
            entered, left = _diff(segment, matching, now)
            if segment.type == SegmentType.AUTO_UPDATE:
                _events(segment, entered, SegmentEventType.ENTERED, now)
                _events(segment, left, SegmentEventType.LEFT, now)
            Segment.objects.filter(pk=segment.pk).update(initial_sync_status=SyncStatus.DONE)
            _add_to_sizes({segment.pk: len(entered) - len(left)}, now, computed=True)
    except Exception as exc:
        if job_id is not None:
            job_fail(job_id=job_id, error=str(exc))
        raise
    result = {"entered": len(entered), "left": len(left)}
    if job_id is not None:
        job_finish(job_id=job_id, result=result)
    return result


def _diff(segment: Segment, matching, now: datetime) -> tuple[list[int], list[int]]:
    member = SegmentMember._meta.db_table
    match_sql, match_params = (
        matching.annotate(member_id=F("pk")).values("member_id").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        # Table names come from model meta; every value is a parameter.
        cursor.execute(
            f"DELETE FROM {member} WHERE segment_id = %s AND customer_id NOT IN ({match_sql}) "
            "RETURNING customer_id",
            [segment.pk, *match_params],
        )
        left = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"INSERT INTO {member} (segment_id, customer_id, created_at) "
            f"SELECT %s, matched.member_id, %s FROM ({match_sql}) matched "
            f"WHERE NOT EXISTS (SELECT 1 FROM {member} m "
            "WHERE m.segment_id = %s AND m.customer_id = matched.member_id) "
            # a customer re-evaluated at this moment may have been added already
            "ON CONFLICT (segment_id, customer_id) DO NOTHING "
            "RETURNING customer_id",
            [segment.pk, now, *match_params, segment.pk],
        )
        entered = [row[0] for row in cursor.fetchall()]
    return entered, left


def _events(segment: Segment, customer_ids: list[int], type: str, now: datetime) -> None:
    if not customer_ids:
        return
    events.emit_many(segment.project_id, type, "customers.Customer", customer_ids, segment=segment)
    if connection.vendor == "postgresql":
        # One statement for any number of events: unnest the ids instead of building objects.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SegmentEvent._meta.db_table} "
                "(project_id, segment_id, customer_id, type, created_at, updated_at) "
                "SELECT %s, %s, ids.id, %s, %s, %s FROM unnest(%s::bigint[]) AS ids(id)",
                [segment.project_id, segment.pk, type, now, now, customer_ids],
            )
        return
    SegmentEvent.objects.bulk_create(
        [
            SegmentEvent(
                project_id=segment.project_id,
                segment=segment,
                customer_id=pk,
                type=type,
                created_at=now,
            )
            for pk in customer_ids
        ],
        batch_size=5000,
    )


def segments_evaluate_customers(
    *, project_id: int, customer_ids: list[int], now: datetime | None = None
) -> dict:
    """Re-evaluate the filter segments of a few changed customers: one query answers every
    segment for every customer, then only the differences are written."""
    now = now or timezone.now()
    segments = list(
        Segment.objects.filter(
            project_id=project_id, type__in=[SegmentType.AUTO_UPDATE, SegmentType.PASSIVE]
        )
        .select_related("project")
        .order_by("pk")
    )
    if not segments or not customer_ids:
        return {"entered": 0, "left": 0}
    sql, params = _flags_query(segments, now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM ({sql}) flags WHERE flags.member_id IN ({placeholders(customer_ids)})",
            [*params, *customer_ids],
        )
        should = {
            (segment.pk, row[0])
            for row in cursor.fetchall()
            for segment, flag in zip(segments, row[1:], strict=True)
            if flag
        }
    by_pk = {segment.pk: segment for segment in segments}
    with transaction.atomic():
        # Segment rows are locked in pk order (as recompute does), so membership is read and
        # changed by one transaction at a time per segment and concurrent calls cannot deadlock.
        list(Segment.objects.select_for_update().filter(pk__in=by_pk).order_by("pk").values("pk"))
        current = set(
            SegmentMember.objects.filter(
                segment__in=segments, customer_id__in=customer_ids
            ).values_list("segment_id", "customer_id")
        )
        entered = _insert_members(sorted(should - current), now)
        left = _delete_members(sorted(current - should))
        SegmentEvent.objects.bulk_create(
            [
                SegmentEvent(
                    project_id=project_id, segment_id=s, customer_id=c, type=kind, created_at=now
                )
                for kind, pairs in (
                    (SegmentEventType.ENTERED, entered),
                    (SegmentEventType.LEFT, left),
                )
                for s, c in pairs
                if by_pk[s].type == SegmentType.AUTO_UPDATE
            ]
        )
        for kind, pairs in ((SegmentEventType.ENTERED, entered), (SegmentEventType.LEFT, left)):
            moved: dict[int, list[int]] = {}
            for segment_id, customer_id in pairs:
                if by_pk[segment_id].type == SegmentType.AUTO_UPDATE:
                    moved.setdefault(segment_id, []).append(customer_id)
            for segment_id, ids in moved.items():
                events.emit_many(
                    project_id, kind, "customers.Customer", ids, segment=by_pk[segment_id]
                )
        deltas: dict[int, int] = {}
        for segment_id, _ in entered:
            deltas[segment_id] = deltas.get(segment_id, 0) + 1
        for segment_id, _ in left:
            deltas[segment_id] = deltas.get(segment_id, 0) - 1
        _add_to_sizes(deltas, now)
    return {"entered": len(entered), "left": len(left)}


_FLAG_QUERIES: dict[tuple, tuple[str, tuple]] = {}


def _flags_query(segments: list[Segment], now: datetime) -> tuple[str, tuple]:
    """SQL selecting each customer's id and one flag per segment (matches or not), compiled once
    per set of segment filters, metadata schema and day: compiling twenty filters through the
    ORM costs more than running them for one customer."""
    project = segments[0].project
    schema = MetadataSchema.objects.filter(project=project, related_object=Resource.CUSTOMER)
    key = (
        project.pk,
        tuple((segment.pk, json.dumps(segment.filter, sort_keys=True)) for segment in segments),
        schema.values_list("updated_at", flat=True).first(),
        now.astimezone(project_zone(project)).date(),
    )
    if key not in _FLAG_QUERIES:
        fields = customer_fields(project)  # one metadata-schema read for all
        flags = {
            f"s{segment.pk}": ExpressionWrapper(
                segment_filter_q(segment, fields, now=now), output_field=BooleanField()
            )
            for segment in segments
        }
        query = Customer.objects.filter(project=project).annotate(member_id=F("pk"), **flags)
        if len(_FLAG_QUERIES) >= 500:
            _FLAG_QUERIES.clear()
        _FLAG_QUERIES[key] = query.values_list("member_id", *flags).query.sql_with_params()
    return _FLAG_QUERIES[key]


def _insert_members(pairs: list[tuple[int, int]], now: datetime) -> list[tuple[int, int]]:
    if not pairs:
        return []
    member = SegmentMember._meta.db_table
    rows = ", ".join(["(%s, %s, %s)"] * len(pairs))
    params = [value for s, c in pairs for value in (s, c, now)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {member} (segment_id, customer_id, created_at) VALUES {rows} "
            "ON CONFLICT (segment_id, customer_id) DO NOTHING RETURNING segment_id, customer_id",
            params,
        )
        return sorted(cursor.fetchall())


def _delete_members(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if not pairs:
        return []
    member = SegmentMember._meta.db_table
    rows = ", ".join(["(%s, %s)"] * len(pairs))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {member} WHERE (segment_id, customer_id) IN (VALUES {rows}) "
            "RETURNING segment_id, customer_id",
            [value for pair in pairs for value in pair],
        )
        return sorted(cursor.fetchall())


def segments_recompute_project(*, project_id: int) -> int:
    """After a bulk change (an import), recompute every filter segment of the project."""
    segments = Segment.objects.filter(
        project_id=project_id, type__in=[SegmentType.AUTO_UPDATE, SegmentType.PASSIVE]
    ).select_related("project")
    for segment in segments:
        segment_recompute_start(segment=segment)
    return len(segments)


def segments_recompute_time_based(*, now: datetime | None = None) -> int:
    """Start a recompute of every date-dependent filter segment not yet computed today in its
    project's time zone (run hourly, so each project's "today" is caught soon after midnight)."""
    now = now or timezone.now()
    started = 0
    segments = Segment.objects.filter(
        uses_time=True, type__in=[SegmentType.AUTO_UPDATE, SegmentType.PASSIVE]
    ).select_related("project")
    for segment in segments.iterator():
        zone = project_zone(segment.project)
        if segment.computed_at and segment.computed_at.astimezone(zone).date() == (
            now.astimezone(zone).date()
        ):
            continue
        segment_recompute_start(segment=segment)
        started += 1
    return started


def segment_add_members_in_batches(*, segment: Segment, refs) -> tuple[int, list[str]]:
    """Add any number of refs (a pasted list, a 100,000-row CSV) to a static segment.
    Returns (how many customers joined, the unknown refs in the order given, once each)."""
    with transaction.atomic():
        # one change of a static segment at a time, so the size difference is what we added
        before = (
            Segment.objects.select_for_update().values_list("size", flat=True).get(pk=segment.pk)
        )
        unknown = segment_add_members(segment=segment, refs=refs)
        after = Segment.objects.values_list("size", flat=True).get(pk=segment.pk)
    return after - before, unknown


def segments_recompute_time_based_in_project(*, project, created_by=None) -> list:
    """The dashboard's "recompute date-based segments now": start a recompute of every
    date-dependent filter segment of one project, computed today or not. (The hourly
    `segments_recompute_time_based` covers all projects and skips those done today.)"""
    segments = Segment.objects.filter(
        project=project,
        uses_time=True,
        type__in=[SegmentType.AUTO_UPDATE, SegmentType.PASSIVE],
    ).select_related("project")
    with transaction.atomic():
        return [
            segment_recompute_start(segment=segment, created_by=created_by)
            for segment in segments.order_by("name")
        ]
