"""Reads for the segment screens: the list, a segment's members, events, size history and the
job recomputing it."""

from dataclasses import dataclass
from datetime import UTC, date, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.jobs.models import Job, JobStatus

from .models import Segment, SegmentEvent, SegmentMember, SegmentSize

RECOMPUTE_JOB_TYPE = "segment.recompute"  # what services.segment_recompute_start records
MIN_SUBSTRING = 3  # shorter searches match a source_id exactly (as the customer list does)
ACTIVE_JOB_WINDOW = timedelta(days=1)  # the jobs app reaps jobs stuck for 6 hours


def segment_list(*, project, q: str = "") -> QuerySet[Segment]:
    """The project's segments by name, optionally those whose name contains `q`."""
    segments = Segment.objects.filter(project=project).order_by("name", "pk")
    q = (q or "").strip()
    if q:
        segments = segments.filter(name__icontains=q)
    return segments


def segment_members(*, segment: Segment, q: str = "") -> QuerySet[SegmentMember]:
    """Members with their customer, newest customers first (the (segment, customer) index gives
    this order without sorting a million rows). `q` matches a source_id or customer id exactly,
    or a name or email by substring."""
    members = (
        SegmentMember.objects.filter(segment=segment)
        .select_related("customer")
        .order_by("-customer_id")
    )
    q = (q or "").strip()
    if not q:
        return members
    exact = Q(customer__source_id=q) | Q(customer__public_id=q)
    if len(q) < MIN_SUBSTRING:
        return members.filter(exact)
    return members.filter(exact | Q(customer__name__icontains=q) | Q(customer__email__icontains=q))


def segment_member_pks(*, segment: Segment, customer_ids) -> list[int]:
    """Primary keys of the customers (given by public id) that are members of `segment`."""
    return list(
        SegmentMember.objects.filter(
            segment=segment, customer__public_id__in=list(customer_ids)
        ).values_list("customer_id", flat=True)
    )


def segment_recent_events(*, segment: Segment, limit: int = 20) -> list[SegmentEvent]:
    return list(
        SegmentEvent.objects.filter(segment=segment)
        .select_related("customer")
        .order_by("-created_at", "-id")[:limit]
    )


def segment_recompute_job(*, segment: Segment, job_id: str | None = None) -> Job | None:
    """The recompute job `job_id` of this segment, or without an id the one still running."""
    jobs = Job.objects.filter(project_id=segment.project_id, type=RECOMPUTE_JOB_TYPE)
    if job_id:
        job = jobs.filter(public_id=job_id).first()
        return job if job and job.params.get("segment") == segment.public_id else None
    return (
        jobs.filter(
            status__in=[JobStatus.ENQUEUED, JobStatus.IN_PROGRESS],
            created_at__gte=timezone.now() - ACTIVE_JOB_WINDOW,
            params__segment=segment.public_id,
        )
        .order_by("-created_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class SizeBar:
    day: date
    size: int
    x: float
    y: float
    height: float


@dataclass(frozen=True)
class SizeChart:
    """The size-over-time chart: one bar per day (SVG user units), plus the days it changed."""

    bars: list[SizeBar]
    changes: list[SizeBar]  # the first bar and each one whose size differs from the day before
    peak: int
    start: date
    end: date
    width: int
    height: int

    @property
    def is_empty(self) -> bool:
        return not self.bars


CHART_HEIGHT = 80
BAR_WIDTH = 4  # user units per day, a 1-unit gap included


def segment_size_chart(*, segment: Segment, days: int = 90, today: date | None = None):
    """The last `days` days of the segment's size. SegmentSize has a row only for days the size
    changed, so each day shows the last size recorded on or before it."""
    today = today or timezone.now().astimezone(UTC).date()
    start = today - timedelta(days=days - 1)
    rows = SegmentSize.objects.filter(segment=segment)
    sizes = dict(rows.filter(day__gte=start, day__lte=today).values_list("day", "size"))
    before = rows.filter(day__lt=start).order_by("-day").values_list("size", flat=True).first()
    current = before
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        current = sizes.get(day, current)
        series.append((day, current))
    peak = max((size or 0 for _, size in series), default=0)
    bars = []
    for index, (day, size) in enumerate(series):
        if size is None:  # before the segment's first recorded size
            continue
        height = round(size / peak * (CHART_HEIGHT - 2), 2) if peak else 0
        height = max(height, 1)  # an empty segment still shows a baseline
        bars.append(
            SizeBar(
                day=day,
                size=size,
                x=index * BAR_WIDTH,
                y=round(CHART_HEIGHT - height, 2),
                height=height,
            )
        )
    return SizeChart(
        bars=bars,
        changes=[
            bar for index, bar in enumerate(bars) if index == 0 or bar.size != bars[index - 1].size
        ],
        peak=peak,
        start=start,
        end=today,
        width=days * BAR_WIDTH,
        height=CHART_HEIGHT,
    )
