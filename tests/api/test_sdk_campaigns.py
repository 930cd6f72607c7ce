"""The official `voucherify` SDK (PyPI, unchanged) drives /v1/campaigns on a live server: every
CampaignsApi method we serve, its typed response parsed by the SDK's strict models."""

import pytest

from apps.campaigns.models import Voucher
from tests.campaigns.factories import GiftCardFactory
from tests.projects.factories import ProjectFactory
from tests.rules.factories import ValidationRuleFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    return ProjectFactory(name="SDK campaigns", currency="USD")


def test_campaign_lifecycle_through_the_sdk(sdk, shop):
    rule = ValidationRuleFactory(project=shop)
    campaigns = voucherify.CampaignsApi(sdk(shop))
    created = campaigns.create_campaign(
        voucherify.CampaignsCreateRequestBody.from_dict(
            {
                "name": "SDK coupons",
                "campaign_type": "DISCOUNT_COUPONS",
                "type": "AUTO_UPDATE",
                "vouchers_count": 3,
                "validation_rules": [rule.public_id],
                "metadata": {"team": "growth"},
                "voucher": {
                    "type": "DISCOUNT_VOUCHER",
                    "discount": {"type": "PERCENT", "percent_off": 15, "amount_limit": 2000},
                    "code_config": {"pattern": "SDK-####"},
                    "redemption": {"quantity": 1},
                },
            }
        )
    )
    assert isinstance(created, voucherify.CampaignsCreateResponseBody)
    assert created.id.startswith("camp_") and created.campaign_type == "DISCOUNT_COUPONS"
    assert created.voucher.discount.percent_off == 15
    assert created.voucher.code_config.pattern == "SDK-####"
    assert created.validation_rules_assignments.data[0].rule_id == rule.public_id
    assert Voucher.objects.filter(campaign__public_id=created.id).count() == 3

    fetched = campaigns.get_campaign("SDK coupons")
    assert fetched.id == created.id and fetched.creation_status == "DONE"
    assert fetched.vouchers_count == 3 and fetched.metadata == {"team": "growth"}

    updated = campaigns.update_campaign(
        created.id,
        voucherify.CampaignsUpdateRequestBody.from_dict(
            {"description": "From the SDK", "discount": {"type": "AMOUNT", "amount_off": 500}}
        ),
    )
    assert updated.description == "From the SDK"
    assert updated.voucher.discount.type == "AMOUNT" and updated.voucher.discount.amount_off == 500

    campaigns.disable_campaign(created.id)
    assert campaigns.get_campaign(created.id).active is False
    campaigns.enable_campaign(created.id)
    assert campaigns.get_campaign(created.id).active is True

    listed = campaigns.list_campaigns(
        limit=10, campaign_type=voucherify.ParameterCampaignType("DISCOUNT_COUPONS")
    )
    assert isinstance(listed, voucherify.CampaignsListResponseBody)
    assert listed.total == 1 and listed.campaigns[0].id == created.id
    assert listed.campaigns[0].voucher.code_config is not None

    summary = campaigns.get_campaign_summary(created.id)
    assert summary.object == "campaign_summary" and summary.vouchers_created == 3
    assert summary.campaign.id == created.id

    deleted = campaigns.delete_campaign(created.id, force=True)
    assert deleted.async_action_id.startswith("aa_")
    with pytest.raises(voucherify.exceptions.NotFoundException):
        campaigns.get_campaign(created.id)


def test_every_campaign_type_parses(sdk, shop):
    campaigns = voucherify.CampaignsApi(sdk(shop))
    bodies = [
        {"name": "Gift", "campaign_type": "GIFT_VOUCHERS", "voucher": {"gift": {"amount": 5000}}},
        {
            "name": "Points",
            "campaign_type": "LOYALTY_PROGRAM",
            "voucher": {"type": "LOYALTY_CARD", "loyalty_card": {"points": 10}},
        },
        {
            "name": "Friends",
            "campaign_type": "REFERRAL_PROGRAM",
            "voucher": {"discount": {"type": "AMOUNT", "amount_off": 100}},
        },
        {
            "name": "Sale",
            "campaign_type": "PROMOTION",
            "promotion": {
                "tiers": [
                    {"name": "5 off", "action": {"discount": {"type": "AMOUNT", "amount_off": 5}}}
                ]
            },
        },
        {
            "name": "Single",
            "campaign_type": "DISCOUNT_COUPONS",
            "type": "STANDALONE",
            "voucher": {"discount": {"type": "FIXED", "fixed_amount": 900}},
        },
    ]
    for body in bodies:
        created = campaigns.create_campaign(voucherify.CampaignsCreateRequestBody.from_dict(body))
        assert created.name == body["name"]
        assert campaigns.get_campaign(created.id).campaign_type == body["campaign_type"]
    assert campaigns.get_campaign("Sale").promotion.tiers[0].name == "5 off"
    assert campaigns.list_campaigns(limit=100).total == len(bodies)


