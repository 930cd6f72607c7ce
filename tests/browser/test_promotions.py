import pytest
from playwright.sync_api import Page, expect

from apps.campaigns.models import PromotionStack, PromotionTier, StackTier
from apps.projects.models import Role
from tests.campaigns.factories import PromotionFactory
from tests.projects.factories import MembershipFactory, ProjectFactory


@pytest.fixture
def shop(transactional_db):
    return ProjectFactory(name="Alpha Shop", currency="USD")


@pytest.fixture
def marketer(shop):
    return MembershipFactory(project=shop, role=Role.MARKETER).user


def _add_tier(page: Page, name: str, kind: str, field: str, value: str) -> None:
    page.get_by_role("link", name="Add tier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New promotion tier")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Discount type").select_option(label=kind)
    page.get_by_label(field).fill(value)
    page.get_by_role("button", name="Add tier").click()
    expect(page.locator(".alert-success")).to_contain_text(f"Tier “{name}” added.")


def test_add_two_tiers_reorder_them_and_stack_both(page: Page, log_in, shop, marketer):
    promotion = PromotionFactory(project=shop, name="Summer sale")
    log_in(marketer)
    page.goto(f"/campaigns/{promotion.public_id}/")
    section = page.get_by_test_id("promotion-tiers")
    expect(section).to_contain_text("No tiers yet.")

    # two tiers, the second added last
    _add_tier(page, "Ten off", "Amount off", "Amount off (USD)", "10")
    _add_tier(page, "Big spender", "Percent off", "Percent off", "20")
    names = page.get_by_test_id("tier-name")
    expect(names).to_have_text(["Ten off", "Big spender"])
    expect(page.get_by_test_id("tier-row").nth(0)).to_contain_text("$10.00 off")
    expect(page.get_by_test_id("tier-row").nth(1)).to_contain_text("20% off")

    # move the second tier up: the section is swapped in place, no page load
    page.evaluate("window.__noFullReload = true")
    page.get_by_role("button", name="Move Big spender up").click()
    expect(names).to_have_text(["Big spender", "Ten off"])
    assert page.evaluate("window.__noFullReload === true")
    assert list(
        PromotionTier.objects.filter(campaign=promotion)
        .order_by("hierarchy")
        .values_list("name", flat=True)
    ) == ["Big spender", "Ten off"]

    # a stack of both, Ten off applied first
    page.get_by_role("link", name="New stack").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New stack")
    page.locator("#stack-form #id_name").fill("Summer combo")
    page.get_by_label("Ten off", exact=True).check()
    page.get_by_label("Position of Ten off").fill("1")
    page.get_by_label("Big spender", exact=True).check()
    page.get_by_label("Position of Big spender").fill("2")
    page.get_by_role("button", name="Create stack").click()
    expect(page.locator(".alert-success")).to_contain_text("Stack “Summer combo” saved.")
    stack_row = page.get_by_test_id("stack-row")
    expect(stack_row.get_by_test_id("stack-name")).to_have_text("Summer combo")
    expect(stack_row.locator("li")).to_have_text(["Ten off", "Big spender"])
    stack = PromotionStack.objects.get(campaign=promotion)
    assert list(
        StackTier.objects.filter(stack=stack)
        .order_by("position")
        .values_list("tier__name", flat=True)
    ) == ["Ten off", "Big spender"]
