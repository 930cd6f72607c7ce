"""The official `voucherify` SDK (unchanged) drives customers, events, metadata schemas and
segments on a live server; its strict pydantic models are the contract."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.metadata.services import metadata_schema_save
from tests.projects.factories import ProjectFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    project = ProjectFactory(name="SDK shop", currency="USD")
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"tier": {"type": "string", "allowed": ["gold", "silver"]}},
        allow_defined_only=False,
    )
    return project


def test_customer_lifecycle_through_the_sdk(sdk, shop):
    client = sdk(shop)
    customers = voucherify.CustomersApi(client)

    created = customers.create_customer(
        voucherify.CustomersCreateRequestBody.from_dict(
            {
                "source_id": "ann",
                "name": "Ann",
                "email": "ann@example.com",
                "birthdate": "1990-04-01",
                "address": {"city": "Berlin", "country": "Germany"},
                "metadata": {"tier": "gold"},
            }
        )
    )
    assert isinstance(created, voucherify.CustomersCreateResponseBody)
    assert created.id.startswith("cust_") and created.object == "customer"
    assert created.summary.orders.total_count == 0
    assert created.summary.redemptions.gift.amount_to_go == 0
    assert created.address.city == "Berlin" and str(created.birthdate) == "1990-04-01"

    fetched = customers.get_customer("ann")
    assert fetched.id == created.id and fetched.metadata == {"tier": "gold"}

    updated = customers.update_customer(
        created.id,
        voucherify.CustomersUpdateRequestBody.from_dict({"name": "Ann B", "phone": "+48 1"}),
    )
    assert (updated.name, updated.phone, updated.email) == ("Ann B", "+48 1", "ann@example.com")

    listed = customers.list_customers(
        limit=10,
        page=1,
        city="berlin",
        created_at_after=timezone.now() - timedelta(hours=1),
        created_at_before=timezone.now() + timedelta(hours=1),
        order=voucherify.ParameterOrderListCustomers.MINUS_CREATED_AT,
    )
    assert [c.id for c in listed.customers] == [created.id]
    assert listed.total == 1 and listed.has_more is False

    with pytest.raises(voucherify.exceptions.BadRequestException) as refused:
        customers.create_customer(
            voucherify.CustomersCreateRequestBody.from_dict(
                {"source_id": "bob", "metadata": {"tier": "bronze"}}
            )
        )
    assert '"metadata_validation_failed"' in refused.value.body

    customers.delete_customer("ann")
    with pytest.raises(voucherify.exceptions.NotFoundException):
        customers.get_customer("ann")


def test_permanent_deletion_segments_and_activity_through_the_sdk(sdk, shop):
    client = sdk(shop)
    customers = voucherify.CustomersApi(client)
    segments = voucherify.SegmentsApi(client)
    events = voucherify.EventsApi(client)

    tracked = events.track_custom_event(
        voucherify.EventsCreateRequestBody.from_dict(
            {"event": "signed_up", "customer": {"source_id": "ann"}, "metadata": {"plan": "pro"}}
        )
    )
    assert tracked.object == "event" and tracked.type == "signed_up"
    assert tracked.customer.source_id == "ann" and tracked.customer.id.startswith("cust_")
    ann = tracked.customer.id

    segment = segments.create_segment(
        voucherify.SegmentsCreateRequestBody.from_dict(
            {"name": "VIP", "type": "static", "customers": [ann]}
        )
    )
    assert segment.type == "static" and segment.initial_sync_status == "DONE"
    assert segments.get_segment(segment.id).name == "VIP"
    auto = segments.create_segment(
        voucherify.SegmentsCreateRequestBody.from_dict(
            {
                "name": "Signed up",
                "type": "auto-update",
                "filter": {
                    "junction": "and",
                    "events.signed_up.count": {"conditions": {"$more_than": 0}},
                },
            }
        )
    )
    assert auto.type == "auto-update" and auto.filter["junction"] == "and"

    in_segments = customers.list_customer_segments(ann)
    assert sorted(s.name for s in in_segments.data) == ["Signed up", "VIP"]
    assert in_segments.total == 2

    activity = customers.list_customer_activity(
        ann, limit=1, order=voucherify.ParameterOrderCreatedAt.MINUS_CREATED_AT
    )
    assert activity.has_more is True and len(activity.data) == 1
    rest = customers.list_customer_activity(ann, starting_after_id=activity.more_starting_after)
    types = [a.type for a in activity.data + rest.data]
    assert types.count("customer.segment.entered") == 1  # only the auto-update one emits
    assert "customer.custom_event" in types
    custom = customers.list_customer_activity(
        ann, type=voucherify.ParameterCustomerEvent.CUSTOMER_DOT_CUSTOM_EVENT
    )
    assert [a.data["event"]["type"] for a in custom.data] == ["signed_up"]

    segments.delete_segment(segment.id)
    with pytest.raises(voucherify.exceptions.NotFoundException):
        segments.get_segment(segment.id)

    deletion = customers.customer_permanently_deletion(ann)
    assert deletion.status == "DONE" and deletion.related_object_id == ann
    assert deletion.data_json.events == 1 and deletion.data_json.segments == 1
    with pytest.raises(voucherify.exceptions.NotFoundException):
        customers.get_customer(ann)


def poll(client, async_action_id):
    action = voucherify.AsyncActionsApi(client).get_async_action(async_action_id)
    assert action.status == "DONE", action
    return action


def test_bulk_async_actions_through_the_sdk(sdk, shop):
    client = sdk(shop)
    customers = voucherify.CustomersApi(client)

    started = customers.update_customers_in_bulk(
        [
            voucherify.CustomersUpdateInBulkRequestBody.from_dict(
                {"source_id": "ann", "name": "Ann", "address": {"city": "Oslo"}}
            ),
            voucherify.CustomersUpdateInBulkRequestBody.from_dict(
                {"source_id": "bob", "email": "bob@example.com"}
            ),
        ]
    )
    assert started.async_action_id.startswith("aa_")
    done = poll(client, started.async_action_id)
    assert done.type == "CUSTOMERS.BULK_UPDATE" and done.result["done_count"] == 2
    assert customers.get_customer("ann").address.city == "Oslo"

    started = customers.update_customers_metadata_in_bulk(
        voucherify.CustomersMetadataUpdateInBulkRequestBody.from_dict(
            {"source_ids": ["ann", "bob", "nobody"], "metadata": {"tier": "silver"}}
        )
    )
    done = poll(client, started.async_action_id)
    assert done.type == "CUSTOMERS.METADATA_UPDATE"
    assert (done.result["done_count"], done.result["failed_count"]) == (2, 1)
    assert customers.get_customer("bob").metadata == {"tier": "silver"}


def test_csv_import_through_the_sdk(sdk, shop):
    client = sdk(shop)
    started = voucherify.CustomersApi(client).import_customers_using_csv(
        file=b"source_id,name\nann,Ann\n"
    )
    assert poll(client, started.async_action_id).type == "CUSTOMERS.IMPORT_CSV"


def test_metadata_schemas_through_the_sdk(sdk, shop):
    client = sdk(shop)
    schemas = voucherify.MetadataSchemasApi(client)
    listed = schemas.list_metadata_schemas()
    assert listed.total == 1 and listed.schemas[0].related_object == "customer"
    schema = schemas.get_metadata_schema("customer")
    assert schema.properties["tier"]["eq"] == ["gold", "silver"]
    assert schema.allow_defined_only is False
    with pytest.raises(voucherify.exceptions.NotFoundException):
        schemas.get_metadata_schema("order")
