import datetime as dt

import pytest

from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.customers.services import customer_update, customer_upsert
from apps.metadata.services import metadata_schema_save
from apps.orders.services import order_upsert
from apps.segments import usage
from apps.segments.models import Segment, SegmentEvent, SegmentMember, SegmentSize, SyncStatus
from apps.segments.services import (
    segment_add_members,
    segment_create,
    segment_delete,
    segment_recompute,
    segment_remove_members,
    segment_update,
    segments_evaluate_customers,
    segments_recompute_time_based,
)
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BERLIN = {"junction": "and", "address.city": {"conditions": {"$is": "Berlin"}}}


def members(segment) -> set[str]:
    return set(
        SegmentMember.objects.filter(segment=segment).values_list("customer__source_id", flat=True)
    )


def events(segment) -> list[tuple[str, str]]:
    return sorted(
        SegmentEvent.objects.filter(segment=segment).values_list("type", "customer__source_id")
    )


def test_auto_update_segment_is_computed_after_commit_with_entered_events(
    project, django_capture_on_commit_callbacks
):
    CustomerFactory(project=project, source_id="a", address_city="Berlin")
    CustomerFactory(project=project, source_id="b", address_city="Paris")
    CustomerFactory(source_id="other-project", address_city="Berlin")
    with django_capture_on_commit_callbacks(execute=True):
        segment = segment_create(project=project, name="Berlin", type="auto-update", filter=BERLIN)
    segment.refresh_from_db()
    assert members(segment) == {"a"}
    assert (segment.size, segment.initial_sync_status) == (1, SyncStatus.DONE)
    assert events(segment) == [("customer.segment.entered", "a")]


def test_recompute_diff_is_exact(project):
    a = CustomerFactory(project=project, source_id="a", address_city="Berlin")
    b = CustomerFactory(project=project, source_id="b", address_city="Berlin")
    c = CustomerFactory(project=project, source_id="c", address_city="Paris")
    segment = Segment.objects.create(project=project, name="B", type="auto-update", filter=BERLIN)
    assert segment_recompute(segment_id=segment.pk) == {"entered": 2, "left": 0}
    # given a moves out and c moves in, behind the segment's back
    type(a).objects.filter(pk=a.pk).update(address_city="Rome")
    type(c).objects.filter(pk=c.pk).update(address_city="Berlin")
    assert segment_recompute(segment_id=segment.pk) == {"entered": 1, "left": 1}
    assert members(segment) == {"b", "c"}
    assert events(segment) == [
        ("customer.segment.entered", "a"),
        ("customer.segment.entered", "b"),
        ("customer.segment.entered", "c"),
        ("customer.segment.left", "a"),
    ]
    # and a recompute with no change changes nothing
    assert segment_recompute(segment_id=segment.pk) == {"entered": 0, "left": 0}
    assert b.pk in SegmentMember.objects.filter(segment=segment).values_list(
        "customer_id", flat=True
    )


def test_passive_segments_emit_no_events(project):
    CustomerFactory(project=project, source_id="a", address_city="Berlin")
    segment = Segment.objects.create(project=project, name="P", type="passive", filter=BERLIN)
    segment_recompute(segment_id=segment.pk)
    assert members(segment) == {"a"} and events(segment) == []


def test_changed_customers_are_reevaluated_after_commit(
    project, django_capture_on_commit_callbacks
):
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"visits": {"type": "number"}},
        allow_defined_only=False,
    )
    spenders = Segment.objects.create(
        project=project,
        name="Spenders",
        type="auto-update",
        filter={"summary.orders.total_amount": {"conditions": {"$more_than": [40000]}}},
    )
    regulars = Segment.objects.create(
        project=project,
        name="Regulars",
        type="auto-update",
        filter={"metadata.visits": {"conditions": {"$more_than_equal": [10]}}},
    )
    with django_capture_on_commit_callbacks(execute=True):
        customer, _ = customer_upsert(
            project=project, source_id="x", data={"metadata": {"visits": 12}}
        )
    assert members(regulars) == {"x"} and members(spenders) == set()
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(
            project=project,
            payload={
                "source_id": "o1",
                "status": "PAID",
                "amount": 50000,
                "customer": {"source_id": "x"},
            },
        )
    assert members(spenders) == {"x"}
    with django_capture_on_commit_callbacks(execute=True):
        customer_update(customer=customer, data={"metadata": {"visits": 2}})
    assert members(regulars) == set()
    assert events(regulars) == [("customer.segment.entered", "x"), ("customer.segment.left", "x")]
    assert Segment.objects.get(pk=regulars.pk).size == 0


