"""Imports: upload → column mapping → dry run (report) → confirm → apply (a Celery job).

The dashboard, the Celery tasks and `bench/import_customers.py` call these functions:

- `import_create(project=, kind=, upload=)` checks the file (UTF-8, header, rows; XLSX converted
  to CSV), stores it under MEDIA_ROOT/imports/<project>/<import>/ and proposes a mapping.
- `import_set_mapping(imp=, mapping=)` then `import_start_dry_run(imp=)`: inline for small files,
  a `bulk.` Celery task with a Job for big ones; both run `import_dry_run`.
- `import_confirm(imp=)` enqueues `import_apply`, which writes valid rows batch by batch. Each
  committed batch leaves an `ImportBatch` row in the same transaction, so a re-delivered task
  skips what is done and nothing is applied twice.
- The dry run keeps its validated, encoded batches beside the upload (`staged`); the import loads
  them instead of parsing the file again, and parses when they cannot be trusted.
"""

import csv
import io
import logging
import tempfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from apps.core.csv import safe_row
from apps.core.errors import ApplicationError
from apps.core.hooks import customers_bulk_changed
from apps.jobs.services import job_create, job_fail, job_finish, job_progress, job_start

from .. import parsing
from ..columns import default_mapping, mapping_errors
from ..models import Import, ImportBatch, ImportIssue, ImportKind, ImportStatus, Phase
from . import staged
from .pipeline import BATCH_SIZE, prefetch
from .plans import plan_for

logger = logging.getLogger(__name__)

WRITER_THREADS = 2
INLINE_DRY_RUN_MAX_LINES = 5_000  # smaller files are checked in the request, bigger ones by Celery
# The duplicate check keeps every source_id of the file in memory (~120 bytes a row), so the cap
# bounds a worker's memory: 200 MB of CSV is about 1.7M customer rows.
MAX_CSV_BYTES = 200 * 1024 * 1024
MAX_XLSX_BYTES = 10 * 1024 * 1024
MAX_XLSX_ROWS = 200_000
CSV_SUFFIXES = (".csv", ".txt", ".tsv", "")
JOB_TYPES = {
    ImportKind.CUSTOMERS: "CUSTOMERS_IMPORT_CSV",
    ImportKind.PRODUCTS: "PRODUCTS_IMPORT_CSV",
    ImportKind.SKUS: "SKUS_IMPORT_CSV",
    ImportKind.ORDERS: "ORDERS_IMPORT_CSV",
    ImportKind.VOUCHERS: "VOUCHERS_IMPORT_CSV",
}
EDITABLE = (ImportStatus.MAPPING, ImportStatus.VALIDATED, ImportStatus.FAILED)
COUNT_KEYS = ("total", "new", "updated", "unchanged", "invalid")

__all__ = [
    "BATCH_SIZE",
    "import_apply",
    "import_confirm",
    "import_create",
    "import_dry_run",
    "import_set_mapping",
    "import_start_dry_run",
    "import_unattended",
]


class _Stopped(Exception):
    """Another delivery of the task owns the import now; stop quietly."""


# --- upload -----------------------------------------------------------------------------------


def _max_bytes() -> int:
    return getattr(settings, "IMPORTS_MAX_FILE_BYTES", MAX_CSV_BYTES)


def import_create(*, project, kind: str, upload, created_by=None) -> Import:
    """Check and store an uploaded CSV/XLSX; the import waits for its column mapping."""
    if kind not in ImportKind.values:
        raise ApplicationError("Choose what the file contains.", details="kind")
    name = Path(upload.name or "upload.csv").name
    suffix = Path(name).suffix.lower()
    size = upload.size or 0
    if size > _max_bytes():
        raise ApplicationError(
            f"The file is {size / 1e6:.0f} MB; the limit is {_max_bytes() / 1e6:.0f} MB.",
            details="file",
        )
    imp = Import(
        project=project, kind=kind, original_name=name[:255], file_size=size, created_by=created_by
    )
    stem = get_valid_filename(Path(name).stem)[:80] or "upload"
    content = upload
    try:
        try:
            if suffix == ".xlsx":
                content = _xlsx_upload(upload, size)
                imp.file_format = "xlsx"
            elif suffix not in CSV_SUFFIXES:
                raise parsing.FileProblem("Upload a .csv file (UTF-8) or an .xlsx workbook.")
            content.seek(0)
            facts = parsing.inspect_csv(content)
        except parsing.FileProblem as exc:
            raise ApplicationError(str(exc), details="file") from None
        content.seek(0)
        imp.delimiter = facts.delimiter
        imp.line_count = facts.line_count
        imp.header = facts.header
        imp.mapping = default_mapping(kind, facts.header)
        imp.file.save(f"{stem}.csv", File(content), save=False)
    finally:
        if content is not upload:
            content.close()
    imp.save()
    return imp


