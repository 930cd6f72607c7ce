"""/v1/vouchers: generate, create with a code, get (codes with %, spaces and non-ASCII in the
path), update, delete, enable/disable, list filters, card balance and its ledger, imports and
session release. Voucherify's shapes, JSON errors for garbage, other projects invisible."""

import datetime as dt
from urllib.parse import quote, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from apps.campaigns.models import Voucher, VoucherTransaction
from apps.jobs.models import Job
from apps.redemptions.models import ValidationSession
from apps.rules.services import assignment_create
from tests.api.helpers import send
from tests.campaigns.factories import (
    CampaignFactory,
    CategoryFactory,
    GiftCardFactory,
    VoucherFactory,
)
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory
from tests.rules.factories import ValidationRuleFactory

pytestmark = pytest.mark.django_db

DISCOUNT = {"type": "AMOUNT", "amount_off": 1500}


def path_of(code: str, rest: str = "") -> str:
    return f"/v1/vouchers/{quote(code, safe='')}{rest}"


def loyalty_card(project, code="CARD-1", points=100):
    campaign = CampaignFactory(
        project=project,
        campaign_type="LOYALTY_PROGRAM",
        voucher_type="LOYALTY_CARD",
        discount=None,
        loyalty_points=points,
    )
    return VoucherFactory(
        campaign=campaign,
        code=code,
        type="LOYALTY_CARD",
        discount=None,
        loyalty_points=points,
        loyalty_balance=points,
    )


# -- create -----------------------------------------------------------------------------------


def test_generate_a_standalone_voucher_with_a_random_code(api_client):
    payload = {
        "type": "DISCOUNT_VOUCHER",
        "discount": DISCOUNT,
        "code_config": {"prefix": "GEN-", "length": 6, "charset": "numbers"},
        "redemption": {"quantity": 1},
        "metadata": {"source": "api"},
        "campaign": None,
    }
    response = send(api_client, "post", "/v1/vouchers", payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "voucher" and body["id"].startswith("v_")
    assert body["code"].startswith("GEN-") and len(body["code"]) == 10
    assert body["campaign"] is None and body["type"] == "DISCOUNT_VOUCHER"
    assert body["discount"]["amount_off"] == 1500
    assert body["redemption"]["quantity"] == 1 and body["redemption"]["redeemed_quantity"] == 0
    assert body["metadata"] == {"source": "api"}


def test_generate_into_a_campaign_by_name_or_id(api_client):
    campaign = CampaignFactory(project=api_client.project, name="Club")
    for ref in ({"campaign": "Club"}, {"campaign_id": campaign.public_id}):
        response = send(api_client, "post", "/v1/vouchers", ref)
        assert response.status_code == 200, response.content
        assert response.json()["campaign_id"] == campaign.public_id
    other = CampaignFactory(project=ProjectFactory(), name="Foreign")
    response = send(api_client, "post", "/v1/vouchers", {"campaign_id": other.public_id})
    assert response.status_code == 404


def test_a_gift_card_opens_its_ledger(api_client):
    payload = {"type": "GIFT_VOUCHER", "gift": {"amount": 10000}}
    response = send(api_client, "post", path_of("GIFT-100"), payload)
    assert response.status_code == 200, response.content
    gift = response.json()["gift"]
    assert gift == {
        "amount": 10000,
        "subtracted_amount": 0,
        "balance": 10000,
        "effect": "APPLY_TO_ORDER",
    }
    assert VoucherTransaction.objects.get().amount == 10000


@pytest.mark.parametrize("code", ["50%OFF", "ZNIŻKA-ü", "A+B=C", "Q?#&x"])
def test_codes_with_special_characters_round_trip_through_the_path(api_client, code):
    response = send(api_client, "post", path_of(code), {"discount": DISCOUNT})
    assert response.status_code == 200, response.content
    assert response.json()["code"] == code
    response = api_client.get(path_of(code))
    assert response.status_code == 200, response.content
    assert response.json()["code"] == code


def test_a_code_with_a_space_is_found(api_client):
    VoucherFactory(campaign=CampaignFactory(project=api_client.project), code="SUMMER SALE")
    response = api_client.get("/v1/vouchers/SUMMER%20SALE")
    assert response.status_code == 200 and response.json()["code"] == "SUMMER SALE"


def test_create_assigns_validation_rules(api_client):
    rule = ValidationRuleFactory(project=api_client.project)
    payload = {"discount": DISCOUNT, "validation_rules": [rule.public_id]}
    response = send(api_client, "post", path_of("RULED"), payload)
    assert response.status_code == 200, response.content
    assignments = response.json()["validation_rules_assignments"]
    assert [a["rule_id"] for a in assignments["data"]] == [rule.public_id]
    assert assignments["data"][0]["related_object_type"] == "voucher"


def test_a_duplicate_code_is_a_409(api_client):
    VoucherFactory(campaign=CampaignFactory(project=api_client.project), code="TAKEN")
    response = send(api_client, "post", path_of("taken"), {"discount": DISCOUNT})
    assert response.status_code == 409 and response.json()["key"] == "duplicate_found"


def test_the_same_code_in_another_project_is_fine(api_client, other_client):
    VoucherFactory(campaign=CampaignFactory(project=other_client.project), code="SHARED")
    response = send(api_client, "post", path_of("SHARED"), {"discount": DISCOUNT})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "payload",
    [
        {"type": ["DISCOUNT_VOUCHER"], "discount": DISCOUNT},
        {"type": "COUPON"},
        {"discount": "1500"},
        {"discount": {"type": "AMOUNT", "amount_off": "15"}},
        {"type": "GIFT_VOUCHER", "gift": {"amount": 12.5}},
        {"type": "GIFT_VOUCHER", "gift": "lots"},
        {"discount": DISCOUNT, "metadata": "x"},
        {"discount": DISCOUNT, "redemption": {"quantity": "2"}},
        {"discount": DISCOUNT, "active": "yes"},
        {"discount": DISCOUNT, "additional_info": {"a": 1}},
        {"discount": DISCOUNT, "campaign": 5},
        {"discount": DISCOUNT, "validity_day_of_week": [7]},
        {"discount": DISCOUNT, "code": 12},
        {"discount": DISCOUNT, "code_config": "ABC"},
    ],
)
def test_create_garbage_is_a_400(api_client, payload):
    response = send(api_client, "post", "/v1/vouchers", payload)
    assert response.status_code == 400, response.content
    assert not Voucher.objects.exists()


