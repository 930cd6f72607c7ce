"""The dry run's validated batches, kept for the import.

The dry run parses and validates every row (the slow, pure-Python part of an import) and encodes
the valid ones as the writer loads them: ready COPY lines on PostgreSQL, value lists elsewhere.
`StageWriter` keeps each batch exactly as the reader made it (its number, lines, source_ids, the
rows' encoding and the parse's issues) in one file stored beside the upload, through the upload's
storage. The confirmed import then reads those batches back (`staged_batches`) instead of parsing
the file again; everything that depends on the database (`check_batch`, the upsert's
new/updated/unchanged decision, the `ImportBatch` markers) still happens at import time.

The staged rows are trusted only when their fingerprint matches: the same stored file, header,
mapping, delimiter, metadata schema, batch size, writer columns and format version. Otherwise
(no dry run, e.g. the API's `import_unattended`; a lost or truncated file; a schema edited since
the dry run) the import parses the file as before. A batch that cannot be read mid-way switches to
parsing from that batch on: batches have the same boundaries either way (the same reader, the same
batch size), so `ImportBatch` numbers keep their meaning and resumed tasks skip the same ones.

File layout: `MAGIC`, then per batch a 16-byte header (two big-endian lengths), the batch's JSON
description and its rows (COPY lines as they are, or a JSON list), and an empty header at the end.
Only data this code wrote is read back, as JSON (never pickle).
"""

import hashlib
import json
import logging
import struct
import tempfile

from django.core.files import File

from .pipeline import read_batches
from .plans import Batch
from .writers import SqlUpsertWriter

logger = logging.getLogger(__name__)

MAGIC = b"vc-import-staged\n"
FORMAT_VERSION = 1
_HEADER = struct.Struct(">QQ")
_COPY, _JSON = "copy", "json"


class StagedUnusable(Exception):
    """The staged batches cannot be used (missing, truncated, written for other settings)."""


def supports(writer) -> bool:
    """Only the set-based COPY/upsert writer's rows are plain data (orders and vouchers resolve
    objects per row, so they always parse)."""
    return type(writer) is SqlUpsertWriter


def fingerprint(imp, plan, writer, batch_size: int) -> str:
    schema = plan.schema
    facts = {
        "version": FORMAT_VERSION,
        "kind": imp.kind,
        "file": imp.file.name,
        "size": imp.file_size,
        "format": imp.file_format,
        "delimiter": imp.delimiter,
        "lines": imp.line_count,
        "header": imp.header,
        "mapping": imp.mapping,
        "batch_size": batch_size,
        "schema": [schema.properties, schema.allow_defined_only],
        "currency": getattr(imp.project, "currency", ""),
        "columns": writer.stage_columns,
        "encoding": _COPY if writer.copy_lines else _JSON,
    }
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class StageWriter:
    """Collects the dry run's batches, in order, in a local temporary file; `save` stores it."""

    def __init__(self, fingerprint: str):
        self.fingerprint = fingerprint
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by save() or close()
        self.file.write(MAGIC)
        self.batches = 0

    def add(self, batch: Batch) -> None:
        """Keep a batch as the reader made it: call before anything changes it (check_batch)."""
        meta = json.dumps(
            {
                "number": batch.number,
                "first_line": batch.first_line,
                "last_line": batch.last_line,
                "records": batch.records,
                "keys": batch.keys,
                "lines": batch.lines,
                "checks": batch.checks,
                "issues": batch.issues,
                "invalid": sorted(batch.invalid),
                "rows": _COPY if batch.rows and isinstance(batch.rows[0], bytes) else _JSON,
            },
            separators=(",", ":"),
        ).encode()
        if batch.rows and isinstance(batch.rows[0], bytes):
            rows = b"".join(batch.rows)
        else:
            rows = json.dumps(batch.rows, separators=(",", ":")).encode()
        self.file.write(_HEADER.pack(len(meta), len(rows)))
        self.file.write(meta)
        self.file.write(rows)
        self.batches += 1

    def save(self, imp) -> tuple[str, dict]:
        """Store the file beside the upload; returns (name, staged_info)."""
        try:
            self.file.write(_HEADER.pack(0, 0))
            size = self.file.tell()
            self.file.seek(0)
            field = imp._meta.get_field("staged_file")
            name = field.storage.save(field.generate_filename(imp, "staged.bin"), File(self.file))
        finally:
            self.file.close()
        return name, {"fingerprint": self.fingerprint, "size": size, "batches": self.batches}

    def close(self) -> None:
        self.file.close()


