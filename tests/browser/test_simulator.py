"""Testing a cart in the browser: pick a customer and products, read why a code does not apply,
fix the cart, redeem it and open the redemption."""

import re

import pytest
from playwright.sync_api import Page, expect

from apps.projects.models import Role
from apps.redemptions.models import ChannelType, Redemption, Status
from tests.browser.htmx import settle
from tests.campaigns.factories import (
    CampaignFactory,
    PromotionFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.customers.factories import CustomerFactory
from tests.products.factories import ProductFactory
from tests.projects.factories import MembershipFactory, ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory


@pytest.fixture
def shop(transactional_db):
    project = ProjectFactory(name="Tea Shop", currency="USD")
    CustomerFactory(project=project, name="Alice Liddell", email="alice@example.com")
    CustomerFactory(project=project, name="Bob Stone", email="bob@example.com")
    CustomerFactory(name="Alice Elsewhere")  # another project's: never suggested
    ProductFactory(project=project, name="Teapot", source_id="teapot", price=2500)
    ProductFactory(project=project, name="Teacups", source_id="cups", price=1000)
    campaign = CampaignFactory(project=project, name="Big baskets")
    VoucherFactory(
        campaign=campaign,
        code="BIG5",
        discount={"type": "AMOUNT", "amount_off": 500, "effect": "APPLY_TO_ORDER"},
    )
    rule = ValidationRuleFactory(project=project, name="At least 100")
    RuleAssignmentFactory(rule=rule, campaign=campaign)
    return project


def pick_product(page: Page, row, search: str, name: str) -> None:
    settle(page)  # a row just swapped in gets its htmx handlers when it settles
    row.get_by_label("Product or SKU").fill(search)
    row.get_by_role("button", name=re.compile(name)).click()
    settle(page)


@pytest.mark.django_db(transaction=True)
def test_simulate_fix_and_redeem_a_cart(page: Page, log_in, shop):
    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user
    log_in(marketer)
    page.get_by_role("button", name="Redemptions").click()
    page.get_by_role("link", name="Test a cart").click()
    expect(page.get_by_role("heading", name="Test a cart")).to_be_visible()

    # pick a customer from the search
    page.get_by_label("Existing customer").fill("alice")
    suggestions = page.get_by_test_id("customer-suggestions")
    expect(suggestions).to_contain_text("Alice Liddell")
    expect(suggestions).not_to_contain_text("Elsewhere")
    suggestions.get_by_role("button", name=re.compile("Alice Liddell")).click()
    expect(page.get_by_test_id("chosen-customer")).to_contain_text("Alice Liddell")
    settle(page)

    # two items from the product picker: the price fills in from the catalog
    rows = page.get_by_test_id("item-row")
    pick_product(page, rows.nth(0), "teap", "Teapot")
    expect(rows.nth(0).get_by_test_id("item-product")).to_contain_text("Teapot")
    expect(rows.nth(0).get_by_label("Price")).to_have_value("25.00")
    page.get_by_test_id("add-item").click()
    expect(rows).to_have_count(2)
    pick_product(page, rows.nth(1), "cups", "Teacups")
    expect(rows.nth(1).get_by_label("Price")).to_have_value("10.00")

    # a code whose rule wants 100.00: the cart (35.00) fails it, and says why
    code = page.get_by_test_id("redeemable-row").first.get_by_label("Code", exact=True)
    code.fill("BIG5")
    code.press("Tab")
    results = page.get_by_test_id("simulator-results")
    expect(page.get_by_test_id("validity")).to_contain_text("Not valid")
    expect(page.get_by_test_id("explanation")).to_have_text(
        "At least 100: order amount 35.00 is below 100.00"
    )
    expect(page.get_by_test_id("verdict-status")).to_have_text("INAPPLICABLE")
    expect(page.get_by_test_id("redeem")).to_have_count(0)

    # four teapots make 110.00: the code applies and the totals follow
    quantity = rows.nth(0).get_by_label("Quantity")
    quantity.fill("4")
    quantity.press("Tab")
    expect(page.get_by_test_id("validity")).to_contain_text("Valid")
    expect(page.get_by_test_id("verdict-status")).to_have_text("APPLICABLE")
    expect(page.get_by_test_id("total-amount-before")).to_have_text("$110.00")
    expect(page.get_by_test_id("total-discount-amount")).to_have_text("$5.00")
    expect(page.get_by_test_id("total-amount")).to_have_text("$105.00")
    expect(results.get_by_test_id("line")).to_have_count(2)
    # the cart is in the address: bookmarkable
    expect(page).to_have_url(re.compile(r"code=BIG5"))
    expect(page).to_have_url(re.compile(r"qty=4"))

    # redeem it, for real
    settle(page)
    page.get_by_test_id("redeem").click()
    expect(page.get_by_test_id("redeem-success")).to_contain_text("Redeemed: $5.00 off")
    parent = Redemption.objects.get(project=shop, parent__isnull=True)
    assert parent.status == Status.SUCCEEDED and parent.channel_type == ChannelType.USER
    assert parent.customer.name == "Alice Liddell" and parent.amount == 500
    page.get_by_test_id("redemption-link").click()
    expect(page).to_have_url(re.compile(rf"/redemptions/{parent.public_id}/$"))
    expect(page.get_by_text(parent.public_id).first).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_add_an_offer_then_remove_it_as_a_viewer(page: Page, log_in, shop):
    # given a promotion tier every cart gets
    tier = PromotionTierFactory(
        campaign=PromotionFactory(project=shop, name="Welcome"),
        name="Two off",
        discount={"type": "AMOUNT", "amount_off": 200, "effect": "APPLY_TO_ORDER"},
    )
    viewer = MembershipFactory(project=shop, role=Role.VIEWER).user
    log_in(viewer)
    page.goto("/redemptions/simulator/")

    # an order amount alone: the tier qualifies and can be added with one click
    amount = page.get_by_label("Order amount")
    amount.fill("20.00")
    amount.press("Tab")
    offer = page.get_by_test_id("offer").filter(has_text="Two off")
    expect(offer).to_contain_text("$2.00")
    offer.get_by_role("button", name=re.compile("Add")).click()
    expect(page.get_by_test_id("redeemable-tier").last).to_have_value(tier.public_id)
    expect(page.get_by_test_id("validity")).to_contain_text("Valid")
    expect(page.get_by_test_id("total-amount")).to_have_text("$18.00")
    expect(offer).to_contain_text("in the cart")
    # viewers test carts but do not redeem them
    expect(page.get_by_test_id("redeem")).to_have_count(0)
    expect(page.get_by_test_id("simulator-results")).to_contain_text("needs the marketer role")

    # removing the rows leaves nothing to validate
    settle(page)
    rows = page.get_by_test_id("redeemable-row")
    while rows.count():
        rows.first.get_by_role("button", name="Remove this code or tier").click()
        settle(page)
    expect(page.get_by_test_id("no-redeemables")).to_be_visible()
    assert not Redemption.objects.exists()
