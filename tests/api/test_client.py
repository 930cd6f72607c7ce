"""The client-side API (/client/v1): origins, CORS, per-IP rate limits, concealed code failures
and the failed-code allowance; the server key's own limit; async actions."""

import threading

import pytest
from django.core.cache import caches
from django.test import Client

from apps.api import ratelimit
from apps.jobs.services import job_create
from apps.projects.models import ApiKeyKind
from apps.projects.services import api_key_create
from apps.redemptions.models import Redemption
from tests.campaigns.factories import CampaignFactory, VoucherFactory
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db
SHOP = "https://shop.example.com"


@pytest.fixture(autouse=True)
def fresh_counters():
    caches["ratelimit"].clear()
    caches["default"].clear()


@pytest.fixture
def shop():
    return ProjectFactory(allowed_origins=[SHOP], client_rate_limit=100, client_rate_window=60)


def browser(project, origin=SHOP, ip="203.0.113.7"):
    key, token = api_key_create(project=project, name="web", kind=ApiKeyKind.CLIENT)
    headers = {"HTTP_X_CLIENT_APPLICATION_ID": key.app_id, "HTTP_X_CLIENT_TOKEN": token}
    if origin:
        headers["HTTP_ORIGIN"] = origin
    return Client(REMOTE_ADDR=ip, **headers)


def validate(client, *codes):
    body = {"redeemables": [{"object": "voucher", "id": code} for code in codes]}
    return client.post("/client/v1/validations", body, content_type="application/json")


def test_a_client_key_validates_from_an_allowed_origin_only(shop):
    VoucherFactory(campaign=CampaignFactory(project=shop), code="TEN")
    response = validate(browser(shop), "TEN")
    assert response.status_code == 200, response.content
    assert response.json()["valid"] is True
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "X-Rate-Limit-Remaining" in response["Access-Control-Expose-Headers"]
    for origin in (None, "https://evil.example.net"):
        refused = validate(browser(shop, origin=origin), "TEN")
        assert refused.status_code == 401
        assert refused.json()["key"] == "unauthorized"
        assert "Access-Control-Allow-Origin" not in refused


def test_a_server_key_is_not_a_client_key_and_back(shop, api_client):
    VoucherFactory(campaign=CampaignFactory(project=shop), code="TEN")
    assert validate(api_client, "TEN").status_code == 401  # server headers on a client path
    client = browser(shop)
    response = client.post("/v1/validations", {}, content_type="application/json")
    assert response.status_code == 401


