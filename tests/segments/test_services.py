import pytest

from apps.core.errors import ApplicationError
from apps.customers.services import customer_update, customer_upsert
from apps.metadata.services import metadata_schema_save
from apps.orders.services import order_upsert
from apps.segments.models import Segment, SegmentEvent, SegmentMember, SyncStatus
from apps.segments.services import (
    segment_add_members,
    segment_create,
    segment_recompute,
    segments_evaluate_customers,
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
