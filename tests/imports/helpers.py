from django.core.files.uploadedfile import SimpleUploadedFile

from apps.imports.models import ImportIssue, Phase


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
