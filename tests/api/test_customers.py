"""/v1/customers: create/upsert, get, update, delete, erase, list, segments, activity, CSV
import and the bulk async actions. Voucherify's shapes, JSON errors, other projects invisible."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.customers.models import Customer, CustomerErasure
from apps.metadata.services import metadata_schema_save
from apps.orders.models import OrderEvent
from apps.redemptions.models import Redemption
from apps.segments.models import SegmentEvent
from tests.campaigns.factories import CampaignFactory, GiftCardFactory, PublicationFactory
from tests.customers.factories import CustomerFactory, CustomEventFactory
from tests.orders.factories import OrderFactory
from tests.segments.factories import SegmentFactory, SegmentMemberFactory

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def put(client, path, body):
    return client.put(path, body, content_type="application/json")


def error_of(response, status, key):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["key"] == key, body
    return body


# -- create, upsert, update ------------------------------------------------------------------------


def test_create_answers_the_customer_object(api_client):
    response = post(
        api_client,
        "/v1/customers",
        {
            "source_id": "ann",
            "name": "Ann",
            "email": "ANN@example.com",
            "birthdate": "1990-04-01",
            "address": {"city": "Berlin", "country": "DE", "line_1": None},
            "metadata": {"tier": "gold"},
            "phone": None,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "customer" and body["id"].startswith("cust_")
    assert body["email"] == "ann@example.com"
    assert body["birthdate"] == "1990-04-01"
    assert body["address"]["city"] == "Berlin" and body["address"]["line_1"] is None
    assert body["metadata"] == {"tier": "gold"}
    assert body["summary"]["orders"]["total_count"] == 0
    assert body["summary"]["redemptions"]["gift"] == {"redeemed_amount": 0, "amount_to_go": 0}
    assert body["created_at"].endswith("Z")
    assert body["system_metadata"] == {"source": "api"}


def test_create_with_a_known_source_id_updates_that_customer(api_client):
    existing = CustomerFactory(project=api_client.project, source_id="ann", name="Ann")
    response = post(api_client, "/v1/customers", {"source_id": "ann", "email": "a@example.com"})
    assert response.status_code == 200
    assert response.json()["id"] == existing.public_id
    existing.refresh_from_db()
    assert (existing.name, existing.email) == ("Ann", "a@example.com")
    assert Customer.objects.filter(project=api_client.project).count() == 1


def test_create_with_an_id_updates_and_an_unknown_id_is_404(api_client, other_client):
    existing = CustomerFactory(project=api_client.project)
    response = post(api_client, "/v1/customers", {"id": existing.public_id, "name": "New"})
    assert response.json()["name"] == "New"
    error_of(post(other_client, "/v1/customers", {"id": existing.public_id}), 404, "not_found")


def test_create_without_source_id_makes_an_anonymous_customer(api_client):
    body = post(api_client, "/v1/customers", {"name": "Walk-in"}).json()
    assert body["source_id"] is None and body["name"] == "Walk-in"


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({"source_id": "x", "email": "not-an-email"}, "invalid_customer"),
        ({"source_id": "x", "name": 123}, "invalid_customer"),
        ({"source_id": "x", "name": ["Ann"]}, "invalid_customer"),
        ({"source_id": "x", "address": ["Berlin"]}, "invalid_customer"),
        ({"source_id": "x", "birthdate": 19900401}, "invalid_customer"),
        ({"source_id": 42}, "invalid_customer"),
        ({"source_id": "x", "metadata": "gold"}, "metadata_validation_failed"),
    ],
)
def test_create_refuses_wrong_types_with_400(api_client, payload, key):
    error_of(post(api_client, "/v1/customers", payload), 400, key)
    assert not Customer.objects.filter(project=api_client.project).exists()


def test_create_refuses_a_body_that_is_not_an_object(api_client):
    error_of(post(api_client, "/v1/customers", ["ann"]), 400, "invalid_payload")
    response = api_client.post("/v1/customers", "{not json", content_type="application/json")
    error_of(response, 400, "invalid_payload")


def test_metadata_is_checked_against_the_project_schema(api_client):
    metadata_schema_save(
        project=api_client.project,
        resource="customer",
        properties={"age": {"type": "number"}},
        allow_defined_only=True,
    )
    body = error_of(
        post(api_client, "/v1/customers", {"source_id": "x", "metadata": {"age": "old"}}),
        400,
        "metadata_validation_failed",
    )
    assert "metadata.age" in body["details"]
    ok = post(api_client, "/v1/customers", {"source_id": "x", "metadata": {"age": 40}})
    assert ok.status_code == 200


def test_update_changes_fields_and_keeps_source_id(api_client):
    customer = CustomerFactory(project=api_client.project, source_id="ann")
    response = put(
        api_client,
        "/v1/customers/ann",
        {"name": "Ann B", "address": {"city": "Paris"}, "source_id": "ann"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["address"]["city"] == "Paris"
    customer.refresh_from_db()
    assert customer.name == "Ann B"
    error_of(put(api_client, "/v1/customers/ann", {"source_id": "bob"}), 400, "invalid_customer")
    error_of(put(api_client, "/v1/customers/ann", {"email": 5}), 400, "invalid_customer")


def test_get_by_id_or_source_id_and_other_projects_see_nothing(api_client, other_client):
    customer = CustomerFactory(project=api_client.project, source_id="ann")
    GiftCardFactory(campaign__project=api_client.project, holder=customer, gift_balance=2500)
    for ref in (customer.public_id, "ann"):
        body = api_client.get(f"/v1/customers/{ref}").json()
        assert body["id"] == customer.public_id
        assert body["summary"]["redemptions"]["gift"]["amount_to_go"] == 2500
    error_of(api_client.get("/v1/customers/nobody"), 404, "not_found")
    for ref in (customer.public_id, "ann"):
        error_of(other_client.get(f"/v1/customers/{ref}"), 404, "not_found")
        error_of(put(other_client, f"/v1/customers/{ref}", {"name": "X"}), 404, "not_found")
        error_of(other_client.delete(f"/v1/customers/{ref}"), 404, "not_found")
        error_of(other_client.post(f"/v1/customers/{ref}/permanent-deletion"), 404, "not_found")


# -- delete and erase ------------------------------------------------------------------------------


def test_delete_answers_204_and_the_customer_is_gone(api_client):
    customer = CustomerFactory(project=api_client.project, source_id="ann")
    response = api_client.delete("/v1/customers/ann")
    assert response.status_code == 204 and response.content == b""
    assert not Customer.objects.filter(pk=customer.pk).exists()
    error_of(api_client.get(f"/v1/customers/{customer.public_id}"), 404, "not_found")


def test_permanent_deletion_answers_the_deletion_object(api_client):
    customer = CustomerFactory(project=api_client.project)
    CustomEventFactory(customer=customer)
    SegmentMemberFactory(customer=customer, segment__project=api_client.project)
    response = api_client.post(f"/v1/customers/{customer.public_id}/permanent-deletion")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "pernament_deletion" and body["status"] == "DONE"
    assert body["related_object_id"] == customer.public_id
    assert body["data_json"]["events"] == 1 and body["data_json"]["segments"] == 1
    assert CustomerErasure.objects.get(public_id=body["id"]).project == api_client.project
    assert not Customer.objects.filter(pk=customer.pk).exists()


# -- list ------------------------------------------------------------------------------------------


def test_list_filters_pages_and_shows_only_this_project(api_client, other_client):
    project = api_client.project
    now = timezone.now()
    old = CustomerFactory(project=project, source_id="old", address_city="Berlin")
    Customer.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=10))
    ann = CustomerFactory(project=project, source_id="ann", email="ann@x.io", name="Ann")
    CustomerFactory(project=project, source_id="bob", address_city="berlin")
    CustomerFactory(project=other_client.project, source_id="ann")
    segment = SegmentFactory(project=project)
    SegmentMemberFactory(segment=segment, customer=ann)

    def ids(**params):
        response = api_client.get("/v1/customers", params)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["object"] == "list" and body["data_ref"] == "customers"
        return [c["source_id"] for c in body["customers"]], body

    listed, body = ids()
    assert listed == ["bob", "ann", "old"] and body["total"] == 3 and body["has_more"] is False
    assert ids(email="ANN@x.io")[0] == ["ann"]
    assert ids(name="ann")[0] == ["ann"]
    assert sorted(ids(city="BERLIN")[0]) == ["bob", "old"]
    assert ids(segment_id=segment.public_id)[0] == ["ann"]
    after = (now - timedelta(days=1)).isoformat()
    assert sorted(ids(**{"created_at[after]": after})[0]) == ["ann", "bob"]
    assert ids(**{"created_at[before]": after})[0] == ["old"]
    assert ids(order="source_id")[0] == ["ann", "bob", "old"]
    assert ids(order="-source_id", limit=1, page=2)[0] == ["bob"]
    first, body = ids(limit=2)
    assert first == ["bob", "ann"] and body["has_more"] is True and body["total"] == 3
    ann.refresh_from_db()
    assert ids(starting_after=ann.created_at.isoformat())[0] == ["old"]

    other = other_client.get("/v1/customers").json()
    assert [c["source_id"] for c in other["customers"]] == ["ann"]
    assert other["customers"][0]["id"] != ann.public_id


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"page": 100},
        {"limit": "ten"},
        {"order": "email"},
        {"created_at[before]": "yesterday"},
        {"starting_after": "soon"},
    ],
)
def test_list_refuses_bad_query_parameters(api_client, params):
    response = api_client.get("/v1/customers", params)
    assert response.status_code == 400, response.content
    assert response.json()["key"] in ("invalid_query_params", "invalid_payload")


def test_list_costs_a_fixed_number_of_queries(api_client, django_assert_max_num_queries):
    for _ in range(5):
        GiftCardFactory(
            campaign__project=api_client.project,
            holder=CustomerFactory(project=api_client.project),
        )
    with django_assert_max_num_queries(6):
        body = api_client.get("/v1/customers").json()
    assert len(body["customers"]) == 5


# -- segments of a customer ------------------------------------------------------------------------


def test_segments_of_a_customer(api_client, other_client):
    customer = CustomerFactory(project=api_client.project, source_id="ann")
    vip = SegmentFactory(project=api_client.project, name="VIP")
    SegmentMemberFactory(segment=vip, customer=customer)
    SegmentFactory(project=api_client.project, name="Empty")
    body = api_client.get("/v1/customers/ann/segments").json()
    assert body == {
        "object": "list",
        "data_ref": "data",
        "data": [{"id": vip.public_id, "name": "VIP", "object": "segment"}],
        "total": 1,
    }
    error_of(other_client.get("/v1/customers/ann/segments"), 404, "not_found")


# -- activity --------------------------------------------------------------------------------------


@pytest.fixture
def history(api_client):
    """One customer with a custom event, an order event, a redemption, a publication and a
    segment entry, a minute apart (oldest first)."""
    project = api_client.project
    customer = CustomerFactory(project=project, source_id="ann")
    start = timezone.now() - timedelta(hours=1)
    event = CustomEventFactory(customer=customer, name="signed_up", created_at=start)
    order = OrderFactory(project=project, customer=customer)
    order_event = OrderEvent.objects.create(
        project=project,
        order=order,
        customer=customer,
        type="order.paid",
        created_at=start + timedelta(minutes=1),
    )
    campaign = CampaignFactory(project=project, campaign_type="DISCOUNT_COUPONS")
    redemption = Redemption.objects.create(
        project=project,
        customer=customer,
        campaign=campaign,
        result="SUCCESS",
        status="SUCCEEDED",
        related_object_type="voucher",
        channel_type="API",
        created_at=start + timedelta(minutes=2),
    )
    publication = PublicationFactory(project=project, customer=customer, campaign=campaign)
    type(publication).objects.filter(pk=publication.pk).update(
        created_at=start + timedelta(minutes=3)
    )
    segment = SegmentFactory(project=project)
    SegmentEvent.objects.create(
        project=project,
        segment=segment,
        customer=customer,
        type="customer.segment.entered",
        created_at=start + timedelta(minutes=4),
    )
    return {
        "customer": customer,
        "event": event,
        "order_event": order_event,
        "redemption": redemption,
        "publication": publication,
        "campaign": campaign,
    }


def activity(client, ref="ann", **params):
    response = client.get(f"/v1/customers/{ref}/activity", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_activity_is_the_customers_timeline_newest_first(api_client, history):
    body = activity(api_client)
    assert body["object"] == "list" and body["data_ref"] == "data"
    assert [a["type"] for a in body["data"]] == [
        "customer.segment.entered",
        "customer.publication.succeeded",
        "customer.redemption.succeeded",
        "customer.order.paid",
        "customer.custom_event",
    ]
    assert body["has_more"] is False
    custom = body["data"][-1]
    assert custom["id"] == history["event"].public_id
    assert custom["data"]["event"]["type"] == "signed_up"
    assert custom["data"]["customer"]["id"] == history["customer"].public_id
    assert body["data"][2]["data"]["campaign"]["id"] == history["campaign"].public_id


def test_activity_pages_with_starting_after_id_both_ways(api_client, history):
    seen = []
    cursor = None
    while True:
        params = {"limit": 2, "order": "created_at"}
        if cursor:
            params["starting_after_id"] = cursor
        body = activity(api_client, **params)
        seen += [a["type"] for a in body["data"]]
        if not body["has_more"]:
            assert "more_starting_after" not in body
            break
        cursor = body["more_starting_after"]
    assert seen[0] == "customer.custom_event" and seen[-1] == "customer.segment.entered"
    assert len(seen) == 5
    newest = activity(api_client, limit=2)
    rest = activity(api_client, limit=10, starting_after_id=newest["more_starting_after"])
    assert len(rest["data"]) == 3 and rest["data"][0]["type"] == "customer.redemption.succeeded"


def test_activity_filters(api_client, history):
    assert [a["type"] for a in activity(api_client, type="customer.order.paid")["data"]] == [
        "customer.order.paid"
    ]
    assert activity(api_client, type="customer.order.canceled")["data"] == []
    by_campaign = activity(api_client, campaign_id=history["campaign"].public_id)["data"]
    assert {a["type"] for a in by_campaign} == {
        "customer.redemption.succeeded",
        "customer.publication.succeeded",
    }
    assert activity(api_client, campaign_type="PROMOTION")["data"] == []
    effects = activity(api_client, category="EFFECT")["data"]
    assert [a["type"] for a in effects] == ["customer.segment.entered"]
    since = (history["redemption"].created_at - timedelta(seconds=1)).isoformat()
    assert len(activity(api_client, start_date=since)["data"]) == 3


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"order": "name"},
        {"category": "OTHER"},
        {"campaign_type": "WEIRD"},
        {"start_date": "not a date"},
        {"starting_after_id": "evcus_unknown"},
    ],
)
def test_activity_refuses_bad_parameters(api_client, history, params):
    response = api_client.get("/v1/customers/ann/activity", params)
    assert response.status_code == 400, response.content


def test_activity_of_another_projects_customer_is_404(other_client, history):
    error_of(other_client.get("/v1/customers/ann/activity"), 404, "not_found")
    # nor can another customer's activity id serve as a cursor
    CustomerFactory(project=other_client.project, source_id="ann")
    response = other_client.get(
        "/v1/customers/ann/activity", {"starting_after_id": history["event"].public_id}
    )
    assert response.status_code == 400


# -- CSV import and bulk async actions -------------------------------------------------------------


def action(client, async_action_id):
    response = client.get(f"/v1/async-actions/{async_action_id}")
    assert response.status_code == 200, response.content
    return response.json()


def test_import_csv_answers_202_and_imports(api_client, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile(
        "customers.csv", b"source_id,name,email\nann,Ann,ann@example.com\nbob,Bob,\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/v1/customers/importCSV", {"file": upload})
    assert response.status_code == 202, response.content
    done = action(api_client, response.json()["async_action_id"])
    assert done["type"] == "CUSTOMERS.IMPORT_CSV" and done["status"] == "DONE"
    names = Customer.objects.filter(project=api_client.project).values_list("name", flat=True)
    assert sorted(names) == ["Ann", "Bob"]


def test_import_csv_without_a_file_is_400(api_client):
    error_of(api_client.post("/v1/customers/importCSV", {}), 400, "invalid_payload")
    bad = SimpleUploadedFile("customers.pdf", b"%PDF")
    error_of(api_client.post("/v1/customers/importCSV", {"file": bad}), 400, "invalid_payload")


def test_bulk_async_upserts_by_source_id(
    api_client, other_client, django_capture_on_commit_callbacks
):
    existing = CustomerFactory(project=api_client.project, source_id="ann", name="Ann")
    CustomerFactory(project=other_client.project, source_id="bob", name="Other Bob")
    body = [
        {"source_id": "ann", "email": "ann@example.com", "address": {"city": "Oslo"}},
        {"source_id": "bob", "name": "Bob", "metadata": None},
        {"source_id": "bad", "email": "nope"},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client, "/v1/customers/bulk/async", body)
    assert response.status_code == 202, response.content
    done = action(api_client, response.json()["async_action_id"])
    assert done["type"] == "CUSTOMERS.BULK_UPDATE"
    assert done["status"] == "DONE" and done["progress"] == 100
    results = done["result"]["results"]
    assert [r["updated"] for r in results] == [True, True, False]
    assert "email" in results[2]["error"]
    existing.refresh_from_db()
    assert (existing.name, existing.email, existing.address_city) == (
        "Ann",
        "ann@example.com",
        "Oslo",
    )
    bob = Customer.objects.get(project=api_client.project, source_id="bob")
    assert bob.name == "Bob"
    assert Customer.objects.get(project=other_client.project, source_id="bob").name == "Other Bob"
    assert not Customer.objects.filter(source_id="bad").exists()
    # another project cannot read the async action
    error_of(other_client.get(f"/v1/async-actions/{done['id']}"), 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [{"source_id": "ann"}, [], ["ann"], [{"name": "No source id"}], [{"source_id": 5}], "x"],
)
def test_bulk_async_refuses_bad_bodies(api_client, body):
    error_of(post(api_client, "/v1/customers/bulk/async", body), 400, "invalid_payload")


def test_metadata_async_merges_metadata(
    api_client, other_client, django_capture_on_commit_callbacks
):
    metadata_schema_save(
        project=api_client.project,
        resource="customer",
        properties={"tier": {"type": "string"}, "age": {"type": "number"}},
        allow_defined_only=False,
    )
    ann = CustomerFactory(project=api_client.project, source_id="ann", metadata={"age": 30})
    bob = CustomerFactory(project=api_client.project, source_id="bob", metadata={"age": "x"})
    theirs = CustomerFactory(project=other_client.project, source_id="cid", metadata={})
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api_client,
            "/v1/customers/metadata/async",
            {"source_ids": ["ann", "bob", "cid"], "metadata": {"tier": "gold"}},
        )
    assert response.status_code == 202, response.content
    done = action(api_client, response.json()["async_action_id"])
    assert done["type"] == "CUSTOMERS.METADATA_UPDATE" and done["status"] == "DONE"
    assert [r["updated"] for r in done["result"]["results"]] == [True, False, False]
    assert done["result"]["results"][2]["error"] == "not found"
    ann.refresh_from_db()
    bob.refresh_from_db()
    theirs.refresh_from_db()
    assert ann.metadata == {"age": 30, "tier": "gold"}
    assert bob.metadata == {"age": "x"}  # its metadata breaks the schema: left alone
    assert theirs.metadata == {}


@pytest.mark.parametrize(
    "body",
    [
        {"metadata": {"a": 1}},
        {"source_ids": "ann", "metadata": {"a": 1}},
        {"source_ids": [1, 2], "metadata": {"a": 1}},
        {"source_ids": ["ann"]},
        {"source_ids": ["ann"], "metadata": ["a"]},
    ],
)
def test_metadata_async_refuses_bad_bodies(api_client, body):
    error_of(post(api_client, "/v1/customers/metadata/async", body), 400, "invalid_payload")


def test_activities_is_the_older_name_of_activity(api_client, history):
    assert (
        activity(api_client, limit=3)
        == api_client.get("/v1/customers/ann/activities", {"limit": 3}).json()
    )
