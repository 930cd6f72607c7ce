"""Categories and campaign templates in the browser: create and edit a category, save a
campaign as a template and start a new campaign with codes from it."""

import re

from playwright.sync_api import Page, expect

from apps.campaigns.models import Campaign, Category, Voucher
from apps.projects.models import Role
from tests.campaigns.factories import CampaignFactory
from tests.projects.factories import MembershipFactory, ProjectFactory


def test_a_marketer_manages_categories_and_reuses_a_campaign_as_a_template(
    page: Page, log_in, transactional_db
):
    project = ProjectFactory(name="Catalog shop")
    marketer = MembershipFactory(project=project, role=Role.MARKETER).user
    source = CampaignFactory(project=project, name="Autumn sale")
    log_in(marketer)

    page.goto("/campaigns/categories/")
    page.get_by_label("Name").fill("Seasonal")
    page.get_by_label("Hierarchy").fill("2")
    page.get_by_label("Stacking").select_option("EXCLUSIVE")
    page.get_by_role("button", name="Create category").click()
    expect(page.locator("#category-results")).to_contain_text("Seasonal")
    category = Category.objects.get(project=project)
    assert (category.hierarchy, category.stacking_rules_type) == (2, "EXCLUSIVE")
    page.get_by_role("link", name="Edit Seasonal").click()
    page.get_by_label("Name").fill("Seasonal deals")
    page.get_by_role("button", name=re.compile("Save")).click()
    expect(page.locator("#category-results")).to_contain_text("Seasonal deals")

    page.goto(f"/campaigns/{source.public_id}/")
    page.get_by_role("link", name="Save as template").click()
    page.get_by_label("Template name").fill("Sale template")
    page.get_by_role("button", name="Save template").click()
    page.goto("/campaigns/templates/")
    expect(page.get_by_text("Sale template")).to_be_visible()
    page.get_by_role("link", name="Use Sale template").click()
    page.get_by_label("New campaign name").fill("Winter sale")
    page.get_by_label("Codes to generate").fill("25")
    page.locator("#template-campaign-form").get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Winter sale")

    made = Campaign.objects.get(project=project, name="Winter sale")
    assert made.discount == source.discount
    assert Voucher.objects.filter(campaign=made).count() == 25
