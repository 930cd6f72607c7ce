import pytest
from django.urls import reverse

from apps.jobs.models import Job, JobStatus
from apps.jobs.services import (
    job_create,
    job_fail,
    job_finish,
    job_progress,
    job_start,
    jobs_reap_stale,
    ping_start,
)
from apps.projects.models import Role
from tests.jobs.factories import JobFactory

pytestmark = pytest.mark.django_db


def test_ping_runs_through_celery_after_commit(project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = ping_start(project=project)
    assert (
        Job.objects.get(pk=job.pk).status == JobStatus.ENQUEUED
    )  # nothing ran inside the transaction
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert (job.status, job.processed, job.progress) == (JobStatus.DONE, 5, 100)
    assert job.result["pong"] is True


def test_job_state_changes_are_one_way(project):
    job = job_create(project=project, type="import", total=200)
    assert job_start(job_id=job.pk)
    job_progress(job_id=job.pk, processed=50)
    job.refresh_from_db()
    assert (job.status, job.progress) == (JobStatus.IN_PROGRESS, 25)
    assert job_start(job_id=job.pk)  # a redelivered task may continue an unfinished job
    job_finish(job_id=job.pk, result={"imported": 200})
    assert not job_start(job_id=job.pk)  # ...but never restarts a finished one
    job_progress(job_id=job.pk, processed=1)
    job_fail(job_id=job.pk, error="late failure")
    job.refresh_from_db()
    assert (job.status, job.processed, job.error) == (JobStatus.DONE, 50, "")


def test_stale_jobs_are_reaped(project, time_machine):
    time_machine.move_to("2026-03-01T00:00:00Z", tick=False)
    stale = job_create(project=project, type="import")
    job_start(job_id=stale.pk)
    time_machine.move_to("2026-03-01T05:00:00Z", tick=False)
    fresh = job_create(project=project, type="export")
    time_machine.move_to("2026-03-01T06:30:00Z", tick=False)
    assert jobs_reap_stale() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == (JobStatus.FAILED, JobStatus.ENQUEUED)


def test_ping_button_and_polling_list(member_client, project, django_capture_on_commit_callbacks):
    client = member_client(Role.MARKETER)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("jobs:ping"), headers={"HX-Request": "true"})
    assert response["Location"] == reverse("jobs:list")
    response = client.get(reverse("jobs:list"), headers={"HX-Request": "true"})
    assert b"<html" not in response.content
    assert b'data-status="DONE"' in response.content
    assert b'hx-trigger="every 1s"' not in response.content  # nothing left to poll


def test_list_polls_while_a_job_runs(owner_client, project):
    JobFactory(project=project, status=JobStatus.IN_PROGRESS, processed=2, total=5)
    response = owner_client.get(reverse("jobs:list"))
    assert b'hx-trigger="every 1s"' in response.content
    assert b'aria-valuenow="40"' in response.content


def test_job_detail_partial(owner_client, project):
    job = JobFactory(project=project, result={"pong": True})
    response = owner_client.get(
        reverse("jobs:detail", args=[job.public_id]), headers={"HX-Request": "true"}
    )
    assert b'id="job"' in response.content and b"<html" not in response.content
    assert b"pong" in response.content


def test_job_list_does_not_query_per_row(owner_client, project, django_assert_max_num_queries):
    JobFactory.create_batch(20, project=project)
    with django_assert_max_num_queries(8):
        response = owner_client.get(reverse("jobs:list"))
    assert response.content.count(b"-row") >= 20
