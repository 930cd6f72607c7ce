"""Building a segment in the browser: conditions and groups, the live preview, the JSON view, and
saving (the recompute runs eagerly in tests, as a worker would run it)."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from apps.projects.models import Role
from apps.segments.models import Segment, SegmentMember
from tests.browser.htmx import settle
from tests.customers.factories import CustomerFactory
from tests.projects.factories import MembershipFactory, ProjectFactory


@pytest.fixture
def shop(transactional_db):
    project = ProjectFactory(name="Alpha Shop", currency="EUR")
    CustomerFactory(project=project, name="Anna Berlin", address_city="Berlin")
    CustomerFactory(
        project=project, name="Ben Berlin", address_city="Berlin", orders_total_amount=50_000
    )
    CustomerFactory(project=project, name="Carl Munich", address_city="Munich")
    CustomerFactory(
        project=project, name="Dana Hamburg", address_city="Hamburg", orders_total_amount=90_000
    )
    CustomerFactory(name="Other Project Berlin", address_city="Berlin")
    return project


def test_build_a_segment_with_a_group_and_watch_the_preview(page: Page, log_in, shop):
    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user
    log_in(marketer)
    page.goto("/segments/new/")
    preview = page.get_by_test_id("preview")
    page.get_by_label("Name").fill("Berlin or big spenders")

    # City is Berlin: the preview counts this project's two Berliners
    first = page.get_by_test_id("condition").first
    first.get_by_test_id("value").fill("Berlin")
    expect(page.get_by_test_id("preview-count")).to_have_text("2")
    expect(preview).to_contain_text("Anna Berlin")
    expect(preview).not_to_contain_text("Other Project")

    # switch the top level to "any" and add a group: total spent at least 800.00
    page.get_by_label("Customers matching").select_option("or")
    expect(page.get_by_test_id("preview-count")).to_have_text("2")
    page.get_by_role("button", name="Group").first.click()
    group = page.get_by_test_id("group").nth(1)
    expect(group.get_by_test_id("condition")).to_have_count(1)
    settle(page)
    group.get_by_test_id("field").select_option("summary.orders.total_amount")
    settle(page)
    expect(group.get_by_test_id("operator")).to_contain_text("is at least")
    group.get_by_test_id("operator").select_option("$more_than_equal")
    settle(page)
    group.get_by_test_id("value").fill("800")
    expect(page.get_by_test_id("preview-count")).to_have_text("3")
    expect(preview).to_contain_text("Dana Hamburg")

    # a bad value is marked on its row, and the preview says why
    group.get_by_test_id("value").fill("lots")
    expect(group.get_by_test_id("condition-error")).to_contain_text("“lots”")
    expect(page.get_by_test_id("preview-error")).to_be_visible()
    group.get_by_test_id("value").fill("800")
    expect(page.get_by_test_id("preview-count")).to_have_text("3")
    expect(group.get_by_test_id("condition-error")).to_have_text("")

    expected = {
        "junction": "or",
        "address.city": {"conditions": {"$is": ["Berlin"]}},
        "group_1": {  # a group inside "any" starts as "all"
            "junction": "and",
            "summary.orders.total_amount": {"conditions": {"$more_than_equal": [80000]}},
        },
    }
    expect(page.get_by_test_id("filter-json-view")).to_contain_text('"group_1"')
    assert json.loads(page.get_by_test_id("filter-json-view").text_content()) == expected

    page.get_by_role("button", name="Create segment").click()
    expect(page).to_have_url(re.compile(r"/segments/seg_\w+/$"))
    segment = Segment.objects.get(project=shop, name="Berlin or big spenders")
    assert segment.filter == expected
    names = set(
        SegmentMember.objects.filter(segment=segment).values_list("customer__name", flat=True)
    )
    assert names == {"Anna Berlin", "Ben Berlin", "Dana Hamburg"}


def test_paste_json_and_edit_it_in_the_builder(page: Page, log_in, shop):
    log_in(MembershipFactory(project=shop, role=Role.MARKETER).user)
    page.goto("/segments/new/")
    pasted = {
        "junction": "and",
        "address.city": {"conditions": {"$in": ["Berlin", "Munich"]}},
        "name": {"conditions": {"$starts_with": ["C"]}},
    }
    page.locator("summary", has_text="Filter JSON").click()
    page.locator("#filter-json").fill(json.dumps(pasted))
    page.get_by_role("button", name="Load JSON into the builder").click()
    expect(page.get_by_test_id("condition")).to_have_count(2)
    settle(page)
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    expect(page.get_by_test_id("preview")).to_contain_text("Carl Munich")
    # remove the name condition: both Berliners and Carl match
    page.get_by_test_id("condition").nth(1).get_by_role("button", name="Remove condition").click()
    expect(page.get_by_test_id("condition")).to_have_count(1)
    expect(page.get_by_test_id("preview-count")).to_have_text("3")
