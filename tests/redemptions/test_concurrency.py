"""Redemption limits under concurrency on PostgreSQL: 200 checkouts at the same moment.

Each test starts 200 threads behind a barrier, each with its own connection and transaction, and
checks that the limit held exactly: no over-redemption, no overdraft, no budget overrun, no more
live session locks than the code has uses.
"""

import pytest

from apps.campaigns.models import Voucher
from apps.core.errors import ApplicationError
from apps.redemptions.models import Redemption, Status, ValidationSession
from apps.redemptions.services import redemption_redeem, redemption_rollback, validation_check
from tests.campaigns.factories import CampaignFactory, GiftCardFactory, VoucherFactory
from tests.concurrency import requires_postgres, run_concurrently
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db(transaction=True)]
ATTEMPTS = 200


def redeem(project, code, **extra):
    body = {"redeemables": [{"object": "voucher", "id": code, **extra.pop("entry", {})}]}
    return lambda: redemption_redeem(project=project, payload={**body, **extra})


def succeeded(results) -> list:
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    return [r for r in results if r.error is None]


def test_200_redemptions_of_a_code_with_quantity_100_exactly_100_succeed():
    project = ProjectFactory()
    VoucherFactory(
        campaign=CampaignFactory(project=project), code="HUNDRED", redemption_quantity=100
    )
    results = run_concurrently(
        *[redeem(project, "HUNDRED", order={"amount": 5000}) for _ in range(ATTEMPTS)]
    )
    assert len(succeeded(results)) == 100
    assert {r.error.key for r in results if r.error} == {"quantity_exceeded"}
    assert Voucher.objects.get(code="HUNDRED").redeemed_quantity == 100
    assert Redemption.objects.filter(parent__isnull=True, status=Status.SUCCEEDED).count() == 100
    assert Redemption.objects.filter(parent__isnull=True, status=Status.FAILED).count() == 100


def test_a_per_customer_limit_holds_for_one_customer_redeeming_200_times_at_once():
    project = ProjectFactory()
    voucher = VoucherFactory(campaign=CampaignFactory(project=project), code="THRICE")
    rule = ValidationRuleFactory(
        project=project,
        rules={
            "1": {
                "name": "redemption.count.per_customer",
                "conditions": {"$less_than_or_equal": [3]},
            },
            "logic": "1",
        },
    )
    RuleAssignmentFactory(rule=rule, campaign=voucher.campaign)
    customer = CustomerFactory(project=project, source_id="greedy")
    results = run_concurrently(
        *[
            redeem(project, "THRICE", customer={"id": customer.public_id}, order={"amount": 100})
            for _ in range(ATTEMPTS)
        ]
    )
    assert len(succeeded(results)) == 3
    assert {r.error.key for r in results if r.error} == {"redemption_rules_violated"}
    customer.refresh_from_db()
    assert customer.redemptions_total_succeeded == 3
    assert customer.redemptions_total_failed == ATTEMPTS - 3


def test_gift_card_credits_never_exceed_the_balance():
    project = ProjectFactory()
    GiftCardFactory(campaign__project=project, code="CARD", gift_amount=10_000, gift_balance=10_000)
    results = run_concurrently(
        *[
            redeem(project, "CARD", entry={"gift": {"credits": 300}}, order={"amount": 300})
            for _ in range(ATTEMPTS)
        ]
    )
    wins = succeeded(results)
    card = Voucher.objects.get(code="CARD")
    spent = sum(r.parent.gift_amount for r in wins)
    assert len(wins) == 33  # 33 x 3.00 = 99.00; the 34th would overdraw
    assert spent == 9_900 and card.gift_balance == 100
    assert sum(card.transactions.values_list("amount", flat=True)) == -9_900


def test_a_campaign_budget_is_never_exceeded():
    project = ProjectFactory()
    campaign = CampaignFactory(project=project)
    for i in range(ATTEMPTS):
        VoucherFactory(
            campaign=campaign,
            code=f"B{i:03d}",
            code_key=f"B{i:03d}",
            discount={"type": "AMOUNT", "amount_off": 700},
        )
    rule = ValidationRuleFactory(
        project=project,
        rules={
            "1": {
                "name": "campaign.orders.amount_discounted",
                "conditions": {"$less_than_or_equal": [10_000]},
            },
            "logic": "1",
        },
    )
    RuleAssignmentFactory(rule=rule, campaign=campaign)
    results = run_concurrently(
        *[redeem(project, f"B{i:03d}", order={"amount": 5000}) for i in range(ATTEMPTS)]
    )
    wins = succeeded(results)
    given = sum(r.parent.amount for r in wins)
    assert given <= 10_000
    assert len(wins) == 14  # 14 x 7.00 = 98.00; a 15th would pass 100.00


def test_live_session_locks_never_exceed_the_codes_quantity():
    project = ProjectFactory()
    VoucherFactory(campaign=CampaignFactory(project=project), code="TEN", redemption_quantity=10)

    def lock(i):
        return lambda: validation_check(
            project=project,
            payload={
                "redeemables": [{"object": "voucher", "id": "TEN"}],
                "order": {"amount": 1000},
                "session": {"type": "LOCK", "key": f"ssn_{i}"},
            },
        )

    results = run_concurrently(*[lock(i) for i in range(ATTEMPTS)])
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(r.valid for r in results) == 10
    assert ValidationSession.objects.filter(released_at__isnull=True).count() == 10


def test_concurrent_rollbacks_of_one_redemption_end_with_one_success():
    project = ProjectFactory()
    GiftCardFactory(campaign__project=project, code="BACK", gift_amount=5000, gift_balance=5000)
    done = redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "voucher", "id": "BACK", "gift": {"credits": 2000}}],
            "order": {"amount": 2000},
        },
    )
    parent = done.parent
    results = run_concurrently(
        *[lambda: redemption_rollback(redemption=parent, reason="x") for _ in range(20)]
    )
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1
    assert all(isinstance(e, ApplicationError) and e.key == "already_rolled_back" for e in losses)
    card = Voucher.objects.get(code="BACK")
    assert (card.gift_balance, card.redeemed_quantity) == (5000, 0)
