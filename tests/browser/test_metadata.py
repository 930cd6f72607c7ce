from playwright.sync_api import Page, expect

from apps.metadata.models import MetadataSchema
from apps.projects.models import Role
from tests.projects.factories import MembershipFactory, ProjectFactory


def test_admin_defines_a_required_key_and_the_customer_form_asks_for_it(
    page: Page, log_in, transactional_db
):
    project = ProjectFactory(name="Alpha Shop")
    admin = MembershipFactory(project=project, role=Role.ADMIN).user

    log_in(admin)
    page.goto("/settings/metadata/")
    page.get_by_role("link", name="Edit").first.click()  # Customer is the first resource
    page.locator("#id_keys-0-key").fill("tier")
    page.locator("#id_keys-0-type").select_option("string")
    page.locator("#id_keys-0-required").check()
    page.locator("#id_keys-0-allowed").fill("Gold, Silver")
    page.get_by_role("button", name="Save schema").click()
    expect(page.locator(".alert-success")).to_contain_text("saved")

    schema = MetadataSchema.objects.get(project=project, related_object="customer")
    assert schema.properties["tier"]["allowed"] == ["Gold", "Silver"]
    assert schema.properties["tier"]["optional"] is False

    page.goto("/customers/new/")
    tier = page.get_by_label("tier")
    expect(tier).to_be_visible()
    expect(tier.locator("option")).to_have_text(["—", "Gold", "Silver"])