def test_adding_and_importing_codes_through_the_sdk(sdk, shop):
    card = GiftCardFactory(campaign__project=shop, campaign__name="Cards")
    campaign = card.campaign
    campaigns = voucherify.CampaignsApi(sdk(shop))

    one = campaigns.add_vouchers_to_campaign(
        campaign.public_id,
        campaigns_vouchers_create_in_bulk_request_body=(
            voucherify.CampaignsVouchersCreateInBulkRequestBody.from_dict(
                {"metadata": {"batch": 1}, "additional_info": "first"}
            )
        ),
    )
    assert isinstance(one, voucherify.CampaignsVouchersCreateCombinedResponseBody)
    assert one.code and one.type == "GIFT_VOUCHER" and one.gift.balance == campaign.gift_amount
    assert one.async_action_id is None

    many = campaigns.add_vouchers_to_campaign(
        campaign.public_id,
        vouchers_count=3,
        campaigns_vouchers_create_in_bulk_request_body=(
            voucherify.CampaignsVouchersCreateInBulkRequestBody.from_dict(
                {"code_config": {"prefix": "BULK-", "length": 5}}
            )
        ),
    )
    assert many.async_action_id.startswith("aa_") and many.code is None
    assert Voucher.objects.filter(campaign=campaign, code__startswith="BULK-").count() == 3

    specific = campaigns.add_voucher_with_specific_code_to_campaign(
        "Cards",
        "HAND-1",
        voucherify.CampaignsVouchersCreateRequestBody.from_dict({"redemption": {"quantity": 2}}),
    )
    assert isinstance(specific, voucherify.CampaignsVouchersCreateResponseBody)
    assert specific.code == "HAND-1" and specific.redemption.quantity == 2

    voucherify.VouchersApi(sdk(shop)).update_voucher_balance(
        "HAND-1", voucherify.VouchersBalanceUpdateRequestBody(amount=-100, reason="test")
    )
    ledger = campaigns.list_campaign_transactions(campaign.public_id, limit=1)
    assert isinstance(ledger, voucherify.CampaignsTransactionsListResponseBody)
    assert ledger.data[0].type == "CREDITS_REMOVAL" and ledger.data[0].reason == "test"
    assert ledger.has_more is True

    imported = campaigns.import_vouchers_to_campaign(
        campaign.public_id,
        [
            voucherify.CampaignsImportVoucherItem.from_dict(
                {"code": "IMP-1", "gift": {"amount": 700}, "metadata": {"k": "v"}}
            ),
            voucherify.CampaignsImportVoucherItem.from_dict({"code": "IMP-2"}),
        ],
    )
    assert imported.async_action_id.startswith("aa_")
    action = voucherify.AsyncActionsApi(sdk(shop)).get_async_action(imported.async_action_id)
    assert action.status == "DONE"
    assert Voucher.objects.get(code="IMP-1").gift_balance == 700


def test_csv_import_into_a_campaign_through_the_sdk(sdk, shop):
    card = GiftCardFactory(campaign__project=shop)
    campaigns = voucherify.CampaignsApi(sdk(shop))
    answer = campaigns.import_vouchers_to_campaign_using_csv(
        card.campaign.public_id, file=b"code,gift_amount\nCSV-1,12.00\n"
    )
    assert answer.async_action_id.startswith("aa_")
    assert Voucher.objects.get(code="CSV-1").campaign == card.campaign


def test_another_projects_campaign_is_not_found_through_the_sdk(sdk, shop):
    card = GiftCardFactory(campaign__project=shop)
    other = voucherify.CampaignsApi(sdk(ProjectFactory(name="Other")))
    with pytest.raises(voucherify.exceptions.NotFoundException) as error:
        other.get_campaign(card.campaign.public_id)
    assert '"key": "not_found"' in error.value.body
    assert other.list_campaigns().total == 0
