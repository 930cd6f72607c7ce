"""PostgreSQL only: a voucher import as a worker runs it (outside a test transaction), with COPY
staging, parallel writer connections and the opening ledger entries written by the same
statement as the cards."""

import pytest

from apps.campaigns.models import Campaign, CampaignType, Voucher, VoucherTransaction
from apps.imports import services
from apps.imports.models import ImportBatch, ImportStatus
from tests.campaigns.factories import CampaignFactory, VoucherFactory
from tests.concurrency import requires_postgres
from tests.imports.helpers import issues
from tests.projects.factories import ProjectFactory

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db(transaction=True)]

ROWS = 22


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 4)


def test_parallel_batches_write_cards_ledgers_and_counts_once(
    small_batches, upload, django_capture_on_commit_callbacks
):
    # given gift cards of a campaign, one code already taken, a duplicate and a tab in the file
    project = ProjectFactory()
    campaign = CampaignFactory(
        project=project,
        name="Gifts",
        campaign_type=CampaignType.GIFT_VOUCHERS,
        voucher_type="GIFT_VOUCHER",
        discount=None,
        gift_amount=2500,
    )
    VoucherFactory(campaign=campaign, code="g-3", code_key="G-3")
    rows = [f'G-{i},Gifts,{i + 1}.00,"note\twith tab",{i}' for i in range(ROWS)]
    rows[7] = "g-1,Gifts,,,"  # the same code as line 3, other case
    data = "code,campaign,gift_amount,additional_info,metadata.n\n" + "\n".join(rows) + "\n"
    imp = upload(data, kind="vouchers", project=project)
    services.import_set_mapping(imp=imp, mapping=imp.mapping)
    imp = services.import_start_dry_run(imp=imp)
    assert services._writer_threads(imp.line_count, 4) == 2
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.import_confirm(imp=imp)
    imp.refresh_from_db()
    # then
    expected = {"total": ROWS, "new": ROWS - 2, "updated": 0, "unchanged": 0, "invalid": 2}
    assert imp.status == ImportStatus.DONE, imp.error
    assert imp.dry_run_counts == expected
    assert imp.result_counts == expected
    assert ImportBatch.objects.filter(import_run=imp).count() == 6
    assert [(line, column) for line, column, _ in issues(imp, "apply")] == [
        (5, "code"),
        (9, "code"),
    ]
    cards = Voucher.objects.filter(project=project, campaign=campaign).exclude(code="g-3")
    assert cards.count() == ROWS - 2
    card = cards.get(code="G-5")
    assert (card.gift_amount, card.gift_balance, card.additional_info, card.metadata) == (
        600,
        600,
        "note\twith tab",
        {"n": "5"},
    )
    ledger = VoucherTransaction.objects.filter(voucher__in=cards)
    assert ledger.count() == ROWS - 2
    assert all(tx.amount == tx.balance_after == tx.voucher.gift_balance for tx in ledger)
    assert Campaign.objects.get(pk=campaign.pk).vouchers_count == ROWS - 2