def test_orders_reevaluate_segments_only_when_a_segment_reads_summaries(
    project, django_capture_on_commit_callbacks
):
    """An order changes only its customer's summary: segments are re-evaluated for it when some
    filter reads a summary, and not at all otherwise (nothing a metadata filter reads moved)."""
    gold = segment_create(
        project=project,
        name="Gold",
        type="auto-update",
        filter={"metadata.tier": {"conditions": {"$is": "Gold"}}},
    )
    customer = CustomerFactory(project=project, source_id="x", metadata={})
    # the tier changes behind the services' back: only a re-evaluation would notice it
    Customer.objects.filter(pk=customer.pk).update(metadata={"tier": "Gold"})
    paid = {"status": "PAID", "amount": 50000, "customer": {"source_id": "x"}}
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(project=project, payload={**paid, "source_id": "o1"})
    assert members(gold) == set()

    with django_capture_on_commit_callbacks(execute=True):
        spenders = segment_create(
            project=project,
            name="Spenders",
            type="auto-update",
            filter={"summary.orders.total_amount": {"conditions": {"$more_than": [90000]}}},
        )
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(project=project, payload={**paid, "source_id": "o2"})
    assert members(spenders) == {"x"}
    assert members(gold) == {"x"}  # re-evaluated with every filter segment


def test_evaluating_customers_answers_all_segments_in_one_query(
    project, django_assert_max_num_queries
):
    for i in range(20):
        Segment.objects.create(
            project=project,
            name=f"S{i}",
            type="auto-update",
            filter={"address.city": {"conditions": {"$is": f"City{i}"}}},
        )
    customer = CustomerFactory(project=project, address_city="City3")
    with django_assert_max_num_queries(12):
        result = segments_evaluate_customers(project_id=project.pk, customer_ids=[customer.pk])
    assert result == {"entered": 1, "left": 0}


def test_static_segment_members_by_id_or_source_id(project):
    a = CustomerFactory(project=project, source_id="a")
    CustomerFactory(project=project, source_id="b")
    foreign = CustomerFactory(source_id="c")
    segment = segment_create(
        project=project,
        name="VIP",
        type="static",
        customer_ids=[a.public_id, "b", foreign.public_id],
    )
    assert members(segment) == {"a", "b"}
    assert segment_add_members(segment=segment, refs=["b", "zzz"]) == ["zzz"]
    segment.refresh_from_db()
    assert segment.size == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"type": "auto-update", "filter": {"shoe_size": {"conditions": {"$is": "9"}}}},
            "shoe_size: unknown field",
        ),
        (
            {
                "type": "auto-update",
                "filter": {"address.city": {"conditions": {"$more_than": [1]}}},
            },
            "not valid for a string",
        ),
        ({"type": "auto-update", "filter": None}, "needs a filter"),
        ({"type": "static", "filter": BERLIN}, "members, not a filter"),
        ({"type": "dynamic"}, "type must be one of"),
    ],
)
def test_invalid_segments_are_refused(project, kwargs, message):
    with pytest.raises(ApplicationError, match=message):
        segment_create(project=project, name="Bad", **kwargs)
    assert not Segment.objects.exists()


def test_duplicate_names_are_refused(project):
    segment_create(project=project, name="Dup", type="static")
    with pytest.raises(ApplicationError, match="exists"):
        segment_create(project=project, name="Dup", type="static")


def test_customer_page_lists_the_customers_segments(owner_client, project):
    from django.urls import reverse

    customer = CustomerFactory(project=project, source_id="a")
    segment = segment_create(project=project, name="VIP list", type="static", customer_ids=["a"])
    response = owner_client.get(reverse("customers:detail", args=[customer.public_id]))
    assert b"VIP list" in response.content
    assert Segment.objects.get(pk=segment.pk).size == 1


def test_editing_the_filter_recomputes_with_exact_events(
    project, django_capture_on_commit_callbacks
):
    CustomerFactory(project=project, source_id="a", address_city="Berlin")
    CustomerFactory(project=project, source_id="b", address_city="Paris")
    with django_capture_on_commit_callbacks(execute=True):
        segment = segment_create(project=project, name="City", type="auto-update", filter=BERLIN)
    paris = {"junction": "and", "address.city": {"conditions": {"$is": ["Paris"]}}}
    with django_capture_on_commit_callbacks(execute=True):
        segment_update(segment=segment, name="Paris", filter=paris)
    segment.refresh_from_db()
    assert (segment.name, segment.filter, segment.size) == ("Paris", paris, 1)
    assert members(segment) == {"b"}
    assert events(segment) == [
        ("customer.segment.entered", "a"),
        ("customer.segment.entered", "b"),
        ("customer.segment.left", "a"),
    ]
    # renaming alone computes nothing
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        segment_update(segment=segment, name="Paris shoppers", filter=paris)
    assert callbacks == []


def test_a_static_segment_takes_no_filter_and_names_stay_unique(project):
    static = segment_create(project=project, name="VIP", type="static")
    segment_create(project=project, name="Other", type="static")
    with pytest.raises(ApplicationError, match="has members, not a filter"):
        segment_update(segment=static, filter=BERLIN)
    with pytest.raises(ApplicationError, match="exists"):
        segment_update(segment=static, name="Other")
    assert segment_update(segment=static, name=" VIP 2 ").name == "VIP 2"


