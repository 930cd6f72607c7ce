"""Domain events from the real services reach the project's webhooks with the API's shapes."""

import pytest

from apps.customers.services import (
    custom_event_track,
    customer_delete,
    customer_permanently_delete,
    customer_update,
    customer_upsert,
)
from apps.segments.services import segment_create
from apps.webhooks import services
from apps.webhooks.models import WebhookDelivery
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db
BERLIN = {"junction": "and", "address.city": {"conditions": {"$is": "Berlin"}}}


@pytest.fixture
def project():
    project = ProjectFactory()
    services.webhook_create(project=project, url="http://127.0.0.1:9/hook")
    return project


def sent(event_type=None) -> list[dict]:
    found = WebhookDelivery.objects.order_by("pk")
    if event_type:
        found = found.filter(event_type=event_type)
    return [delivery.payload for delivery in found]


def test_customer_lifecycle_events(project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ann, _ = customer_upsert(project=project, source_id="ann", data={"name": "Ann"})
    with django_capture_on_commit_callbacks(execute=True):
        customer_upsert(project=project, source_id="ann", data={"name": "Ann"})  # no change
    with django_capture_on_commit_callbacks(execute=True):
        customer_update(customer=ann, data={"name": "Ann B"})
    with django_capture_on_commit_callbacks(execute=True):
        custom_event_track(project=project, name="signed_up", customer={"source_id": "ann"})
    with django_capture_on_commit_callbacks(execute=True):
        customer_delete(customer=ann)
    types = [payload["type"] for payload in sent()]
    # the unchanged upsert and the custom event's customer reference change nothing
    assert types == [
        "customer.created",
        "customer.updated",
        "customer.custom_event",
        "customer.deleted",
    ]
    created = sent("customer.created")[0]["data"]["object"]
    assert created["object"] == "customer" and created["source_id"] == "ann"
    deleted = sent("customer.deleted")[0]["data"]["object"]
    assert deleted["id"] == ann.public_id
    custom = sent("customer.custom_event")[0]["data"]
    assert custom["customer"]["id"] == ann.public_id


def test_a_permanent_deletion_event_carries_no_personal_data(
    project, django_capture_on_commit_callbacks
):
    bob, _ = customer_upsert(project=project, source_id="bob", data={"email": "bob@x.test"})
    public_id = bob.public_id
    with django_capture_on_commit_callbacks(execute=True):
        customer_permanently_delete(customer=bob)
    [payload] = sent("customer.deleted")
    assert payload["data"]["object"] == {"id": public_id, "object": "customer", "deleted": True}
    assert "bob@x.test" not in str(payload)


def test_segment_entry_events_name_each_customer_and_the_segment(
    project, django_capture_on_commit_callbacks
):
    for source_id, city in (("a", "Berlin"), ("b", "Berlin"), ("c", "Paris")):
        customer_upsert(
            project=project, source_id=source_id, data={"address_city": city}, notify=False
        )
    with django_capture_on_commit_callbacks(execute=True):
        segment = segment_create(project=project, name="Berlin", type="auto-update", filter=BERLIN)
    entered = sent("customer.segment.entered")
    assert sorted(p["data"]["object"]["source_id"] for p in entered) == ["a", "b"]
    assert {p["data"]["segment"]["id"] for p in entered} == {segment.public_id}
    assert len({p["id"] for p in entered}) == 2  # an event per customer


def test_order_events_follow_its_status_and_imports_trigger_nothing(
    project, django_capture_on_commit_callbacks
):
    from apps.orders.services import order_upsert

    with django_capture_on_commit_callbacks(execute=True):
        order, _ = order_upsert(
            project=project, payload={"source_id": "o1", "amount": 1000, "status": "CREATED"}
        )
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(project=project, payload={"source_id": "o1", "status": "PAID"})
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(
            project=project,
            payload={"source_id": "old", "amount": 500, "status": "PAID"},
            imported=True,
        )
    assert [p["type"] for p in sent()] == ["order.created", "order.paid"]
    paid = sent("order.paid")[0]["data"]["object"]
    assert paid["id"] == order.public_id and paid["status"] == "PAID"


def test_campaign_voucher_and_publication_events(project, django_capture_on_commit_callbacks):
    from apps.campaigns import services as campaigns

    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaigns.campaign_create(
            project=project,
            payload={
                "name": "Spring",
                "type": "STATIC",
                "voucher": {"discount": {"type": "AMOUNT", "amount_off": 500}},
            },
        )
    with django_capture_on_commit_callbacks(execute=True):
        code = campaigns.voucher_create(
            project=project, payload={}, campaign=campaign, code="SPRING-1"
        )
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.campaign_set_active(campaign=campaign, active=False)
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.campaign_set_active(campaign=campaign, active=True)
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.publication_create(
            project=project, customer_payload={"source_id": "ann"}, voucher="SPRING-1"
        )
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.voucher_delete(voucher=code)
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.campaign_delete(campaign=campaign)
    types = [p["type"] for p in sent() if not p["type"].startswith("customer.")]
    assert types == [
        "campaign.created",
        "voucher.created",
        "campaign.disabled",
        "campaign.enabled",
        "publication.succeeded",
        "voucher.published",
        "voucher.deleted",
        "campaign.deleted",
    ]
    published = sent("voucher.published")[0]["data"]
    assert published["object"]["code"] == "SPRING-1"
    assert published["customer"]["source_id"] == "ann"
    assert sent("campaign.deleted")[0]["data"]["object"]["name"] == "Spring"


def test_redemption_events_carry_the_redemption(project, django_capture_on_commit_callbacks):
    from apps.redemptions.services import redemption_redeem
    from tests.campaigns.factories import CampaignFactory, VoucherFactory

    VoucherFactory(campaign=CampaignFactory(project=project), code="TEN")
    with django_capture_on_commit_callbacks(execute=True):
        done = redemption_redeem(
            project=project,
            payload={"redeemables": [{"object": "voucher", "id": "TEN"}], "order": {"amount": 900}},
        )
    [payload] = sent("redemption.succeeded")
    assert payload["data"]["object"]["id"] == done.parent.public_id
    assert payload["data"]["object"]["result"] == "SUCCESS"


def test_a_bulk_event_is_written_a_chunk_at_a_time(project, django_assert_max_num_queries):
    from apps.core.events import Event
    from apps.webhooks import dispatch
    from tests.customers.factories import CustomerFactory
    from tests.segments.factories import SegmentFactory

    segment = SegmentFactory(project=project)
    ids = tuple(CustomerFactory(project=project).pk for _ in range(40))
    event = Event(
        project_id=project.pk,
        type="customer.segment.entered",
        object=None,
        related={"segment": segment},
        ids=ids,
        model="customers.Customer",
    )
    # a fixed number of statements for 40 customers: no query per customer or per delivery
    with django_assert_max_num_queries(8):
        dispatch.on_event(event)
    deliveries = WebhookDelivery.objects.filter(event_type="customer.segment.entered")
    assert deliveries.count() == 40
    assert len({d.event_id for d in deliveries}) == 40
    assert {d.payload["data"]["segment"]["id"] for d in deliveries} == {segment.public_id}