def test_cors_preflight_answers_known_origins_only(shop):
    allowed = Client().options(
        "/client/v1/validations",
        HTTP_ORIGIN=SHOP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-client-token",
    )
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == SHOP
    assert "X-Client-Token" in allowed["Access-Control-Allow-Headers"]
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    stranger = Client().options("/client/v1/validations", HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in stranger


def test_each_ip_gets_the_projects_allowance_then_a_json_429(shop):
    shop.client_rate_limit, shop.client_rate_window = 3, 60
    shop.save()
    VoucherFactory(campaign=CampaignFactory(project=shop), code="TEN")
    client = browser(shop)
    remaining = [validate(client, "TEN")["X-Rate-Limit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = validate(client, "TEN")
    assert refused.status_code == 429
    assert refused.json()["key"] == "too_many_requests"
    assert refused.json()["message"] == "Too many requests hit the API too quickly."
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-Rate-Limit-Limit"] == "3"
    assert refused["Access-Control-Allow-Origin"] == SHOP  # the browser may read why
    # another visitor is counted on their own
    assert validate(browser(shop, ip="198.51.100.9"), "TEN").status_code == 200


def test_unknown_and_used_up_codes_look_the_same_to_a_browser(shop, api_client):
    campaign = CampaignFactory(project=shop)
    VoucherFactory(campaign=campaign, code="USED", redemption_quantity=1, redeemed_quantity=1)
    client = browser(shop)

    def entry(code):
        body = validate(client, code).json()
        assert body["valid"] is False
        [item] = body["inapplicable_redeemables"]
        item["result"]["error"].pop("request_id")
        return item

    used, unknown = entry("USED"), entry("NOPE")
    assert used["result"]["error"]["key"] == unknown["result"]["error"]["key"] == "not_found"
    assert set(used) == set(unknown)
    assert used["result"]["error"]["details"].replace("USED", "X") == unknown["result"]["error"][
        "details"
    ].replace("NOPE", "X")
    # a server key still learns the real reason
    api_client.defaults.update(HTTP_X_APP_ID="", HTTP_X_APP_TOKEN="")
    key, token = api_key_create(project=shop, name="server")
    server = Client(HTTP_X_APP_ID=key.app_id, HTTP_X_APP_TOKEN=token)
    body = server.post(
        "/v1/validations",
        {"redeemables": [{"object": "voucher", "id": "USED"}]},
        content_type="application/json",
    ).json()
    assert body["redeemables"][0]["result"]["error"]["key"] == "quantity_exceeded"


def test_failed_code_lookups_are_limited_per_ip(shop, settings):
    settings.API_CLIENT_FAILED_CODE_LIMIT = 3
    VoucherFactory(campaign=CampaignFactory(project=shop), code="TEN")
    guesser = browser(shop)
    for guess in ("AAAA", "BBBB", "CCCC"):
        assert validate(guesser, guess).status_code == 200
    blocked = validate(guesser, "TEN")  # even a real code, once the allowance is spent
    assert blocked.status_code == 429
    assert blocked["X-Rate-Limit-Type"] == "failed_code_lookups"
    assert "unknown codes" in blocked.json()["details"]
    assert validate(browser(shop, ip="198.51.100.9"), "TEN").json()["valid"] is True


def test_client_redemptions_need_the_projects_consent(shop):
    VoucherFactory(campaign=CampaignFactory(project=shop), code="TEN")
    body = {"redeemables": [{"object": "voucher", "id": "TEN"}], "order": {"amount": 2000}}
    client = browser(shop)
    refused = client.post("/client/v1/redemptions", body, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["key"] == "forbidden"
    assert not Redemption.objects.filter(project=shop).exists()
    shop.client_redemptions_enabled = True
    shop.save()
    done = client.post("/client/v1/redemptions", body, content_type="application/json")
    assert done.status_code == 200, done.content
    assert done.json()["parent_redemption"]["result"] == "SUCCESS"
    used = VoucherFactory(
        campaign=CampaignFactory(project=shop),
        code="ONCE",
        redemption_quantity=1,
        redeemed_quantity=1,
    )
    body["redeemables"] = [{"object": "voucher", "id": used.code}]
    concealed = client.post("/client/v1/redemptions", body, content_type="application/json")
    assert concealed.status_code == 404 and concealed.json()["key"] == "not_found"


def test_client_qualifications(shop):
    response = browser(shop).post(
        "/client/v1/qualifications",
        {"order": {"amount": 1000}, "scenario": "ALL"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert "redeemables" in response.json()


def test_a_server_key_has_a_per_minute_allowance(api_client, settings):
    settings.API_SERVER_RATE_LIMIT = 2
    statuses = [api_client.get("/v1/async-actions").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_rate_limit_counters_lose_no_hit_under_concurrency():
    def worker():
        for _ in range(50):
            ratelimit.hit("concurrency-test", limit=10**6, seconds=3600, kind="api_calls")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    usage = ratelimit.peek("concurrency-test", limit=10**6, seconds=3600, kind="api_calls")
    assert usage.count == 400


def test_async_actions_get_and_list_stay_in_their_project(api_client):
    mine = job_create(project=api_client.project, type="campaign.generate", total=10)
    theirs = job_create(project=ProjectFactory(), type="campaign.generate")
    body = api_client.get(f"/v1/async-actions/{mine.public_id}").json()
    assert body["id"] == mine.public_id and body["object"] == "async_action"
    assert body["type"] == "CAMPAIGN.VOUCHERS_GENERATION"
    assert body["status"] == "ENQUEUED" and body["progress"] == 0
    missing = api_client.get(f"/v1/async-actions/{theirs.public_id}")
    assert missing.status_code == 404 and missing.json()["key"] == "not_found"
    for _ in range(2):
        job_create(project=api_client.project, type="segment.recompute")
    page = api_client.get("/v1/async-actions?limit=2").json()
    assert len(page["async_actions"]) == 2 and page["has_more"] is True
    ids = [
        item["id"] for item in api_client.get("/v1/async-actions?limit=10").json()["async_actions"]
    ]
    assert mine.public_id in ids and theirs.public_id not in ids
    assert api_client.get("/v1/async-actions?limit=0").json()["key"] == "invalid_query_params"


def test_a_browser_tracks_custom_events(shop):
    response = browser(shop).post(
        "/client/v1/events",
        {"event": "viewed_cart", "customer": {"source_id": "web-1"}, "metadata": {"items": 2}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["type"] == "viewed_cart"
    from apps.customers.models import CustomEvent

    assert CustomEvent.objects.get(project=shop).customer.source_id == "web-1"


def test_a_browser_lists_the_available_promotion_tiers_only(shop):
    from tests.campaigns.factories import PromotionTierFactory

    live = PromotionTierFactory(campaign__project=shop, name="Live")
    PromotionTierFactory(campaign=live.campaign, name="Off", active=False)
    PromotionTierFactory(name="Someone else's")
    body = browser(shop).get("/client/v1/promotions/tiers").json()
    assert [tier["name"] for tier in body["tiers"]] == ["Live"]


def test_every_unknown_code_of_a_request_counts(shop, settings):
    settings.API_CLIENT_FAILED_CODE_LIMIT = 3
    guesser = browser(shop)
    assert validate(guesser, "AAAA", "BBBB", "CCCC").status_code == 200
    assert validate(guesser, "DDDD").status_code == 429
