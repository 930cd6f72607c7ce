"""A real Celery worker (not eager) takes the ping job from the configured broker:
the filesystem broker locally, Redis in CI."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from apps.jobs.models import JobStatus
from apps.jobs.services import ping_start
from voucherify_clone.celery import app


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_ping_job(project, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=["interactive"]
        ):
            job = ping_start(project=project)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.is_finished:
                    break
                time.sleep(0.1)
    finally:
        app.conf.task_always_eager = True
    assert job.status == JobStatus.DONE
    assert job.result["pong"] is True
    assert job.result["worker"] != "eager (in process)"
    assert job.duration_ms is not None and job.duration_ms >= 5 * 200