def test_a_segment_in_use_cannot_be_deleted(project, monkeypatch):
    segment = segment_create(project=project, name="VIP", type="static")
    monkeypatch.setattr(
        usage,
        "_checks",
        [lambda s: ["validation rule “Only VIPs”"] if s.pk == segment.pk else []],
    )
    with pytest.raises(ApplicationError, match="in use by validation rule “Only VIPs”") as error:
        segment_delete(segment=segment)
    assert error.value.code == 409
    assert Segment.objects.filter(pk=segment.pk).exists()
    monkeypatch.setattr(usage, "_checks", [])
    segment_delete(segment=segment)
    assert not Segment.objects.filter(pk=segment.pk).exists()


def test_removing_members_of_a_static_segment_keeps_the_size_exact(project):
    a, b = CustomerFactory(project=project), CustomerFactory(project=project)
    segment = segment_create(
        project=project, name="VIP", type="static", customer_ids=[a.source_id, b.public_id]
    )
    assert segment_remove_members(segment=segment, customer_ids=[a.pk, a.pk, 999999]) == 1
    segment.refresh_from_db()
    assert segment.size == 1 and members(segment) == {b.source_id}


def test_date_based_segments_are_recomputed_once_a_day_in_the_projects_zone(
    project, django_capture_on_commit_callbacks
):
    project.time_zone = "Europe/Berlin"
    project.save()
    march = CustomerFactory(project=project, source_id="march", birthdate=dt.date(1990, 3, 31))
    april = CustomerFactory(project=project, source_id="april", birthdate=dt.date(1990, 4, 1))
    birthdays = {"junction": "and", "birthdate": {"conditions": {"$this_month": [True]}}}
    segment = Segment.objects.create(
        project=project, name="Birthdays", type="auto-update", filter=birthdays, uses_time=True
    )
    Segment.objects.create(project=project, name="Berlin", type="auto-update", filter=BERLIN)
    # 31 March 12:00 UTC: March in Berlin
    day_one = dt.datetime(2025, 3, 31, 12, tzinfo=dt.UTC)
    segment_recompute(segment_id=segment.pk, now=day_one)
    assert members(segment) == {march.source_id}
    # later the same Berlin day: nothing to do
    assert segments_recompute_time_based(now=day_one + dt.timedelta(hours=9)) == 0
    # 31 March 22:30 UTC is 1 April in Berlin: a new day, a new month
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = segments_recompute_time_based(now=dt.datetime(2025, 3, 31, 22, 30, tzinfo=dt.UTC))
    assert started == 1 and len(callbacks) == 1  # only the date-based segment
    segment_recompute(segment_id=segment.pk, now=dt.datetime(2025, 3, 31, 22, 30, tzinfo=dt.UTC))
    assert members(segment) == {april.source_id}
    assert events(segment)[-1] == ("customer.segment.left", "march")


def test_create_and_update_record_whether_the_filter_uses_the_date(project):
    plain = segment_create(project=project, name="Berlin", type="auto-update", filter=BERLIN)
    assert plain.uses_time is False
    recent = {"junction": "and", "created_at": {"conditions": {"$less_than_ago": [30]}}}
    segment_update(segment=plain, filter=recent)
    plain.refresh_from_db()
    assert plain.uses_time is True


def test_the_size_chart_keeps_one_point_per_day(project):
    a = CustomerFactory(project=project, source_id="a", address_city="Berlin")
    CustomerFactory(project=project, source_id="b", address_city="Berlin")
    segment = Segment.objects.create(project=project, name="B", type="auto-update", filter=BERLIN)
    monday = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
    segment_recompute(segment_id=segment.pk, now=monday)
    type(a).objects.filter(pk=a.pk).update(address_city="Rome")
    segment_recompute(segment_id=segment.pk, now=monday + dt.timedelta(hours=2))
    segment_recompute(segment_id=segment.pk, now=monday + dt.timedelta(days=1))
    assert list(SegmentSize.objects.filter(segment=segment).values_list("day", "size")) == [
        (dt.date(2025, 3, 3), 1),
        (dt.date(2025, 3, 4), 1),
    ]


def test_reevaluation_follows_a_changed_filter_and_schema(project):
    # the compiled flags query is cached: a new filter or metadata type must not reuse it
    customer = CustomerFactory(project=project, address_city="Berlin", metadata={"age": 30})
    segment = Segment.objects.create(project=project, name="B", type="passive", filter=BERLIN)
    assert segments_evaluate_customers(project_id=project.pk, customer_ids=[customer.pk]) == {
        "entered": 1,
        "left": 0,
    }
    paris = {"junction": "and", "address.city": {"conditions": {"$is": ["Paris"]}}}
    Segment.objects.filter(pk=segment.pk).update(filter=paris)
    assert segments_evaluate_customers(project_id=project.pk, customer_ids=[customer.pk]) == {
        "entered": 0,
        "left": 1,
    }
    older = {"junction": "and", "metadata.age": {"conditions": {"$more_than": [25]}}}
    Segment.objects.filter(pk=segment.pk).update(filter=older)
    # untyped, metadata.age is text and "$more_than" is refused; typed as a number it matches
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"age": {"type": "number"}},
        allow_defined_only=False,
    )
    assert segments_evaluate_customers(project_id=project.pk, customer_ids=[customer.pk]) == {
        "entered": 1,
        "left": 0,
    }