def test_a_code_with_a_slash_is_refused(api_client):
    response = send(api_client, "post", "/v1/vouchers", {"code": "A/B", "discount": DISCOUNT})
    assert response.status_code == 400 and response.json()["details"] == "code"


# -- one voucher ------------------------------------------------------------------------------


def test_get_by_code_any_case_or_id_with_assets(api_client):
    customer = CustomerFactory(project=api_client.project)
    category = CategoryFactory(project=api_client.project, name="Retail")
    voucher = VoucherFactory(
        campaign=CampaignFactory(project=api_client.project, name="Fall"),
        code="FALL-1",
        holder=customer,
        category=category,
    )
    for ref in ("FALL-1", "fall-1", voucher.public_id):
        response = api_client.get(path_of(ref))
        assert response.status_code == 200, response.content
        assert response.json()["id"] == voucher.public_id
    body = response.json()
    assert body["campaign"] == "Fall" and body["holder_id"] == customer.public_id
    assert body["category"] == "Retail" and body["categories"][0]["id"] == category.public_id
    assert body["publish"]["url"] == "/v1/vouchers/FALL-1/publications?page=1&limit=10"
    qr, barcode = body["assets"]["qr"]["url"], body["assets"]["barcode"]["url"]
    assert qr.startswith("http://testserver/") and barcode.startswith("http://testserver/")
    image = Client().get(urlsplit(qr).path + "?" + urlsplit(qr).query)  # anyone with the link
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_every_voucher_endpoint_is_a_404_for_another_project(api_client, other_client):
    voucher = GiftCardFactory(campaign__project=api_client.project, code="MINE")
    for method, rest, body in [
        ("get", "", None),
        ("put", "", {"active": False}),
        ("delete", "", None),
        ("post", "/enable", None),
        ("post", "/disable", None),
        ("post", "/balance", {"amount": 100}),
        ("get", "/transactions", None),
        ("delete", "/sessions/ssn_1", None),
    ]:
        for ref in ("MINE", voucher.public_id):
            response = send(other_client, method, path_of(ref, rest), body)
            assert response.status_code == 404, (method, rest, response.content)
            assert response.json()["key"] == "not_found"
    voucher.refresh_from_db()
    assert voucher.active and voucher.gift_balance == 5000


