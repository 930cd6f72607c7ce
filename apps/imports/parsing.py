"""Reading uploaded files: encoding checks, delimiter sniffing, XLSX conversion, streaming records.

Nothing here touches the database. A file is read in blocks, never whole: the checks at upload
scan it once (C-speed decoding and newline counting), and imports stream it with `csv.reader`.
"""

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

BLOCK = 1 << 20
SAMPLE = 64 * 1024
DELIMITERS = (",", ";", "\t")
UTF8_BOM = codecs.BOM_UTF8
SAVE_AS = "save it as “CSV UTF-8” and upload it again"


class FileProblem(ValueError):
    """The file cannot be read as a table; the message says why and what to do."""


@dataclass
class FileFacts:
    delimiter: str
    header: list[str]
    line_count: int  # physical lines including the header
    size: int


def _line_of(data: bytes, position: int, lines_before: int) -> int:
    return lines_before + data.count(b"\n", 0, position) + 1


def inspect_csv(stream: IO[bytes]) -> FileFacts:
    """Check that a CSV upload is readable UTF-8 text with a header and at least one row.

    Raises FileProblem naming the problem and the line ("the file is not UTF-8: byte 0xE9 on
    line 3; …"). Reads the stream in blocks, so a 100 MB file costs a fraction of a second.
    """
    head = stream.read(4)
    if not head:
        raise FileProblem("The file is empty.")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileProblem(f"The file is UTF-16, not UTF-8; {SAVE_AS}.")
    if head.startswith(b"PK\x03\x04"):
        raise FileProblem("This looks like an Excel/zip file; upload it with the .xlsx extension.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(f"Excel 97-2003 (.xls) files are not supported; {SAVE_AS} or as .xlsx.")
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    sample = bytearray()
    lines_before = 0
    size = 0
    data_after_header = False
    header_end = None  # offset (in the whole file) of the header's newline
    last = b""
    block = head + stream.read(BLOCK - 4)
    while block:
        nul = block.find(b"\x00")
        if nul >= 0:
            raise FileProblem(
                f"The file contains NUL bytes (line {_line_of(block, nul, lines_before)}), "
                f"so it is UTF-16 or not a text file; {SAVE_AS}."
            )
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            line = _line_of(block, exc.start, lines_before)
            raise FileProblem(
                f"The file is not UTF-8: byte 0x{block[exc.start]:02X} on line {line}; {SAVE_AS}."
            ) from None
        if len(sample) < SAMPLE:
            sample += block[: SAMPLE - len(sample)]
        if header_end is None:
            newline = block.find(b"\n")
            if newline >= 0:
                header_end = size + newline
                data_after_header = bool(block[newline + 1 :].strip())
        elif not data_after_header:
            data_after_header = bool(block.strip())
        lines_before += block.count(b"\n")
        size += len(block)
        last = block[-1:]
        block = stream.read(BLOCK)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise FileProblem(
            f"The file is not UTF-8: it ends in the middle of a character; {SAVE_AS}."
        ) from None
    line_count = lines_before + (1 if last not in (b"\n", b"") else 0)
    text = bytes(sample).decode("utf-8", errors="ignore").removeprefix("\ufeff")
    if not text.strip():
        raise FileProblem("The file is empty.")
    delimiter = sniff_delimiter(text)
    header = read_header(text, delimiter)
    if not data_after_header:
        raise FileProblem("The file has a header row but no data rows.")
    return FileFacts(delimiter=delimiter, header=header, line_count=line_count, size=size)


def sniff_delimiter(text: str) -> str:
    """`,`, `;` or tab: whichever the header line has most of (outside quotes)."""
    first = text.split("\n", 1)[0]
    unquoted = "".join(part for i, part in enumerate(first.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_header(text: str, delimiter: str) -> list[str]:
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except (StopIteration, csv.Error) as exc:
        raise FileProblem(f"The header row cannot be read: {exc}") from None
    header = [name.strip() for name in header]
    if not any(header):
        raise FileProblem("The first row must name the columns (source_id, name, …).")
    return header


def open_text(stream: IO[bytes]) -> io.TextIOWrapper:
    """A text view of a stored CSV: BOM dropped, newlines kept for csv (`newline=""`)."""
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")


def iter_records(
    text: io.TextIOBase, *, delimiter: str, numbering: str = "lines"
) -> Iterator[tuple[int, list[str]]]:
    """Yield (line, cells) for every data row after the header.

    `line` is the file's line number where the record starts (header = line 1), so a quoted cell
    with a newline inside keeps the following rows' numbers right. For files converted from
    XLSX, `numbering="records"` gives the spreadsheet's row number instead.
    """
    reader = csv.reader(text, delimiter=delimiter)
    try:
        next(reader)
    except StopIteration:
        return
    previous = reader.line_num
    record = 1
    by_record = numbering == "records"
    try:
        # one try around the loop, not one per row: this runs a million times for big files
        for cells in reader:
            record += 1
            line = record if by_record else previous + 1
            previous = reader.line_num
            yield line, cells
    except csv.Error as exc:
        raise FileProblem(f"Line {previous + 1}: {exc} (is a quote left open?)") from None
    except UnicodeDecodeError:
        raise FileProblem(f"The file is not UTF-8 near line {previous + 1}; {SAVE_AS}.") from None


# --- XLSX -------------------------------------------------------------------------------------


def _xlsx_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def xlsx_to_csv(stream: IO[bytes], out: IO[str], *, max_rows: int) -> None:
    """Write the first worksheet of an XLSX workbook as CSV text (comma-delimited) to `out`.

    Rows keep their spreadsheet numbers (blank rows are written as empty lines), so issues are
    reported by the row number the marketer sees in Excel.
    """
    try:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        raise FileProblem("XLSX support is not installed; upload a CSV file.") from exc
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"The file is not a readable .xlsx workbook ({exc}).") from None
    try:
        sheet = workbook.worksheets[0]
        writer = csv.writer(out, lineterminator="\n")
        width = None
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > max_rows + 1:
                raise FileProblem(f"The workbook has more than {max_rows:,} rows; upload a CSV.")
            cells = [_xlsx_cell(value) for value in row]
            if width is None:
                while cells and not cells[-1]:
                    cells.pop()
                if not cells:
                    raise FileProblem("The first row must name the columns (source_id, name, …).")
                width = len(cells)
            elif len(cells) > width and not any(cells[width:]):
                cells = cells[:width]
            elif len(cells) < width and any(cells):
                cells += [""] * (width - len(cells))
            writer.writerow(cells if any(cells) else [])
        if width is None:
            raise FileProblem("The workbook's first sheet is empty.")
    finally:
        workbook.close()
