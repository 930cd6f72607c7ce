"""Streaming a file through a plan in batches.

A reader thread parses and validates rows (plain Python, no database) and hands finished
batches over a one-slot queue; the calling thread checks and writes them. PostgreSQL works on a
batch while Python prepares the next one, and at most three batches are in memory at once.
"""

import queue
import threading
from collections.abc import Iterable, Iterator

from .plans import Batch, Plan

BATCH_SIZE = 20_000
_END = object()


class ReaderFailed(Exception):
    pass


def read_batches(
    records: Iterable[tuple[int, list[str]]],
    plan: Plan,
    *,
    batch_size: int = BATCH_SIZE,
    encode=None,
) -> Iterator[Batch]:
    """Validate every row; a key (source_id; a voucher's code) seen before is a duplicate
    naming the earlier line.

    `encode` turns a valid row into what the writer loads (e.g. a ready COPY line), here in the
    reader thread, which also keeps a batch small in memory.
    """
    width = plan.width
    encode = encode or (lambda row: row)
    clean = plan.clean
    check_value = plan.check_value
    seen: dict[str, int] = {}
    first_line_of = seen.setdefault
    number = 0
    batch = None
    count = last = 0  # the batch's records and last line, kept in locals (a million rows)
    for line, cells in records:
        if batch is None:
            number += 1
            batch = Batch(number=number, first_line=line)
            add_row, add_key = batch.rows.append, batch.keys.append
            add_line, add_check = batch.lines.append, batch.checks.append
            count = 0
        if len(cells) != width:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            count += 1
            last = line
            batch.invalid.add(line)
            if len(cells) > width:
                extra = ", ".join(cells[width:])[:200]
                message = f"has {len(cells)} cells but the header has {width} (extra: {extra})"
            else:
                message = f"has {len(cells)} cells but the header has {width}"
            batch.issues.append((line, "", message))
        elif not any(cells):
            continue  # a row of empty cells (spreadsheets leave these behind)
        else:
            count += 1
            last = line
            row, problems, source_id = clean(cells)
            if source_id:
                first = first_line_of(source_id, line)
                if first != line:
                    problems.append(plan.duplicate_problem(source_id, first))
                    row = None
            if problems:
                batch.invalid.add(line)
                problems.sort(key=plan.column_position)  # in the file's column order
                batch.issues.extend((line, column, message) for column, message in problems)
            else:
                add_row(encode(row))
                add_key(source_id)
                add_line(line)
                add_check(check_value(cells))
        if count >= batch_size:
            batch.records, batch.last_line = count, last
            yield batch
            batch = None
    if batch is not None and count:
        batch.records, batch.last_line = count, last
        yield batch


def prefetch(batches: Iterator[Batch], *, depth: int = 1) -> Iterator[Batch]:
    """Run the `batches` generator in a thread, `depth` batches ahead of the consumer."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce():
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        slots.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item = _END
        except BaseException as exc:  # handed to the consumer, re-raised there
            item = ReaderFailed(exc)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # a generator's own clean-up (its open file) runs in this thread
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=produce, name="imports-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _END:
                return
            if isinstance(item, ReaderFailed):
                raise item.args[0]
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
