"""Money is an integer number of minor units (cents) everywhere; this module is the edge.

`parse_money("12.50", "USD") == 1250`, `format_money(1250, "USD") == "$12.50"`. The number of minor
units per major unit comes from the currency (JPY has none, BHD has three). Percent-to-cents
rounding belongs to the engine (`apps/engine/amounts.py`), not here.
"""

from decimal import Decimal, InvalidOperation
from functools import cache

from babel.numbers import (
    format_currency,
    get_currency_name,
    get_currency_precision,
    list_currencies,
)

DISPLAY_LOCALE = "en_US"


class MoneyParseError(ValueError):
    pass


@cache
def currency_exponent(currency: str) -> int:
    return get_currency_precision(currency)


@cache
def currency_choices() -> list[tuple[str, str]]:
    codes = sorted(code for code in list_currencies() if len(code) == 3 and code.isalpha())
    return [(code, f"{code} — {get_currency_name(code, locale=DISPLAY_LOCALE)}") for code in codes]


def is_valid_currency(code: str) -> bool:
    return code in dict(currency_choices())


def parse_money(text: str | int | Decimal, currency: str, *, allow_negative: bool = False) -> int:
    """Parse a human amount in major units into minor units, exactly (no float ever)."""
    raw = str(text).strip().replace(",", "").replace("_", "").replace(" ", "")
    if not raw:
        raise MoneyParseError("Enter an amount.")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise MoneyParseError(f"“{text}” is not an amount; use digits like 12.50.") from exc
    if not value.is_finite():
        raise MoneyParseError(f"“{text}” is not an amount; use digits like 12.50.")
    exponent = currency_exponent(currency)
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        places = "no decimal places" if exponent == 0 else f"at most {exponent} decimal places"
        raise MoneyParseError(f"{currency} amounts have {places}; “{text}” has more.")
    if minor < 0 and not allow_negative:
        raise MoneyParseError("The amount cannot be negative.")
    return int(minor)


def to_major(cents: int, currency: str) -> Decimal:
    return Decimal(int(cents)).scaleb(-currency_exponent(currency))


def format_money(cents: int | None, currency: str) -> str:
    if cents is None:
        return ""
    return format_currency(to_major(cents, currency), currency, locale=DISPLAY_LOCALE)


def format_plain(cents: int, currency: str) -> str:
    """Major units without symbol or grouping, e.g. for form initial values: 1250 -> "12.50"."""
    exponent = currency_exponent(currency)
    return f"{to_major(cents, currency):.{exponent}f}"
