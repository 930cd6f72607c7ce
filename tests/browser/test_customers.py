import re

from playwright.sync_api import Page, expect

from apps.customers.models import Customer
from apps.metadata.services import metadata_schema_save
from apps.projects.models import Role
from tests.customers.factories import CustomerFactory
from tests.projects.factories import MembershipFactory, ProjectFactory


def test_filter_customers_without_reload_and_bookmark_the_filter(
    page: Page, log_in, transactional_db
):
    project = ProjectFactory(name="Alpha Shop")
    user = MembershipFactory(project=project, role=Role.MARKETER).user
    CustomerFactory(
        project=project, name="Alice Warsaw", address_city="Warsaw", address_country="Poland"
    )
    CustomerFactory(
        project=project, name="Bruno Paris", address_city="Paris", address_country="France"
    )
    CustomerFactory(
        project=project, name="Celia Warsaw", address_city="Warsaw", address_country="Poland"
    )

    log_in(user)
    page.goto("/customers/")
    rows = page.locator("#customer-results tbody tr")
    expect(rows).to_have_count(3)
    page.evaluate("window.__noFullReload = true")

    page.get_by_label("Country").fill("france")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bruno Paris")
    assert page.evaluate("window.__noFullReload === true")  # swapped by htmx
    expect(page).to_have_url(re.compile(r"country=france"))

    page.get_by_label("Country").fill("")
    page.get_by_label("Search").fill("celia")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Celia Warsaw")

    # the URL is bookmarkable: loading it fresh shows the same result
    page.goto(page.url)
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Search")).to_have_value("celia")


def test_edit_customer_with_a_required_metadata_key(page: Page, log_in, transactional_db):
    project = ProjectFactory(name="Alpha Shop")
    user = MembershipFactory(project=project, role=Role.MARKETER).user
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"tier": {"type": "string", "optional": False, "allowed": ["Gold", "Silver"]}},
        allow_defined_only=False,
    )
    customer = CustomerFactory(project=project, name="Dora", source_id="crm-dora", metadata={})

    log_in(user)
    page.goto(f"/customers/{customer.public_id}/")
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Source ID")).to_be_disabled()
    page.get_by_label("Name").fill("Dora Explorer")
    page.get_by_role("button", name="Save customer").click()

    # the required key is missing: the form comes back with the error on that field
    expect(page.locator(".invalid-feedback")).to_contain_text("required")
    customer.refresh_from_db()
    assert customer.name == "Dora"

    page.get_by_label("tier").select_option("Gold")
    page.get_by_role("button", name="Save customer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dora Explorer")
    expect(page.get_by_test_id("customer-metadata")).to_contain_text("Gold")
    saved = Customer.objects.get(pk=customer.pk)
    assert (saved.name, saved.metadata["tier"], saved.source_id) == (
        "Dora Explorer",
        "Gold",
        "crm-dora",
    )
