import pytest
from django.urls import reverse

from apps.customers.models import Customer
from apps.metadata.services import metadata_schema_save
from apps.projects.models import Role
from tests.customers.factories import CustomerFactory, CustomEventFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_list_filters_and_partial(owner_client, project):
    CustomerFactory(
        project=project, name="Alice Kowalska", address_city="Warsaw", address_country="Poland"
    )
    CustomerFactory(
        project=project, name="Bob Smith", address_city="Leeds", address_country="UK", email=""
    )
    CustomerFactory(name="Other Project Alice")
    response = owner_client.get(reverse("customers:list"), {"q": "alice"})
    assert b"Alice Kowalska" in response.content
    assert b"Bob Smith" not in response.content
    assert b"Other Project" not in response.content
    response = owner_client.get(
        reverse("customers:list"),
        {"country": "uk", "has_email": "false"},
        headers={"HX-Request": "true"},
    )
    assert b"<html" not in response.content and b'id="customer-results"' in response.content
    assert b"Bob Smith" in response.content and b"Alice" not in response.content


def test_list_metadata_filter(owner_client, project):
    CustomerFactory(project=project, name="Gold One", metadata={"tier": "Gold", "visits": 3})
    CustomerFactory(project=project, name="Silver One", metadata={"tier": "Silver"})
    CustomerFactory(project=project, name="No Tier", metadata={})
    content = owner_client.get(
        reverse("customers:list"), {"metadata_key": "tier", "metadata_value": "Gold"}
    ).content
    assert b"Gold One" in content and b"Silver One" not in content
    content = owner_client.get(
        reverse("customers:list"), {"metadata_key": "visits", "metadata_value": "3"}
    ).content
    assert b"Gold One" in content and b"Silver One" not in content
    content = owner_client.get(reverse("customers:list"), {"metadata_key": "tier"}).content
    assert b"Silver One" in content and b"No Tier" not in content


def test_list_pages_without_counting_and_constant_queries(
    owner_client, project, django_assert_max_num_queries
):
    CustomerFactory.create_batch(30, project=project)
    with django_assert_max_num_queries(6):
        first = owner_client.get(reverse("customers:list"), {"country": "Poland"})
    assert first.context["page"].has_next and len(first.context["page"]) == 25
    assert b"page=2" in first.content
    second = owner_client.get(reverse("customers:list"), {"country": "Poland", "page": 2})
    assert len(second.context["page"]) == 5


def test_detail_shows_summary_and_timeline(owner_client, project):
    customer = CustomerFactory(project=project, orders_total_amount=12345, orders_total_count=2)
    OrderFactory(customer=customer, source_id="ORD-77")
    CustomEventFactory(customer=customer, name="left_review")
    response = owner_client.get(reverse("customers:detail", args=[customer.public_id]))
    assert b"$123.45" in response.content
    assert b"left_review" in response.content and b"ORD-77" in response.content


def test_create_with_required_metadata_key(owner_client, project):
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={
            "tier": {"type": "string", "optional": False, "allowed": ["Gold", "Silver"]},
            "visits": {"type": "number", "min": 0},
        },
        allow_defined_only=True,
    )
    form_page = owner_client.get(reverse("customers:create"))
    assert b'name="meta__tier"' in form_page.content and b"metadata_other" not in form_page.content
    response = owner_client.post(
        reverse("customers:create"),
        {"source_id": "c-1", "name": "Zed", "email": "bad", "meta__visits": "-1"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) >= {"email", "meta__tier", "meta__visits"}
    assert not Customer.objects.exists()
    response = owner_client.post(
        reverse("customers:create"),
        {
            "source_id": "c-1",
            "name": "Zed",
            "email": "Zed@Example.com",
            "meta__tier": "Gold",
            "meta__visits": "4",
        },
    )
    customer = Customer.objects.get(source_id="c-1")
    assert response["Location"] == reverse("customers:detail", args=[customer.public_id])
    assert (customer.email, customer.metadata) == ("zed@example.com", {"tier": "Gold", "visits": 4})


def test_edit_keeps_source_id_and_other_metadata(owner_client, project):
    customer = CustomerFactory(project=project, source_id="keep-me", metadata={"a": 1})
    response = owner_client.post(
        reverse("customers:edit", args=[customer.public_id]),
        {"source_id": "changed", "name": "New Name", "metadata_other": '{"a": 2, "b": "x"}'},
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.source_id, customer.name, customer.metadata) == (
        "keep-me",
        "New Name",
        {"a": 2, "b": "x"},
    )


def test_edit_rejects_bad_json_metadata(owner_client, project):
    customer = CustomerFactory(project=project)
    response = owner_client.post(
        reverse("customers:edit", args=[customer.public_id]),
        {"name": "x", "metadata_other": "{oops"},
    )
    assert "Not valid JSON" in response.context["form"].errors["metadata_other"][0]


def test_duplicate_source_id_is_a_form_error(owner_client, project):
    CustomerFactory(project=project, source_id="dup")
    response = owner_client.post(
        reverse("customers:create"), {"source_id": "dup", "name": "Second"}
    )
    assert "already exists" in response.context["form"].errors["source_id"][0]


def test_delete_and_erase(member_client, project):
    client = member_client(Role.MARKETER)
    one, two = CustomerFactory(project=project), CustomerFactory(project=project)
    client.post(reverse("customers:delete", args=[one.public_id]))
    assert not Customer.objects.filter(pk=one.pk).exists()
    assert client.post(reverse("customers:erase", args=[two.public_id])).status_code == 403
    admin = member_client(Role.ADMIN)
    admin.post(reverse("customers:erase", args=[two.public_id]))
    assert not Customer.objects.filter(pk=two.pk).exists()


def test_viewer_cannot_create(member_client):
    client = member_client(Role.VIEWER)
    assert client.get(reverse("customers:list")).status_code == 200
    assert client.post(reverse("customers:create"), {"name": "x"}).status_code == 403
    assert not Customer.objects.exists()


def test_list_without_filters_shows_everyone_and_bad_filters_show_errors(owner_client, project):
    CustomerFactory(project=project, name="Plain Listing")
    assert b"Plain Listing" in owner_client.get(reverse("customers:list")).content
    response = owner_client.get(reverse("customers:list"), {"created_after": "not-a-date"})
    assert b"Plain Listing" not in response.content
    assert b"Enter a valid date" in response.content


def test_created_range_uses_the_project_days(owner_client, project):
    import datetime as dt

    project.time_zone = "America/New_York"
    project.save()
    # 2026-03-02 02:00 UTC is still March 1st in New York
    CustomerFactory(
        project=project,
        name="Late March First",
        created_at=dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC),
    )
    CustomerFactory(
        project=project, name="March Second", created_at=dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)
    )
    content = owner_client.get(
        reverse("customers:list"), {"created_after": "2026-03-01", "created_before": "2026-03-01"}
    ).content
    assert b"Late March First" in content and b"March Second" not in content


def test_short_search_matches_source_id_only(owner_client, project):
    CustomerFactory(project=project, source_id="ab", name="Exact Id")
    CustomerFactory(project=project, source_id="zz", name="Gabby")
    content = owner_client.get(reverse("customers:list"), {"q": "ab"}).content
    assert b"Exact Id" in content and b"Gabby" not in content
