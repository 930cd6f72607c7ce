"""The redemption screens in the browser: find a redemption by filtering the list, open it, see
why a failed one failed, roll a successful one back with a reason."""

import re

import pytest
from playwright.sync_api import Page, expect

from apps.projects.models import Role
from apps.redemptions.models import Redemption, Status
from apps.redemptions.services import redemption_redeem
from tests.browser.htmx import settle
from tests.campaigns.factories import CampaignFactory, VoucherFactory
from tests.projects.factories import MembershipFactory, ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(transactional_db):
    """ "Alpha Shop": SAVE5 redeemed by Ann, MIN100 refused for Bob (84.00 < 100.00), and
    OTHER5 redeemed anonymously."""
    project = ProjectFactory(name="Alpha Shop", currency="USD")
    spring = CampaignFactory(project=project, name="Spring sale")
    VoucherFactory(campaign=spring, code="SAVE5")
    VoucherFactory(campaign=spring, code="OTHER5")
    strict = CampaignFactory(project=project, name="Big baskets")
    VoucherFactory(campaign=strict, code="MIN100")
    RuleAssignmentFactory(rule=ValidationRuleFactory(project=project), campaign=strict)
    for code, amount, customer in (
        ("SAVE5", 10000, {"source_id": "ann", "name": "Ann Archer"}),
        ("MIN100", 8400, {"source_id": "bob", "name": "Bob Brown"}),
        ("OTHER5", 6000, None),
    ):
        payload = {
            "redeemables": [{"object": "voucher", "id": code}],
            "order": {"amount": amount},
        }
        if customer:
            payload["customer"] = customer
        redemption_redeem(project=project, payload=payload)
    return project


def test_filter_open_and_roll_back_a_redemption(page: Page, log_in, shop):
    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user
    log_in(marketer)
    page.goto("/redemptions/")
    rows = page.locator("#redemption-results tbody tr")
    expect(rows).to_have_count(3)
    page.evaluate("window.__noFullReload = true")

    # filtering by result, then by code, narrows the list in place and keeps the URL
    page.get_by_label("Result").select_option("FAILURE")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("MIN100")
    expect(rows.first).to_contain_text("order_rules_violated")
    expect(page).to_have_url(re.compile(r"[?&]result=FAILURE(&|$)"))
    rows.first.get_by_role("link").first.click()
    expect(page.get_by_test_id("redeemable-explanation")).to_contain_text(
        "order amount 84.00 is below 100.00"
    )
    page.go_back()  # the list as it was filtered (a page, not the cached partial)
    expect(rows).to_have_count(1)
    page.evaluate("window.__noFullReload = true")

    page.get_by_label("Result").select_option("")
    expect(rows).to_have_count(3)
    page.get_by_label("Voucher code").fill("save5")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ann Archer")
    expect(rows.first).to_contain_text("$5.00")
    expect(page).to_have_url(re.compile(r"[?&]code=save5(&|$)"))
    assert page.evaluate("window.__noFullReload === true"), "filtering reloaded the page"

    # open it: a successful checkout, with the order and a rollback form
    rows.first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Redemption")
    header = page.get_by_test_id("redemption-header")
    expect(header.get_by_test_id("redemption-status")).to_have_text("SUCCEEDED")
    expect(page.get_by_test_id("order-totals")).to_contain_text("$95.00")
    expect(page.get_by_test_id("rollback-history")).to_contain_text("Never rolled back")

    # roll it back with a reason
    page.evaluate("window.__noFullReload = true")
    page.get_by_label("Reason").fill("Goods returned in store")
    page.get_by_role("button", name="Roll back redemption").click()
    settle(page)
    expect(header.get_by_test_id("redemption-status")).to_have_text("ROLLED_BACK")
    history = page.get_by_test_id("rollback-row")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("Goods returned in store")
    expect(history.first).to_contain_text(marketer.email)
    expect(history.first).to_contain_text("$5.00")
    expect(page.locator("#messages")).to_contain_text("rolled back")
    expect(page.get_by_test_id("order-totals")).to_contain_text("$100.00")
    expect(page.get_by_role("button", name="Roll back redemption")).to_have_count(0)
    assert page.evaluate("window.__noFullReload === true"), "the rollback reloaded the page"

    parent = Redemption.objects.get(project=shop, parent=None, code="", status=Status.ROLLED_BACK)
    assert parent.rollbacks.get().reason == "Goods returned in store"

    # and the list shows it rolled back
    page.goto("/redemptions/?status=ROLLED_BACK")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("SAVE5")
