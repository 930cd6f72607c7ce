"""Segment filters over real customer rows: relative dates and birthdays in the project's zone,
event counts and last occurrences, system metadata, and what is refused (SQLite and PostgreSQL)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from apps.core.conditions import FilterError, compile_filter, uses_time
from apps.customers.models import Customer, CustomEvent
from apps.segments.fields import customer_fields
from tests.customers.factories import CustomerFactory, CustomEventFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
# 00:30 on 10 March 2025 in Berlin is still 9 March in UTC: "today" must be Berlin's.
NOW = dt.datetime(2025, 3, 9, 23, 30, tzinfo=dt.UTC)


def one(field, op, value):
    return {"junction": "and", field: {"conditions": {op: value}}}


def names(project, filter_json, *, now=NOW, zone=BERLIN) -> set[str]:
    q = compile_filter(filter_json, customer_fields(project), now=now, zone=zone)
    return set(Customer.objects.filter(project=project).filter(q).values_list("name", flat=True))


def berlin(day: int, hour: int = 12, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, tzinfo=BERLIN)


@pytest.fixture
def last_orders(project):
    """Customers whose last order was on a given Berlin day (today is 10 March in Berlin)."""
    for name, moment in [
        ("today", berlin(10, 0)),  # 00:00 Berlin = 9 March 23:00 UTC
        ("yesterday", berlin(9, 23)),
        ("3 days ago", berlin(7)),
        ("10 days ago", berlin(0 + 28, month=2)),
        ("in 2 days", berlin(12)),
        ("in 9 days", berlin(19)),
    ]:
        CustomerFactory(project=project, name=name, orders_last_order_date=moment)
    CustomerFactory(project=project, name="never")


@pytest.mark.parametrize(
    "op, days, expected",
    [
        ("$is_days_ago", 0, {"today"}),
        ("$is_days_ago", 1, {"yesterday"}),
        ("$is_days_ago", 3, {"3 days ago"}),
        ("$less_than_ago", 1, {"today"}),
        ("$less_than_ago", 4, {"today", "yesterday", "3 days ago"}),
        ("$less_than_ago", 0, set()),
        ("$more_than_ago", 2, {"3 days ago", "10 days ago"}),
        ("$more_than_ago", 3, {"10 days ago"}),
        ("$is_days_in_future", 2, {"in 2 days"}),
        ("$less_than_future", 3, {"today", "in 2 days"}),
        ("$more_than_future", 2, {"in 9 days"}),
        # Voucherify's date operators: $less_than / $more_than count days ago
        ("$less_than", [2], {"today", "yesterday"}),
        ("$more_than", ["9"], {"10 days ago"}),
    ],
)
def test_relative_days_on_a_datetime_count_calendar_days_in_the_zone(
    project, last_orders, op, days, expected
):
    assert names(project, one("summary.orders.last_order_date", op, days)) == expected


def test_relative_days_on_a_date_column(project):
    CustomerFactory(project=project, name="born yesterday", birthdate=dt.date(2025, 3, 9))
    CustomerFactory(project=project, name="born today", birthdate=dt.date(2025, 3, 10))
    CustomerFactory(project=project, name="no birthdate", birthdate=None)
    assert names(project, one("birthdate", "$is_days_ago", 1)) == {"born yesterday"}
    assert names(project, one("birthdate", "$less_than_ago", 2)) == {"born yesterday", "born today"}
    # in UTC it is still the 9th: the zone decides what "today" is
    assert names(project, one("birthdate", "$is_days_ago", 0), zone=dt.UTC) == {"born yesterday"}


def test_birthdays_ignore_the_year(project):
    CustomerFactory(project=project, name="today", birthdate=dt.date(1980, 3, 10))
    CustomerFactory(project=project, name="march", birthdate=dt.date(1999, 3, 30))
    CustomerFactory(project=project, name="april", birthdate=dt.date(2001, 4, 2))
    CustomerFactory(project=project, name="unknown", birthdate=None)
    assert names(project, one("birthdate", "$today", [True])) == {"today"}
    assert names(project, one("birthdate", "$this_month", True)) == {"today", "march"}
    assert names(project, one("birthdate", "$next_month", [True])) == {"april"}
    december = dt.datetime(2025, 12, 15, tzinfo=dt.UTC)
    CustomerFactory(project=project, name="january", birthdate=dt.date(1970, 1, 5))
    assert names(project, one("birthdate", "$next_month", [True]), now=december) == {"january"}


def test_leap_day_birthdays_are_celebrated_on_28_february_in_other_years(project):
    CustomerFactory(project=project, name="leapling", birthdate=dt.date(2000, 2, 29))
    CustomerFactory(project=project, name="28th", birthdate=dt.date(1990, 2, 28))
    feb_28_2025 = dt.datetime(2025, 2, 28, 12, tzinfo=dt.UTC)
    feb_28_2024 = dt.datetime(2024, 2, 28, 12, tzinfo=dt.UTC)
    assert names(project, one("birthdate", "$today", True), now=feb_28_2025) == {"leapling", "28th"}
    assert names(project, one("birthdate", "$today", True), now=feb_28_2024) == {"28th"}


@pytest.fixture
def shoppers(project):
    """Ann abandoned two carts (last on 8 March), Bob one (on 1 March), Cy none."""
    ann = CustomerFactory(project=project, name="Ann")
    bob = CustomerFactory(project=project, name="Bob")
    CustomerFactory(project=project, name="Cy")
    for customer, day in [(ann, 2), (ann, 8), (bob, 1)]:
        event = CustomEventFactory(customer=customer, name="cart_abandoned")
        CustomEvent.objects.filter(pk=event.pk).update(created_at=berlin(day))
    CustomEventFactory(customer=bob, name="signed_up")
    # another project's events never count
    CustomEventFactory(name="cart_abandoned", customer__name="Ann")


@pytest.mark.parametrize(
    "op, value, expected",
    [
        ("$is", ["1"], {"Bob"}),  # the seed example sends the count as text
        ("$is", 2, {"Ann"}),
        ("$is", 0, {"Cy"}),
        ("$is_not", 1, {"Ann", "Cy"}),
        ("$more_than", 0, {"Ann", "Bob"}),
        ("$less_than", 2, {"Bob", "Cy"}),  # no events counts as zero
        ("$less_than_equal", 1, {"Bob", "Cy"}),
        ("$in", [0, 2], {"Ann", "Cy"}),
        ("$not_in", [0, 2], {"Bob"}),
        ("$has_value", True, {"Ann", "Bob"}),
        ("$is_unknown", True, {"Cy"}),
    ],
)
def test_event_counts(project, shoppers, op, value, expected):
    assert names(project, one("events.cart_abandoned.count", op, value)) == expected


def test_event_last_occurrence(project, shoppers):
    field = "events.cart_abandoned.last_occurrence"
    assert names(project, one(field, "$less_than_ago", 3)) == {"Ann"}  # 8 March
    assert names(project, one(field, "$more_than_ago", 3)) == {"Bob"}  # 1 March
    assert names(project, one(field, "$after", "2025-03-05")) == {"Ann"}
    assert names(project, one(field, "$is_unknown", True)) == {"Cy"}
    # Ann's first event (2 March) does not make her "last" before the 5th
    assert names(project, one(field, "$before", "2025-03-05")) == {"Bob"}


def test_system_metadata_and_referrals(project):
    CustomerFactory(project=project, name="web", system_metadata={"source": "web_widget"})
    CustomerFactory(
        project=project,
        name="widget",
        system_metadata={"source": "api", "web_widget": {"widgets": "general"}},
        loyalty_referred_customers=3,
    )
    CustomerFactory(project=project, name="none")
    assert names(project, one("system_metadata.source", "$is", ["web_widget"])) == {"web"}
    assert names(project, one("system_metadata.web_widget.widgets", "$is", "general")) == {"widget"}
    assert names(project, one("loyalty.referred_customers", "$more_than", [1])) == {"widget"}


@pytest.mark.parametrize(
    "filter_json, message",
    [
        (one("name", "$is_days_ago", 1), "name $is_days_ago: not valid for a string field"),
        (one("created_at", "$today", True), "created_at $today: not valid for a datetime field"),
        (one("birthdate", "$today", False), "birthdate $today: expects true"),
        (one("created_at", "$less_than_ago", -1), "expects a whole number of days"),
        (one("created_at", "$less_than_ago", "soon"), "expects a whole number of days"),
        (one("created_at", "$less_than_ago", True), "expects a whole number of days"),
        (one("events.x.count", "$contains", "1"), "not valid for a number field"),
        (one("events.x.total", "$is", 1), "events.x.total: unknown field"),
        (one("system_metadata.a b", "$is", "x"), "not a system_metadata path"),
    ],
)
def test_invalid_conditions_name_the_field_and_operator(project, filter_json, message):
    with pytest.raises(FilterError, match=message.replace("$", r"\$")):
        compile_filter(filter_json, customer_fields(project), now=NOW, zone=BERLIN)


def test_uses_time_finds_relative_dates_and_birthdays_at_any_depth(project):
    fields = customer_fields(project)
    assert uses_time(one("birthdate", "$this_month", True), fields)
    assert uses_time(one("summary.orders.last_order_date", "$less_than", [30]), fields)
    nested = {"junction": "or", "group_1": one("events.x.last_occurrence", "$is_days_ago", 1)}
    assert uses_time(nested, fields)
    assert not uses_time(one("summary.orders.total_amount", "$less_than", [30]), fields)
    assert not uses_time(one("created_at", "$after", "2024-01-01"), fields)
    assert not uses_time(None, fields)
