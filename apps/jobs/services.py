"""Job rows: every state change is a conditional UPDATE, so a retried task cannot rewind a job."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .models import Job, JobStatus


def job_create(*, project, type: str, created_by=None, total=None, params=None) -> Job:
    return Job.objects.create(
        project=project, type=type, created_by=created_by, total=total, params=params or {}
    )


def job_start(*, job_id: int, total: int | None = None, now: datetime | None = None) -> bool:
    """ENQUEUED → IN_PROGRESS. Returns False if the job already finished (a duplicate delivery)."""
    fields = {"status": JobStatus.IN_PROGRESS, "started_at": now or timezone.now()}
    if total is not None:
        fields["total"] = total
    started = Job.objects.filter(pk=job_id, status=JobStatus.ENQUEUED).update(**fields)
    if started:
        return True
    return Job.objects.filter(pk=job_id, status=JobStatus.IN_PROGRESS).exists()


def job_progress(*, job_id: int, processed: int) -> None:
    Job.objects.filter(pk=job_id, status=JobStatus.IN_PROGRESS).update(
        processed=processed, updated_at=timezone.now()
    )


def job_finish(*, job_id: int, result: dict, now: datetime | None = None) -> None:
    Job.objects.filter(pk=job_id, status=JobStatus.IN_PROGRESS).update(
        status=JobStatus.DONE, result=result, finished_at=now or timezone.now()
    )


def job_fail(*, job_id: int, error: str, now: datetime | None = None) -> None:
    Job.objects.filter(pk=job_id, status__in=[JobStatus.ENQUEUED, JobStatus.IN_PROGRESS]).update(
        status=JobStatus.FAILED, error=error[:5000], finished_at=now or timezone.now()
    )


PING_STEPS = 5


def ping_start(*, project, created_by=None) -> Job:
    """A trivial job that proves a worker is alive: it counts to five and says who ran it."""
    from .tasks import ping_task

    with transaction.atomic():
        job = job_create(project=project, type="ping", created_by=created_by, total=PING_STEPS)
        ping_task.delay_on_commit(job.pk)
    return job


def ping_run(*, job_id: int, worker: str, step_seconds: float = 0.2) -> None:
    import time

    if not job_start(job_id=job_id):
        return
    for step in range(1, PING_STEPS + 1):
        time.sleep(step_seconds)
        job_progress(job_id=job_id, processed=step)
    job_finish(job_id=job_id, result={"pong": True, "worker": worker})


STALE_AFTER = timedelta(hours=6)


def jobs_reap_stale(*, now: datetime | None = None) -> int:
    """Fail jobs that have not moved for hours (their worker died); beat runs this."""
    now = now or timezone.now()
    return Job.objects.filter(
        status__in=[JobStatus.ENQUEUED, JobStatus.IN_PROGRESS], updated_at__lt=now - STALE_AFTER
    ).update(
        status=JobStatus.FAILED,
        error="No progress for 6 hours; the worker stopped.",
        finished_at=now,
    )
