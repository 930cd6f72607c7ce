import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.forms import CampaignWizard
from apps.campaigns.models import (
    Campaign,
    CampaignType,
    CreationStatus,
    PromotionTier,
    Publication,
    Voucher,
    VoucherTransaction,
)
from apps.jobs.models import Job, JobStatus
from apps.metadata.services import metadata_schema_save
from apps.projects.models import Role
from tests.campaigns.factories import (
    CampaignFactory,
    CategoryFactory,
    GiftCardFactory,
    PromotionFactory,
    VoucherFactory,
)
from tests.customers.factories import CustomerFactory
from tests.jobs.factories import JobFactory
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db

WIZARD = reverse("campaigns:create")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


# --- a tiny browser: the wizard's form as the page shows it ------------------------------------


class _FormReader(HTMLParser):
    """The values a browser would submit from the form with id `form_id`."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, []
        self.select, self.first, self.selected, self.textarea = None, None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.values.append((a["name"], a.get("value", default)))
        elif tag == "select":
            self.select, self.first, self.selected = a.get("name"), None, None
        elif tag == "option" and self.select:
            value = a.get("value", "")
            self.first = value if self.first is None else self.first
            self.selected = value if "selected" in a else self.selected
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), ""

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        if tag == "select" and self.select:
            chosen = self.selected if self.selected is not None else self.first
            if chosen is not None:
                self.values.append((self.select, chosen))
            self.select = None
        if tag == "textarea" and self.textarea:
            self.values.append((self.textarea, self.text.lstrip("\n")))
            self.textarea = None


def page_values(response, form_id="campaign-wizard") -> list[tuple[str, str]]:
    reader = _FormReader(form_id)
    reader.feed(response.content.decode())
    return reader.values


def submit(
    client, response, fields: dict | None = None, nav: str = "next", form_id="campaign-wizard"
):
    """Post the page's form as a browser would, with `fields` typed over it (a list value
    ticks several checkboxes; None unticks)."""
    values = page_values(response, form_id)
    fields = fields or {}
    data: dict[str, list[str]] = {}
    for name, value in values:
        if name in fields:
            continue
        data.setdefault(name, []).append(value)
    for name, value in fields.items():
        if value is None:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    data["nav"] = [nav]
    url = WIZARD if form_id == "campaign-wizard" else response.request["PATH_INFO"]
    return client.post(url, data)


def step_of(response) -> int:
    return int(re.search(rb'data-step="(\d)"', response.content).group(1))


def walk(client, steps: list[dict], start=None):
    """Fill each step with its fields and press Next; returns the last response."""
    response = start or client.get(WIZARD)
    for fields in steps:
        response = submit(client, response, fields)
        assert response.status_code == 200
    return response


def basics(name="Spring coupons", kind="DISCOUNT_COUPONS", **extra) -> dict:
    return {"s1-campaign_type": kind, "s1-name": name, **extra}


CODES = {"s2-type": "STATIC", "s2-vouchers_count": 20, "s2-charset": "upper", "s2-length": 8}


# --- list --------------------------------------------------------------------------------------


def test_list_shows_each_campaign_with_its_codes_status_and_category(owner_client, project):
    # given campaigns in every state, with codes, and one of another project
    now = timezone.now()
    food = CategoryFactory(project=project, name="Food")
    live = CampaignFactory(project=project, name="Live one", category=food)
    VoucherFactory.create_batch(3, campaign=live)
    CampaignFactory(project=project, name="Old one", expiration_date=now - timedelta(days=1))
    CampaignFactory(project=project, name="Future one", start_date=now + timedelta(days=1))
    CampaignFactory(project=project, name="Off one", active=False)
    CampaignFactory(name="Other project one")
    # when
    response = owner_client.get(reverse("campaigns:list"))
    # then
    rows = {c.name: c for c in response.context["page"]}
    assert set(rows) == {"Live one", "Old one", "Future one", "Off one"}
    assert rows["Live one"].codes == 3 and rows["Old one"].codes == 0
    statuses = {name: c.status_label for name, c in rows.items()}
    assert statuses == {
        "Live one": "Active",
        "Old one": "Expired",
        "Future one": "Scheduled",
        "Off one": "Disabled",
    }
    html = response.content.decode()
    assert "Food" in html and "Other project one" not in html
    for name in ("categories", "templates", "publications", "create"):
        assert reverse(f"campaigns:{name}") in html


def test_list_filters_are_bookmarkable_and_refresh_as_a_partial(owner_client, project):
    food = CategoryFactory(project=project, name="Food")
    CampaignFactory(project=project, name="Pizza Friday", category=food)
    CampaignFactory(project=project, name="Pizza gift", campaign_type=CampaignType.GIFT_VOUCHERS)
    CampaignFactory(project=project, name="Burger off", active=False)
    url = reverse("campaigns:list")

    def names(params, **kwargs):
        response = owner_client.get(url, params, **kwargs)
        return response, {c.name for c in response.context["page"]}

    assert names({"q": "pizza"})[1] == {"Pizza Friday", "Pizza gift"}
    assert names({"campaign_type": "GIFT_VOUCHERS"})[1] == {"Pizza gift"}
    assert names({"active": "false"})[1] == {"Burger off"}
    assert names({"category": food.public_id})[1] == {"Pizza Friday"}
    assert names({"category": "cat_unknown"})[1] == set()  # invalid choice: nothing, not all
    response, found = names({"q": "pizza", "active": "true"}, headers={"HX-Request": "true"})
    assert found == {"Pizza Friday", "Pizza gift"}
    assert b"<html" not in response.content and b'id="campaign-results"' in response.content


def test_list_counts_codes_in_one_query_and_pages_without_counting(
    owner_client, project, django_assert_max_num_queries
):
    for index in range(27):
        campaign = CampaignFactory(project=project, name=f"Campaign {index:02d}")
        VoucherFactory.create_batch(index % 3, campaign=campaign)
    with django_assert_max_num_queries(7):
        first = owner_client.get(reverse("campaigns:list"))
    page = first.context["page"]
    assert len(page) == 25 and page.has_next and b"page=2" in first.content
    assert sorted({c.codes for c in page}) == [0, 1, 2]
    second = owner_client.get(reverse("campaigns:list"), {"page": 2})
    assert len(second.context["page"]) == 2


# --- wizard ------------------------------------------------------------------------------------


def test_wizard_creates_a_discount_campaign_step_by_step(owner_client, project):
    # given a project in Berlin time and a category
    project.time_zone = "Europe/Berlin"
    project.save()
    category = CategoryFactory(project=project, name="Newsletter")
    # when walking every step
    response = walk(
        owner_client,
        [
            basics(**{"s1-category": category.public_id, "s1-description": "For subscribers"}),
            {**CODES, "s2-pattern": "SPR-####", "s2-prefix": "X"},
            {
                "s3d-discount_type": "PERCENT",
                "s3d-percent_off": "15",
                "s3d-amount_limit": "20.00",
                "s3d-effect": "APPLY_TO_ITEMS",
            },
            {
                "s4-start_date": "2026-06-01T09:00",
                "s4-expiration_date": "2026-06-30T18:00",
                "s4-days_of_week": [1, 5],
                "s4-hours_start": "09:00",
                "s4-hours_end": "17:30",
                "s4-activity_days": "30",
            },
            {"s5-redemption_quantity": "2", "s5-join_once": "on"},
            {"meta-0-key": "owner", "meta-0-value": "CRM team"},
        ],
    )
    # then the review says it all in words
    assert step_of(response) == 7
    review = response.content.decode()
    assert "15% off on matching items (up to $20.00)" in review
    assert "20 codes" in review and "Pattern SPR-####" in review
    assert re.search(r"<code[^>]*>XSPR-[A-Z]{4}</code>", review)
    assert "From 2026-06-01 09:00 to 2026-06-30 18:00 (Europe/Berlin)" in review
    assert "Only on Mon, Fri" in review and "Daily 09:00-17:30" in review
    assert "Codes stay valid for 30 days after publishing" in review
    # when creating
    response = submit(owner_client, response, nav="create")
    # then
    campaign = Campaign.objects.get(project=project, name="Spring coupons")
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.public_id])
    assert campaign.category == category and campaign.description == "For subscribers"
    assert campaign.discount == {
        "type": "PERCENT",
        "percent_off": 15,
        "amount_limit": 2000,
        "effect": "APPLY_TO_ITEMS",
    }
    assert campaign.code_config == {
        "charset": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "prefix": "X",
        "postfix": "",
        "pattern": "SPR-####",
    }
    assert campaign.start_date == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    assert campaign.expiration_date == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    assert campaign.validity_day_of_week == [1, 5]
    assert campaign.validity_hours == {
        "daily": [{"start_time": "09:00", "expiration_time": "17:30", "days_of_week": [1, 5]}]
    }
    assert campaign.activity_duration_after_publishing == "P30D"
    assert (campaign.redemption_quantity, campaign.join_once, campaign.auto_join) == (
        2,
        True,
        False,
    )
    assert campaign.metadata == {"owner": "CRM team"}
    codes = list(Voucher.objects.filter(campaign=campaign).values_list("code", flat=True))
    assert len(codes) == 20 and all(re.fullmatch(r"XSPR-[A-Z]{4}", code) for code in codes)


def test_wizard_back_and_step_links_keep_what_was_typed(owner_client, project):
    response = walk(owner_client, [basics(name="Keep me"), {**CODES, "s2-prefix": "KEEP-"}])
    assert step_of(response) == 3
    # Back without finishing step 3: what was typed there stays too
    response = submit(owner_client, response, {"s3d-amount_off": "7.50"}, nav="back")
    assert step_of(response) == 2
    assert 'value="KEEP-"' in response.content.decode()
    response = submit(owner_client, response, nav="goto-1")
    assert step_of(response) == 1 and 'value="Keep me"' in response.content.decode()
    response = submit(owner_client, response)  # Next
    response = submit(owner_client, response)  # Next again, nothing changed
    assert step_of(response) == 3
    assert 'value="7.50"' in response.content.decode()


def test_wizard_shows_a_steps_errors_and_stays_on_it(owner_client, project):
    CampaignFactory(project=project, name="Taken")
    response = walk(owner_client, [basics(name="Taken")])
    assert step_of(response) == 1
    assert "A campaign named “Taken” exists." in response.content.decode()
    response = walk(owner_client, [basics(name="Fresh"), CODES, {"s3d-discount_type": "AMOUNT"}])
    assert step_of(response) == 3
    assert "Enter a value for this discount." in response.content.decode()
    response = submit(owner_client, response, {"s3d-discount_type": "UNIT", "s3d-unit_type": ""})
    assert step_of(response) == 3


def test_wizard_refuses_an_impossible_code_format_on_the_codes_step(owner_client, project):
    # 2 digits make 100 codes; 50 of them would be guessable and slow to generate
    response = walk(
        owner_client,
        [basics(), {**CODES, "s2-charset": "numbers", "s2-length": 2, "s2-vouchers_count": 50}],
    )
    assert step_of(response) == 2
    html = response.content.decode()
    assert 'data-testid="codes-error"' in html
    assert "This code format has room for 100 codes" in html
    assert not Campaign.objects.filter(project=project).exists()


@pytest.mark.parametrize(
    ("kind", "value_fields", "expected"),
    [
        (
            "GIFT_VOUCHERS",
            {"s3g-gift_amount": "50.00", "s3g-gift_effect": "APPLY_TO_ITEMS"},
            {"voucher_type": "GIFT_VOUCHER", "gift_amount": 5000, "gift_effect": "APPLY_TO_ITEMS"},
        ),
        (
            "LOYALTY_PROGRAM",
            {"s3l-loyalty_points": "25"},
            {"voucher_type": "LOYALTY_CARD", "loyalty_points": 25},
        ),
        (
            "REFERRAL_PROGRAM",
            {"s3d-discount_type": "AMOUNT", "s3d-amount_off": "10"},
            {
                "voucher_type": "DISCOUNT_VOUCHER",
                "discount": {"type": "AMOUNT", "amount_off": 1000, "effect": "APPLY_TO_ORDER"},
            },
        ),
    ],
)
def test_wizard_creates_each_kind_of_code_campaign(
    owner_client, project, kind, value_fields, expected
):
    response = walk(
        owner_client,
        [basics(name=f"The {kind}", kind=kind), {**CODES, "s2-vouchers_count": 3}, value_fields],
    )
    response = walk(owner_client, [{}, {}, {}], start=response)
    assert step_of(response) == 7
    response = submit(owner_client, response, nav="create")
    assert response.status_code == 302
    campaign = Campaign.objects.get(project=project, campaign_type=kind)
    assert {field: getattr(campaign, field) for field in expected} == expected
    vouchers = Voucher.objects.filter(campaign=campaign)
    assert vouchers.count() == 3
    assert {v.type for v in vouchers} == {expected["voucher_type"]}
    if kind == "GIFT_VOUCHERS":
        assert {v.gift_balance for v in vouchers} == {5000}
        assert VoucherTransaction.objects.filter(voucher__campaign=campaign).count() == 3
    if kind == "REFERRAL_PROGRAM":
        assert all(v.is_referral_code for v in vouchers)


def test_wizard_creates_a_promotion_with_two_tiers(owner_client, project):
    # given a promotion: no codes step, no limits step
    response = walk(owner_client, [basics(name="Summer promo", kind="PROMOTION")])
    assert step_of(response) == 3
    steps = response.content.decode()
    assert "Codes" not in re.search(r'data-testid="wizard-steps">(.*?)</ol>', steps, re.S).group(1)
    # Next without any tier is refused
    response = submit(owner_client, response)
    assert "Add at least one tier" in response.content.decode()
    # when filling one tier, adding a row, filling the second
    response = submit(
        owner_client,
        response,
        {
            "tiers-0-name": "10% off",
            "tiers-0-discount_type": "PERCENT",
            "tiers-0-percent_off": "10",
        },
        nav="add_row",
    )
    assert response.content.decode().count('data-testid="tier-form"') == 2
    response = submit(
        owner_client,
        response,
        {
            "tiers-1-name": "25.00 off",
            "tiers-1-discount_type": "AMOUNT",
            "tiers-1-amount_off": "25",
        },
    )
    assert step_of(response) == 4
    response = walk(owner_client, [{}, {}], start=response)
    assert step_of(response) == 7
    review = response.content.decode()
    assert "10% off</strong>: 10% off" in review and "$25.00 off" in review
    response = submit(owner_client, response, nav="create")
    # then
    campaign = Campaign.objects.get(project=project, name="Summer promo")
    assert response.status_code == 302
    assert campaign.campaign_type == "PROMOTION" and campaign.type == "AUTO_UPDATE"
    tiers = list(PromotionTier.objects.filter(campaign=campaign).order_by("hierarchy"))
    assert [(t.name, t.discount) for t in tiers] == [
        ("10% off", {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"}),
        ("25.00 off", {"type": "AMOUNT", "amount_off": 2500, "effect": "APPLY_TO_ORDER"}),
    ]
    assert not Voucher.objects.filter(campaign=campaign).exists()


def test_wizard_checks_metadata_against_the_campaign_schema(owner_client, project):
    metadata_schema_save(
        project=project,
        resource="campaign",
        properties={"budget": {"type": "number", "optional": False}},
        allow_defined_only=True,
    )
    response = walk(owner_client, [basics(), CODES, {"s3d-percent_off": "5"}, {}, {}])
    assert step_of(response) == 6
    html = response.content.decode()
    assert 'value="budget"' in html  # the schema's keys are offered as rows
    response = submit(owner_client, response, {"meta-0-value": "lots"})
    assert step_of(response) == 6
    assert 'data-testid="metadata-error"' in response.content.decode()
    response = submit(owner_client, response, {"meta-0-value": "1500"})
    assert step_of(response) == 7
    submit(owner_client, response, nav="create")
    assert Campaign.objects.get(project=project).metadata == {"budget": 1500}


def test_wizard_sends_a_service_refusal_back_to_the_step_it_names(owner_client, project):
    # given the review of a campaign whose name another campaign takes in the meantime: the
    # service refuses it (duplicate_found, details "name") and the wizard shows step 1 again
    response = walk(
        owner_client, [basics(name="Race"), CODES, {"s3d-percent_off": "5"}, {}, {}, {}]
    )
    assert step_of(response) == 7
    CampaignFactory(project=project, name="Race")
    response = submit(owner_client, response, nav="create")
    assert step_of(response) == 1
    assert "“Race” exists" in response.content.decode()
    assert Campaign.objects.filter(project=project, name="Race").count() == 1


def test_error_details_map_to_wizard_steps(project):
    wizard = CampaignWizard(project=project)
    assert [
        wizard.step_for_error(d)
        for d in (
            "name",
            "code_config.charset",
            "vouchers_count",
            "discount.amount_off",
            "voucher.gift.amount",
            "voucher.redemption.quantity",
            "expiration_date",
            "activity_duration_after_publishing",
            "metadata.budget",
        )
    ] == [1, 2, 2, 3, 3, 5, 4, 4, 6]


def test_a_big_campaign_is_generated_by_a_job(
    owner_client, project, django_capture_on_commit_callbacks
):
    response = walk(
        owner_client,
        [
            basics(name="Big"),
            {**CODES, "s2-vouchers_count": 250},
            {"s3d-percent_off": "5"},
            {},
            {},
            {},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(owner_client, response, nav="create")
    campaign = Campaign.objects.get(project=project, name="Big")
    job = Job.objects.get(project=project, type="campaign.generate")
    assert job.params["campaign"] == campaign.public_id and job.status == JobStatus.DONE
    assert Voucher.objects.filter(campaign=campaign).count() == 250
    detail = owner_client.get(response["Location"])
    assert (
        b'data-testid="generation-job"' in detail.content and b"250 of 250 codes" in detail.content
    )


def test_code_preview_shows_samples_and_the_code_space(client, member_client):
    viewer = member_client(Role.VIEWER)
    url = reverse("campaigns:code_preview")
    response = viewer.get(
        url,
        {
            "s2-charset": "numbers",
            "s2-pattern": "AB-##",
            "s2-vouchers_count": "5",
            "s2-type": "STATIC",
        },
    )
    html = response.content.decode()
    samples = re.findall(r"<li><code>([^<]+)</code></li>", html)
    assert len(samples) == 5 and all(re.fullmatch(r"AB-\d\d", s) for s in samples)
    assert re.search(r'data-testid="code-capacity">100<', html)
    assert re.search(r'data-testid="code-guess">5%<', html)
    assert "Yes" in re.search(r'data-testid="code-fits">(.*?)</dd>', html).group(1)
    # too many codes for the space: the figures say so
    response = viewer.get(
        url,
        {
            "s2-charset": "numbers",
            "s2-length": "3",
            "s2-vouchers_count": "500",
            "s2-type": "STATIC",
        },
    )
    html = response.content.decode()
    assert re.search(r'data-testid="code-capacity">1,000<', html)
    assert "No:" in re.search(r'data-testid="code-fits">(.*?)</dd>', html).group(1)
    assert "room for 1,000 codes" in html
    # a huge space reads as odds, not as 0
    response = viewer.get(url, {"s2-charset": "alphanumeric", "s2-length": "6"})
    html = response.content.decode()
    assert re.search(r'data-testid="code-guess">1 in [\d,]+<', html)
    # a pattern without # is explained
    response = viewer.get(url, {"s2-pattern": "FIXED", "s2-charset": "upper"})
    assert "needs at least one #" in response.content.decode()


# --- detail ------------------------------------------------------------------------------------


def test_detail_shows_the_figures_value_and_validity(
    owner_client, project, django_assert_max_num_queries
):
    # given a campaign with codes: 2 published, 1 of them redeemed
    campaign = CampaignFactory(
        project=project,
        name="Figures",
        discount={"type": "AMOUNT", "amount_off": 1250, "effect": "APPLY_TO_ORDER"},
        validity_day_of_week=[6, 0],
        metadata={"owner": "Ann"},
    )
    customer = CustomerFactory(project=project, source_id="ann")
    VoucherFactory(campaign=campaign, code="HELD1", holder=customer, redeemed_quantity=1)
    VoucherFactory(campaign=campaign, code="HELD2", holder=customer)
    VoucherFactory.create_batch(3, campaign=campaign)
    # when
    with django_assert_max_num_queries(12):
        response = owner_client.get(reverse("campaigns:detail", args=[campaign.public_id]))
    # then
    figures = response.context["figures"]
    assert figures == {"generated": 5, "published": 2, "redeemed": 1}
    html = response.content.decode()
    assert "$12.50 off" in html and "Only on Sat, Sun" in html and "Ann" in html
    assert html.count('data-testid="voucher-row"') == 5
    assert (
        reverse("campaigns:voucher_detail", args=[Voucher.objects.get(code="HELD1").public_id])
        in html
    )
    assert reverse("campaigns:template_save", args=[campaign.public_id]) in html
    assert reverse("campaigns:publish", args=[campaign.public_id]) in html


def test_detail_of_another_projects_campaign_is_404(owner_client):
    other = CampaignFactory()
    assert owner_client.get(reverse("campaigns:detail", args=[other.public_id])).status_code == 404
    assert (
        owner_client.get(reverse("campaigns:vouchers", args=[other.public_id])).status_code == 404
    )


def test_detail_polls_generation_progress_until_the_job_is_done(owner_client, project):
    campaign = CampaignFactory(
        project=project, vouchers_generation_status=CreationStatus.IN_PROGRESS
    )
    job = JobFactory(
        project=project,
        type="campaign.generate",
        status=JobStatus.IN_PROGRESS,
        total=1000,
        processed=400,
        params={"campaign": campaign.public_id, "target": 1000, "count": 1000},
    )
    JobFactory(project=project, type="campaign.generate", params={"campaign": "camp_other"})
    url = reverse("campaigns:detail", args=[campaign.public_id])
    page = owner_client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in page and "400 of 1000 codes" in page
    assert 'aria-valuenow="40"' in page
    # the poll gets the progress partial only
    poll = owner_client.get(url, headers={"HX-Request": "true"})
    assert b"<html" not in poll.content and b'id="campaign-generation"' in poll.content
    assert "HX-Trigger" not in poll
    # once done, the poll stops and tells the codes table to reload
    job.status, job.processed = JobStatus.DONE, 1000
    job.save()
    poll = owner_client.get(url, headers={"HX-Request": "true"})
    assert b"every 1s" not in poll.content and "codesGenerated" in poll["HX-Trigger"]


def test_promotion_detail_includes_the_tiers_section(owner_client, project):
    promotion = PromotionFactory(project=project)
    PromotionTier.objects.create(
        project=project,
        campaign=promotion,
        name="Tier A",
        discount={"type": "PERCENT", "percent_off": 5, "effect": "APPLY_TO_ORDER"},
    )
    html = owner_client.get(reverse("campaigns:detail", args=[promotion.public_id])).content
    assert b'id="promotion-tiers"' in html and b"Tier A" in html
    assert b'data-testid="voucher-row"' not in html


def test_vouchers_table_filters_as_a_partial(owner_client, project):
    project.codes_case_sensitive = False
    project.save()
    campaign = CampaignFactory(project=project)
    holder = CustomerFactory(project=project)
    VoucherFactory(campaign=campaign, code="ABC-1", holder=holder)
    VoucherFactory(campaign=campaign, code="ABC-2", active=False)
    VoucherFactory(campaign=campaign, code="XYZ-1")
    VoucherFactory(code="ABC-OTHER-CAMPAIGN", campaign__project=project)
    url = reverse("campaigns:vouchers", args=[campaign.public_id])

    def codes(**params):
        response = owner_client.get(url, params, headers={"HX-Request": "true"})
        assert b"<html" not in response.content and b'id="voucher-results"' in response.content
        # (partials render without the test client's context)
        return set(re.findall(r"<code>([^<]+)</code></a></td>", response.content.decode()))

    assert codes() == {"ABC-1", "ABC-2", "XYZ-1"}
    assert codes(q="abc") == {"ABC-1", "ABC-2"}
    assert codes(published="true") == {"ABC-1"}
    assert codes(published="false", active="true") == {"XYZ-1"}
    assert codes(campaign="camp_ignored") == {"ABC-1", "ABC-2", "XYZ-1"}
    full = owner_client.get(url, {"q": "xyz"})
    assert b"<html" in full.content and b"XYZ-1" in full.content and b"ABC-1" not in full.content


def test_vouchers_table_pages_with_its_own_urls(owner_client, project):
    campaign = CampaignFactory(project=project)
    VoucherFactory.create_batch(27, campaign=campaign)
    detail = owner_client.get(reverse("campaigns:detail", args=[campaign.public_id]))
    older = reverse("campaigns:vouchers", args=[campaign.public_id]) + "?page=2"
    assert older.encode() in detail.content
    second = owner_client.get(older, headers={"HX-Request": "true"})
    assert second.content.count(b'data-testid="voucher-row"') == 2


# --- actions -----------------------------------------------------------------------------------


def test_toggle_disables_and_enables(owner_client, project):
    campaign = CampaignFactory(project=project)
    url = reverse("campaigns:toggle", args=[campaign.public_id])
    assert owner_client.post(url, {"active": "false"}).status_code == 302
    campaign.refresh_from_db()
    assert campaign.active is False
    owner_client.post(url, {"active": "false"})  # twice: still disabled
    campaign.refresh_from_db()
    assert campaign.active is False
    owner_client.post(url)
    campaign.refresh_from_db()
    assert campaign.active is True


def test_add_codes_generates_more_codes_with_progress(
    owner_client, project, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(project=project, vouchers_count=2)
    VoucherFactory.create_batch(2, campaign=campaign)
    url = reverse("campaigns:add_codes", args=[campaign.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url, {"count": "150"})
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.public_id])
    assert Voucher.objects.filter(campaign=campaign).count() == 152
    job = Job.objects.get(type="campaign.generate")
    assert job.status == JobStatus.DONE and job.params["campaign"] == campaign.public_id
    campaign.refresh_from_db()
    assert campaign.vouchers_count == 152
    page = owner_client.get(response["Location"]).content.decode()
    assert "Generating 150 more codes." in page and "150 of 150 codes" in page


def test_add_codes_refused_by_the_code_space_changes_nothing(owner_client, project):
    campaign = CampaignFactory(
        project=project, vouchers_count=0, code_config={"length": 2, "charset": "numbers"}
    )
    url = reverse("campaigns:add_codes", args=[campaign.public_id])
    response = owner_client.post(url, {"count": "50"}, follow=True)
    assert "room for 100 codes" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.vouchers_count == 0 and not Job.objects.exists()
    response = owner_client.post(url, {"count": "many"}, follow=True)
    assert "Enter how many codes to add." in response.content.decode()


def test_export_codes_writes_the_campaigns_codes_only(
    owner_client, project, django_capture_on_commit_callbacks
):
    # given a campaign's codes, another campaign's, and another project's code with the same text
    project.currency = "EUR"
    project.save()
    created = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    campaign = CampaignFactory(project=project, name="Spring")
    holder = CustomerFactory(project=project, source_id="cust-7")
    VoucherFactory(
        campaign=campaign,
        code="SPRING-1",
        holder=holder,
        redemption_quantity=3,
        redeemed_quantity=1,
        expiration_date=datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
        metadata={"batch": "A"},
    )
    VoucherFactory(
        campaign=campaign,
        code="=SPRING-2",
        discount={"type": "PERCENT", "percent_off": 15, "amount_limit": 2000},
        active=False,
    )
    Voucher.objects.filter(campaign=campaign).update(created_at=created)
    VoucherFactory(campaign__project=project, code="OTHER-CAMPAIGN")
    other = ProjectFactory()
    VoucherFactory(campaign__project=other, code="SPRING-1")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("campaigns:export_codes", args=[campaign.public_id]))
    # then
    job = Job.objects.get(type="export.vouchers")
    assert response["Location"] == reverse("exports:detail", args=[job.public_id])
    assert job.params == {"kind": "vouchers", "filters": f"campaign={campaign.public_id}"}
    assert job.status == JobStatus.DONE, job.error
    with default_storage.open(job.result["file"], "rb") as file:
        rows = list(csv.reader(io.StringIO(file.read().decode())))
    first, second = (campaign.vouchers.get(code=c) for c in ("SPRING-1", "=SPRING-2"))
    assert rows == [
        [
            "code",
            "id",
            "campaign",
            "type",
            "discount",
            "gift_balance (EUR)",
            "loyalty_balance",
            "redemption_quantity",
            "redeemed_quantity",
            "holder_source_id",
            "active",
            "start_date",
            "expiration_date",
            "created_at",
            "metadata.batch",
        ],
        [
            "'=SPRING-2",
            second.public_id,
            "Spring",
            "DISCOUNT_VOUCHER",
            "15% off (up to €20.00)",
            "",
            "",
            "",
            "0",
            "",
            "false",
            "",
            "",
            "2026-03-01T10:00:00.000Z",
            "",
        ],
        [
            "SPRING-1",
            first.public_id,
            "Spring",
            "DISCOUNT_VOUCHER",
            "€5.00 off",
            "",
            "",
            "3",
            "1",
            "cust-7",
            "true",
            "",
            "2026-12-31T23:00:00.000Z",
            "2026-03-01T10:00:00.000Z",
            "A",
        ],
    ]


def test_vouchers_export_of_everything_stays_in_the_project(project, run_vouchers_export):
    GiftCardFactory(campaign__project=project, code="GIFT-1", gift_balance=2550)
    VoucherFactory(campaign__project=ProjectFactory(), code="FOREIGN")
    job = run_vouchers_export(project, "")
    with default_storage.open(job.result["file"], "rb") as file:
        rows = list(csv.DictReader(io.StringIO(file.read().decode())))
    assert [(r["code"], r["gift_balance (USD)"], r["discount"]) for r in rows] == [
        ("GIFT-1", "25.50", "")
    ]
    job = run_vouchers_export(
        project, "campaign=" + VoucherFactory(code="ELSEWHERE").campaign.public_id
    )
    assert job.result["rows"] == 0


@pytest.fixture
def run_vouchers_export(django_capture_on_commit_callbacks):
    from apps.exports.services import export_start

    def run(project, filters):
        with django_capture_on_commit_callbacks(execute=True):
            job = export_start(project=project, kind="vouchers", filters=filters)
        job.refresh_from_db()
        assert job.status == JobStatus.DONE, job.error
        return job

    return run


def test_edit_changes_the_campaign_and_the_value_of_new_codes(owner_client, project):
    # given
    campaign = CampaignFactory(project=project, name="Before", metadata={"old": "x"})
    VoucherFactory(campaign=campaign, code="KEEP-1")
    category = CategoryFactory(project=project, name="Seasonal")
    url = reverse("campaigns:edit", args=[campaign.public_id])
    page = owner_client.get(url)
    assert "new codes" in page.content.decode().lower()
    # when
    response = submit(
        owner_client,
        page,
        {
            "name": "After",
            "category": category.public_id,
            "active": None,
            "join_once": "on",
            "redemption_quantity": "5",
            "v-expiration_date": "2027-01-01T00:00",
            "v-days_of_week": [2],
            "value-discount_type": "AMOUNT",
            "value-amount_off": "3.00",
            "meta-0-key": "",
            "meta-1-key": "new",
            "meta-1-value": "yes",
        },
        nav="",
        form_id="campaign-edit",
    )
    # then
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.category, campaign.active) == ("After", category, False)
    assert campaign.join_once is True and campaign.redemption_quantity == 5
    assert campaign.discount == {"type": "AMOUNT", "amount_off": 300, "effect": "APPLY_TO_ORDER"}
    assert campaign.expiration_date == datetime(2027, 1, 1, tzinfo=UTC)
    assert campaign.validity_day_of_week == [2]
    assert campaign.metadata == {"new": "yes"}
    # existing codes keep their value
    assert Voucher.objects.get(code="KEEP-1").discount["amount_off"] == 500


def test_edit_shows_form_errors(owner_client, project):
    CampaignFactory(project=project, name="Taken")
    campaign = CampaignFactory(project=project, name="Mine")
    url = reverse("campaigns:edit", args=[campaign.public_id])
    page = owner_client.get(url)
    response = submit(
        owner_client,
        page,
        {
            "name": "Taken",
            "v-start_date": "2027-01-02T00:00",
            "v-expiration_date": "2027-01-01T00:00",
        },
        nav="",
        form_id="campaign-edit",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "“Taken” exists" in html and "expiration_date must be after start_date" in html
    campaign.refresh_from_db()
    assert campaign.name == "Mine"


def test_edit_keeps_values_the_page_cannot_show(owner_client, project):
    # given a duration set through the API in hours, and a promotion joined by API flags
    campaign = CampaignFactory(project=project, activity_duration_after_publishing="PT12H")
    promotion = PromotionFactory(project=project, join_once=True)
    # when saving both pages untouched
    page = owner_client.get(reverse("campaigns:edit", args=[campaign.public_id]))
    assert "Now PT12H" in page.content.decode()
    submit(owner_client, page, nav="", form_id="campaign-edit")
    page = owner_client.get(reverse("campaigns:edit", args=[promotion.public_id]))
    assert b"Redemptions per code" not in page.content
    response = submit(
        owner_client, page, {"name": "Promo renamed"}, nav="", form_id="campaign-edit"
    )
    # then
    assert response.status_code == 302
    campaign.refresh_from_db()
    promotion.refresh_from_db()
    assert campaign.activity_duration_after_publishing == "PT12H"
    assert promotion.name == "Promo renamed" and promotion.join_once is True
    assert promotion.discount is None


def test_delete_asks_then_deletes_the_campaign_and_its_codes(owner_client, project):
    campaign = CampaignFactory(project=project, name="Doomed")
    customer = CustomerFactory(project=project)
    VoucherFactory(campaign=campaign, holder=customer)
    VoucherFactory(campaign=campaign)
    url = reverse("campaigns:delete", args=[campaign.public_id])
    confirm = owner_client.get(url).content.decode()
    assert "Delete “Doomed”?" in confirm and "<strong>2</strong> codes" in confirm
    response = owner_client.post(url)
    assert response["Location"] == reverse("campaigns:list")
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert not Voucher.objects.filter(project=project).exists()


def test_viewer_sees_but_cannot_change(member_client, project):
    campaign = CampaignFactory(project=project)
    VoucherFactory(campaign=campaign)
    viewer = member_client(Role.VIEWER)
    detail = viewer.get(reverse("campaigns:detail", args=[campaign.public_id]))
    assert detail.status_code == 200
    assert reverse("campaigns:edit", args=[campaign.public_id]).encode() not in detail.content
    assert viewer.get(reverse("campaigns:list")).status_code == 200
    for name in ("toggle", "add_codes", "export_codes", "delete", "edit"):
        url = reverse(f"campaigns:{name}", args=[campaign.public_id])
        assert viewer.post(url, {"count": 5, "active": "false"}).status_code == 403, name
    assert viewer.post(WIZARD, {"step": 1, "s1-name": "X"}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.active and Voucher.objects.filter(campaign=campaign).count() == 1
    assert not Job.objects.exists()


# --- demo data ---------------------------------------------------------------------------------


def test_seed_demo_adds_campaigns_of_every_type_once_and_fast():
    started = time.monotonic()
    call_command("seed_demo", stdout=io.StringIO())
    assert time.monotonic() - started < 20  # the whole demo; the campaigns part is a fraction
    campaigns = {c.campaign_type: c for c in Campaign.objects.filter(project__name="Demo Shop")}
    assert set(campaigns) == set(CampaignType.values)
    counts = {kind: Voucher.objects.filter(campaign=c).count() for kind, c in campaigns.items()}
    assert counts == {
        "DISCOUNT_COUPONS": 50,
        "GIFT_VOUCHERS": 20,
        "REFERRAL_PROGRAM": 10,
        "LOYALTY_PROGRAM": 10,
        "PROMOTION": 0,
    }
    assert campaigns["PROMOTION"].tiers.count() == 3
    assert campaigns["DISCOUNT_COUPONS"].category.name == "Newsletter"
    welcome = Voucher.objects.filter(campaign=campaigns["DISCOUNT_COUPONS"])
    assert all(re.fullmatch(r"WELCOME-[A-Z0-9]{4}", v.code) for v in welcome)
    assert {
        v.gift_balance for v in Voucher.objects.filter(campaign=campaigns["GIFT_VOUCHERS"])
    } == {5000}
    publications = Publication.objects.filter(project__name="Demo Shop").count()
    assert publications >= 10
    assert welcome.filter(holder__isnull=False).count() == 8
    # again: nothing new
    before = (Campaign.objects.count(), Voucher.objects.count(), Publication.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (
        Campaign.objects.count(),
        Voucher.objects.count(),
        Publication.objects.count(),
    ) == before
