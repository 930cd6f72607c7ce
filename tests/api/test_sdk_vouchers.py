"""The official `voucherify` SDK (PyPI, unchanged) drives /v1/vouchers on a live server: every
VouchersApi method we serve, its typed response parsed by the SDK's strict models, and codes
with `%`, spaces and non-ASCII characters percent-encoded by the SDK in the path."""

import datetime as dt
from urllib.request import urlopen

import pytest
from django.utils import timezone

from apps.campaigns.models import Voucher
from apps.redemptions.models import ValidationSession
from tests.campaigns.factories import CampaignFactory, GiftCardFactory, VoucherFactory
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    return ProjectFactory(name="SDK vouchers", currency="USD")


def test_voucher_lifecycle_through_the_sdk(sdk, shop):
    campaign = CampaignFactory(project=shop, name="Club")
    vouchers = voucherify.VouchersApi(sdk(shop))

    generated = vouchers.generate_random_code(
        voucherify.VouchersCreateRequestBody.from_dict(
            {
                "campaign": "Club",
                "metadata": {"from": "sdk"},
                "redemption": {"quantity": 3},
                "expiration_date": "2031-01-01T00:00:00Z",
            }
        )
    )
    assert isinstance(generated, voucherify.VouchersCreateResponseBody)
    assert generated.campaign_id == campaign.public_id and generated.type == "DISCOUNT_VOUCHER"
    assert generated.redemption.quantity == 3 and generated.metadata == {"from": "sdk"}
    assert generated.expiration_date == dt.datetime(2031, 1, 1, tzinfo=dt.UTC)

    fetched = vouchers.get_voucher(generated.code)
    assert isinstance(fetched, voucherify.VouchersGetResponseBody)
    assert fetched.id == generated.id and fetched.assets.qr.url.startswith("http://")
    with urlopen(fetched.assets.qr.url) as image:  # noqa: S310 -- the live test server
        assert image.headers["Content-Type"] == "image/png"

    updated = vouchers.update_voucher(
        generated.code,
        voucherify.VouchersUpdateRequestBody.from_dict(
            {"additional_info": "updated", "discount": {"type": "AMOUNT", "amount_off": 250}}
        ),
    )
    assert updated.additional_info == "updated" and updated.discount.amount_off == 250

    disabled = vouchers.disable_voucher(generated.code)
    assert isinstance(disabled, voucherify.VouchersDisableResponseBody) and not disabled.active
    enabled = vouchers.enable_voucher(generated.id)
    assert isinstance(enabled, voucherify.VouchersEnableResponseBody) and enabled.active

    listed = vouchers.list_vouchers(limit=10, campaign="Club")
    assert isinstance(listed, voucherify.VouchersListResponseBody)
    assert [v.code for v in listed.vouchers] == [generated.code] and listed.total == 1
    ordered = vouchers.list_vouchers(order=voucherify.ParameterOrderVouchers("-code"))
    assert [v.code for v in ordered.vouchers] == sorted(
        (v.code for v in ordered.vouchers), reverse=True
    )

    assert vouchers.delete_voucher(generated.code, force=True) is None
    with pytest.raises(voucherify.exceptions.NotFoundException):
        vouchers.get_voucher(generated.code)


@pytest.mark.parametrize("code", ["50%OFF", "ZNIŻKA-ü", "A+B=C&D?E#F"])
def test_special_codes_round_trip_through_the_sdk(sdk, shop, code):
    vouchers = voucherify.VouchersApi(sdk(shop))
    created = vouchers.create_voucher(
        code,
        voucherify.VouchersCreateWithSpecificCodeRequestBody.from_dict(
            {"type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amount_off": 100}}
        ),
    )
    assert created.code == code
    assert vouchers.get_voucher(code).id == created.id
    assert vouchers.disable_voucher(code).active is False


def test_a_code_with_a_space_is_found_through_the_sdk(sdk, shop):
    VoucherFactory(campaign=CampaignFactory(project=shop), code="SUMMER SALE")
    assert voucherify.VouchersApi(sdk(shop)).get_voucher("SUMMER SALE").code == "SUMMER SALE"


