"""Metadata schema checks: pure functions over plain dicts (no ORM), used on every write.

A schema is Voucherify's shape: `properties` maps a key to its definition, and
`allow_defined_only` refuses keys the schema does not define. A definition:

    {"type": "string" | "number" | "boolean" | "date" | "datetime" | "image_url" | "object",
     "array": false, "optional": true,
     "min_length": int, "max_length": int,      # strings (and image URLs)
     "min": num, "max": num,                    # numbers
     "allowed": [values]}                       # any scalar type

Errors name the key: `metadata.tier: must be one of Gold, Silver (got "Bronze")`.
"""

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

TYPES = ("string", "number", "boolean", "date", "datetime", "image_url", "object")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif")


@dataclass(frozen=True)
class MetadataError:
    key: str
    message: str

    def __str__(self) -> str:
        return f"metadata.{self.key}: {self.message}"


def _describe(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_scalar(kind: str, value: Any, spec: dict) -> str | None:
    """Return a reason if `value` does not fit `kind` and the constraints, else None."""
    if kind == "string":
        if not isinstance(value, str):
            return f"must be text (got {_describe(value)})"
        if "min_length" in spec and len(value) < spec["min_length"]:
            return f"must be at least {spec['min_length']} characters (got {len(value)})"
        if "max_length" in spec and len(value) > spec["max_length"]:
            return f"must be at most {spec['max_length']} characters (got {len(value)})"
    elif kind == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return f"must be a number (got {_describe(value)})"
        if "min" in spec and value < spec["min"]:
            return f"must be at least {spec['min']} (got {value})"
        if "max" in spec and value > spec["max"]:
            return f"must be at most {spec['max']} (got {value})"
    elif kind == "boolean":
        if not isinstance(value, bool):
            return f"must be true or false (got {_describe(value)})"
    elif kind == "date":
        try:
            dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            return f"must be a date like 2026-01-31 (got {_describe(value)})"
    elif kind == "datetime":
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (AttributeError, TypeError, ValueError):
            return f"must be a date and time like 2026-01-31T12:00:00Z (got {_describe(value)})"
        if parsed.tzinfo is None:
            return f"needs a time zone, e.g. 2026-01-31T12:00:00Z (got {_describe(value)})"
    elif kind == "image_url":
        parts = urlsplit(value) if isinstance(value, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
            return f"must be an http(s) URL of an image (got {_describe(value)})"
        if not parts.path.lower().endswith(IMAGE_EXTENSIONS):
            return f"must end with an image extension such as .png or .jpg (got {_describe(value)})"
    elif kind == "object" and not isinstance(value, dict):
        return f"must be an object (got {_describe(value)})"
    allowed = spec.get("allowed")
    if allowed and value not in allowed:
        return f"must be one of {', '.join(map(str, allowed))} (got {_describe(value)})"
    return None


def validate_metadata(
    metadata: Any, properties: dict[str, dict], *, allow_defined_only: bool = False
) -> list[MetadataError]:
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        return [MetadataError("", "metadata must be an object of key/value pairs")]
    errors = []
    for key, spec in properties.items():
        value = metadata.get(key)
        if value is None:
            if not spec.get("optional", True):
                errors.append(MetadataError(key, "is required"))
            continue
        kind = spec.get("type", "string")
        if spec.get("array"):
            if not isinstance(value, list):
                errors.append(MetadataError(key, f"must be a list of {kind} values"))
                continue
            for index, item in enumerate(value):
                reason = _check_scalar(kind, item, spec)
                if reason:
                    errors.append(MetadataError(f"{key}[{index}]", reason))
        else:
            reason = _check_scalar(kind, value, spec)
            if reason:
                errors.append(MetadataError(key, reason))
    if allow_defined_only:
        for key in metadata:
            if key not in properties:
                errors.append(MetadataError(key, "is not defined in the metadata schema"))
    return errors


def coerce_text(kind: str, text: str) -> Any:
    """Turn a CSV/form cell into the schema's type. Raises ValueError with a readable reason.

    Dates and datetimes stay ISO strings (that is how metadata stores them); validate_metadata
    checks them afterwards.
    """
    text = text.strip()
    if kind == "number":
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"“{text}” is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"“{text}” is not a number")
        return number
    if kind == "boolean":
        lowered = text.lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        raise ValueError(f"“{text}” is not true or false")
    if kind == "object":
        import json

        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"“{text[:40]}” is not a JSON object") from None
        if not isinstance(value, dict):
            raise ValueError(f"“{text[:40]}” is not a JSON object")
        return value
    return text
