"""Qualification: the customer's codes, promotion tiers and campaigns that apply, best first."""

import pytest

from apps.redemptions.qualification import qualification_check
from tests.campaigns.factories import (
    CampaignFactory,
    PromotionFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.customers.factories import CustomerFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

pytestmark = pytest.mark.django_db


def test_best_deal_first_and_rules_respected(project):
    customer = CustomerFactory(project=project, source_id="ann")
    small = VoucherFactory(
        campaign=CampaignFactory(project=project),
        holder=customer,
        discount={"type": "AMOUNT", "amount_off": 300},
    )
    big = VoucherFactory(
        campaign=CampaignFactory(project=project),
        holder=customer,
        discount={"type": "AMOUNT", "amount_off": 900},
    )
    VoucherFactory(campaign=CampaignFactory(project=project))  # not held: not in the wallet
    promotion = PromotionFactory(project=project)
    tier = PromotionTierFactory(campaign=promotion, discount={"type": "PERCENT", "percent_off": 5})
    guarded = PromotionTierFactory(
        campaign=promotion, discount={"type": "PERCENT", "percent_off": 50}
    )
    RuleAssignmentFactory(rule=ValidationRuleFactory(project=project), tier=guarded)  # ≥ 100.00
    result = qualification_check(
        project=project,
        payload={"customer": {"id": customer.public_id}, "order": {"amount": 8000}},
    )
    ids = [q.ref.id for q in result.redeemables]
    assert ids[:3] == [big.code, tier.public_id, small.code]
    assert guarded.public_id not in ids
    assert result.redeemables[0].result.discount == 900


def test_wallet_scenario_and_limit(project):
    customer = CustomerFactory(project=project)
    for amount in (100, 200, 300):
        VoucherFactory(
            campaign=CampaignFactory(project=project),
            holder=customer,
            discount={"type": "AMOUNT", "amount_off": amount},
        )
    PromotionTierFactory(campaign=PromotionFactory(project=project))
    result = qualification_check(
        project=project,
        payload={
            "customer": {"id": customer.public_id},
            "order": {"amount": 5000},
            "scenario": "CUSTOMER_WALLET",
            "options": {"limit": 2},
        },
    )
    assert [q.result.discount for q in result.redeemables] == [300, 200]
    assert result.total == 3 and result.has_more
