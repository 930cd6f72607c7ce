"""Voucher CSV imports: codes into campaigns or standalone, with Voucherify's rules per row."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.campaigns.models import Campaign, CampaignType, Voucher, VoucherTransaction
from apps.core.errors import ApplicationError
from apps.imports.columns import default_mapping
from apps.imports.models import Import, ImportStatus, Phase
from apps.imports.services import import_set_mapping, open_records
from apps.imports.services.pipeline import read_batches
from apps.imports.services.plans import plan_for
from apps.imports.services.vouchers import VoucherWriter
from apps.metadata.services import metadata_schema_save
from apps.projects.models import Role
from tests.campaigns.factories import (
    CampaignFactory,
    CategoryFactory,
    PromotionFactory,
    VoucherFactory,
)
from tests.imports.helpers import as_upload, issues, rejected_text
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db

V = {"kind": "vouchers"}


@pytest.fixture
def spring(project):
    category = CategoryFactory(project=project, name="Seasonal")
    return CampaignFactory(
        project=project,
        name="Spring",
        category=category,
        redemption_quantity=3,
        expiration_date=dt.datetime(2026, 6, 30, tzinfo=dt.UTC),
        validity_day_of_week=[1, 2],
    )


@pytest.fixture
def gifts(project):
    return CampaignFactory(
        project=project,
        name="Gift cards",
        campaign_type=CampaignType.GIFT_VOUCHERS,
        voucher_type="GIFT_VOUCHER",
        discount=None,
        gift_amount=5000,
        gift_effect="APPLY_TO_ITEMS",
    )


def test_vouchers_are_created_with_the_campaigns_template_and_the_rows_values(
    imported, project, spring, gifts
):
    # given a project in Warsaw time with a voucher metadata key
    project.time_zone = "Europe/Warsaw"
    project.save()
    metadata_schema_save(
        project=project,
        resource="voucher",
        properties={"batch": {"type": "number"}},
        allow_defined_only=False,
    )
    data = (
        "code,campaign,discount_type,amount_off,percent_off,amount_limit,gift_amount,"
        "loyalty_points,type,redemption_quantity,active,expiration_date,metadata.batch\n"
        "SPRING-1,Spring,,,,,,,,,,,7\n"
        f"SPRING-2,{spring.public_id},PERCENT,,25,12.50,,,,1,no,2026-05-31,\n"
        "GIFT-1,Gift cards,,,,,75.00,,,,,,\n"
        "SOLO-1,,,10.00,,,,,,,,,\n"
        "CARD-1,,,,,,,120,LOYALTY_CARD,,true,,\n"
    )
    # when
    imp = imported(data, **V)
    # then
    assert imp.status == ImportStatus.DONE, imp.error
    assert imp.result_counts == {"total": 5, "new": 5, "updated": 0, "unchanged": 0, "invalid": 0}
    first = Voucher.objects.get(project=project, code="SPRING-1")
    assert first.campaign == spring and first.category == spring.category
    assert first.discount == spring.discount
    assert (first.redemption_quantity, first.active, first.metadata) == (3, True, {"batch": 7})
    assert first.expiration_date == spring.expiration_date
    assert first.validity_day_of_week == [1, 2]
    assert first.public_id.startswith("v_") and first.code_key == "SPRING-1"
    second = Voucher.objects.get(project=project, code="SPRING-2")
    assert second.discount == {
        "type": "PERCENT",
        "percent_off": 25,
        "amount_limit": 1250,
        "effect": "APPLY_TO_ORDER",
    }
    assert (second.redemption_quantity, second.active) == (1, False)
    # a date alone is the end of that day, in the project's time zone
    assert second.expiration_date == dt.datetime(2026, 5, 31, 21, 59, 59, 999999, tzinfo=dt.UTC)
    gift = Voucher.objects.get(project=project, code="GIFT-1")
    assert (gift.type, gift.gift_amount, gift.gift_balance, gift.gift_effect) == (
        "GIFT_VOUCHER",
        7500,
        7500,
        "APPLY_TO_ITEMS",
    )
    solo = Voucher.objects.get(project=project, code="SOLO-1")
    assert solo.campaign is None
    assert solo.discount == {"type": "AMOUNT", "amount_off": 1000, "effect": "APPLY_TO_ORDER"}
    card = Voucher.objects.get(project=project, code="CARD-1")
    assert (card.type, card.loyalty_points, card.loyalty_balance) == ("LOYALTY_CARD", 120, 120)
    # cards open their ledger, campaigns count their new codes
    ledger = {
        tx.voucher.code: (tx.type, tx.amount, tx.balance_after)
        for tx in VoucherTransaction.objects.select_related("voucher")
    }
    assert ledger == {
        "GIFT-1": ("CREDITS_ADDITION", 7500, 7500),
        "CARD-1": ("POINTS_ADDITION", 120, 120),
    }
    assert Campaign.objects.get(pk=spring.pk).vouchers_count == 2
    assert Campaign.objects.get(pk=gifts.pk).vouchers_count == 1


def test_row_errors_name_the_line_the_column_and_the_reason(checked, project, spring, gifts):
    PromotionFactory(project=project, name="Black Friday")
    VoucherFactory(campaign=spring, code="taken-1", code_key="TAKEN-1")
    data = (
        "code,campaign,discount_type,percent_off,gift_amount,type,active,start_date\n"
        "OK-1,Spring,,,,,,\n"  # 2
        "ok-1,Spring,,,,,,\n"  # 3: the same code, other case
        "TAKEN-1,,,10,,,,\n"  # 4: exists in the project
        "NEW-1,Autumn,,,,,,\n"  # 5: unknown campaign
        "NEW-2,Black Friday,,,,,,\n"  # 6: promotions have no codes
        "NEW-3,,PERCENT,150,,,,\n"  # 7: invalid discount
        "NEW-4,Spring,,,,GIFT_VOUCHER,,\n"  # 8: type differs from the campaign's
        "NEW-5,Spring,,,10.00,,,\n"  # 9: gift amount on a discount code
        "NEW-6,,,,,,,\n"  # 10: a standalone discount voucher without discount
        "NEW-7,Gift cards,,,,,maybe,tomorrow\n"  # 11: bad active and date
        "HAS SPACE,Spring,,,,,,\n"  # 12
        f"{'X' * 101},Spring,,,,,,\n"  # 13
        ",Spring,,,,,,\n"  # 14
    )
    imp = checked(data, **V)
    assert issues(imp) == [
        (3, "code", "duplicate code “OK-1”: line 2 has it too (codes ignore case in this project)"),
        (
            4,
            "code",
            "code exists in this project as “taken-1”; an import never updates vouchers",
        ),
        (5, "campaign", "no campaign “Autumn” in this project"),
        (6, "campaign", "“Black Friday” is a promotion: it has tiers, not codes"),
        (7, "percent_off", "must be a number above 0 and at most 100"),
        (8, "type", "campaign “Spring” issues DISCOUNT_VOUCHER vouchers, not GIFT_VOUCHER"),
        (9, "gift_amount", "only gift cards have an amount"),
        (
            10,
            "discount_type",
            "a discount voucher needs a discount: fill discount_type and amount_off, "
            "percent_off or fixed_amount",
        ),
        (11, "active", "must be true or false"),
        (
            11,
            "start_date",
            "“tomorrow” is not a date; use 2026-01-31 or 2026-01-31T09:00:00Z",
        ),
        (12, "code", "must not contain spaces"),
        (13, "code", "is longer than 100 characters"),
        (14, "code", "is required"),
    ]
    assert imp.dry_run_counts == {
        "total": 13,
        "new": 1,
        "updated": 0,
        "unchanged": 0,
        "invalid": 12,
    }
    assert not Voucher.objects.filter(code="OK-1").exists()  # a dry run writes nothing


def test_case_sensitive_projects_keep_codes_that_differ_in_case(imported, project):
    project.codes_case_sensitive = True
    project.save()
    VoucherFactory(campaign__project=project, code="ABC", code_key="ABC")
    imp = imported("code,amount_off\nabc,5\nAbc,5\nabc,5\n", **V)
    assert issues(imp, Phase.APPLY) == [(4, "code", "duplicate code “abc”: line 2 has it too")]
    assert set(Voucher.objects.filter(project=project).values_list("code_key", flat=True)) == {
        "ABC",
        "abc",
        "Abc",
    }


def test_discount_columns_and_their_errors(checked):
    imp = checked(
        "code,discount_type,amount_off,percent_off,fixed_amount,discount_effect\n"
        "A,,10,5,,\n"  # two values, no type
        "B,UNIT,,,,\n"
        "C,FIXED,,,-1,\n"
        "D,AMOUNT,1.234,,,\n"
        "E,AMOUNT,3,,,SOMEWHERE\n"
        "F,,,,49.99,APPLY_TO_ITEMS\n",
        **V,
    )
    found = issues(imp)
    assert [(line, column) for line, column, _ in found] == [
        (2, "discount_type"),
        (3, "discount_type"),
        (4, "fixed_amount"),
        (5, "amount_off"),
        (6, "discount_effect"),
    ]
    assert "UNIT discounts cannot be imported" in found[1][2]
    assert found[4][2].startswith("must be one of APPLY_TO_ORDER")
    assert imp.dry_run_counts["new"] == 1


def test_reimporting_the_same_file_refuses_every_code(imported, checked, project):
    data = "code,amount_off\nONE,5\nTWO,5\n"
    imported(data, **V)
    again = checked(data, **V)
    assert again.dry_run_counts["invalid"] == 2
    assert [line for line, *_ in issues(again)] == [2, 3]
    assert Voucher.objects.filter(project=project).count() == 2


def test_other_projects_codes_and_campaigns_do_not_count(imported, project):
    other = ProjectFactory()
    CampaignFactory(project=other, name="Theirs")
    VoucherFactory(campaign__project=other, code="SHARED", code_key="SHARED")
    imp = imported("code,campaign,amount_off\nSHARED,,5\nMINE,Theirs,\n", **V)
    assert issues(imp, Phase.APPLY) == [(3, "campaign", "no campaign “Theirs” in this project")]
    assert Voucher.objects.get(project=project, code="SHARED").campaign is None


def test_required_metadata_key_must_be_in_the_file(checked, project):
    metadata_schema_save(
        project=project,
        resource="voucher",
        properties={"batch": {"type": "string", "optional": False}},
        allow_defined_only=False,
    )
    imp = checked("code,amount_off\nA,5\n", **V)
    assert [(line, column) for line, column, _ in issues(imp)] == [(2, "metadata.batch")]


def test_a_code_column_is_required_and_aliases_are_understood(upload):
    assert default_mapping("vouchers", ["Voucher Code", "Campaign Name", "Voucher Type"]) == [
        "code",
        "campaign",
        "type",
    ]
    imp = upload("campaign,amount_off\nSpring,5\n", **V)
    with pytest.raises(ApplicationError) as info:
        import_set_mapping(imp=imp, mapping=imp.mapping)
    assert info.value.extra["errors"] == ["The file needs a code column (none is mapped to it)."]


def test_a_code_created_while_importing_is_reported_not_overwritten(upload, project):
    # given a checked batch
    imp = upload("code,amount_off\nRACE,5\nCALM,5\n", **V)
    imp = import_set_mapping(imp=imp, mapping=imp.mapping)
    plan = plan_for(imp)
    handle, records = open_records(imp)
    with handle:
        (batch,) = list(read_batches(records, plan))
    plan.check_batch(batch)
    # when someone adds the same code before the batch is written
    VoucherFactory(campaign__project=project, code="race", code_key="RACE")
    counts, problems = VoucherWriter(project=project, code_column="code").apply(batch)
    # then
    assert counts == {"new": 1, "updated": 0, "unchanged": 0}
    assert problems == [(2, "code", "code exists in this project (added while importing)")]
    assert Voucher.objects.get(project=project, code_key="RACE").code == "race"


def test_rejected_rows_file_lists_the_bad_rows(imported):
    imp = imported("code,amount_off\nGOOD,5\nBAD,abc\n", **V)
    assert rejected_text(imp).splitlines() == [
        "code,amount_off,error",
        "BAD,abc,amount_off: “abc” is not an amount; use digits like 12.50.",
    ]


def test_the_dashboard_flow_for_vouchers(
    member_client, project, django_capture_on_commit_callbacks
):
    client = member_client(Role.MARKETER)
    page = client.get(reverse("imports:new")).content.decode()
    assert '<option value="vouchers">Vouchers</option>' in page
    response = client.post(
        reverse("imports:new"),
        {"kind": "vouchers", "file": as_upload("code,amount_off\nWELCOME,5\nWELCOME,5\n")},
    )
    imp = Import.objects.get(project=project)
    fields = {f"col_{i}": target for i, target in enumerate(imp.mapping)}
    response = client.post(reverse("imports:mapping", args=[imp.public_id]), fields)
    report = client.get(response["Location"]).content.decode()
    assert "duplicate code “WELCOME”: line 2 has it too" in report
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:confirm", args=[imp.public_id]))
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    assert list(Voucher.objects.filter(project=project).values_list("code", flat=True)) == [
        "WELCOME"
    ]
    template = client.get(reverse("imports:template") + "?kind=vouchers")
    header = template.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("code,campaign,type,discount_type,amount_off,percent_off")
