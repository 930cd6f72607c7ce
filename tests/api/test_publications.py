"""Publications, loyalty card balance and a customer's redeemables over /v1: Voucherify's
shapes, JSON errors for bad input, and nothing of another project visible or writable."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.campaigns.models import CampaignType, Publication, Voucher, VoucherType
from tests.api.helpers import send
from tests.campaigns.factories import CampaignFactory, GiftCardFactory, VoucherFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(api_client):
    """A static campaign with three free codes."""
    campaign = CampaignFactory(project=api_client.project, name="Welcome")
    for code in ("W1", "W2", "W3"):
        VoucherFactory(campaign=campaign, code=code)
    return campaign


def loyalty_card(project, code="CARD1", balance=100):
    program = CampaignFactory(
        project=project,
        campaign_type=CampaignType.LOYALTY_PROGRAM,
        voucher_type=VoucherType.LOYALTY_CARD,
        discount=None,
    )
    return VoucherFactory(
        campaign=program,
        code=code,
        type=VoucherType.LOYALTY_CARD,
        discount=None,
        loyalty_points=balance,
        loyalty_balance=balance,
    )


# -- publications ------------------------------------------------------------------------------


def test_publish_a_campaign_code_to_a_new_customer(api_client, campaign):
    response = send(
        api_client,
        "post",
        "/v1/publications",
        {
            "campaign": {"name": "Welcome", "count": 1},
            "customer": {"source_id": "ann", "email": "ann@example.com"},
            "metadata": {"why": "signup"},
            "channel": "API",
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"].startswith("pub_") and body["object"] == "publication"
    assert body["result"] == "SUCCESS" and body["channel"] == "API"
    assert body["customer"]["source_id"] == "ann" and body["customer"]["summary"]["orders"]
    assert body["customer_id"] == body["customer"]["id"]
    assert body["tracking_id"].startswith("track_")
    assert body["voucher"]["code"] == "W1" and body["voucher"]["holder_id"] == body["customer_id"]
    assert body["vouchers"] == ["W1"] and body["metadata"] == {"why": "signup"}
    assert Voucher.objects.get(code="W1").holder.source_id == "ann"


def test_publish_several_codes_and_a_specific_code(api_client, campaign):
    many = send(
        api_client,
        "post",
        "/v1/publications",
        {"campaign": {"name": campaign.public_id, "count": 2}, "customer": {"source_id": "bo"}},
    ).json()
    assert many["vouchers"] == ["W1", "W2"] and len(many["vouchers_id"]) == 2
    assert "voucher" not in many
    one = send(api_client, "post", "/v1/publications", {"voucher": "w3", "customer": "cy"}).json()
    assert one["voucher"]["code"] == "W3" and one["customer"]["source_id"] == "cy"
    taken = send(api_client, "post", "/v1/publications", {"voucher": "W3", "customer": "bo"})
    assert taken.status_code == 400 and taken.json()["key"] == "voucher_already_published"
    empty = send(
        api_client,
        "post",
        "/v1/publications",
        {"campaign": {"name": "Welcome"}, "customer": {"source_id": "di"}},
    )
    assert empty.json()["key"] == "no_voucher_suitable_for_publication"


def test_join_once_gives_the_same_code_again(api_client, campaign):
    body = {"campaign": "Welcome", "customer": {"source_id": "ann"}}
    first = send(api_client, "post", "/v1/publications?join_once=true", body).json()
    again = send(api_client, "post", "/v1/publications?join_once=true", body).json()
    assert first["voucher"]["code"] == again["voucher"]["code"] == "W1"
    other = send(api_client, "post", "/v1/publications", body).json()
    assert other["voucher"]["code"] == "W2"


def test_a_source_id_publishes_once(api_client, campaign):
    body = {"campaign": "Welcome", "customer": {"source_id": "ann"}, "source_id": "crm-1"}
    assert send(api_client, "post", "/v1/publications", body).status_code == 200
    duplicate = send(api_client, "post", "/v1/publications", body)
    assert duplicate.status_code == 409 and duplicate.json()["key"] == "duplicate_source_id"
    assert Publication.objects.count() == 1


def test_publish_by_get_with_the_query_the_sdk_sends(api_client, campaign):
    response = api_client.get(
        "/v1/publications/create?campaign[name]=Welcome&campaign[count]=2"
        "&customer[source_id]=ann&customer[name]=Ann&metadata[why]=get&join_once=false"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["vouchers"] == ["W1", "W2"] and body["customer"]["name"] == "Ann"
    assert body["metadata"] == {"why": "get"}
    plain = api_client.get("/v1/publications/create?voucher=W3&customer=ann").json()
    assert plain["voucher"]["code"] == "W3" and plain["customer_id"] == body["customer_id"]
    for query in (
        "voucher=W3",
        "campaign[name]=Welcome&campaign[count]=two&customer=ann",
        "campaign=Welcome&campaign[name]=x&customer=ann",
        "campaign=Welcome&customer=ann&join_once=maybe",
    ):
        response = api_client.get(f"/v1/publications/create?{query}")
        assert response.status_code == 400, query


def test_publication_input_errors(api_client, campaign):
    for body, key in (
        ("{", "invalid_payload"),
        ({"campaign": "Welcome"}, "invalid_customer"),
        ({"campaign": "Welcome", "customer": ["ann"]}, "invalid_customer"),
        ({"customer": {"source_id": "ann"}}, "missing_vouchers"),
        (
            {"campaign": {"name": "Welcome", "count": 51}, "customer": "ann"},
            "too_many_vouchers_requested",
        ),
        ({"campaign": {"name": "Welcome", "count": "2"}, "customer": "ann"}, "invalid_payload"),
        ({"campaign": {"name": 5}, "customer": "ann"}, "invalid_payload"),
        ({"voucher": ["W1"], "customer": "ann"}, "invalid_payload"),
        ({"voucher": "W1", "customer": "ann", "source_id": 5}, "invalid_payload"),
        ({"voucher": "W1", "customer": "ann", "metadata": "x"}, "invalid_payload"),
        ({"voucher": "W1", "customer": "ann", "channel": {}}, "invalid_payload"),
    ):
        response = send(api_client, "post", "/v1/publications", body)
        assert response.status_code == 400, (body, response.content)
        assert response.json()["key"] == key, body
    missing = send(api_client, "post", "/v1/publications", {"voucher": "NONE", "customer": "a"})
    assert missing.status_code == 404


def test_list_publications_with_filters(api_client, campaign):
    gift = GiftCardFactory(campaign__project=campaign.project, code="GIFT")
    for body in (
        {"voucher": "W1", "customer": "ann", "source_id": "s-1"},
        {"voucher": "W2", "customer": "bo"},
        {"voucher": "GIFT", "customer": "ann"},
    ):
        assert send(api_client, "post", "/v1/publications", body).status_code == 200
    listed = send(api_client, "get", "/v1/publications").json()
    assert listed["object"] == "list" and listed["data_ref"] == "publications"
    assert listed["total"] == 3
    assert [p["vouchers"] for p in listed["publications"]] == [["GIFT"], ["W2"], ["W1"]]
    first = listed["publications"][2]
    assert first["voucher"]["code"] == "W1" and first["voucher"]["campaign"] == "Welcome"
    assert first["customer"]["source_id"] == "ann" and first["source_id"] == "s-1"

    def codes(query):
        body = send(api_client, "get", f"/v1/publications?{query}").json()
        return sorted(code for p in body["publications"] for code in p["vouchers"])

    assert codes("customer=ann") == ["GIFT", "W1"]
    assert codes("campaign=Welcome") == ["W1", "W2"]
    assert codes("voucher=w2") == ["W2"]
    assert codes("voucher_type=gift") == ["GIFT"]
    assert codes("source_id=s-1") == ["W1"]
    assert codes("result=FAILURE") == []
    assert codes("order=voucher_code&limit=1") == ["GIFT"]
    assert gift.code == "GIFT"
    for query in ("limit=0", "order=colour", "result=MAYBE", "voucher_type=paper"):
        assert send(api_client, "get", f"/v1/publications?{query}").status_code == 400, query


def test_publications_of_another_project(api_client, other_client, campaign):
    send(api_client, "post", "/v1/publications", {"voucher": "W1", "customer": "ann"})
    assert send(other_client, "get", "/v1/publications").json()["total"] == 0
    stolen = send(other_client, "post", "/v1/publications", {"voucher": "W2", "customer": "x"})
    assert stolen.status_code == 404
    by_name = send(
        other_client, "post", "/v1/publications", {"campaign": "Welcome", "customer": "x"}
    )
    assert by_name.status_code == 404
    assert Voucher.objects.filter(holder__isnull=False).count() == 1


# -- loyalty card balance ----------------------------------------------------------------------


def test_add_and_remove_loyalty_points(api_client):
    card = loyalty_card(api_client.project, balance=100)
    path = f"/v1/loyalties/members/{card.code}/balance"
    added = send(api_client, "post", path, {"points": 50, "reason": "bonus", "source_id": "b-1"})
    assert added.status_code == 200, added.content
    assert added.json() == {
        "points": 50,
        "total": 150,
        "balance": 150,
        "type": "loyalty_card",
        "object": "balance",
        "related_object": {"type": "voucher", "id": card.public_id},
        "operation_type": "MANUAL",
    }
    removed = send(api_client, "post", path, {"points": -120}).json()
    assert (removed["points"], removed["total"], removed["balance"]) == (-120, 150, 30)
    in_campaign = f"/v1/loyalties/{card.campaign.public_id}/members/{card.public_id}/balance"
    assert send(api_client, "post", in_campaign, {"points": 5}).json()["balance"] == 35
    entry = card.transactions.order_by("pk").first()
    assert entry.reason == "bonus" and entry.source_id == "b-1"


def test_loyalty_balance_errors(api_client, other_client):
    card = loyalty_card(api_client.project, balance=10)
    path = f"/v1/loyalties/members/{card.code}/balance"
    for body in (
        {},
        {"points": "5"},
        {"points": 1.5},
        {"points": True},
        {"points": 0},
        {"points": 5, "reason": ["x"]},
        "[]",
    ):
        response = send(api_client, "post", path, body)
        assert response.status_code == 400, (body, response.content)
    overdraw = send(api_client, "post", path, {"points": -11})
    assert overdraw.status_code == 400
    coupon = VoucherFactory(campaign=CampaignFactory(project=api_client.project), code="COUPON")
    not_card = send(
        api_client, "post", f"/v1/loyalties/members/{coupon.code}/balance", {"points": 5}
    )
    assert not_card.status_code == 400 and not_card.json()["key"] == "invalid_voucher"
    other_campaign = CampaignFactory(project=api_client.project)
    wrong = f"/v1/loyalties/{other_campaign.public_id}/members/{card.code}/balance"
    assert send(api_client, "post", wrong, {"points": 5}).status_code == 404
    assert send(other_client, "post", path, {"points": 5}).status_code == 404
    card.refresh_from_db()
    assert card.loyalty_balance == 10


# -- customer redeemables ----------------------------------------------------------------------


def test_a_customers_redeemables_with_their_status(api_client):
    project = api_client.project
    ann = CustomerFactory(project=project, source_id="ann")
    now = timezone.now()
    campaign = CampaignFactory(project=project)
    codes = {
        "ACTIVE": VoucherFactory(campaign=campaign, code="OK"),
        "DISABLED": VoucherFactory(campaign=campaign, code="OFF", active=False),
        "EXPIRED": VoucherFactory(
            campaign=campaign, code="OLD", expiration_date=now - dt.timedelta(days=1)
        ),
        "NOT_ACTIVE_YET": VoucherFactory(
            campaign=campaign, code="SOON", start_date=now + dt.timedelta(days=1)
        ),
        "USED": VoucherFactory(
            campaign=campaign, code="USED", redemption_quantity=1, redeemed_quantity=1
        ),
        "NO_BALANCE": GiftCardFactory(campaign__project=project, code="EMPTY", gift_balance=0),
    }
    for voucher in codes.values():
        Voucher.objects.filter(pk=voucher.pk).update(holder=ann, published_at=now)
    VoucherFactory(campaign=campaign, code="NOT-ANNS")

    body = send(api_client, "get", "/v1/customers/ann/redeemables?limit=100").json()
    assert body["object"] == "list" and body["data_ref"] == "data" and body["total"] == 6
    assert body["has_more"] is False and body["more_starting_after"] is None
    statuses = {r["redeemable"]["voucher"]["code"]: r["redeemable"]["status"] for r in body["data"]}
    assert statuses == {voucher.code: status for status, voucher in codes.items()}
    entry = body["data"][0]
    assert entry["id"].startswith("hold_") and entry["redeemable_object"] == "voucher"
    assert entry["customer_id"] == ann.public_id and entry["holder_role"] == "OWNER"
    assert entry["campaign_type"] == "GIFT_VOUCHERS" and entry["voucher_type"] == "GIFT_VOUCHER"


def test_customer_redeemables_page_with_a_cursor_and_filter(api_client):
    project = api_client.project
    ann = CustomerFactory(project=project, source_id="ann")
    held = [VoucherFactory(campaign__project=project, holder=ann) for _ in range(3)]
    first = send(api_client, "get", f"/v1/customers/{ann.public_id}/redeemables?limit=2").json()
    assert [r["redeemable_id"] for r in first["data"]] == [held[2].public_id, held[1].public_id]
    assert first["has_more"] is True and first["total"] == 3
    cursor = first["more_starting_after"]
    rest = send(
        api_client, "get", f"/v1/customers/ann/redeemables?limit=2&starting_after_id={cursor}"
    ).json()
    assert [r["redeemable_id"] for r in rest["data"]] == [held[0].public_id]
    assert rest["has_more"] is False
    ascending = send(api_client, "get", "/v1/customers/ann/redeemables?order=id&limit=1").json()
    assert ascending["data"][0]["redeemable_id"] == held[0].public_id
    one = send(
        api_client,
        "get",
        f"/v1/customers/ann/redeemables?filters[redeemable_id][conditions][$is]={held[1].public_id}",
    ).json()
    assert [r["redeemable_id"] for r in one["data"]] == [held[1].public_id] and one["total"] == 1
    gift = GiftCardFactory(campaign__project=project, holder=ann)

    def ids(query):
        body = send(api_client, "get", f"/v1/customers/ann/redeemables?limit=100&{query}").json()
        return {r["redeemable_id"] for r in body["data"]}

    assert ids("filters[voucher_type][conditions][$is]=GIFT_VOUCHER") == {gift.public_id}
    assert ids("filters[campaign_type][conditions][$is_not]=GIFT_VOUCHERS") == {
        v.public_id for v in held
    }
    assert ids(f"filters[campaign_id][conditions][$is]={gift.campaign.public_id}") == {
        gift.public_id
    }
    assert ids("filters[holder_role][conditions][$is]=REFERRER") == set()
    assert len(ids("filters[holder_role][conditions][$is]=OWNER&filters[id]=None")) == 4
    for query in (
        "limit=0",
        "order=name",
        "starting_after_id=hold_nothing",
        "filters[colour][conditions][$is]=red",
        "filters[created_at][conditions][$after]=later",
        "filters=x",
    ):
        response = send(api_client, "get", f"/v1/customers/ann/redeemables?{query}")
        assert response.status_code == 400, (query, response.content)


def test_customer_redeemables_of_another_project(api_client, other_client):
    ann = CustomerFactory(project=api_client.project, source_id="ann")
    VoucherFactory(campaign__project=api_client.project, holder=ann)
    assert (
        send(other_client, "get", f"/v1/customers/{ann.public_id}/redeemables").status_code == 404
    )
    assert send(other_client, "get", "/v1/customers/ann/redeemables").status_code == 404


GARBAGE = ["x", 5, 1.5, True, [], [1], {}, {"a": 1}]


def test_garbage_in_publications_and_balances_is_never_a_500(api_client, campaign):
    loyalty_card(api_client.project, code="CARD9")
    base = {"campaign": "Welcome", "customer": {"source_id": "z"}}
    cases = [
        (
            "/v1/publications",
            base,
            [
                *(("customer", g) for g in GARBAGE),
                *(("customer", {"source_id": g}) for g in GARBAGE),
                *(("customer", {"source_id": "z", "metadata": g}) for g in GARBAGE),
                *(("campaign", g) for g in GARBAGE),
                *(("campaign", {"name": "Welcome", "count": g}) for g in GARBAGE),
                *(("voucher", g) for g in GARBAGE),
                *(("source_id", g) for g in GARBAGE),
                *(("metadata", g) for g in GARBAGE),
            ],
        ),
        (
            "/v1/loyalties/members/CARD9/balance",
            {"points": 1},
            [(field, g) for field in ("points", "reason", "source_id") for g in GARBAGE],
        ),
    ]
    for path, body, changes in cases:
        for field, g in changes:
            response = send(api_client, "post", path, {**body, field: g})
            assert response.status_code in (200, 400, 404), (path, field, g, response.content)


def test_lists_cost_a_fixed_number_of_queries(api_client, django_assert_max_num_queries):
    project = api_client.project
    ann = CustomerFactory(project=project, source_id="ann")
    campaign = CampaignFactory(project=project)
    for _ in range(6):
        voucher = VoucherFactory(campaign=campaign, holder=ann)
        Publication.objects.create(project=project, customer=ann).vouchers.add(voucher)
    with django_assert_max_num_queries(8):
        listed = send(api_client, "get", "/v1/publications?limit=100").json()
    with django_assert_max_num_queries(9):
        held = send(api_client, "get", "/v1/customers/ann/redeemables?limit=100").json()
    assert listed["total"] == 6 and held["total"] == 6
