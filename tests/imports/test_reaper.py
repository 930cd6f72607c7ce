import pytest

from apps.imports.models import ImportStatus
from apps.imports.services import imports_reap_stale
from apps.jobs.models import JobStatus
from tests.imports.factories import ImportFactory
from tests.jobs.factories import JobFactory

pytestmark = pytest.mark.django_db


def test_imports_whose_job_died_are_failed(project):
    dead_job = JobFactory(project=project, status=JobStatus.FAILED)
    live_job = JobFactory(project=project, status=JobStatus.IN_PROGRESS)
    dead = ImportFactory(project=project, status=ImportStatus.IMPORTING, job=dead_job)
    live = ImportFactory(project=project, status=ImportStatus.IMPORTING, job=live_job)
    assert imports_reap_stale() == 1
    dead.refresh_from_db()
    live.refresh_from_db()
    assert (dead.status, live.status) == (ImportStatus.FAILED, ImportStatus.IMPORTING)
    assert "start the import again" in dead.error
