"""The official `voucherify` SDK (PyPI, unchanged) drives the checkout endpoints on a live server.

Its strict pydantic models are the contract: a response that does not parse, an enum value the
spec does not list, a float where it wants an int, fails here.
"""

import pytest

from tests.campaigns.factories import (
    CampaignFactory,
    GiftCardFactory,
    PromotionFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)


def redeemables(*entries):
    return [voucherify.ValidationsValidateRequestBodyRedeemablesItem.from_dict(e) for e in entries]


@pytest.fixture
def shop():
    project = ProjectFactory(name="SDK shop", currency="USD")
    VoucherFactory(campaign=CampaignFactory(project=project), code="FIVE", redemption_quantity=5)
    GiftCardFactory(campaign__project=project, code="CARD", gift_balance=4000)
    guarded = VoucherFactory(campaign=CampaignFactory(project=project), code="BIG")
    RuleAssignmentFactory(rule=ValidationRuleFactory(project=project), campaign=guarded.campaign)
    tier = PromotionTierFactory(campaign=PromotionFactory(project=project))
    CustomerFactory(project=project, source_id="ann")
    project.tier = tier
    return project


def test_validate_redeem_and_roll_back_through_the_sdk(sdk, shop):
    client = sdk(shop)
    validations = voucherify.ValidationsApi(client)
    body = voucherify.ValidationsValidateRequestBody.from_dict(
        {
            "redeemables": [
                {"object": "voucher", "id": "FIVE"},
                {"object": "promotion_tier", "id": shop.tier.public_id},
                {"object": "voucher", "id": "CARD", "gift": {"credits": 1000}},
            ],
            "order": {"amount": 6000},
            "customer": {"source_id": "ann"},
        }
    )
    valid = validations.validate_stacked_discounts(body)
    assert valid.valid is True
    assert [r.status for r in valid.redeemables] == ["APPLICABLE"] * 3
    assert valid.order.total_amount == 6000 - 500 - 1000 - 1000
    assert valid.stacking_rules.redeemables_limit == 30

    invalid = validations.validate_stacked_discounts(
        voucherify.ValidationsValidateRequestBody.from_dict(
            {"redeemables": [{"object": "voucher", "id": "BIG"}], "order": {"amount": 8400}}
        )
    )
    assert invalid.valid is False
    error = invalid.inapplicable_redeemables[0].result.error
    assert error.key == "order_rules_violated"
    assert "84.00 is below 100.00" in error.details

    redemptions = voucherify.RedemptionsApi(client)
    redeemed = redemptions.redeem_stacked_discounts(
        voucherify.RedemptionsRedeemRequestBody.from_dict(body.to_dict())
    )
    assert redeemed.parent_redemption.result == "SUCCESS"
    assert len(redeemed.redemptions) == 3
    assert redeemed.order.total_amount == 3500

    fetched = redemptions.get_redemption(redeemed.redemptions[0].id)
    assert fetched.status == "SUCCEEDED"
    listed = redemptions.list_redemptions(limit=10)
    assert listed.total >= 4

    rolled = redemptions.rollback_stacked_redemptions(
        redeemed.parent_redemption.id, reason="customer returned it"
    )
    assert rolled.parent_rollback.result == "SUCCESS"
    assert len(rolled.rollbacks) == 3
    with pytest.raises(voucherify.ApiException) as refused:
        redemptions.rollback_stacked_redemptions(redeemed.parent_redemption.id)
    assert refused.value.status == 400 and "already_rolled_back" in refused.value.body


def test_single_rollback_and_qualification_through_the_sdk(sdk, shop):
    client = sdk(shop)
    redemptions = voucherify.RedemptionsApi(client)
    single = redemptions.redeem_stacked_discounts(
        voucherify.RedemptionsRedeemRequestBody.from_dict(
            {"redeemables": [{"object": "voucher", "id": "FIVE"}], "order": {"amount": 1000}}
        )
    )
    rollback = redemptions.rollback_redemption(single.redemptions[0].id, reason="mistake")
    assert rollback.result == "SUCCESS" and rollback.redemption == single.redemptions[0].id

    eligible = voucherify.QualificationsApi(client).check_eligibility(
        voucherify.QualificationsCheckEligibilityRequestBody.from_dict(
            {"customer": {"source_id": "ann"}, "order": {"amount": 3000}, "scenario": "ALL"}
        )
    )
    assert [item.id for item in eligible.redeemables.data] == [shop.tier.public_id]
    assert eligible.stacking_rules.redeemables_application_mode == "ALL"