def _xlsx_upload(upload, size: int):
    if size > MAX_XLSX_BYTES:
        raise parsing.FileProblem(
            f"XLSX files can be at most {MAX_XLSX_BYTES // 2**20} MB; save big files as CSV UTF-8."
        )
    upload.seek(0)
    converted = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller, closed with it
    text = io.TextIOWrapper(converted, encoding="utf-8", newline="", write_through=True)
    parsing.xlsx_to_csv(upload, text, max_rows=MAX_XLSX_ROWS)
    text.flush()
    text.detach()
    return converted


# --- mapping and dry run ----------------------------------------------------------------------


def import_set_mapping(*, imp: Import, mapping: list[str]) -> Import:
    if imp.status not in EDITABLE or not imp.file:
        raise ApplicationError("This import can no longer be changed.", key="invalid_import")
    mapping = [str(target or "").strip() for target in mapping]
    errors = mapping_errors(imp.kind, imp.header, mapping)
    if errors:
        raise ApplicationError(" ".join(errors), details="mapping", extra={"errors": errors})
    previous = imp.staged_file.name if mapping != imp.mapping else ""
    imp.mapping = mapping
    if previous:
        imp.staged_file, imp.staged_info = "", {}  # checked with another mapping: parse again
    imp.save(update_fields=["mapping", "staged_file", "staged_info", "updated_at"])
    if previous:
        staged.discard(imp, previous)
    return imp


def import_start_dry_run(*, imp: Import, created_by=None) -> Import:
    """Check every row without writing: in this request for small files, else a bulk task."""
    from ..tasks import import_dry_run_task

    inline = imp.line_count <= INLINE_DRY_RUN_MAX_LINES
    with transaction.atomic():
        previous = (
            Import.objects.filter(pk=imp.pk).values_list("staged_file", flat=True).first() or ""
        )
        started = Import.objects.filter(pk=imp.pk, status__in=EDITABLE).update(
            status=ImportStatus.VALIDATING,
            error="",
            dry_run_counts={},
            staged_file="",
            staged_info={},
            updated_at=timezone.now(),
        )
        if not started:
            raise ApplicationError("This import is already running or done.", key="invalid_import")
        if not inline:
            job = job_create(
                project=imp.project,
                type=f"{JOB_TYPES[imp.kind]}_DRY_RUN",
                created_by=created_by,
                total=max(imp.line_count - 1, 1),
                params={"import_id": imp.public_id},
            )
            Import.objects.filter(pk=imp.pk).update(dry_run_job=job)
            import_dry_run_task.delay_on_commit(imp.pk)
    staged.discard(imp, previous)
    if inline:
        import_dry_run(import_id=imp.pk)
    imp.refresh_from_db()
    return imp


def import_dry_run(*, import_id: int) -> None:
    """The dry run (the task's body): counts new/updated/unchanged/invalid, stores every issue."""
    imp = Import.objects.select_related("project").get(pk=import_id)
    if imp.status != ImportStatus.VALIDATING:
        return
    job_id = imp.dry_run_job_id
    if job_id and not job_start(job_id=job_id):
        return
    imp.staged_file, imp.staged_info = "", {}
    try:
        totals = _run(imp, phase=Phase.DRY_RUN, job_id=job_id)
        rejected = _write_rejected(imp, Phase.DRY_RUN)
    except (parsing.FileProblem, ApplicationError) as exc:
        staged.discard(imp, imp.staged_file.name)
        _fail(imp, str(getattr(exc, "message", exc)), job_id)
        return
    except Exception:
        staged.discard(imp, imp.staged_file.name)
        _fail(imp, "The check stopped because of an unexpected error.", job_id)
        raise
    finished = Import.objects.filter(pk=imp.pk, status=ImportStatus.VALIDATING).update(
        status=ImportStatus.VALIDATED,
        dry_run_counts=totals,
        rejected_file=rejected,
        staged_file=imp.staged_file.name or "",
        staged_info=imp.staged_info,
        updated_at=timezone.now(),
    )
    if not finished:
        staged.discard(imp, imp.staged_file.name)
    if job_id:
        job_finish(job_id=job_id, result=totals)


