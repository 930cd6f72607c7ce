"""POST /v1/validations, /v1/redemptions, /v1/qualifications and rollbacks: Voucherify's shapes,
JSON errors with the explanation, other projects' objects invisible."""

import pytest

from apps.redemptions.models import Redemption, Status
from tests.campaigns.factories import CampaignFactory, GiftCardFactory, VoucherFactory
from tests.projects.factories import ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

pytestmark = pytest.mark.django_db


def post(client, path, body, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(f"{path}?{query}" if query else path, body, content_type="application/json")


def test_a_valid_stack_reports_each_redeemable_and_the_totals(api_client):
    project = api_client.project
    VoucherFactory(campaign=CampaignFactory(project=project), code="TEN")  # 5.00 off
    GiftCardFactory(campaign__project=project, code="GIFT", gift_balance=3000)
    response = post(
        api_client,
        "/v1/validations",
        {
            "redeemables": [
                {"object": "voucher", "id": "ten"},
                {"object": "voucher", "id": "GIFT", "gift": {"credits": 1000}},
            ],
            "order": {"amount": 4000},
            "customer": {"source_id": "ann", "metadata": None},
            "session": None,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["valid"] is True and body["id"].startswith("valid_")
    assert [r["status"] for r in body["redeemables"]] == ["APPLICABLE", "APPLICABLE"]
    assert body["redeemables"][0]["result"]["discount"]["amount_off"] == 500
    assert body["redeemables"][1]["result"]["gift"]["credits"] == 1000
    assert body["order"]["total_discount_amount"] == 1500
    assert body["order"]["total_amount"] == 2500
    assert body["stacking_rules"]["redeemables_application_mode"] == "ALL"
    assert body["tracking_id"].startswith("track_")
    assert body["inapplicable_redeemables"] is None


def test_an_inapplicable_code_carries_voucherifys_error_and_the_explanation(api_client):
    project = api_client.project
    voucher = VoucherFactory(campaign=CampaignFactory(project=project), code="BIG")
    RuleAssignmentFactory(rule=ValidationRuleFactory(project=project), campaign=voucher.campaign)
    body = post(
        api_client,
        "/v1/validations",
        {"redeemables": [{"object": "voucher", "id": "BIG"}], "order": {"amount": 8400}},
    ).json()
    assert body["valid"] is False
    [entry] = body["inapplicable_redeemables"]
    assert entry["result"]["error"]["key"] == "order_rules_violated"
    assert "order amount 84.00 is below 100.00" in entry["result"]["error"]["details"]
    assert entry["result"]["details"]["failures"][0]["actual"] == 8400


def test_redeem_then_roll_back_and_a_second_rollback_is_refused(api_client):
    project = api_client.project
    VoucherFactory(campaign=CampaignFactory(project=project), code="ONCE", redemption_quantity=1)
    body = {"redeemables": [{"object": "voucher", "id": "ONCE"}], "order": {"amount": 2000}}
    response = post(api_client, "/v1/redemptions", body)
    assert response.status_code == 200, response.content
    redeemed = response.json()
    parent = redeemed["parent_redemption"]
    assert parent["result"] == "SUCCESS" and parent["related_object_type"] == "redemption"
    assert redeemed["redemptions"][0]["voucher"]["code"] == "ONCE"
    assert redeemed["order"]["total_amount"] == 1500
    again = post(api_client, "/v1/redemptions", body)
    assert again.status_code == 400
    assert again.json()["key"] == "quantity_exceeded"
    assert again.json()["request_id"].startswith("v-")
    rolled = post(api_client, f"/v1/redemptions/{parent['id']}/rollbacks", {}, reason="returned")
    assert rolled.status_code == 200, rolled.content
    assert rolled.json()["parent_rollback"]["reason"] == "returned"
    twice = post(api_client, f"/v1/redemptions/{parent['id']}/rollbacks", {})
    assert (twice.status_code, twice.json()["key"]) == (400, "already_rolled_back")
    fetched = api_client.get(f"/v1/redemptions/{redeemed['redemptions'][0]['id']}").json()
    assert fetched["status"] == "ROLLED_BACK"
    listed = api_client.get("/v1/redemptions", {"limit": 5}).json()
    assert listed["object"] == "list" and listed["data_ref"] == "redemptions"
    assert listed["total"] == Redemption.objects.filter(project=project).count()


def test_bad_input_is_a_json_error_never_a_500(api_client):
    for body, key in (
        ("not json", "invalid_payload"),
        ("[1, 2]", "invalid_payload"),
        ('{"redeemables": []}', "invalid_payload"),
        ('{"redeemables": [{"object": "coupon", "id": "X"}]}', "invalid_payload"),
        (
            '{"redeemables": [{"object": "voucher", "id": "A"}, {"object": "voucher", "id": "A"}]}',
            "duplicated_redeemables",
        ),
    ):
        response = api_client.post("/v1/validations", body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        assert response["Content-Type"] == "application/json"
        assert response.json()["key"] == key


def test_keys_and_projects(api_client):
    from django.test import Client

    anonymous = Client().post("/v1/validations", {}, content_type="application/json")
    assert (anonymous.status_code, anonymous.json()["key"]) == (401, "unauthorized")
    other = ProjectFactory()
    VoucherFactory(campaign=CampaignFactory(project=other), code="THEIRS")
    theirs = Redemption.objects.create(
        project=other,
        result="SUCCESS",
        status=Status.SUCCEEDED,
        related_object_type="redemption",
        channel_type="API",
    )
    assert api_client.get(f"/v1/redemptions/{theirs.public_id}").status_code == 404
    assert api_client.get("/v1/redemptions/r_nothing").json()["key"] == "not_found"
    body = post(
        api_client, "/v1/validations", {"redeemables": [{"object": "voucher", "id": "THEIRS"}]}
    ).json()
    assert body["inapplicable_redeemables"][0]["result"]["error"]["key"] == "not_found"


def test_qualifications_list_the_best_deals(api_client):
    from tests.customers.factories import CustomerFactory

    project = api_client.project
    customer = CustomerFactory(project=project, source_id="q")
    VoucherFactory(campaign=CampaignFactory(project=project), code="MINE", holder=customer)
    body = post(
        api_client,
        "/v1/qualifications",
        {"customer": {"source_id": "q"}, "order": {"amount": 3000}, "options": {"limit": 5}},
    ).json()
    assert body["redeemables"]["object"] == "list"
    assert [item["id"] for item in body["redeemables"]["data"]] == ["MINE"]
    assert body["redeemables"]["data"][0]["result"]["discount"]["amount_off"] == 500


def test_a_redemption_with_many_items_is_read_in_a_fixed_number_of_queries(
    api_client, django_assert_max_num_queries
):
    from tests.products.factories import ProductFactory

    project = api_client.project
    VoucherFactory(campaign=CampaignFactory(project=project), code="MANY")
    items = [
        {"product_id": ProductFactory(project=project, price=100 + i).public_id, "quantity": 1}
        for i in range(25)
    ]
    body = {"redeemables": [{"object": "voucher", "id": "MANY"}], "order": {"items": items}}
    child = post(api_client, "/v1/redemptions", body).json()["redemptions"][0]
    with django_assert_max_num_queries(8):
        fetched = api_client.get(f"/v1/redemptions/{child['id']}").json()
    assert len(fetched["order"]["items"]) == 25
