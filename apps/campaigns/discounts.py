"""Voucherify's Discount object: checked and normalised for storage, and read out in words.

    {"type": "AMOUNT",  "amount_off": 1000, "effect": "APPLY_TO_ORDER"}
    {"type": "PERCENT", "percent_off": 15, "amount_limit": 2000, "effect": "APPLY_TO_ITEMS"}
    {"type": "FIXED",   "fixed_amount": 4999, "effect": "APPLY_TO_ORDER"}
    {"type": "UNIT",    "unit_off": 1, "unit_type": "prod_…", "effect": "ADD_MISSING_ITEMS"}
    {"type": "UNIT",    "units": [{"unit_off": 1, "unit_type": "prod_…", "effect": …}, …]}

Amounts are integer minor units; `percent_off` is a number from 0 to 100.
"""

import math
from typing import Any

from apps.core.errors import ApplicationError
from apps.core.money import format_money

TYPES = ("AMOUNT", "PERCENT", "FIXED", "UNIT")
ORDER_EFFECTS = (
    "APPLY_TO_ORDER",
    "APPLY_TO_ITEMS",
    "APPLY_TO_ITEMS_PROPORTIONALLY",
    "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY",
    "APPLY_TO_ITEMS_BY_QUANTITY",
)
UNIT_EFFECTS = ("ADD_MISSING_ITEMS", "ADD_NEW_ITEMS", "ADD_MANY_ITEMS")
GIFT_EFFECTS = ("APPLY_TO_ORDER", "APPLY_TO_ITEMS")
MAX_AMOUNT = 10**12  # minor units: far above any real discount, far below BIGINT


def _error(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, key="invalid_discount", details=f"discount.{field}")


def _amount(data: dict, field: str, *, required: bool, positive: bool = True) -> int | None:
    value = data.get(field)
    if value is None:
        if required:
            raise _error(f"discount.{field} is required.", field)
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise _error(f"discount.{field} must be a whole number of minor units.", field)
    value = int(value)
    low = 1 if positive else 0
    if not low <= value <= MAX_AMOUNT:
        raise _error(f"discount.{field} must be at least {low}.", field)
    return value


def clean_discount(data: Any) -> dict:
    """A stored Discount, or ApplicationError naming the field."""
    if not isinstance(data, dict):
        raise _error("discount must be an object.", "type")
    kind = data.get("type")
    if kind not in TYPES:
        raise _error(f"discount.type must be one of {', '.join(TYPES)}.", "type")
    result: dict[str, Any] = {"type": kind}
    if kind == "UNIT":
        units = data.get("units")
        if units is not None:
            if not isinstance(units, list) or not 1 <= len(units) <= 30:
                raise _error("discount.units must be a list of 1 to 30 units.", "units")
            result["units"] = [_unit(unit, f"units.{i}") for i, unit in enumerate(units)]
            result["effect"] = "ADD_MANY_ITEMS"
        else:
            result.update(_unit(data, ""))
        return result
    effect = data.get("effect") or "APPLY_TO_ORDER"
    if effect not in ORDER_EFFECTS:
        raise _error(f"discount.effect must be one of {', '.join(ORDER_EFFECTS)}.", "effect")
    result["effect"] = effect
    if kind == "AMOUNT":
        result["amount_off"] = _amount(data, "amount_off", required=True)
    elif kind == "FIXED":
        result["fixed_amount"] = _amount(data, "fixed_amount", required=True, positive=False)
    else:
        percent = data.get("percent_off")
        if (
            isinstance(percent, bool)
            or not isinstance(percent, int | float)
            or not math.isfinite(percent)
            or not 0 < percent <= 100
        ):
            raise _error(
                "discount.percent_off must be a number above 0 and at most 100.", "percent_off"
            )
        result["percent_off"] = int(percent) if percent == int(percent) else float(percent)
        limit = _amount(data, "amount_limit", required=False)
        if limit is not None:
            result["amount_limit"] = limit
    aggregated = _amount(data, "aggregated_amount_limit", required=False)
    if aggregated is not None:
        result["aggregated_amount_limit"] = aggregated
    return result


def _unit(data: Any, where: str) -> dict:
    prefix = f"{where}." if where else ""
    if not isinstance(data, dict):
        raise _error(f"discount.{where} must be an object.", where)
    unit_off = data.get("unit_off")
    if isinstance(unit_off, bool) or not isinstance(unit_off, int) or not 1 <= unit_off <= 1000:
        raise _error(
            f"discount.{prefix}unit_off must be a whole number from 1 to 1000.", f"{prefix}unit_off"
        )
    unit_type = data.get("unit_type") or (data.get("product") or {}).get("id")
    if not isinstance(unit_type, str) or not unit_type.strip():
        raise _error(
            f"discount.{prefix}unit_type must name the product or SKU given.", f"{prefix}unit_type"
        )
    effect = data.get("effect") or "ADD_MISSING_ITEMS"
    if effect not in UNIT_EFFECTS[:2]:
        raise _error(
            f"discount.{prefix}effect must be ADD_MISSING_ITEMS or ADD_NEW_ITEMS.",
            f"{prefix}effect",
        )
    return {"unit_off": unit_off, "unit_type": unit_type.strip(), "effect": effect}


def describe_discount(discount: dict | None, currency: str) -> str:
    """“15% off (up to €20.00)”, “€10.00 off”, “Pay €49.99”, “1 free prod_…”."""
    if not discount:
        return "No discount"
    kind = discount.get("type")
    on_items = discount.get("effect", "APPLY_TO_ORDER") != "APPLY_TO_ORDER"
    where = " on matching items" if on_items and kind != "UNIT" else ""
    if kind == "AMOUNT":
        return f"{format_money(discount.get('amount_off'), currency)} off{where}"
    if kind == "PERCENT":
        limit = discount.get("amount_limit")
        cap = f" (up to {format_money(limit, currency)})" if limit else ""
        return f"{discount.get('percent_off')}% off{where}{cap}"
    if kind == "FIXED":
        return f"Pay {format_money(discount.get('fixed_amount'), currency)}{where}"
    if kind == "UNIT":
        units = discount.get("units") or [discount]
        return ", ".join(f"{u.get('unit_off')} free {u.get('unit_type')}" for u in units)
    return "Unknown discount"
