"""Is a code or tier usable at this moment? Dates, a repeating timeframe, days of the week and
daily hours, judged in the project's time zone. Pure: `now` is passed in.

    why_not_now(redeemable, now, time_zone) -> None | "not_started" | "expired" | "not_now"
"""

import datetime as dt
import re
import zoneinfo

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


def duration(text: str) -> dt.timedelta | None:
    """ISO 8601 durations as Voucherify uses them (P2D, PT1H, P1W, P1DT12H)."""
    match = _DURATION.fullmatch(text or "")
    if not match or text in ("P", "PT"):
        return None
    parts = {name: int(value) for name, value in match.groupdict().items() if value}
    return dt.timedelta(**parts)


def _local(now: dt.datetime, time_zone: str) -> dt.datetime:
    try:
        return now.astimezone(zoneinfo.ZoneInfo(time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return now.astimezone(dt.UTC)


def _sunday_first(moment: dt.datetime) -> int:
    return (moment.weekday() + 1) % 7  # Voucherify: 0 = Sunday … 6 = Saturday


def why_not_now(item, now: dt.datetime, time_zone: str = "UTC") -> str | None:
    start, end = item.start_date, item.expiration_date
    if start is not None and now < start:
        return "not_started"
    if end is not None and now >= end:
        return "expired"
    local = _local(now, time_zone)
    if item.validity_day_of_week and _sunday_first(local) not in item.validity_day_of_week:
        return "not_now"
    frame = item.validity_timeframe
    if frame and start is not None:
        interval, length = duration(frame.get("interval")), duration(frame.get("duration"))
        if interval and length and (now - start) % interval >= length:
            return "not_now"
    hours = (item.validity_hours or {}).get("daily") or []
    if hours:
        clock = local.strftime("%H:%M")
        day = _sunday_first(local)
        if not any(
            day in (window.get("days_of_week") or range(7))
            and window["start_time"] <= clock < window["expiration_time"]
            for window in hours
        ):
            return "not_now"
    return None
