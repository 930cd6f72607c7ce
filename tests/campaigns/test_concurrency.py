"""Publications and card balances under concurrency (PostgreSQL): distinct codes, no overdraft."""

import pytest

from apps.campaigns import services
from apps.campaigns.models import Voucher, VoucherTransaction
from apps.core.errors import ApplicationError
from tests.campaigns.factories import CampaignFactory, GiftCardFactory, VoucherFactory
from tests.concurrency import requires_postgres, run_concurrently
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db(transaction=True)]


def test_concurrent_publications_never_hand_one_code_to_two_customers():
    project = ProjectFactory()
    campaign = CampaignFactory(project=project)
    for i in range(30):
        VoucherFactory(campaign=campaign, code=f"C{i:03d}", code_key=f"C{i:03d}")
    customers = [CustomerFactory(project=project) for _ in range(24)]
    results = run_concurrently(
        *[
            lambda c=c: services.publication_create(
                project=project, customer=c, campaign=campaign.public_id
            )
            for c in customers
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    codes = [r.published_vouchers[0].code for r in results]
    assert len(set(codes)) == 24
    holders = Voucher.objects.filter(campaign=campaign, holder__isnull=False)
    assert holders.count() == 24
    assert set(holders.values_list("holder", flat=True)) == {c.pk for c in customers}


def test_when_codes_run_out_the_losers_get_a_clear_error_and_no_code_is_shared():
    project = ProjectFactory()
    campaign = CampaignFactory(project=project)
    for i in range(5):
        VoucherFactory(campaign=campaign, code=f"C{i}", code_key=f"C{i}")
    customers = [CustomerFactory(project=project) for _ in range(12)]
    results = run_concurrently(
        *[
            lambda c=c: services.publication_create(
                project=project, customer=c, campaign=campaign.public_id
            )
            for c in customers
        ]
    )
    errors = [r for r in results if isinstance(r, ApplicationError)]
    assert len(errors) == 7
    assert {e.key for e in errors} == {"no_voucher_suitable_for_publication"}
    assert Voucher.objects.filter(campaign=campaign, holder__isnull=False).count() == 5


def test_the_same_specific_code_published_at_once_goes_to_one_customer():
    project = ProjectFactory()
    voucher = VoucherFactory(campaign__project=project)
    customers = [CustomerFactory(project=project) for _ in range(8)]
    results = run_concurrently(
        *[
            lambda c=c: services.publication_create(
                project=project, customer=c, voucher=voucher.code
            )
            for c in customers
        ]
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert {r.key for r in results if isinstance(r, ApplicationError)} == {
        "voucher_already_published"
    }


def test_concurrent_removals_never_overdraw_a_gift_card():
    card = GiftCardFactory(campaign__project=ProjectFactory(), gift_balance=1000)
    results = run_concurrently(
        *[lambda: services.card_adjust(voucher=card, amount=-300, reason="spend") for _ in range(8)]
    )
    done = [r for r in results if not isinstance(r, Exception)]
    assert len(done) == 3  # three removals of 300 fit in 1000, a fourth would go below zero
    card.refresh_from_db()
    assert card.gift_balance == 100
    entries = VoucherTransaction.objects.filter(voucher=card).order_by("balance_after")
    assert list(entries.values_list("balance_after", flat=True)) == [100, 400, 700]


def test_codes_added_at_once_keep_the_campaigns_count_exact():
    project = ProjectFactory()
    campaign = CampaignFactory(project=project, vouchers_count=0)
    results = run_concurrently(
        *[
            lambda i=i: services.voucher_create(
                project=project, payload={}, campaign=campaign, code=f"SAME-TIME-{i}"
            )
            for i in range(12)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    campaign.refresh_from_db()
    assert campaign.vouchers_count == 12 == Voucher.objects.filter(campaign=campaign).count()
