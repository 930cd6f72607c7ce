"""Automatic distributions: domain events (apps.core.events) become deliveries, through
`events.emit` directly and through the real services that emit them."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from apps.campaigns.models import Publication, Voucher
from apps.campaigns.services.publications import publication_create
from apps.core import events
from apps.customers.services import custom_event_track
from apps.distributions import services
from apps.distributions.models import Delivery, DeliveryStatus, Trigger
from apps.orders.services import order_upsert
from apps.segments.models import Segment
from apps.segments.services import segment_recompute, segments_evaluate_customers
from tests.customers.factories import CustomerFactory
from tests.orders.factories import OrderFactory

from .helpers import automatic

pytestmark = pytest.mark.django_db


@pytest.fixture
def berlin(project):
    return Segment.objects.create(
        project=project,
        name="Berlin",
        type="auto-update",
        filter={"address.city": {"conditions": {"$is": "Berlin"}}},
    )


def test_segment_entry_through_a_recompute_sends_each_newcomer_a_code(
    smtp_sink, project, campaign, berlin, django_capture_on_commit_callbacks
):
    distribution = automatic(
        project, trigger=Trigger.SEGMENT_ENTERED, segment=berlin, campaign=campaign
    )
    movers = [CustomerFactory(project=project, address_city="Berlin") for _ in range(3)]
    CustomerFactory(project=project, address_city="Paris")

    with django_capture_on_commit_callbacks(execute=True):
        segment_recompute(segment_id=berlin.pk)

    assert sorted(r for m in smtp_sink.messages for r in m.recipients) == sorted(
        c.email for c in movers
    )
    for customer in movers:
        code = Voucher.objects.get(holder=customer).code
        assert code in smtp_sink.to(customer.email)[0].text
    assert Delivery.objects.filter(distribution=distribution, status="SENT").count() == 3


def test_segment_entry_of_one_changed_customer(
    smtp_sink, project, berlin, django_capture_on_commit_callbacks
):
    automatic(project, trigger=Trigger.SEGMENT_ENTERED, segment=berlin)
    leaving = automatic(project, trigger=Trigger.SEGMENT_LEFT, segment=berlin, name="Bye")
    customer = CustomerFactory(project=project, address_city="Berlin")
    with django_capture_on_commit_callbacks(execute=True):
        segments_evaluate_customers(project_id=project.pk, customer_ids=[customer.pk])
    assert len(smtp_sink.to(customer.email)) == 1
    # the same event again (a duplicated emission) makes no second message
    with django_capture_on_commit_callbacks(execute=True):
        events.emit_many(
            project.pk, Trigger.SEGMENT_ENTERED, "customers.Customer", [customer.pk], segment=berlin
        )
    assert len(smtp_sink.to(customer.email)) == 1
    # leaving triggers the other one
    type(customer).objects.filter(pk=customer.pk).update(address_city="Rome")
    with django_capture_on_commit_callbacks(execute=True):
        segments_evaluate_customers(project_id=project.pk, customer_ids=[customer.pk])
    assert Delivery.objects.filter(distribution=leaving, status="SENT").count() == 1
    assert len(smtp_sink.to(customer.email)) == 2


def test_an_order_paid_through_the_order_service(
    smtp_sink, project, campaign, django_capture_on_commit_callbacks
):
    distribution = automatic(project, trigger=Trigger.ORDER_PAID, campaign=campaign)
    automatic(project, trigger=Trigger.ORDER_CANCELED, name="Sorry")
    customer = CustomerFactory(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        order, _ = order_upsert(
            project=project,
            payload={"source_id": "o-1", "amount": 5000, "customer": {"id": customer.public_id}},
        )
    assert smtp_sink.messages == []  # created, not paid
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(project=project, payload={"source_id": "o-1", "status": "PAID"})
    [received] = smtp_sink.to(customer.email)
    assert received.subject == f"Thanks {customer.name}"
    delivery = Delivery.objects.get(distribution=distribution)
    assert delivery.trigger_key == f"order.paid:{order.public_id}"
    assert delivery.code in received.text


def test_historical_imports_trigger_nothing(project, django_capture_on_commit_callbacks):
    automatic(project, trigger=Trigger.ORDER_PAID)
    customer = CustomerFactory(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(
            project=project,
            payload={"source_id": "old", "status": "PAID", "customer": {"id": customer.public_id}},
            imported=True,
        )
    assert not Delivery.objects.exists()


def test_an_emitted_event_honours_the_delay(smtp_sink, project, django_capture_on_commit_callbacks):
    distribution = automatic(project, trigger=Trigger.ORDER_PAID, delay_minutes=30)
    order = OrderFactory(customer__project=project, status="PAID")
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(project.pk, "order.paid", order)
    delivery = Delivery.objects.get(distribution=distribution)
    assert delivery.status == DeliveryStatus.QUEUED
    assert delivery.next_attempt_at > timezone.now() + dt.timedelta(minutes=29)
    services.distributions_sweep()
    assert smtp_sink.messages == []
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=31)):
        services.distributions_sweep()
    assert len(smtp_sink.to(order.customer.email)) == 1


def test_a_paused_distribution_does_not_fire(
    smtp_sink, project, django_capture_on_commit_callbacks
):
    distribution = automatic(project, trigger=Trigger.ORDER_PAID)
    services.distribution_pause(distribution=distribution)
    order = OrderFactory(customer__project=project, status="PAID")
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(project.pk, "order.paid", order)
    assert not Delivery.objects.exists()
    services.distribution_resume(distribution=distribution)
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(project.pk, "order.paid", order)
    assert len(smtp_sink.messages) == 1


def test_delayed_messages_wait_while_paused(smtp_sink, project, django_capture_on_commit_callbacks):
    distribution = automatic(project, trigger=Trigger.ORDER_PAID, delay_minutes=5)
    order = OrderFactory(customer__project=project, status="PAID")
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(project.pk, "order.paid", order)
    services.distribution_pause(distribution=distribution)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        services.distributions_sweep()
        assert smtp_sink.messages == []
        with django_capture_on_commit_callbacks(execute=True):
            services.distribution_resume(distribution=distribution)
    assert len(smtp_sink.messages) == 1


def test_a_custom_event_by_name(smtp_sink, project, django_capture_on_commit_callbacks):
    automatic(project, trigger=Trigger.CUSTOM_EVENT, custom_event="signed_up")
    customer = CustomerFactory(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        custom_event_track(project=project, name="left_review", customer={"id": customer.public_id})
    assert smtp_sink.messages == []
    with django_capture_on_commit_callbacks(execute=True):
        custom_event_track(project=project, name="signed_up", customer={"id": customer.public_id})
    assert len(smtp_sink.to(customer.email)) == 1


def test_a_publication_triggers_but_a_distributions_own_do_not(
    smtp_sink, project, campaign, django_capture_on_commit_callbacks
):
    # the distribution publishes codes of the campaign itself: no loop
    automatic(project, trigger=Trigger.PUBLICATION, campaign=campaign, name="Welcome code")
    customer = CustomerFactory(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        publication_create(project=project, customer=customer, campaign=campaign.public_id)
    assert len(smtp_sink.to(customer.email)) == 1
    assert Publication.objects.filter(customer=customer).count() == 2


def test_a_successful_redemption(smtp_sink, project, django_capture_on_commit_callbacks):
    from apps.redemptions.services import redemption_redeem
    from tests.campaigns.factories import VoucherFactory

    automatic(project, trigger=Trigger.REDEMPTION, body_text="Thanks for using your code")
    voucher = VoucherFactory(campaign__project=project)
    customer = CustomerFactory(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        redemption_redeem(
            project=project,
            payload={
                "redeemables": [{"object": "voucher", "id": voucher.code}],
                "order": {"amount": 1000},
                "customer": {"id": customer.public_id},
            },
        )
    [received] = smtp_sink.to(customer.email)
    assert received.text.strip() == "Thanks for using your code"


def test_another_projects_events_do_not_fire(project, django_capture_on_commit_callbacks):
    automatic(project, trigger=Trigger.ORDER_PAID)
    order = OrderFactory(status="PAID")  # another project
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(order.project_id, "order.paid", order)
    assert not Delivery.objects.exists()