def test_gift_and_loyalty_balances_and_the_ledger_through_the_sdk(sdk, shop):
    card = GiftCardFactory(campaign__project=shop, code="GIFT-1", gift_balance=5000)
    vouchers = voucherify.VouchersApi(sdk(shop))
    answer = vouchers.update_voucher_balance(
        "GIFT-1",
        voucherify.VouchersBalanceUpdateRequestBody(amount=-1500, reason="refund", source_id="r1"),
    )
    assert isinstance(answer, voucherify.VouchersBalanceUpdateResponseBody)
    assert answer.balance == 3500 and answer.type == "gift_voucher"
    assert answer.related_object.id == card.public_id
    with pytest.raises(voucherify.exceptions.BadRequestException):
        vouchers.update_voucher_balance(
            "GIFT-1", voucherify.VouchersBalanceUpdateRequestBody(amount=-99999)
        )
    vouchers.update_voucher_balance(
        "GIFT-1", voucherify.VouchersBalanceUpdateRequestBody(amount=10)
    )

    ledger = vouchers.list_voucher_transactions("GIFT-1", limit=1)
    assert isinstance(ledger, voucherify.VouchersTransactionsListResponseBody)
    assert ledger.has_more is True and ledger.data[0].type == "CREDITS_ADDITION"
    assert ledger.data[0].details.balance.amount == 10
    rest = vouchers.list_voucher_transactions(
        "GIFT-1", limit=10, starting_after_id=ledger.more_starting_after
    )
    assert [t.type for t in rest.data] == ["CREDITS_REMOVAL"]
    assert rest.data[0].reason == "refund" and rest.data[0].source_id == "r1"

    loyalty = CampaignFactory(
        project=shop,
        campaign_type="LOYALTY_PROGRAM",
        voucher_type="LOYALTY_CARD",
        discount=None,
        loyalty_points=20,
    )
    created = vouchers.generate_random_code(
        voucherify.VouchersCreateRequestBody.from_dict({"campaign_id": loyalty.public_id})
    )
    assert created.loyalty_card.points == 20 and created.loyalty_card.balance == 20
    points = vouchers.update_voucher_balance(
        created.code, voucherify.VouchersBalanceUpdateRequestBody(amount=5)
    )
    assert points.type == "loyalty_card" and points.balance == 25
    ledger = vouchers.list_voucher_transactions(
        created.code, order=voucherify.ParameterOrderListTransactions("id")
    )
    assert [t.type for t in ledger.data] == ["POINTS_ADDITION", "POINTS_ADDITION"]


def test_imports_and_sessions_through_the_sdk(sdk, shop):
    vouchers = voucherify.VouchersApi(sdk(shop))
    answer = vouchers.import_vouchers(
        [
            voucherify.VouchersImportCreateItemRequestBody.from_dict(
                {"code": "J-1", "type": "GIFT_VOUCHER", "gift": {"amount": 4000}}
            ),
            voucherify.VouchersImportCreateItemRequestBody.from_dict(
                {"code": "J-2", "discount": {"type": "PERCENT", "percent_off": 5}}
            ),
        ]
    )
    assert isinstance(answer, voucherify.VouchersImportCreateResponseBody)
    action = voucherify.AsyncActionsApi(sdk(shop)).get_async_action(answer.async_action_id)
    assert action.status == "DONE"
    assert set(Voucher.objects.values_list("code", flat=True)) == {"J-1", "J-2"}

    voucher = Voucher.objects.get(code="J-2")
    ValidationSession.objects.create(
        project=shop,
        key="ssn_sdk",
        voucher=voucher,
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    assert vouchers.release_validation_session("J-2", "ssn_sdk") is None
    assert ValidationSession.objects.get(key="ssn_sdk").released_at is not None


def test_csv_import_through_the_sdk(sdk, shop):
    answer = voucherify.VouchersApi(sdk(shop)).import_vouchers_using_csv(
        file=b"code,percent_off\nCSV-1,10\n"
    )
    assert answer.async_action_id.startswith("aa_")
    assert Voucher.objects.filter(code="CSV-1").exists()


def test_another_projects_vouchers_are_invisible_through_the_sdk(sdk, shop):
    holder = CustomerFactory(project=shop, source_id="ann")
    VoucherFactory(campaign=CampaignFactory(project=shop), code="MINE", holder=holder)
    other = voucherify.VouchersApi(sdk(ProjectFactory(name="Other")))
    with pytest.raises(voucherify.exceptions.NotFoundException):
        other.get_voucher("MINE")
    assert other.list_vouchers().total == 0
    mine = voucherify.VouchersApi(sdk(shop)).list_vouchers(customer="ann")
    assert [v.code for v in mine.vouchers] == ["MINE"] and mine.vouchers[0].holder_id
