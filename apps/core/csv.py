"""CSV safety for exports: a cell must never be read by a spreadsheet as a formula."""

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")


def safe_cell(value: Any) -> Any:
    """Return `value` ready for a CSV cell.

    Text starting with a formula trigger gets a leading apostrophe (OWASP's advice), so
    `=HYPERLINK(...)` from a customer's name stays text in Excel, LibreOffice and Sheets. Numbers,
    booleans and None pass through unchanged, so negative amounts stay numbers.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def safe_row(values) -> list[Any]:
    return [safe_cell(value) for value in values]
