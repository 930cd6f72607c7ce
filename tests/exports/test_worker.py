"""A real Celery worker consuming the bulk queue (not eager) runs an export end to end."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from apps.exports.services import export_start
from apps.jobs.models import JobStatus
from tests.customers.factories import CustomerFactory
from tests.exports.conftest import as_dicts, read_export
from tests.projects.factories import ProjectFactory
from voucherify_clone.celery import app


@pytest.mark.django_db(transaction=True)
def test_a_bulk_worker_runs_the_export(settings):
    project = ProjectFactory()
    CustomerFactory(project=project, source_id="via-worker")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=["bulk"]
        ):
            job = export_start(project=project, kind="customers")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.is_finished:
                    break
                time.sleep(0.1)
    finally:
        app.conf.task_always_eager = True
    assert job.status == JobStatus.DONE, job.error
    assert [row["source_id"] for row in as_dicts(read_export(job))] == ["via-worker"]