def test_update(api_client):
    VoucherFactory(campaign=CampaignFactory(project=api_client.project), code="UPD")
    payload = {
        "active": False,
        "additional_info": "note",
        "expiration_date": "2031-05-01T10:00:00Z",
        "validity_day_of_week": [1, 2],
        "discount": {"type": "PERCENT", "percent_off": 20},
        "metadata": {"k": "v"},
        "redemption": {"quantity": 9},
    }
    response = send(api_client, "put", path_of("upd"), payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["active"] is False and body["additional_info"] == "note"
    assert body["expiration_date"] == "2031-05-01T10:00:00Z"
    assert body["validity_day_of_week"] == [1, 2] and body["metadata"] == {"k": "v"}
    assert body["discount"]["percent_off"] == 20 and body["redemption"]["quantity"] == 9


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "GIFT_VOUCHER"},
        {"metadata": [1]},
        {"redemption": 3},
        {"start_date": "soon"},
        {"active": 1},
        {"category": "No such"},
    ],
)
def test_update_garbage_is_refused(api_client, payload):
    VoucherFactory(campaign=CampaignFactory(project=api_client.project), code="UPD")
    response = send(api_client, "put", path_of("UPD"), payload)
    assert response.status_code in (400, 404), response.content


def test_delete_then_the_code_is_free_again(api_client):
    VoucherFactory(campaign=CampaignFactory(project=api_client.project), code="GONE")
    response = api_client.delete(path_of("GONE") + "?force=true")
    assert response.status_code == 204 and response.content == b""
    assert api_client.get(path_of("GONE")).status_code == 404
    assert send(api_client, "post", path_of("GONE"), {"discount": DISCOUNT}).status_code == 200
    assert api_client.delete(path_of("GONE") + "?force=maybe").status_code == 400


def test_enable_and_disable(api_client):
    VoucherFactory(campaign=CampaignFactory(project=api_client.project), code="TOGGLE")
    response = api_client.post(path_of("TOGGLE", "/disable"))
    assert response.status_code == 200 and response.json()["active"] is False
    response = api_client.post(path_of("TOGGLE", "/enable"))
    assert response.status_code == 200 and response.json()["active"] is True


# -- list -------------------------------------------------------------------------------------


