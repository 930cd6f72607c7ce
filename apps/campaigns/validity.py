"""Voucherify's validity fields, checked for storage: dates, a repeating timeframe, days of the
week and daily hours. Used by campaigns, vouchers and promotion tiers alike."""

import datetime as dt
import re

from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_duration

from apps.core.errors import ApplicationError

FIELDS = (
    "start_date",
    "expiration_date",
    "validity_timeframe",
    "validity_day_of_week",
    "validity_hours",
)
TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _invalid(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, key="invalid_payload", details=field)


def parse_moment(value, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = parse_datetime(str(value).strip())
        except ValueError:
            moment = None
        if moment is None:
            raise _invalid(f"{field} must be a date and time like 2026-12-31T23:59:00Z.", field)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, dt.UTC)


def parse_iso_duration(value, field: str) -> dt.timedelta:
    """ISO 8601 durations as Voucherify uses them: P2D, PT1H, P1DT12H (no months or years)."""
    duration = parse_duration(str(value)) if isinstance(value, str) and value else None
    if duration is None or duration <= dt.timedelta(0) or not str(value).startswith("P"):
        raise _invalid(f"{field} must be an ISO 8601 duration like P30D or PT12H.", field)
    return duration


def clean_validity(data: dict, *, partial: bool = False) -> dict:
    """The validity fields present in `data`, checked (all of them unless `partial`)."""
    result = {}
    for field in FIELDS:
        if partial and field not in data:
            continue
        value = data.get(field)
        if field in ("start_date", "expiration_date"):
            result[field] = parse_moment(value, field)
        elif field == "validity_timeframe":
            result[field] = _timeframe(value)
        elif field == "validity_day_of_week":
            result[field] = _days(value, field)
        else:
            result[field] = _hours(value)
    start, end = result.get("start_date"), result.get("expiration_date")
    if start and end and end <= start:
        raise _invalid("expiration_date must be after start_date.", "expiration_date")
    return result


def _timeframe(value) -> dict | None:
    if not value:
        return None
    if not isinstance(value, dict):
        raise _invalid("validity_timeframe must be {interval, duration}.", "validity_timeframe")
    interval = parse_iso_duration(value.get("interval"), "validity_timeframe.interval")
    duration = parse_iso_duration(value.get("duration"), "validity_timeframe.duration")
    if duration > interval:
        raise _invalid(
            "validity_timeframe.duration cannot be longer than its interval.",
            "validity_timeframe.duration",
        )
    return {"interval": value["interval"], "duration": value["duration"]}


def _days(value, field: str) -> list[int] | None:
    if value in (None, []):
        return None
    if not isinstance(value, list) or not all(
        isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6 for day in value
    ):
        raise _invalid(f"{field} must list days from 0 (Sunday) to 6 (Saturday).", field)
    return sorted(set(value))


def _hours(value) -> dict | None:
    if not value:
        return None
    daily = value.get("daily") if isinstance(value, dict) else None
    if not isinstance(daily, list) or not daily:
        raise _invalid("validity_hours must be {daily: [...]}.", "validity_hours")
    cleaned = []
    for i, entry in enumerate(daily):
        where = f"validity_hours.daily.{i}"
        if not isinstance(entry, dict):
            raise _invalid(f"{where} must be an object.", where)
        start, end = entry.get("start_time"), entry.get("expiration_time")
        if not (isinstance(start, str) and TIME.fullmatch(start)):
            raise _invalid(f"{where}.start_time must be HH:mm.", f"{where}.start_time")
        if not (isinstance(end, str) and TIME.fullmatch(end)):
            raise _invalid(f"{where}.expiration_time must be HH:mm.", f"{where}.expiration_time")
        if end <= start:
            raise _invalid(f"{where}: expiration_time must be after start_time.", where)
        days = _days(entry.get("days_of_week"), f"{where}.days_of_week") or list(range(7))
        cleaned.append({"start_time": start, "expiration_time": end, "days_of_week": days})
    return {"daily": cleaned}
