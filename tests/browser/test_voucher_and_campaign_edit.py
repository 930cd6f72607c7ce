"""A standalone voucher created in the browser, and a campaign edited in the browser."""

import re

from playwright.sync_api import Page, expect

from apps.campaigns.models import Campaign, Voucher
from apps.projects.models import Role
from tests.campaigns.factories import CampaignFactory
from tests.projects.factories import MembershipFactory, ProjectFactory


def test_a_marketer_creates_a_standalone_voucher(page: Page, log_in, transactional_db):
    project = ProjectFactory(name="Voucher shop", currency="USD")
    marketer = MembershipFactory(project=project, role=Role.MARKETER).user
    log_in(marketer)
    page.goto("/campaigns/vouchers/new/")
    page.get_by_label("Code", exact=True).fill("WELCOME10")
    page.locator("#id_discount_type").select_option("AMOUNT")
    page.get_by_label(re.compile(r"^Amount off")).fill("10")
    page.get_by_role("button", name="Create voucher").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("WELCOME10")
    voucher = Voucher.objects.get(project=project, code="WELCOME10")
    assert voucher.campaign is None
    assert voucher.discount["type"] == "AMOUNT" and voucher.discount["amount_off"] == 1000


def test_a_marketer_edits_a_campaign(page: Page, log_in, transactional_db):
    project = ProjectFactory(name="Edit shop")
    marketer = MembershipFactory(project=project, role=Role.MARKETER).user
    campaign = CampaignFactory(project=project, name="Spring")
    log_in(marketer)
    page.goto(f"/campaigns/{campaign.public_id}/edit/")
    page.locator("#id_name").fill("Spring deals")
    page.get_by_label("Redemptions per code").fill("3")
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Spring deals")
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert (campaign.name, campaign.redemption_quantity) == ("Spring deals", 3)
