import datetime as dt

import pytest

from apps.core.errors import ApplicationError
from apps.customers.models import Customer, CustomerErasure, CustomEvent
from apps.customers.services import (
    custom_event_track,
    customer_create,
    customer_permanently_delete,
    customer_resolve,
    customer_update,
    customer_upsert,
    flatten_customer_payload,
)
from apps.metadata.services import metadata_schema_save
from apps.orders.models import Order
from tests.customers.factories import CustomerFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_upsert_creates_then_updates_only_given_fields(project):
    customer, created = customer_upsert(
        project=project,
        source_id="crm-1",
        data={"name": "Ann", "email": "ANN@Example.com", "birthdate": "1990-05-01"},
    )
    assert created and customer.email == "ann@example.com"
    assert customer.birthdate == dt.date(1990, 5, 1)
    again, created = customer_upsert(project=project, source_id="crm-1", data={"phone": "+48 600"})
    assert not created and again.pk == customer.pk
    again.refresh_from_db()
    assert (again.name, again.phone) == ("Ann", "+48 600")
    assert Customer.objects.filter(project=project).count() == 1


def test_same_source_id_in_two_projects_are_two_customers(project):
    other = CustomerFactory(source_id="shared")
    mine, created = customer_upsert(project=project, source_id="shared", data={})
    assert created and mine.pk != other.pk


def test_invalid_fields_are_named(project):
    with pytest.raises(ApplicationError) as info:
        customer_create(project=project, data={"email": "nope", "birthdate": "31.12.1990"})
    assert info.value.extra["fields"].keys() == {"email", "birthdate"}
    assert "is not a valid email" in info.value.message
    assert not Customer.objects.exists()


def test_metadata_schema_is_enforced(project):
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"tier": {"type": "string", "optional": False}},
        allow_defined_only=False,
    )
    with pytest.raises(ApplicationError) as info:
        customer_create(project=project, data={"name": "X", "metadata": {}})
    assert info.value.key == "metadata_validation_failed"
    assert info.value.extra["fields"] == {"metadata.tier": "is required"}
    customer = customer_create(project=project, data={"metadata": {"tier": "Gold"}})
    assert customer.metadata == {"tier": "Gold"}


def test_source_id_is_set_once_and_never_changed(project):
    customer = customer_create(project=project, data={"name": "No id yet"})
    customer_update(customer=customer, data={"source_id": "late-id"})
    assert customer.source_id == "late-id"
    with pytest.raises(ApplicationError, match="cannot be changed"):
        customer_update(customer=customer, data={"source_id": "other"})
    customer_update(customer=customer, data={"source_id": "late-id", "name": "Same id is fine"})
    customer.refresh_from_db()
    assert (customer.source_id, customer.name) == ("late-id", "Same id is fine")


def test_resolve_by_id_or_source_id(project):
    existing = CustomerFactory(project=project)
    assert customer_resolve(project=project, payload={"id": existing.public_id}) == existing
    with pytest.raises(ApplicationError) as info:
        customer_resolve(project=project, payload={"id": CustomerFactory().public_id})
    assert info.value.code == 404
    made = customer_resolve(
        project=project,
        payload={"source_id": "new", "address": {"city": "Warsaw", "country": "PL"}},
    )
    assert (made.address_city, made.address_country) == ("Warsaw", "PL")


def test_flatten_payload():
    assert flatten_customer_payload(
        {"name": "A", "address": {"city": "X"}, "birthday": "2000-01-01"}
    ) == {
        "name": "A",
        "address_city": "X",
        "birthdate": "2000-01-01",
    }


def test_permanent_deletion_erases_person_and_keeps_anonymous_history(project):
    customer = CustomerFactory(project=project, name="Erase Me")
    order = OrderFactory(customer=customer)
    custom_event_track(project=project, name="visited", customer={"id": customer.public_id})
    receipt = customer_permanently_delete(customer=customer)
    assert receipt.counts == {"events": 1, "orders": 1, "segments": 0}
    assert not Customer.objects.filter(name="Erase Me").exists()
    assert not CustomEvent.objects.exists()
    order.refresh_from_db()
    assert order.customer is None
    assert CustomerErasure.objects.get().customer_public_id == customer.public_id
    assert Order.objects.count() == 1


def test_custom_event_upserts_the_customer(project):
    event = custom_event_track(
        project=project,
        name="review_left",
        customer={"source_id": "ev-1", "email": "e@example.com"},
        metadata={"stars": 5},
    )
    assert event.public_id.startswith("evcus_")
    assert event.customer.source_id == "ev-1"
    with pytest.raises(ApplicationError, match="customer is required"):
        custom_event_track(project=project, name="x", customer=None)
