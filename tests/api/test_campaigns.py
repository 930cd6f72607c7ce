"""/v1/campaigns: create (codes by a generation job), get, list, update, delete, enable/disable,
add vouchers, imports and the summary. Voucherify's shapes, JSON errors for garbage, other
projects' campaigns invisible."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.campaigns.models import Campaign, Voucher
from apps.jobs.models import Job, JobStatus
from apps.rules.models import RuleAssignment
from tests.api.helpers import send
from tests.campaigns.factories import (
    CampaignFactory,
    CategoryFactory,
    GiftCardFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.projects.factories import ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

pytestmark = pytest.mark.django_db

COUPONS = {
    "name": "Spring",
    "campaign_type": "DISCOUNT_COUPONS",
    "type": "STATIC",
    "voucher": {
        "type": "DISCOUNT_VOUCHER",
        "discount": {"type": "PERCENT", "percent_off": 10},
        "code_config": {"pattern": "SPR-####", "charset": "numbers"},
        "redemption": {"quantity": 2},
    },
    "metadata": {"channel": "web"},
}


def test_creating_a_campaign_with_several_codes_runs_the_generation_job(
    api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api_client, "post", "/v1/campaigns", {**COUPONS, "vouchers_count": 5})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "campaign" and body["id"].startswith("camp_")
    assert body["campaign_type"] == "DISCOUNT_COUPONS" and body["type"] == "STATIC"
    assert body["voucher"]["discount"]["percent_off"] == 10
    assert body["voucher"]["code_config"]["pattern"] == "SPR-####"
    assert body["voucher"]["code_config"]["charset"] == "0123456789"
    assert body["voucher"]["redemption"] == {"quantity": 2}
    assert body["vouchers_count"] == 5 and body["metadata"] == {"channel": "web"}
    job = Job.objects.get(public_id=body["async_action_id"])
    assert job.status == JobStatus.DONE and job.project == api_client.project
    codes = Voucher.objects.filter(campaign__public_id=body["id"])
    assert codes.count() == 5
    assert all(code.code.startswith("SPR-") and code.redemption_quantity == 2 for code in codes)


def test_a_campaign_with_one_code_has_it_at_once(api_client):
    response = send(api_client, "post", "/v1/campaigns", {**COUPONS, "vouchers_count": 1})
    assert response.status_code == 200, response.content
    assert "async_action_id" not in response.json()
    assert Voucher.objects.filter(campaign__name="Spring").count() == 1


@pytest.mark.parametrize(
    ("campaign_type", "voucher", "expected"),
    [
        ("GIFT_VOUCHERS", {"gift": {"amount": 5000}}, {"gift": {"amount": 5000}}),
        ("LOYALTY_PROGRAM", {"loyalty_card": {"points": 100}}, {"loyalty_card": {"points": 100}}),
        (
            "REFERRAL_PROGRAM",
            {"discount": {"type": "AMOUNT", "amount_off": 1000}},
            {"is_referral_code": True},
        ),
    ],
)
def test_every_campaign_type_can_be_created(api_client, campaign_type, voucher, expected):
    payload = {"name": campaign_type, "campaign_type": campaign_type, "voucher": voucher}
    response = send(api_client, "post", "/v1/campaigns", payload)
    assert response.status_code == 200, response.content
    template = response.json()["voucher"]
    for key, value in expected.items():
        if isinstance(value, dict):
            assert value.items() <= template[key].items()
        else:
            assert template[key] == value


def test_a_promotion_carries_its_tiers(api_client):
    payload = {
        "name": "Summer sale",
        "campaign_type": "PROMOTION",
        "promotion": {
            "tiers": [
                {"name": "10 off", "action": {"discount": {"type": "AMOUNT", "amount_off": 1000}}}
            ]
        },
    }
    response = send(api_client, "post", "/v1/campaigns", payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "AUTO_UPDATE" and "voucher" not in body
    assert [tier["name"] for tier in body["promotion"]["tiers"]] == ["10 off"]
    assert body["promotion"]["tiers"][0]["id"].startswith("promo_")


def test_a_standalone_campaign_takes_its_code_from_the_voucher(api_client):
    payload = {**COUPONS, "type": "STANDALONE", "voucher": {**COUPONS["voucher"], "code": "ONLY1"}}
    response = send(api_client, "post", "/v1/campaigns", payload)
    assert response.status_code == 200, response.content
    assert list(Voucher.objects.values_list("code", flat=True)) == ["ONLY1"]
    assert response.json()["vouchers_count"] == 1


def test_create_assigns_validation_rules_of_the_project_only(api_client):
    rule = ValidationRuleFactory(project=api_client.project)
    response = send(
        api_client, "post", "/v1/campaigns", {**COUPONS, "validation_rules": [rule.public_id]}
    )
    assert response.status_code == 200, response.content
    assignments = response.json()["validation_rules_assignments"]
    assert assignments["total"] == 1 and assignments["data"][0]["rule_id"] == rule.public_id
    foreign = ValidationRuleFactory(project=ProjectFactory())
    payload = {**COUPONS, "name": "Other", "validation_rules": [foreign.public_id]}
    response = send(api_client, "post", "/v1/campaigns", payload)
    assert response.status_code == 404
    assert not Campaign.objects.filter(name="Other").exists()


@pytest.mark.parametrize(
    "payload",
    [
        {**COUPONS, "name": ["x"]},
        {**COUPONS, "voucher": "PERCENT"},
        {**COUPONS, "voucher": {**COUPONS["voucher"], "redemption": "lots"}},
        {**COUPONS, "voucher": {**COUPONS["voucher"], "code_config": [1]}},
        {**COUPONS, "vouchers_count": "5"},
        {**COUPONS, "campaign_type": "LUCKY_DRAW"},
        {**COUPONS, "metadata": ["a"]},
        {**COUPONS, "start_date": "yesterday"},
        {**COUPONS, "validation_rules": "val_1"},
        {**COUPONS, "promotion": {"tiers": "x"}, "campaign_type": "PROMOTION"},
        {**COUPONS, "voucher": {"type": "DISCOUNT_VOUCHER", "discount": {"type": "PERCENT"}}},
    ],
)
def test_garbage_is_a_400_not_a_crash(api_client, payload):
    response = send(api_client, "post", "/v1/campaigns", payload)
    assert response.status_code == 400, response.content
    assert response.json()["key"] in ("invalid_payload", "invalid_discount")
    assert not Campaign.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(api_client):
    response = api_client.post("/v1/campaigns", "[1, 2]", content_type="application/json")
    assert response.status_code == 400 and response.json()["key"] == "invalid_payload"


def test_a_duplicate_name_is_a_409(api_client):
    CampaignFactory(project=api_client.project, name="Spring")
    response = send(api_client, "post", "/v1/campaigns", COUPONS)
    assert response.status_code == 409 and response.json()["key"] == "duplicate_found"


def test_get_by_id_or_name_and_404_across_projects(api_client, other_client):
    campaign = CampaignFactory(project=api_client.project, name="Autumn deals")
    for ref in (campaign.public_id, "Autumn deals"):
        response = api_client.get(f"/v1/campaigns/{ref}")
        assert response.status_code == 200, response.content
        assert response.json()["id"] == campaign.public_id
    response = other_client.get(f"/v1/campaigns/{campaign.public_id}")
    assert response.status_code == 404 and response.json()["key"] == "not_found"
    for method in ("put", "delete"):
        assert (
            send(other_client, method, f"/v1/campaigns/{campaign.public_id}", {}).status_code == 404
        )
    for action in ("enable", "disable", "vouchers", "vouchers/NEW1", "import"):
        path = f"/v1/campaigns/{campaign.public_id}/{action}"
        assert send(other_client, "post", path, []).status_code == 404, action
    for rest in ("summary", "transactions"):
        response = other_client.get(f"/v1/campaigns/{campaign.public_id}/{rest}")
        assert response.status_code == 404, rest
    assert Voucher.objects.count() == 0


def test_the_list_filters_pages_and_hides_other_projects(api_client, other_client):
    project = api_client.project
    older = CampaignFactory(project=project, name="A")
    newer = CampaignFactory(project=project, name="B", campaign_type="REFERRAL_PROGRAM")
    CampaignFactory(project=other_client.project, name="C")
    body = api_client.get("/v1/campaigns").json()
    assert body["object"] == "list" and body["data_ref"] == "campaigns"
    assert [c["name"] for c in body["campaigns"]] == ["B", "A"] and body["total"] == 2
    body = api_client.get("/v1/campaigns?limit=1&page=2").json()
    assert [c["id"] for c in body["campaigns"]] == [older.public_id] and body["total"] == 2
    body = api_client.get("/v1/campaigns?campaign_type=REFERRAL_PROGRAM").json()
    assert [c["id"] for c in body["campaigns"]] == [newer.public_id]
    body = api_client.get("/v1/campaigns?is_referral_code=false").json()
    assert [c["id"] for c in body["campaigns"]] == [older.public_id]
    body = api_client.get("/v1/campaigns?order=created_at").json()
    assert [c["name"] for c in body["campaigns"]] == ["A", "B"]
    assert other_client.get("/v1/campaigns").json()["total"] == 1


def test_the_list_costs_a_fixed_number_of_queries(api_client, django_assert_max_num_queries):
    project = api_client.project
    rule = ValidationRuleFactory(project=project)
    for _ in range(3):
        RuleAssignmentFactory(rule=rule, campaign=CampaignFactory(project=project))
        PromotionTierFactory(campaign__project=project)
    with django_assert_max_num_queries(7):
        response = api_client.get("/v1/campaigns?limit=6")
    assert len(response.json()["campaigns"]) == 6


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=abc", "page=0", "order=name", "campaign_type=WEIRD"]
)
def test_bad_list_parameters_are_400s(api_client, query):
    response = api_client.get(f"/v1/campaigns?{query}")
    assert response.status_code == 400
    assert response.json()["key"] in ("invalid_query_params", "invalid_payload")


def test_update_changes_the_template_and_the_settings(api_client):
    campaign = CampaignFactory(project=api_client.project, name="Old")
    payload = {
        "description": "Better",
        "discount": {"type": "AMOUNT", "amount_off": 700},
        "type": "AUTO_UPDATE",
        "expiration_date": "2030-01-01T00:00:00Z",
        "metadata": {"a": 1, "b": 2},
        "unset_metadata_fields": ["b"],
    }
    response = send(api_client, "put", f"/v1/campaigns/{campaign.public_id}", payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["description"] == "Better" and body["type"] == "AUTO_UPDATE"
    assert body["voucher"]["discount"]["amount_off"] == 700
    assert body["expiration_date"] == "2030-01-01T00:00:00Z"
    assert body["metadata"] == {"a": 1}


def test_a_gift_campaigns_update_keeps_what_it_does_not_name(api_client):
    campaign = GiftCardFactory(campaign__project=api_client.project).campaign
    path = f"/v1/campaigns/{campaign.public_id}"
    response = send(api_client, "put", path, {"gift": {"effect": "APPLY_TO_ITEMS"}})
    assert response.status_code == 200, response.content
    assert response.json()["voucher"]["gift"] == {
        "amount": campaign.gift_amount,
        "effect": "APPLY_TO_ITEMS",
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "STANDALONE"},
        {"discount": "half"},
        {"description": 5},
        {"unset_metadata_fields": "a"},
        {"start_date": "2030-01-02T00:00:00Z", "expiration_date": "2030-01-01T00:00:00Z"},
    ],
)
def test_update_garbage_is_a_400(api_client, payload):
    campaign = CampaignFactory(project=api_client.project)
    response = send(api_client, "put", f"/v1/campaigns/{campaign.public_id}", payload)
    assert response.status_code == 400, response.content


def test_enable_and_disable(api_client):
    campaign = CampaignFactory(project=api_client.project)
    response = api_client.post(f"/v1/campaigns/{campaign.public_id}/disable")
    assert response.status_code == 200 and response.json()["active"] is False
    campaign.refresh_from_db()
    assert campaign.active is False
    response = api_client.post(f"/v1/campaigns/{campaign.name}/enable")
    assert response.status_code == 200 and response.json()["active"] is True


def test_delete_removes_the_codes_and_answers_an_async_action(api_client):
    voucher = VoucherFactory(campaign=CampaignFactory(project=api_client.project))
    response = api_client.delete(f"/v1/campaigns/{voucher.campaign.public_id}?force=true")
    assert response.status_code == 200, response.content
    job = Job.objects.get(public_id=response.json()["async_action_id"])
    assert job.status == JobStatus.DONE and job.result["vouchers"] == 1
    assert not Campaign.objects.exists() and not Voucher.objects.exists()


def test_adding_one_voucher_answers_it_and_keeps_the_overrides(api_client):
    campaign = CampaignFactory(project=api_client.project)
    category = CategoryFactory(project=api_client.project, name="Web")
    payload = {"metadata": {"batch": 7}, "category": "Web", "redemption": {"quantity": 3}}
    response = send(api_client, "post", f"/v1/campaigns/{campaign.public_id}/vouchers", payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "voucher" and body["campaign_id"] == campaign.public_id
    assert body["metadata"] == {"batch": 7} and body["category_id"] == category.public_id
    assert body["redemption"]["quantity"] == 3


def test_adding_many_vouchers_is_a_generation_job(api_client, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(project=api_client.project)
    path = f"/v1/campaigns/{campaign.public_id}/vouchers?vouchers_count=4"
    payload = {"metadata": {"batch": 8}, "code_config": {"prefix": "NEW-", "length": 6}}
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api_client, "post", path, payload)
    assert response.status_code == 202, response.content
    job = Job.objects.get(public_id=response.json()["async_action_id"])
    assert job.status == JobStatus.DONE
    codes = list(Voucher.objects.filter(campaign=campaign))
    assert len(codes) == 4
    assert all(c.code.startswith("NEW-") and c.metadata == {"batch": 8} for c in codes)


@pytest.mark.parametrize("query", ["vouchers_count=0", "vouchers_count=many"])
def test_a_bad_vouchers_count_is_a_400(api_client, query):
    campaign = CampaignFactory(project=api_client.project)
    response = send(api_client, "post", f"/v1/campaigns/{campaign.public_id}/vouchers?{query}", {})
    assert response.status_code == 400


def test_adding_a_specific_code(api_client):
    campaign = CampaignFactory(project=api_client.project)
    path = f"/v1/campaigns/{campaign.public_id}/vouchers/MY-CODE"
    response = send(api_client, "post", path, {"additional_info": "hand made"})
    assert response.status_code == 200, response.content
    assert response.json()["code"] == "MY-CODE"
    assert response.json()["additional_info"] == "hand made"
    assert send(api_client, "post", path, {}).status_code == 409


def test_a_promotion_takes_no_codes(api_client):
    promotion = PromotionTierFactory(campaign__project=api_client.project).campaign
    response = send(api_client, "post", f"/v1/campaigns/{promotion.public_id}/vouchers", {})
    assert response.status_code == 400


def test_the_json_import_puts_the_vouchers_into_the_campaign(api_client):
    campaign = GiftCardFactory(campaign__project=api_client.project).campaign
    items = [
        {"code": "GC-1", "gift": {"amount": 2500}, "metadata": {"shop": "north"}},
        {"code": "GC-2"},
        {"code": "GC-3", "type": "DISCOUNT_VOUCHER"},
        "junk",
    ]
    response = send(api_client, "post", f"/v1/campaigns/{campaign.public_id}/import", items)
    assert response.status_code == 202, response.content
    job = Job.objects.get(public_id=response.json()["async_action_id"])
    assert job.result["done_count"] == 2 and job.result["failed_count"] == 2
    assert [f["index"] for f in job.result["failed"]] == [2, 3]
    card = Voucher.objects.get(code="GC-1")
    assert card.campaign == campaign and card.gift_balance == 2500
    assert card.metadata == {"shop": "north"} and card.transactions.count() == 1


@pytest.mark.parametrize("body", ['{"code": "A"}', "[]", "not json"])
def test_the_json_import_needs_a_list(api_client, body):
    campaign = CampaignFactory(project=api_client.project)
    path = f"/v1/campaigns/{campaign.public_id}/import"
    response = api_client.post(path, body, content_type="application/json")
    assert response.status_code == 400 and response.json()["key"] == "invalid_payload"


def test_the_csv_import_fills_in_the_campaign(api_client, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(project=api_client.project)
    other = CampaignFactory(project=api_client.project, name="Elsewhere")
    csv = b"code;campaign;metadata.shop\nCSV-1;Elsewhere;north\nCSV-2;;south\n"
    upload = SimpleUploadedFile("codes.csv", csv, content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            f"/v1/campaigns/{campaign.public_id}/importCSV", {"file": upload}
        )
    assert response.status_code == 202, response.content
    job = Job.objects.get(public_id=response.json()["async_action_id"])
    assert job.status == JobStatus.DONE, job.error
    codes = Voucher.objects.filter(campaign=campaign).order_by("code")
    assert [(v.code, v.metadata) for v in codes] == [
        ("CSV-1", {"shop": "north"}),
        ("CSV-2", {"shop": "south"}),
    ]
    assert not other.vouchers.exists()


def test_the_csv_import_needs_a_file(api_client):
    campaign = CampaignFactory(project=api_client.project)
    response = api_client.post(f"/v1/campaigns/{campaign.public_id}/importCSV", {})
    assert response.status_code == 400 and response.json()["key"] == "invalid_payload"
    upload = SimpleUploadedFile("codes.csv", b"\xff\xfe\x00junk", content_type="text/csv")
    response = api_client.post(f"/v1/campaigns/{campaign.public_id}/importCSV", {"file": upload})
    assert response.status_code == 400


def test_the_summary_counts_codes_publications_and_gift_credits(api_client):
    card = GiftCardFactory(campaign__project=api_client.project, gift_amount=5000)
    campaign = card.campaign
    send(api_client, "post", f"/v1/vouchers/{card.code}/balance", {"amount": -1200})
    send(api_client, "post", f"/v1/vouchers/{card.code}/balance", {"amount": 300})
    response = api_client.get(f"/v1/campaigns/{campaign.public_id}/summary")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "campaign_summary" and body["campaign"]["id"] == campaign.public_id
    assert body["vouchers_created"] == 1 and body["redemptions"] == 0
    assert body["amount_subtracted"] == 1200 and body["amount_added"] == 300
    assert RuleAssignment.objects.count() == 0


def test_the_csv_for_a_campaign_names_it_on_every_row():
    from apps.imports.columns import default_mapping
    from apps.imports.models import ImportKind
    from apps.imports.services.vouchers import vouchers_csv_for_campaign

    campaign = CampaignFactory()
    source = "\ufeffcode;Campaign_ID;metadata.shop\nA-1;Elsewhere;north\n\nA-2\n".encode()
    rows = vouchers_csv_for_campaign(
        upload=SimpleUploadedFile("codes.csv", source), campaign=campaign
    )
    text = rows.read().decode()
    rows.close()
    lines = text.splitlines()
    assert lines[0] == "campaign,code,metadata.shop"
    assert lines[1] == f"{campaign.public_id},A-1,north"
    assert lines[2] == ""
    assert lines[3] == f"{campaign.public_id},A-2"
    mapping = default_mapping(ImportKind.VOUCHERS, lines[0].split(","))
    assert mapping == ["campaign", "code", "metadata.shop"]


def test_campaign_transactions_list_every_cards_ledger(api_client):
    first = GiftCardFactory(campaign__project=api_client.project, code="G-1")
    GiftCardFactory(campaign=first.campaign, code="G-2")
    GiftCardFactory(campaign__project=api_client.project, code="ELSEWHERE")
    for code, amount in (("G-1", 100), ("G-2", -200), ("ELSEWHERE", 5)):
        send(api_client, "post", f"/v1/vouchers/{code}/balance", {"amount": amount})
    path = f"/v1/campaigns/{first.campaign.public_id}/transactions"
    body = api_client.get(f"{path}?limit=1").json()
    assert body["has_more"] is True and body["data"][0]["details"]["balance"]["amount"] == -200
    body = api_client.get(f"{path}?starting_after_id={body['more_starting_after']}").json()
    assert [t["details"]["balance"]["amount"] for t in body["data"]] == [100]
    assert {t["campaign_id"] for t in body["data"]} == {first.campaign.public_id}
