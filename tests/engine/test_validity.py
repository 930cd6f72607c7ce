"""When a code or tier may be used: dates, a repeating timeframe, days of the week and daily hours,
judged in the project's time zone (Europe/Warsaw here, around midnight and the DST changes)."""

import datetime as dt

import pytest

from apps.engine.snapshot import Cart, Redeemable, Request
from apps.engine.validation import validate
from apps.engine.validity import duration, why_not_now

UTC = dt.UTC
WARSAW = "Europe/Warsaw"


def at(text: str) -> dt.datetime:
    """An aware UTC datetime from "2025-06-09 22:30"."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def code(**fields) -> Redeemable:
    return Redeemable(object="voucher", id="CODE", **fields)


START = at("2025-06-01 10:00")
END = at("2025-06-30 10:00")


@pytest.mark.parametrize(
    "now, expected",
    [
        ("2025-06-01 09:59:59", "not_started"),
        ("2025-06-01 10:00", None),  # the start is inside
        ("2025-06-15 00:00", None),
        ("2025-06-30 09:59:59", None),
        ("2025-06-30 10:00", "expired"),  # the expiration is outside
        ("2026-01-01 00:00", "expired"),
    ],
)
def test_start_and_expiration(now, expected):
    item = code(start_date=START, expiration_date=END)
    assert why_not_now(item, at(now), WARSAW) == expected


def test_no_dates_means_always():
    assert why_not_now(code(), at("1999-01-01 00:00")) is None
    assert why_not_now(code(start_date=START), at("2100-01-01 00:00")) is None
    assert why_not_now(code(expiration_date=END), at("1999-01-01 00:00")) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("P2D", dt.timedelta(days=2)),
        ("PT1H", dt.timedelta(hours=1)),
        ("PT30M", dt.timedelta(minutes=30)),
        ("PT45S", dt.timedelta(seconds=45)),
        ("P1W", dt.timedelta(weeks=1)),
        ("P1DT12H", dt.timedelta(days=1, hours=12)),
        ("P1W2DT3H4M5S", dt.timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("P", None),
        ("PT", None),
        ("", None),
        (None, None),
        ("2D", None),
        ("P1Y", None),  # years and months have no fixed length: not accepted
        ("p2d", None),
    ],
)
def test_durations(text, expected):
    assert duration(text) == expected


@pytest.mark.parametrize(
    "now, expected",
    [
        ("2025-06-01 10:00", None),  # the first window opens at the start
        ("2025-06-01 10:59:59", None),
        ("2025-06-01 11:00", "not_now"),  # an hour long
        ("2025-06-02 10:30", "not_now"),
        ("2025-06-03 09:59:59", "not_now"),
        ("2025-06-03 10:00", None),  # every two days
        ("2025-06-03 10:59", None),
        ("2025-06-05 10:15", None),
        ("2025-06-05 11:15", "not_now"),
    ],
)
def test_timeframe_repeats_from_the_start(now, expected):
    frame = {"interval": "P2D", "duration": "PT1H"}
    item = code(start_date=START, validity_timeframe=frame)
    assert why_not_now(item, at(now), "UTC") == expected
    assert why_not_now(item, at(now), WARSAW) == expected  # elapsed time: no zone involved


@pytest.mark.parametrize(
    "frame",
    [{"interval": "P2D"}, {"duration": "PT1H"}, {"interval": "bad", "duration": "PT1H"}, {}],
)
def test_an_incomplete_timeframe_does_not_limit(frame):
    item = code(start_date=START, validity_timeframe=frame)
    assert why_not_now(item, at("2025-06-02 20:00")) is None


def test_a_timeframe_without_a_start_does_not_limit():
    item = code(validity_timeframe={"interval": "P2D", "duration": "PT1H"})
    assert why_not_now(item, at("2025-06-02 20:00")) is None


# 2025-06-08 is a Sunday, 2025-06-09 a Monday. Warsaw is UTC+2 in summer, UTC+1 in winter.
@pytest.mark.parametrize(
    "now, zone, days, expected",
    [
        ("2025-06-08 12:00", "UTC", [0], None),  # Sunday = 0
        ("2025-06-09 12:00", "UTC", [1], None),  # Monday = 1
        ("2025-06-14 12:00", "UTC", [6], None),  # Saturday = 6
        ("2025-06-14 12:00", "UTC", [0, 1, 2, 3, 4, 5], "not_now"),
        # 21:59 UTC on Sunday is 23:59 Sunday in Warsaw; 22:00 UTC is already Monday there
        ("2025-06-08 21:59", WARSAW, [0], None),
        ("2025-06-08 21:59", WARSAW, [1], "not_now"),
        ("2025-06-08 22:00", WARSAW, [1], None),
        ("2025-06-08 22:00", WARSAW, [0], "not_now"),
        ("2025-06-08 22:00", "UTC", [1], "not_now"),
        # in winter the day turns at 23:00 UTC
        ("2025-01-05 22:59", WARSAW, [0], None),  # Sunday 23:59
        ("2025-01-05 23:00", WARSAW, [1], None),  # Monday 00:00
        ("2025-01-05 23:00", WARSAW, [0], "not_now"),
        ("2025-06-08 22:00", "Mars/Olympus", [0], None),  # unknown zone: UTC
    ],
)
def test_days_of_week_in_the_project_time_zone(now, zone, days, expected):
    assert why_not_now(code(validity_day_of_week=days), at(now), zone) == expected


NIGHT_SHIFT = {"daily": [{"start_time": "00:00", "expiration_time": "01:00", "days_of_week": [1]}]}


@pytest.mark.parametrize(
    "now, zone, expected",
    [
        ("2025-06-08 22:00", WARSAW, None),  # Monday 00:00 in Warsaw
        ("2025-06-08 22:59", WARSAW, None),  # Monday 00:59
        ("2025-06-08 23:00", WARSAW, "not_now"),  # Monday 01:00: the end is outside
        ("2025-06-08 21:59", WARSAW, "not_now"),  # Sunday 23:59
        ("2025-06-08 22:30", "UTC", "not_now"),  # Sunday 22:30 in UTC
        ("2025-06-09 00:30", "UTC", None),  # Monday 00:30 in UTC
    ],
)
def test_daily_hours_in_the_project_time_zone(now, zone, expected):
    assert why_not_now(code(validity_hours=NIGHT_SHIFT), at(now), zone) == expected


# DST in 2025: on 30 March at 01:00 UTC Warsaw jumps from 02:00 CET to 03:00 CEST; on 26 October
# at 01:00 UTC it falls back from 03:00 CEST to 02:00 CET.
@pytest.mark.parametrize(
    "now, window, expected",
    [
        ("2025-03-30 00:59", ("02:00", "03:00"), "not_now"),  # 01:59 CET
        ("2025-03-30 01:00", ("02:00", "03:00"), "not_now"),  # 03:00 CEST: 02:xx never happened
        ("2025-03-30 01:00", ("03:00", "04:00"), None),  # 03:00 CEST
        ("2025-03-29 02:00", ("03:00", "04:00"), None),  # the day before: 03:00 CET
        ("2025-03-31 01:00", ("03:00", "04:00"), None),  # the day after: 03:00 CEST
        ("2025-03-31 02:00", ("03:00", "04:00"), "not_now"),  # 04:00 CEST
        ("2025-10-26 00:30", ("02:00", "03:00"), None),  # 02:30 CEST
        ("2025-10-26 01:30", ("02:00", "03:00"), None),  # 02:30 CET, the second time
        ("2025-10-26 02:00", ("02:00", "03:00"), "not_now"),  # 03:00 CET
        ("2025-10-25 23:59", ("02:00", "03:00"), "not_now"),  # 01:59 CEST
    ],
)
def test_daily_hours_across_dst(now, window, expected):
    hours = {"daily": [{"start_time": window[0], "expiration_time": window[1]}]}
    assert why_not_now(code(validity_hours=hours), at(now), WARSAW) == expected


def test_several_windows_and_days():
    hours = {
        "daily": [
            {"start_time": "08:00", "expiration_time": "12:00", "days_of_week": [1, 2, 3, 4, 5]},
            {"start_time": "10:00", "expiration_time": "14:00", "days_of_week": [0, 6]},
            {"start_time": "20:00", "expiration_time": "21:00", "days_of_week": []},  # every day
        ]
    }
    item = code(validity_hours=hours)
    local = {  # Warsaw wall clock -> UTC in June is two hours earlier
        "2025-06-09 07:59": "not_now",  # Monday
        "2025-06-09 08:00": None,
        "2025-06-09 12:30": "not_now",
        "2025-06-08 08:30": "not_now",  # Sunday: only the weekend window
        "2025-06-08 13:59": None,
        "2025-06-14 10:00": None,  # Saturday
        "2025-06-11 20:30": None,  # Wednesday evening window
        "2025-06-08 20:59": None,  # Sunday evening window
        "2025-06-08 21:00": "not_now",
    }
    for wall, expected in local.items():
        now = at(wall) - dt.timedelta(hours=2)
        assert why_not_now(item, now, WARSAW) == expected, wall


def test_days_and_hours_both_apply():
    item = code(
        validity_day_of_week=[1],
        validity_hours={"daily": [{"start_time": "09:00", "expiration_time": "17:00"}]},
    )
    assert why_not_now(item, at("2025-06-09 07:00"), WARSAW) is None  # Monday 09:00
    assert why_not_now(item, at("2025-06-09 15:00"), WARSAW) == "not_now"  # Monday 17:00
    assert why_not_now(item, at("2025-06-10 07:00"), WARSAW) == "not_now"  # Tuesday 09:00


def test_dates_are_judged_before_windows():
    item = code(start_date=START, validity_day_of_week=[3])
    assert why_not_now(item, START - dt.timedelta(days=1), WARSAW) == "not_started"
    item = code(expiration_date=END, validity_day_of_week=[3])
    assert why_not_now(item, END + dt.timedelta(days=1), WARSAW) == "expired"


@pytest.mark.parametrize(
    "fields, now, key",
    [
        ({"start_date": START}, "2025-05-31 12:00", "voucher_not_active"),
        ({"expiration_date": END}, "2025-07-01 12:00", "voucher_expired"),
        ({"validity_day_of_week": [1]}, "2025-06-08 21:59", "voucher_not_active_now"),
        ({"validity_hours": NIGHT_SHIFT}, "2025-06-08 23:00", "voucher_not_active_now"),
        ({"validity_day_of_week": [1]}, "2025-06-08 22:00", ""),
    ],
)
def test_validity_through_validate_uses_the_request_time_zone(fields, now, key):
    redeemable = code(discount={"type": "AMOUNT", "amount_off": 100}, **fields)
    request = Request(
        cart=Cart(amount=1_000), redeemables=(redeemable,), now=at(now), time_zone=WARSAW
    )
    outcome = validate(request)
    (result,) = outcome.results
    assert result.key == key
    assert outcome.valid is (key == "")