# --- confirm and apply ------------------------------------------------------------------------


def import_confirm(*, imp: Import, created_by=None) -> Import:
    """Start the import of the checked file's valid rows as a `bulk.` Celery job."""
    from ..tasks import import_apply_task

    counts = imp.dry_run_counts or {}
    if imp.status == ImportStatus.VALIDATED and counts.get("total", 0) <= counts.get("invalid", 0):
        raise ApplicationError(
            "No row of this file is valid; fix the file and upload it again.",
            key="invalid_import",
        )
    with transaction.atomic():
        confirmed = Import.objects.filter(pk=imp.pk, status=ImportStatus.VALIDATED).update(
            status=ImportStatus.IMPORTING, updated_at=timezone.now()
        )
        if not confirmed:
            raise ApplicationError(
                "This import is not waiting for confirmation.", key="invalid_import"
            )
        job = job_create(
            project=imp.project,
            type=JOB_TYPES[imp.kind],
            created_by=created_by,
            total=counts.get("total") or None,
            params={"import_id": imp.public_id, "batch_size": BATCH_SIZE},
        )
        Import.objects.filter(pk=imp.pk).update(job=job)
        import_apply_task.delay_on_commit(imp.pk)
    imp.refresh_from_db()
    return imp


def import_unattended(*, project, kind: str, upload, created_by=None) -> Import:
    """The API's one-call import: the file checked and stored, its columns mapped by their
    headers, and the apply job started at once; rows that fail are recorded as issues of the
    import (the async action's result counts them) instead of a dry run stopping everything."""
    imp = import_create(project=project, kind=kind, upload=upload, created_by=created_by)
    errors = mapping_errors(imp.kind, imp.header, imp.mapping)
    if errors:
        raise ApplicationError(" ".join(errors), details="mapping", extra={"errors": errors})
    # no dry run: the rows are counted as they are applied (the header line is not a row)
    rows = max(imp.line_count - 1, 0)
    Import.objects.filter(pk=imp.pk, status=ImportStatus.MAPPING).update(
        status=ImportStatus.VALIDATED,
        dry_run_counts={"total": rows, "invalid": 0},
        updated_at=timezone.now(),
    )
    imp.refresh_from_db()
    return import_confirm(imp=imp, created_by=created_by)


def import_apply(*, import_id: int, batch_size: int | None = None) -> None:
    """Apply the valid rows (the task's body). Idempotent and resumable: batches already
    committed (an `ImportBatch` row each) are read again but not written again."""
    imp = Import.objects.select_related("project", "job").get(pk=import_id)
    if imp.status != ImportStatus.IMPORTING:
        return
    job_id = imp.job_id
    if job_id and not job_start(job_id=job_id):
        return
    if batch_size is None:
        batch_size = (imp.job.params.get("batch_size") if imp.job else None) or BATCH_SIZE
    try:
        totals = _run(imp, phase=Phase.APPLY, job_id=job_id, batch_size=batch_size)
        rejected = _write_rejected(imp, Phase.APPLY)
    except _Stopped:
        return
    except (parsing.FileProblem, ApplicationError) as exc:
        _fail(imp, str(getattr(exc, "message", exc)), job_id)
        return
    except (OperationalError, InterfaceError):
        raise  # the database went away: the task retries and resumes after the last batch
    except Exception:
        _fail(imp, "The import stopped because of an unexpected error.", job_id)
        raise
    done = Import.objects.filter(pk=imp.pk, status=ImportStatus.IMPORTING).update(
        status=ImportStatus.DONE,
        result_counts=totals,
        rejected_file=rejected,
        staged_file="",
        staged_info={},
        updated_at=timezone.now(),
    )
    if done:
        staged.discard(imp, imp.staged_file.name)  # the staged batches have served
    if job_id:
        job_finish(job_id=job_id, result=totals)
    if imp.kind in (ImportKind.CUSTOMERS, ImportKind.ORDERS) and (
        totals.get("new") or totals.get("updated")
    ):
        customers_bulk_changed(imp.project_id)  # segments recompute once, not per row


