import contextlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

from apps.imports.models import ImportIssue, Phase
from apps.imports.services.writers import SqlUpsertWriter


def as_upload(data: str | bytes, name: str = "file.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data.encode() if isinstance(data, str) else data)


def issues(imp, phase=Phase.DRY_RUN) -> list[tuple[int, str, str]]:
    """(line, column, message) of every problem the dry run (or the import) found, in order."""
    return list(
        ImportIssue.objects.filter(import_run=imp, phase=phase)
        .order_by("line", "id")
        .values_list("line", "column", "message")
    )


def rejected_text(imp) -> str:
    with imp.rejected_file.open("rb") as handle:
        return handle.read().decode("utf-8-sig")


@contextlib.contextmanager
def worker_dies_on_second_batch():
    """The upsert writer fails like a lost database connection on its second batch, as when a
    worker is killed mid-import; the import task raises OperationalError."""
    real_apply = SqlUpsertWriter.apply
    calls = []

    def dying_apply(self, batch, **kwargs):
        calls.append(batch.number)
        if len(calls) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real_apply(self, batch, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SqlUpsertWriter, "apply", dying_apply)
        with pytest.raises(OperationalError):
            yield
