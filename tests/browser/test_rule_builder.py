"""Building a validation rule in the browser: conditions added with htmx, the logic checked as it
is typed, the JSON view, saving, the rule in words, and assigning it to a campaign."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from apps.projects.models import Role
from apps.rules.models import RuleAssignment, ValidationRule
from apps.segments.models import Segment
from tests.browser.htmx import settle
from tests.campaigns.factories import CampaignFactory
from tests.products.factories import ProductFactory
from tests.projects.factories import MembershipFactory, ProjectFactory
from tests.segments.factories import SegmentFactory


@pytest.fixture
def shop(transactional_db):
    project = ProjectFactory(name="Alpha Shop", currency="EUR")
    SegmentFactory(project=project, name="Loyal customers")
    SegmentFactory(name="Another project's segment")
    CampaignFactory(project=project, name="Spring sale")
    return project


def test_build_a_rule_check_its_logic_save_and_assign_it(page: Page, log_in, shop):
    log_in(MembershipFactory(project=shop, role=Role.MARKETER).user)
    page.goto("/rules/new/")
    page.get_by_label("Name", exact=True).fill("Loyal big baskets")

    # condition 1: order amount at least 100.00
    first = page.get_by_test_id("row").nth(0)
    expect(first.get_by_test_id("name")).to_have_value("order.amount")
    expect(first.get_by_test_id("operator")).to_have_value("$more_than_or_equal")
    first.get_by_test_id("value").fill("100.00")

    # condition 2: the customer is in a segment
    page.get_by_role("button", name="Add condition").click()
    expect(page.get_by_test_id("row")).to_have_count(2)
    settle(page)
    second = page.get_by_test_id("row").nth(1)
    second.get_by_test_id("name").select_option("customer.segment")
    settle(page)
    expect(second.get_by_test_id("operator")).to_contain_text("is in any of")
    second.get_by_test_id("operator").select_option("$in")
    settle(page)
    segments = second.get_by_test_id("value")
    expect(segments.locator("option")).to_have_text(["Loyal customers"])  # this project's only
    segments.select_option(label="Loyal customers")
    expect(page.get_by_test_id("logic")).to_have_value("1 and 2")

    # a bad logic is explained as it is typed, then fixed
    logic = page.get_by_test_id("logic")
    logic.fill("1 and 3")
    expect(page.get_by_test_id("logic-status")).to_contain_text("there is no rule 3")
    expect(page.get_by_test_id("logic-status")).to_contain_text("at character 7")
    logic.fill("1 and (2")
    expect(page.get_by_test_id("logic-status")).to_contain_text("a bracket is not closed")
    logic.fill("1 and 2")
    expect(page.get_by_test_id("logic-status")).to_have_text("OK")

    # the preview reads the rule and shows the JSON it will save
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("order amount is at least €100.00")
    expect(preview).to_contain_text("customer is in segment Loyal customers")
    expect(page.get_by_test_id("rule-json")).to_have_value(re.compile('"logic": "1 and 2"'))
    shown = json.loads(page.get_by_test_id("rule-json").input_value())
    assert shown["rules"]["1"] == {
        "name": "order.amount",
        "conditions": {"$more_than_or_equal": [10000]},
    }
    assert shown["rules"]["logic"] == "1 and 2"

    # save: the rule's page reads it in words
    page.get_by_role("button", name="Create rule").click()
    expect(page).to_have_url(re.compile(r"/rules/val_\w+/$"))
    words = page.get_by_test_id("rule-words")
    expect(words).to_contain_text("order amount is at least €100.00")
    expect(words).to_contain_text("customer is in segment Loyal customers")
    rule = ValidationRule.objects.get(project=shop, name="Loyal big baskets")
    loyal = Segment.objects.get(project=shop, name="Loyal customers")
    assert rule.rules["2"]["conditions"] == {"$in": [loyal.public_id]}

    # assign it to the campaign
    page.get_by_test_id("assign-campaign").select_option(label="Spring sale")
    page.get_by_role("button", name="Assign to the campaign").click()
    assignments = page.get_by_test_id("rule-assignments")
    expect(assignments.get_by_test_id("assignment")).to_contain_text("Spring sale")
    assert RuleAssignment.objects.filter(rule=rule, campaign__name="Spring sale").exists()

    # the campaign's page shows the rule in words
    assignments.get_by_role("link", name="Spring sale").click()
    card = page.get_by_test_id("assigned-rules")
    expect(card.get_by_test_id("assigned-rule")).to_contain_text("Loyal big baskets")
    expect(card).to_contain_text("order amount is at least €100.00")
    expect(card).to_contain_text("customer is in segment Loyal customers")


def test_pick_products_add_a_quantity_sub_rule_and_an_applicable_item(page: Page, log_in, shop):
    shoe = ProductFactory(project=shop, name="Trail shoe", source_id="trail-1")
    ProductFactory(project=shop, name="Wool hat")
    log_in(MembershipFactory(project=shop, role=Role.MARKETER).user)
    page.goto("/rules/new/")
    page.get_by_label("Name", exact=True).fill("Two pairs of shoes")

    # the order contains the trail shoe (found by searching), at least 2 of them
    row = page.get_by_test_id("row").nth(0)
    row.get_by_test_id("name").select_option("product.id")
    settle(page)
    row.get_by_test_id("item-search").fill("trail")
    row.get_by_test_id("item-search").press("Enter")  # searches; does not submit the form
    expect(row.get_by_test_id("items").locator("option")).to_have_text(["Trail shoe (trail-1)"])
    row.get_by_test_id("items").select_option(label="Trail shoe (trail-1)")
    expect(row.get_by_test_id("item-search")).to_have_value("trail")  # no page was loaded
    expect(page.get_by_test_id("save-failed")).to_have_count(0)
    row.get_by_role("button", name="Quantity, price or total").click()
    sub = page.get_by_test_id("sub-row").nth(0)
    expect(sub.get_by_test_id("name")).to_have_value("product.quantity")
    settle(page)
    sub.get_by_test_id("value").fill("2")

    # the discount applies to the cheapest shoe only, one unit
    page.get_by_role("button", name="Include items").click()
    target = page.get_by_test_id("target-included")
    expect(target).to_have_count(1)
    settle(page)
    target.get_by_test_id("target-ref").select_option(label="Trail shoe (trail-1)")
    target.get_by_test_id("target-effect").select_option("APPLY_TO_CHEAPEST")
    target.get_by_test_id("target-quantity_limit").fill("1")

    expect(page.get_by_test_id("preview")).to_contain_text("quantity is at least 2")
    page.get_by_role("button", name="Create rule").click()
    expect(page).to_have_url(re.compile(r"/rules/val_\w+/$"))
    expect(page.get_by_test_id("rule-words")).to_contain_text("the order contains Trail shoe")
    rule = ValidationRule.objects.get(project=shop, name="Two pairs of shoes")
    assert rule.rules == {
        "1": {
            "name": "product.id",
            "conditions": {"$is": [{"object": "product", "id": shoe.public_id}]},
            "rules": {
                "1": {"name": "product.quantity", "conditions": {"$more_than_or_equal": [2]}},
                "logic": "1",
            },
        },
        "logic": "1",
    }
    assert rule.applicable_to["included"] == [
        {
            "object": "product",
            "id": shoe.public_id,
            "source_id": shoe.source_id,
            "effect": "APPLY_TO_CHEAPEST",
            "quantity_limit": 1,
        }
    ]