def test_the_list_filters_and_hides_other_projects(api_client, other_client):
    project = api_client.project
    ann = CustomerFactory(project=project, source_id="ann")
    club = CampaignFactory(project=project, name="Club")
    retail = CategoryFactory(project=project, name="Retail")
    first = VoucherFactory(campaign=club, code="C-1", holder=ann)
    second = VoucherFactory(campaign=club, code="C-2", category=retail)
    loose = VoucherFactory(campaign=CampaignFactory(project=project), code="L-1")
    VoucherFactory(campaign=CampaignFactory(project=other_client.project), code="X-1")
    Voucher.objects.filter(pk=first.pk).update(created_at=timezone.now() - dt.timedelta(days=3))

    def codes(query=""):
        response = api_client.get(f"/v1/vouchers{query}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["object"] == "list" and body["data_ref"] == "vouchers"
        return [v["code"] for v in body["vouchers"]], body["total"]

    assert codes() == (["L-1", "C-2", "C-1"], 3)
    assert codes("?campaign=Club") == (["C-2", "C-1"], 2)
    assert codes(f"?campaign_id={club.public_id}") == (["C-2", "C-1"], 2)
    assert codes("?category=Retail") == (["C-2"], 1)
    assert codes("?customer=ann") == (["C-1"], 1)
    assert codes(f"?customer={ann.public_id}") == (["C-1"], 1)
    assert codes("?code=l-1") == (["L-1"], 1)
    assert codes(f"?ids={loose.public_id}&ids={second.public_id}") == (["L-1", "C-2"], 2)
    assert codes(f"?ids=%5B%27{loose.public_id}%27%5D") == (["L-1"], 1)
    before = (timezone.now() - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert codes(f"?created_at[before]={before}") == (["C-1"], 1)
    assert codes("?created_at[after]=2000-01-01") == (["L-1", "C-2", "C-1"], 3)
    assert codes("?order=code") == (["C-1", "C-2", "L-1"], 3)
    assert codes("?limit=1&page=3") == (["C-1"], 3)
    assert codes("?campaign=Nope") == ([], 0)
    assert codes("?customer=nobody") == ([], 0)
    assert other_client.get("/v1/vouchers").json()["total"] == 1


@pytest.mark.parametrize(
    "query", ["limit=101", "page=0", "order=holder", "created_at[after]=someday", "limit=x"]
)
def test_bad_list_parameters_are_400s(api_client, query):
    assert api_client.get(f"/v1/vouchers?{query}").status_code == 400


def test_the_list_costs_a_fixed_number_of_queries(api_client, django_assert_max_num_queries):
    campaign = CampaignFactory(project=api_client.project)
    rule = ValidationRuleFactory(project=api_client.project)
    for _ in range(5):
        voucher = VoucherFactory(
            campaign=campaign, holder=CustomerFactory(project=campaign.project)
        )
        assignment_create(rule=rule, target=voucher)
    with django_assert_max_num_queries(8):
        response = api_client.get("/v1/vouchers?limit=5")
    assert len(response.json()["vouchers"]) == 5


# -- balance and ledger -----------------------------------------------------------------------


def test_gift_balance_goes_up_and_down_but_never_below_zero(api_client):
    card = GiftCardFactory(campaign__project=api_client.project, code="GC", gift_balance=5000)
    response = send(api_client, "post", path_of("gc", "/balance"), {"amount": -2000, "reason": "x"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "amount": -2000,
        "total": 5000,
        "balance": 3000,
        "type": "gift_voucher",
        "operation_type": "MANUAL",
        "object": "balance",
        "related_object": {"type": "voucher", "id": card.public_id},
    }
    response = send(api_client, "post", path_of("GC", "/balance"), {"amount": 1000})
    assert response.json()["balance"] == 4000 and response.json()["total"] == 6000
    response = send(api_client, "post", path_of("GC", "/balance"), {"amount": -4001})
    assert response.status_code == 400
    card.refresh_from_db()
    assert card.gift_balance == 4000
    gift = api_client.get(path_of("GC")).json()["gift"]
    assert gift["balance"] == 4000 and gift["subtracted_amount"] == 2000


def test_loyalty_points_balance(api_client):
    loyalty_card(api_client.project, code="LC", points=100)
    response = send(api_client, "post", path_of("LC", "/balance"), {"amount": 50})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "loyalty_card" and body["balance"] == 150 and body["total"] == 150
    card = api_client.get(path_of("LC")).json()["loyalty_card"]
    assert card["points"] == 150 and card["balance"] == 150


@pytest.mark.parametrize(
    "payload",
    [{"amount": "100"}, {"amount": 1.5}, {"amount": 0}, {}, {"amount": 5, "reason": 7}],
)
def test_balance_garbage_is_a_400(api_client, payload):
    GiftCardFactory(campaign__project=api_client.project, code="GC")
    response = send(api_client, "post", path_of("GC", "/balance"), payload)
    assert response.status_code == 400, response.content


def test_a_discount_voucher_has_no_balance(api_client):
    VoucherFactory(campaign=CampaignFactory(project=api_client.project), code="DISC")
    response = send(api_client, "post", path_of("DISC", "/balance"), {"amount": 100})
    assert response.status_code == 400


def test_transactions_page_through_the_ledger(api_client):
    card = GiftCardFactory(campaign__project=api_client.project, code="GC")
    for amount in (100, -50, 200):
        send(api_client, "post", path_of("GC", "/balance"), {"amount": amount, "source_id": "s"})
    body = api_client.get(path_of("GC", "/transactions") + "?limit=2").json()
    assert body["object"] == "list" and body["data_ref"] == "data" and body["has_more"] is True
    assert [t["details"]["balance"]["amount"] for t in body["data"]] == [200, -50]
    assert body["data"][0]["type"] == "CREDITS_ADDITION" and body["data"][0]["source"] == "API"
    assert body["data"][1]["type"] == "CREDITS_REMOVAL"
    assert body["data"][0]["voucher_id"] == card.public_id
    assert body["data"][0]["source_id"] == "s"
    after = body["more_starting_after"]
    body = api_client.get(path_of("GC", f"/transactions?limit=2&starting_after_id={after}")).json()
    assert [t["details"]["balance"]["amount"] for t in body["data"]] == [100]
    assert body["has_more"] is False and "more_starting_after" not in body
    body = api_client.get(path_of("GC", "/transactions?order=id&limit=1")).json()
    assert body["data"][0]["details"]["balance"]["amount"] == 100
    assert api_client.get(path_of("GC", "/transactions?order=amount")).status_code == 400
    assert api_client.get(path_of("GC", "/transactions?starting_after_id=x")).status_code == 400


# -- imports ----------------------------------------------------------------------------------


def test_the_json_import_creates_standalone_vouchers(api_client):
    items = [
        {"code": "IMP-1", "discount": DISCOUNT, "metadata": {"n": 1}, "active": False},
        {"code": "IMP-2", "type": "GIFT_VOUCHER", "gift": {"amount": 3000}},
        {"code": "IMP-1", "discount": DISCOUNT},
        {"discount": DISCOUNT},
    ]
    response = send(api_client, "post", "/v1/vouchers/import", items)
    assert response.status_code == 202, response.content
    job = Job.objects.get(public_id=response.json()["async_action_id"])
    assert job.project == api_client.project and job.result["done_count"] == 2
    assert [(f["index"], f["key"]) for f in job.result["failed"]] == [
        (2, "duplicate_found"),
        (3, "invalid_payload"),
    ]
    first = Voucher.objects.get(code="IMP-1")
    assert first.campaign is None and not first.active and first.metadata == {"n": 1}
    assert Voucher.objects.get(code="IMP-2").gift_balance == 3000


def test_the_json_import_needs_a_list_of_objects(api_client):
    response = send(api_client, "post", "/v1/vouchers/import", {"code": "A"})
    assert response.status_code == 400 and response.json()["key"] == "invalid_payload"


def test_the_csv_import_answers_202(api_client, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("codes.csv", b"code,amount_off\nCSV-1,5.00\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/v1/vouchers/importCSV", {"file": upload})
    assert response.status_code == 202, response.content
    assert Voucher.objects.get(code="CSV-1").discount["amount_off"] == 500


def test_the_csv_import_needs_a_file(api_client):
    response = api_client.post("/v1/vouchers/importCSV", {})
    assert response.status_code == 400 and response.json()["key"] == "invalid_payload"
    broken = api_client.post(
        "/v1/vouchers/importCSV", b"--x\r\n", content_type="multipart/form-data"
    )
    assert broken.status_code == 400 and broken.json()["key"] == "invalid_payload"


# -- sessions ---------------------------------------------------------------------------------


def test_releasing_a_validation_session(api_client):
    voucher = VoucherFactory(campaign=CampaignFactory(project=api_client.project), code="LOCKED")
    session = ValidationSession.objects.create(
        project=api_client.project,
        key="ssn_abc",
        voucher=voucher,
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    response = api_client.delete(path_of("locked", "/sessions/ssn_abc"))
    assert response.status_code == 204, response.content
    session.refresh_from_db()
    assert session.released_at is not None
    response = api_client.delete(path_of("LOCKED", "/sessions/ssn_abc"))
    assert response.status_code == 404 and response.json()["key"] == "not_found"
