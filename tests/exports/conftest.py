import csv
import io

import pytest
from django.core.files.storage import default_storage

from apps.exports.services import export_start
from apps.jobs.models import Job


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def read_export(job: Job) -> list[list[str]]:
    """The rows (header first) of a finished export's file."""
    with default_storage.open(job.result["file"], "rb") as file:
        return list(csv.reader(io.StringIO(file.read().decode("utf-8"), newline="")))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture
def run_export(django_capture_on_commit_callbacks):
    """`run_export(project, kind, filters)` → the finished Job (the task runs after commit)."""

    def run(project, kind="customers", filters=""):
        with django_capture_on_commit_callbacks(execute=True):
            job = export_start(project=project, kind=kind, filters=filters)
        job.refresh_from_db()
        return job

    return run
