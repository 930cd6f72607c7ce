import re

from playwright.sync_api import Page, expect

from apps.campaigns.models import Campaign, Voucher
from apps.jobs.models import Job, JobStatus
from apps.projects.models import Role
from tests.projects.factories import MembershipFactory, ProjectFactory


def next_step(page: Page, title: str) -> None:
    page.get_by_role("button", name="Next →").click()
    expect(page.get_by_role("heading", level=2, name=title)).to_be_visible()


def test_create_a_discount_campaign_of_500_codes(page: Page, log_in, transactional_db):
    project = ProjectFactory(name="Alpha Shop", currency="USD")
    user = MembershipFactory(project=project, role=Role.MARKETER).user

    log_in(user)
    page.goto("/campaigns/")
    page.get_by_role("link", name="New campaign").click()

    # step 1: type and name
    expect(page.get_by_label("Discount coupons")).to_be_checked()
    page.get_by_label("Name").fill("Spring 500")
    next_step(page, "Codes")

    # step 2: the sample codes follow the pattern as it is typed
    samples = page.get_by_test_id("code-samples").locator("code")
    expect(samples).to_have_count(5)
    page.get_by_label(re.compile(r"^Characters")).select_option("upper")
    page.get_by_label("Pattern").fill("AB-####")
    for index in range(5):
        expect(samples.nth(index)).to_have_text(re.compile(r"^AB-[A-Z]{4}$"))
    page.get_by_label("Pattern").fill("ZZ##")
    for index in range(5):
        expect(samples.nth(index)).to_have_text(re.compile(r"^ZZ[A-Z]{2}$"))
    expect(page.get_by_test_id("code-capacity")).to_have_text("676")
    page.get_by_label("Pattern").fill("SPRING-#####")
    page.get_by_label("Number of codes").fill("500")
    expect(page.get_by_test_id("code-capacity")).to_have_text("11,881,376")
    expect(page.get_by_test_id("code-fits")).to_have_text("Yes")
    next_step(page, "Value")

    # step 3: 5.00 off (the percentage inputs are hidden for an amount)
    page.get_by_label("Discount").select_option("AMOUNT")
    expect(page.get_by_label("Percent off")).to_be_hidden()
    page.get_by_label("Amount off").fill("5.00")
    next_step(page, "Validity")
    page.get_by_label("Sat").check()
    next_step(page, "Limits")
    page.get_by_label("Redemptions per code").fill("1")
    next_step(page, "Metadata")
    page.get_by_label("Key 1").fill("owner")
    page.get_by_label("Value 1").fill("CRM")

    # back and forth keeps what was typed
    page.get_by_role("button", name="← Back").click()
    expect(page.get_by_label("Redemptions per code")).to_have_value("1")
    next_step(page, "Metadata")
    expect(page.get_by_label("Key 1")).to_have_value("owner")
    next_step(page, "Review")

    review = page.get_by_test_id("wizard-review")
    expect(review).to_contain_text("$5.00 off")
    expect(review).to_contain_text("500 codes")
    expect(review).to_contain_text("Only on Sat")
    expect(page.get_by_test_id("review-samples").locator("code")).to_have_count(5)
    page.get_by_role("button", name="Create campaign").click()

    # the campaign page: generation done, the table lists codes
    campaign = Campaign.objects.get(project=project, name="Spring 500")
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.public_id}/$"))
    generation = page.get_by_test_id("generation-job")
    expect(generation.locator("[data-status]")).to_have_attribute("data-status", "DONE")
    expect(generation.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("figure-generated")).to_have_text("500")
    rows = page.get_by_test_id("voucher-row")
    expect(rows).to_have_count(25)
    expect(rows.first.locator("code")).to_have_text(re.compile(r"^SPRING-[A-Z]{5}$"))
    assert Voucher.objects.filter(campaign=campaign).count() == 500
    job = Job.objects.get(project=project, type="campaign.generate")
    assert job.status == JobStatus.DONE and job.params["campaign"] == campaign.public_id
    assert campaign.metadata == {"owner": "CRM"} and campaign.validity_day_of_week == [6]

    # the codes table filters without a reload
    first_code = rows.first.locator("code").inner_text()
    page.get_by_label("Code starts with").fill(first_code)
    expect(rows).to_have_count(1)


def test_create_a_gift_card_campaign(page: Page, log_in, transactional_db):
    project = ProjectFactory(name="Alpha Shop", currency="EUR")
    user = MembershipFactory(project=project, role=Role.MARKETER).user

    log_in(user)
    page.goto("/campaigns/new/")
    page.get_by_label("Gift cards").check()
    page.get_by_label("Name").fill("Gift 50")
    next_step(page, "Codes")
    page.get_by_label("Number of codes").fill("20")
    page.get_by_label("Prefix").fill("GIFT-")
    expect(page.get_by_test_id("code-samples").locator("code").first).to_have_text(
        re.compile(r"^GIFT-")
    )
    next_step(page, "Value")
    page.get_by_label("Card value").fill("50.00")
    next_step(page, "Validity")
    next_step(page, "Limits")
    next_step(page, "Metadata")
    next_step(page, "Review")
    expect(page.get_by_test_id("review-value")).to_have_text("Gift card of €50.00")
    page.get_by_role("button", name="Create campaign").click()

    expect(page.get_by_test_id("campaign-value")).to_have_text("Gift card of €50.00")
    expect(page.get_by_test_id("figure-generated")).to_have_text("20")
    rows = page.get_by_test_id("voucher-row")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text("€50.00")
    expect(page.get_by_test_id("generation-job")).to_have_count(0)  # 20 codes: made at once