# --- the shared loop --------------------------------------------------------------------------


def _fail(imp: Import, message: str, job_id: int | None) -> None:
    Import.objects.filter(pk=imp.pk).update(
        status=ImportStatus.FAILED, error=message[:5000], updated_at=timezone.now()
    )
    if job_id:
        job_fail(job_id=job_id, error=message)


def open_records(imp: Import):
    """(handle, records) for the stored file; the caller closes the handle."""
    handle = imp.file.storage.open(imp.file.name, "rb")
    raw = getattr(handle, "file", handle)
    text = parsing.open_text(raw)
    numbering = "records" if imp.file_format == "xlsx" else "lines"
    return handle, parsing.iter_records(text, delimiter=imp.delimiter, numbering=numbering)


def _writer_threads(lines: int, batch_size: int) -> int:
    """Parallel writer connections: PostgreSQL spends most of an import maintaining the table's
    indexes on one core, so a second connection writing another batch uses the other core.
    Only for files of several batches, and only outside a transaction (never inside a caller's
    atomic block or a test's)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block or lines <= batch_size:
        return 1
    return max(1, getattr(settings, "IMPORTS_WRITER_THREADS", WRITER_THREADS))


def _in_own_connection(work, *args):
    try:
        return work(*args)
    finally:
        connection.close()  # this thread's connection; the pool thread may idle for a while


def _run(imp: Import, *, phase: str, job_id: int | None, batch_size: int | None = None) -> dict:
    batch_size = batch_size or BATCH_SIZE
    plan = plan_for(imp)
    writer = plan.make_writer()
    totals = dict.fromkeys(COUNT_KEYS, 0)
    if phase == Phase.DRY_RUN:
        ImportIssue.objects.filter(import_run=imp, phase=Phase.DRY_RUN).delete()
        work = partial(_dry_run_batch, imp, plan, writer)
    else:
        work = partial(_apply_batch, imp, plan, writer)

    def add(counts: dict) -> None:
        for key in COUNT_KEYS:
            totals[key] += counts[key]
        if job_id:
            job_progress(job_id=job_id, processed=totals["total"])

    threads = _writer_threads(imp.line_count, batch_size)
    keep = None
    if phase == Phase.DRY_RUN:
        source = staged.parsed_batches(
            imp, plan, writer, batch_size=batch_size, open_records=open_records
        )
        if staged.supports(writer):
            keep = staged.StageWriter(staged.fingerprint(imp, plan, writer, batch_size))
    elif staged.supports(writer):
        source = staged.staged_batches(
            imp, plan, writer, batch_size=batch_size, open_records=open_records
        )
    else:
        source = staged.parsed_batches(
            imp, plan, writer, batch_size=batch_size, open_records=open_records
        )
    batches = prefetch(source)
    if keep is not None:
        batches = _kept(batches, keep)
    try:
        if threads == 1:
            for batch in batches:
                add(work(batch))
        else:
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="imports") as pool:
                running: set = set()
                try:
                    for batch in batches:
                        if len(running) >= threads:
                            finished, running = wait(running, return_when=FIRST_COMPLETED)
                            for future in finished:
                                add(future.result())
                        running.add(pool.submit(_in_own_connection, work, batch))
                    for future in running:
                        add(future.result())
                except BaseException:
                    for future in running:
                        future.cancel()
                    raise
    except BaseException:
        if keep is not None:
            keep.close()
        raise
    finally:
        batches.close()
    if not totals["total"]:
        if keep is not None:
            keep.close()
        raise parsing.FileProblem("The file has a header row but no data rows.")
    if keep is not None:
        imp.staged_file.name, imp.staged_info = keep.save(imp)
    return totals


def _kept(batches, keep):
    """Pass the batches on, each written to the dry run's staged file first (in order, before a
    writer thread's check_batch changes it)."""
    try:
        for batch in batches:
            keep.add(batch)
            yield batch
    finally:
        batches.close()


def _issues(imp: Import, phase: str, batch, problems) -> list[ImportIssue]:
    for line, column, message in problems:
        batch.invalid.add(line)
        batch.issues.append((line, column, message))
    return [
        ImportIssue(import_run=imp, phase=phase, line=line, column=column[:255], message=message)
        for line, column, message in batch.issues
    ]


def _counts(batch, counts: dict) -> dict:
    return {**counts, "total": batch.records, "invalid": len(batch.invalid)}


