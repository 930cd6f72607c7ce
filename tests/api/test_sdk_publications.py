"""The official `voucherify` SDK (unchanged) drives publications, the loyalty card balance and a
customer's redeemables on a live server; its strict models parse every answer."""

import pytest

from apps.campaigns.models import CampaignType, VoucherType
from tests.campaigns.factories import CampaignFactory, VoucherFactory
from tests.projects.factories import ProjectFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)


def test_publish_list_and_hold_through_the_sdk(sdk):
    project = ProjectFactory(name="SDK publications")
    campaign = CampaignFactory(project=project, name="Welcome")
    for code in ("W1", "W2", "W3", "W4", "W5"):
        VoucherFactory(campaign=campaign, code=code)
    client = sdk(project)
    publications = voucherify.PublicationsApi(client)

    one = publications.create_publication(
        join_once=False,
        publications_create_request_body=voucherify.PublicationsCreateRequestBody.from_dict(
            {
                "campaign": {"name": "Welcome", "count": 1},
                "customer": {"source_id": "ann", "email": "ann@example.com"},
                "metadata": {"why": "signup"},
            }
        ),
    )
    assert one.id.startswith("pub_") and one.result == "SUCCESS" and one.channel == "API"
    assert one.voucher.code == "W1" and one.customer.source_id == "ann"
    assert one.customer.summary.orders.total_count == 0

    two = publications.create_publication1(
        customer=voucherify.Customer(source_id="bo", name="Bo"),
        campaign=voucherify.CreatePublicationCampaign(name="Welcome", count=2),
    )
    assert two.vouchers == ["W2", "W3"] and two.customer.name == "Bo"
    tracked = publications.create_publication1(
        customer=voucherify.Customer(source_id="bo"),
        campaign=voucherify.CreatePublicationCampaign(name="Welcome", count=1),
        source_id="crm-2",
    )
    assert tracked.source_id == "crm-2" and tracked.voucher.code == "W4"
    specific = publications.create_publication1(
        customer=voucherify.Customer(source_id="ann"), voucher="W5"
    )
    assert specific.voucher.holder_id == one.customer_id

    listed = publications.list_publications(limit=10, page=1, order="-created_at")
    assert listed.total == 4 and listed.publications[0].voucher.code == "W5"
    assert publications.list_publications(customer=one.customer_id).total == 2
    assert [p.id for p in publications.list_publications(source_id="crm-2").publications] == [
        tracked.id
    ]

    with pytest.raises(voucherify.exceptions.ApiException) as duplicate:
        publications.create_publication1(
            customer=voucherify.Customer(source_id="bo"),
            campaign=voucherify.CreatePublicationCampaign(name="Welcome", count=1),
            source_id="crm-2",
        )
    assert duplicate.value.status == 409

    held = voucherify.CustomersApi(client).list_customer_redeemables("ann", limit=1, order="id")
    assert held.total == 2 and held.has_more is True
    assert held.data[0].redeemable.voucher.code == "W1"
    assert held.data[0].redeemable.status == "ACTIVE"
    rest = voucherify.CustomersApi(client).list_customer_redeemables(
        "ann", limit=1, order="id", starting_after_id=held.more_starting_after
    )
    assert rest.data[0].redeemable.voucher.code == "W5" and rest.has_more is False
    only = voucherify.ParameterFiltersListCustomerRedeemables.from_dict(
        {"redeemable_id": {"conditions": {"$is": one.voucher.id}}}
    )
    filtered = voucherify.CustomersApi(client).list_customer_redeemables("ann", filters=only)
    assert [r.redeemable_id for r in filtered.data] == [one.voucher.id]


@pytest.mark.filterwarnings("ignore:POST /v1/loyalties:DeprecationWarning")
def test_loyalty_card_balance_through_the_sdk(sdk):
    project = ProjectFactory(name="SDK loyalty")
    program = CampaignFactory(
        project=project,
        campaign_type=CampaignType.LOYALTY_PROGRAM,
        voucher_type=VoucherType.LOYALTY_CARD,
        discount=None,
    )
    card = VoucherFactory(
        campaign=program,
        code="CARD1",
        type=VoucherType.LOYALTY_CARD,
        discount=None,
        loyalty_points=0,
        loyalty_balance=0,
    )
    loyalties = voucherify.LoyaltiesApi(sdk(project))
    added = loyalties.update_loyalty_card_balance(
        "CARD1",
        voucherify.LoyaltiesMembersBalanceUpdateRequestBody(points=300, reason="welcome"),
    )
    assert (added.points, added.total, added.balance) == (300, 300, 300)
    assert added.type == "loyalty_card" and added.related_object.id == card.public_id
    removed = loyalties.update_loyalty_card_balance1(
        program.public_id,
        "CARD1",
        voucherify.LoyaltiesMembersBalanceUpdateRequestBody(points=-100, source_id="adj-1"),
    )
    assert (removed.points, removed.total, removed.balance) == (-100, 300, 200)
    with pytest.raises(voucherify.exceptions.BadRequestException):
        loyalties.update_loyalty_card_balance(
            "CARD1", voucherify.LoyaltiesMembersBalanceUpdateRequestBody(points=-1000)
        )
    with pytest.raises(voucherify.exceptions.NotFoundException):
        loyalties.update_loyalty_card_balance(
            "NOCARD", voucherify.LoyaltiesMembersBalanceUpdateRequestBody(points=1)
        )
