"""POST /v1/events and /v1/metadata-schemas: Voucherify's shapes, JSON errors, other projects'
objects invisible."""

import pytest

from apps.customers.models import Customer, CustomEvent
from apps.metadata.services import metadata_schema_save
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory

from .test_customers import error_of, post

pytestmark = pytest.mark.django_db


def test_an_event_is_recorded_and_its_customer_upserted(api_client):
    response = post(
        api_client,
        "/v1/events",
        {
            "event": "signed_up",
            "customer": {"source_id": "ann", "name": "Ann", "email": None},
            "metadata": {"plan": "pro"},
            "referral": None,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    customer = Customer.objects.get(project=api_client.project, source_id="ann")
    assert body == {
        "object": "event",
        "type": "signed_up",
        "customer": {
            "id": customer.public_id,
            "source_id": "ann",
            "name": "Ann",
            "email": None,
            "metadata": {},
            "object": "customer",
        },
        "referral": None,
        "loyalty": None,
        "metadata": {"plan": "pro"},
    }
    event = CustomEvent.objects.get(customer=customer)
    assert (event.name, event.metadata) == ("signed_up", {"plan": "pro"})


def test_an_event_names_a_customer_of_this_project_only(api_client, other_client):
    theirs = CustomerFactory(project=other_client.project)
    response = post(api_client, "/v1/events", {"event": "x", "customer": {"id": theirs.public_id}})
    error_of(response, 404, "not_found")
    assert not CustomEvent.objects.exists()
    # the same source_id in two projects is two customers
    CustomerFactory(project=other_client.project, source_id="ann")
    post(api_client, "/v1/events", {"event": "x", "customer": {"source_id": "ann"}})
    assert Customer.objects.filter(source_id="ann").count() == 2


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"customer": {"source_id": "ann"}}, "invalid_payload"),
        ({"event": 5, "customer": {"source_id": "ann"}}, "invalid_payload"),
        ({"event": ["x"], "customer": {"source_id": "ann"}}, "invalid_payload"),
        ({"event": "x"}, "missing_customer"),
        ({"event": "x", "customer": "ann"}, "invalid_customer"),
        ({"event": "x", "customer": {"source_id": "ann"}, "metadata": [1]}, "invalid_payload"),
        ({"event": "x", "customer": {"source_id": "ann"}, "referral": "R"}, "invalid_payload"),
        ({"event": "x", "customer": {"source_id": "ann", "email": "nope"}}, "invalid_customer"),
    ],
)
def test_bad_events_are_400(api_client, body, key):
    error_of(post(api_client, "/v1/events", body), 400, key)
    assert not CustomEvent.objects.exists()
    assert not Customer.objects.exists()


# -- metadata schemas ------------------------------------------------------------------------------


def test_metadata_schemas_in_voucherifys_shape(api_client, other_client):
    metadata_schema_save(
        project=api_client.project,
        resource="customer",
        properties={
            "tier": {"type": "string", "allowed": ["gold", "silver"], "optional": False},
            "age": {"type": "number", "min": 18, "max": 120},
            "tags": {"type": "string", "array": True, "max_length": 10},
        },
        allow_defined_only=True,
    )
    metadata_schema_save(
        project=api_client.project, resource="order", properties={}, allow_defined_only=False
    )
    metadata_schema_save(
        project=ProjectFactory(), resource="product", properties={}, allow_defined_only=False
    )
    body = api_client.get("/v1/metadata-schemas").json()
    assert body["object"] == "list" and body["data_ref"] == "schemas" and body["total"] == 2
    assert [s["related_object"] for s in body["schemas"]] == ["customer", "order"]
    schema = api_client.get("/v1/metadata-schemas/customer").json()
    assert schema["object"] == "metadata_schema" and schema["id"].startswith("ms_")
    assert schema["allow_defined_only"] is True
    assert schema["properties"]["tier"] == {
        "type": "string",
        "array": False,
        "optional": False,
        "objectType": None,
        "deleted": False,
        "eq": ["gold", "silver"],
    }
    assert schema["properties"]["age"]["gte"] == 18 and schema["properties"]["age"]["lte"] == 120
    assert schema["properties"]["tags"]["array"] is True
    assert schema["properties"]["tags"]["maxLength"] == 10
    error_of(api_client.get("/v1/metadata-schemas/product"), 404, "not_found")
    error_of(other_client.get("/v1/metadata-schemas/customer"), 404, "not_found")
    assert other_client.get("/v1/metadata-schemas").json()["total"] == 0