def _dry_run_batch(imp: Import, plan, writer, batch) -> dict:
    plan.check_batch(batch)
    counts, problems = writer.dry_run(batch)
    ImportIssue.objects.bulk_create(_issues(imp, Phase.DRY_RUN, batch, problems), batch_size=2000)
    return _counts(batch, counts)


def _batch_counts(done: ImportBatch) -> dict:
    return {
        "total": done.records,
        "new": done.new,
        "updated": done.updated,
        "unchanged": done.unchanged,
        "invalid": done.invalid,
    }


def _apply_batch(imp: Import, plan, writer, batch) -> dict:
    done = ImportBatch.objects.filter(import_run=imp, number=batch.number).first()
    if done is not None:
        return _batch_counts(done)
    if not Import.objects.filter(pk=imp.pk, status=ImportStatus.IMPORTING).exists():
        raise _Stopped
    try:
        with transaction.atomic():
            # Claim the batch first: a duplicate delivery of the task working on the same batch
            # waits on this unique row, then fails here and skips the batch.
            marker = ImportBatch.objects.create(
                import_run=imp,
                number=batch.number,
                first_line=batch.first_line,
                last_line=batch.last_line,
                records=batch.records,
            )
            plan.check_batch(batch)
            counts, problems = writer.apply(batch, now=timezone.now())
            ImportIssue.objects.bulk_create(
                _issues(imp, Phase.APPLY, batch, problems), batch_size=2000
            )
            counts = _counts(batch, counts)
            ImportBatch.objects.filter(pk=marker.pk).update(
                new=counts["new"],
                updated=counts["updated"],
                unchanged=counts["unchanged"],
                invalid=counts["invalid"],
            )
    except IntegrityError:
        done = ImportBatch.objects.filter(import_run=imp, number=batch.number).first()
        if done is None:
            raise
        return _batch_counts(done)
    return counts


# --- rejected rows ----------------------------------------------------------------------------


def _grouped_issues(imp: Import, phase: str):
    """(line, "column: reason; …") in line order, streamed from the database."""
    rows = (
        ImportIssue.objects.filter(import_run=imp, phase=phase)
        .order_by("line", "id")
        .values_list("line", "column", "message")
        .iterator(chunk_size=5000)
    )
    current, parts = None, []
    for line, column, message in rows:
        if line != current and parts:
            yield current, "; ".join(parts)
            parts = []
        current = line
        parts.append(f"{column}: {message}" if column else message)
    if parts:
        yield current, "; ".join(parts)


def _write_rejected(imp: Import, phase: str) -> str:
    """Write the rejected rows (original columns + `error`, cells escaped against formulas) next
    to the upload. Returns the stored file's name, or "" when every row was valid."""
    storage = imp.rejected_file.storage
    if imp.rejected_file:
        storage.delete(imp.rejected_file.name)
    issues = _grouped_issues(imp, phase)
    pending = next(issues, None)
    if pending is None:
        return ""
    width = len(imp.header)
    with tempfile.TemporaryFile() as out:
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(safe_row([*imp.header, "error"]))
        handle, records = open_records(imp)
        try:
            for line, cells in records:
                while pending is not None and pending[0] < line:
                    pending = next(issues, None)  # an issue without a row of its own
                if pending is None:
                    break
                if pending[0] == line:
                    padded = (cells + [""] * width)[:width]
                    writer.writerow(safe_row([*padded, pending[1]]))
                    pending = next(issues, None)
        finally:
            handle.close()
        text.flush()
        text.detach()
        out.seek(0)
        name = imp._meta.get_field("rejected_file").generate_filename(imp, "rejected.csv")
        return storage.save(name, File(out))


def imports_reap_stale() -> int:
    """Fail imports whose job the jobs reaper failed (its worker died), so the page stops
    showing them as running. Beat runs this after `jobs.reap_stale`."""
    from apps.jobs.models import JobStatus

    running = Import.objects.filter(status__in=[ImportStatus.VALIDATING, ImportStatus.IMPORTING])
    dead = running.filter(job__status=JobStatus.FAILED) | running.filter(
        dry_run_job__status=JobStatus.FAILED, status=ImportStatus.VALIDATING
    )
    return Import.objects.filter(pk__in=dead.values("pk")).update(
        status=ImportStatus.FAILED, error="The worker stopped; start the import again."
    )