def discard(imp, name: str) -> None:
    """Delete stored batches of this import that no row points to any more (a new dry run, a
    new mapping, the import done)."""
    if name:
        try:
            imp.staged_file.storage.delete(name)
        except OSError:
            logger.warning("could not delete %s", name, exc_info=True)


def _read_exactly(handle, size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise StagedUnusable("the staged file is truncated")
    return data


def _batch(meta: dict, rows: bytes) -> Batch:
    batch = Batch(number=meta["number"], first_line=meta["first_line"])
    batch.last_line = meta["last_line"]
    batch.records = meta["records"]
    batch.keys = meta["keys"]
    batch.lines = meta["lines"]
    batch.checks = [tuple(c) if isinstance(c, list) else c for c in meta["checks"]]
    batch.issues = [tuple(issue) for issue in meta["issues"]]
    batch.invalid = set(meta["invalid"])
    if meta["rows"] == _COPY:
        batch.rows = [line + b"\n" for line in rows.split(b"\n")[:-1]] if rows else []
    else:
        batch.rows = [tuple(row) for row in json.loads(rows)]
    if len(batch.rows) != len(batch.keys) or len(batch.lines) != len(batch.keys):
        raise StagedUnusable(f"batch {batch.number} of the staged file does not add up")
    return batch


def open_staged(imp, expected: str):
    """The stored file's handle, positioned after its magic, if it was written for `expected`
    (a fingerprint) and is whole; else StagedUnusable."""
    info = imp.staged_info or {}
    if not imp.staged_file or info.get("fingerprint") != expected:
        raise StagedUnusable("no staged batches for these settings")
    storage = imp.staged_file.storage
    try:
        if storage.size(imp.staged_file.name) != info.get("size"):
            raise StagedUnusable("the staged file's size is not the one written")
        handle = storage.open(imp.staged_file.name, "rb")
    except OSError as exc:
        raise StagedUnusable(f"the staged file cannot be opened: {exc}") from None
    if handle.read(len(MAGIC)) != MAGIC:
        handle.close()
        raise StagedUnusable("the staged file is not one of ours")
    return handle


def iter_staged(handle):
    """Batches from an open staged file, in order."""
    while True:
        meta_size, rows_size = _HEADER.unpack(_read_exactly(handle, _HEADER.size))
        if not meta_size:
            return
        try:
            meta = json.loads(_read_exactly(handle, meta_size))
            rows = _read_exactly(handle, rows_size)
            yield _batch(meta, rows)
        except (ValueError, KeyError, TypeError) as exc:
            raise StagedUnusable(f"the staged file cannot be read: {exc}") from None


def staged_batches(imp, plan, writer, *, batch_size: int, open_records):
    """The import's batches: the dry run's, if usable, else (or from the first unreadable one
    on) parsed from the stored file. `open_records(imp)` → (handle, records)."""
    expected = fingerprint(imp, plan, writer, batch_size)
    next_number = 1
    try:
        handle = open_staged(imp, expected)
    except StagedUnusable as exc:
        logger.info("import %s parses its file: %s", imp.public_id, exc)
    else:
        try:
            for batch in iter_staged(handle):
                if batch.number != next_number:
                    raise StagedUnusable(f"batch {batch.number} came where {next_number} should")
                next_number += 1
                yield batch
            return
        except StagedUnusable as exc:
            logger.warning(
                "import %s parses its file from batch %s on: %s", imp.public_id, next_number, exc
            )
        finally:
            handle.close()
    yield from parsed_batches(
        imp, plan, writer, batch_size=batch_size, open_records=open_records, first=next_number
    )


def parsed_batches(imp, plan, writer, *, batch_size: int, open_records, first: int = 1):
    """Parse and validate the stored file (every row: the duplicate check needs them all), and
    yield the batches numbered `first` and after."""
    handle, records = open_records(imp)
    try:
        for batch in read_batches(records, plan, batch_size=batch_size, encode=writer.encode):
            if batch.number >= first:
                yield batch
    finally:
        handle.close()
