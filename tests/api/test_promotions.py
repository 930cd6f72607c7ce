"""Promotion tiers, promotion stacks and categories over /v1: Voucherify's shapes, JSON errors
for bad input, and nothing of another project visible or writable."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.campaigns.models import Category, PromotionStack, PromotionTier
from apps.redemptions.models import Redemption
from tests.api.helpers import send
from tests.campaigns.factories import (
    CampaignFactory,
    CategoryFactory,
    PromotionFactory,
    PromotionStackFactory,
    PromotionTierFactory,
)
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

pytestmark = pytest.mark.django_db

DISCOUNT = {"type": "AMOUNT", "amount_off": 1500, "effect": "APPLY_TO_ORDER"}


@pytest.fixture
def promotion(api_client):
    return PromotionFactory(project=api_client.project, name="Spring")


# -- tiers -------------------------------------------------------------------------------------


def test_add_a_tier_then_read_update_disable_and_delete_it(api_client, promotion):
    # given a category to file the tier under
    category = CategoryFactory(project=promotion.project, name="Seasonal")
    # when
    response = send(
        api_client,
        "post",
        f"/v1/promotions/{promotion.name}/tiers",
        {
            "name": "15 off",
            "banner": "Spring sale",
            "action": {"discount": DISCOUNT},
            "metadata": {"tag": "a"},
            "category_id": category.public_id,
            "start_date": "2026-03-01T00:00:00Z",
            "validity_day_of_week": [1, 2],
            "hierarchy": None,
        },
    )
    # then
    assert response.status_code == 200, response.content
    tier = response.json()
    assert tier["id"].startswith("promo_") and tier["object"] == "promotion_tier"
    assert tier["action"]["discount"] == DISCOUNT
    assert tier["campaign_id"] == promotion.public_id == tier["campaign"]["id"]
    assert tier["hierarchy"] == 1 and tier["active"] is True
    assert tier["start_date"] == "2026-03-01T00:00:00Z"
    assert tier["validity_day_of_week"] == [1, 2]
    assert tier["categories"][0]["name"] == "Seasonal" and tier["category_id"] == category.public_id
    assert tier["summary"]["redemptions"]["total_redeemed"] == 0
    assert tier["validation_rule_assignments"]["total"] == 0

    path = f"/v1/promotions/tiers/{tier['id']}"
    assert send(api_client, "get", path).json()["name"] == "15 off"
    updated = send(api_client, "put", path, {"name": "Now 20 off", "banner": None}).json()
    assert updated["name"] == "Now 20 off" and updated["banner"] == "Spring sale"
    assert send(api_client, "post", f"{path}/disable").json()["active"] is False
    assert PromotionTier.objects.get(public_id=tier["id"]).active is False
    assert send(api_client, "post", f"{path}/enable").json()["active"] is True

    deleted = send(api_client, "delete", path)
    assert deleted.status_code == 204 and deleted.content == b""
    assert send(api_client, "get", path).status_code == 404


def test_a_tier_shows_its_redemptions_and_rules(api_client, promotion):
    tier = PromotionTierFactory(campaign=promotion)
    rule = ValidationRuleFactory(project=promotion.project)
    RuleAssignmentFactory(rule=rule, tier=tier)
    for amount in (1000, 1000):
        Redemption.objects.create(
            project=promotion.project,
            result="SUCCESS",
            status="SUCCEEDED",
            related_object_type="promotion_tier",
            tier=tier,
            amount=amount,
            order_amount=5000,
            channel_type="API",
        )
    body = send(api_client, "get", f"/v1/promotions/tiers/{tier.public_id}").json()
    assert body["summary"] == {
        "redemptions": {"total_redeemed": 2},
        "orders": {"total_amount": 10000, "total_discount_amount": 2000},
    }
    [assigned] = body["validation_rule_assignments"]["data"]
    assert assigned["rule_id"] == rule.public_id
    assert assigned["related_object_type"] == "promotion_tier"
    assert assigned["related_object_id"] == tier.public_id


def test_tiers_of_a_campaign_come_in_hierarchy_order(api_client, promotion):
    second = PromotionTierFactory(campaign=promotion, hierarchy=2)
    first = PromotionTierFactory(campaign=promotion, hierarchy=1)
    body = send(api_client, "get", f"/v1/promotions/{promotion.public_id}/tiers").json()
    assert body["object"] == "list" and body["data_ref"] == "tiers"
    assert [t["id"] for t in body["tiers"]] == [first.public_id, second.public_id]
    assert body["total"] == 2 and body["has_more"] is False


def test_list_all_tiers_pages_and_filters_by_availability(api_client, promotion):
    now = timezone.now()
    on = PromotionTierFactory(campaign=promotion)
    off = PromotionTierFactory(campaign=promotion, active=False)
    ended = PromotionTierFactory(campaign=promotion, expiration_date=now - dt.timedelta(days=1))
    stopped = PromotionFactory(project=promotion.project, active=False)
    in_stopped = PromotionTierFactory(campaign=stopped)

    body = send(api_client, "get", "/v1/promotions/tiers?limit=2&page=1").json()
    assert body["total"] == 4 and len(body["tiers"]) == 2 and body["has_more"] is True
    page2 = send(api_client, "get", "/v1/promotions/tiers?limit=2&page=2").json()
    assert page2["has_more"] is False
    assert {t["id"] for t in body["tiers"] + page2["tiers"]} == {
        t.public_id for t in (on, off, ended, in_stopped)
    }

    available = send(api_client, "get", "/v1/promotions/tiers?is_available=true").json()
    assert [t["id"] for t in available["tiers"]] == [on.public_id]
    unavailable = send(api_client, "get", "/v1/promotions/tiers?is_available=false").json()
    assert unavailable["total"] == 3

    newest = send(api_client, "get", "/v1/promotions/tiers?order=-created_at&limit=1").json()
    assert newest["tiers"][0]["id"] == in_stopped.public_id


def test_a_page_of_tiers_costs_a_fixed_number_of_queries(
    api_client, promotion, django_assert_max_num_queries
):
    for _ in range(5):
        tier = PromotionTierFactory(
            campaign=promotion, category=CategoryFactory(project=promotion.project)
        )
        RuleAssignmentFactory(rule=ValidationRuleFactory(project=promotion.project), tier=tier)
    with django_assert_max_num_queries(8):
        body = send(api_client, "get", "/v1/promotions/tiers?limit=10").json()
    assert body["total"] == 5


def test_tier_input_errors_are_400s(api_client, promotion):
    path = f"/v1/promotions/{promotion.public_id}/tiers"
    for body, key in (
        ("not json", "invalid_payload"),
        ("[1]", "invalid_payload"),
        ({"name": "x"}, "invalid_payload"),
        ({"name": "x", "action": "ten percent"}, "invalid_payload"),
        ({"name": "x", "action": {"discount": {"type": "SOME"}}}, "invalid_discount"),
        ({"name": ["x"], "action": {"discount": DISCOUNT}}, "invalid_payload"),
        ({"name": "x", "action": {"discount": DISCOUNT}, "hierarchy": "1"}, "invalid_payload"),
        ({"name": "x", "action": {"discount": DISCOUNT}, "start_date": 5}, "invalid_payload"),
        ({"name": "x", "action": {"discount": DISCOUNT}, "active": "yes"}, "invalid_payload"),
    ):
        response = send(api_client, "post", path, body)
        assert response.status_code == 400, (body, response.content)
        assert response.json()["key"] == key, body
    coupons = CampaignFactory(project=promotion.project)
    response = send(
        api_client,
        "post",
        f"/v1/promotions/{coupons.public_id}/tiers",
        {"name": "x", "action": {"discount": DISCOUNT}},
    )
    assert response.status_code == 400
    tier = PromotionTierFactory(campaign=promotion)
    bad = send(api_client, "put", f"/v1/promotions/tiers/{tier.public_id}", {"action": [1]})
    assert bad.status_code == 400
    for query in ("limit=0", "limit=abc", "page=0", "order=name", "is_available=perhaps"):
        response = send(api_client, "get", f"/v1/promotions/tiers?{query}")
        assert response.status_code == 400, query
        assert response.json()["key"] in ("invalid_query_params", "invalid_payload")


def test_tiers_of_another_project_are_invisible(api_client, other_client, promotion):
    tier = PromotionTierFactory(campaign=promotion)
    path = f"/v1/promotions/tiers/{tier.public_id}"
    for method in ("get", "delete"):
        response = send(other_client, method, path)
        assert response.status_code == 404 and response.json()["key"] == "not_found"
    assert send(other_client, "put", path, {"name": "mine"}).status_code == 404
    assert send(other_client, "post", f"{path}/disable").status_code == 404
    assert send(other_client, "get", "/v1/promotions/tiers").json()["total"] == 0
    theirs = f"/v1/promotions/{promotion.public_id}/tiers"
    assert send(other_client, "get", theirs).status_code == 404
    added = send(other_client, "post", theirs, {"name": "x", "action": {"discount": DISCOUNT}})
    assert added.status_code == 404
    assert PromotionTier.objects.get(pk=tier.pk).active is True


# -- stacks ------------------------------------------------------------------------------------


def test_create_read_update_and_delete_a_stack(api_client, promotion):
    a, b, c = (PromotionTierFactory(campaign=promotion) for _ in range(3))
    base = f"/v1/promotions/{promotion.public_id}/stacks"
    response = send(
        api_client,
        "post",
        base,
        {"name": "Best", "tiers": {"ids": [b.public_id, a.public_id], "hierarchy_mode": "MANUAL"}},
    )
    assert response.status_code == 200, response.content
    stack = response.json()
    assert stack["id"].startswith("stack_") and stack["object"] == "promotion_stack"
    assert stack["tiers"] == {"ids": [b.public_id, a.public_id], "hierarchy_mode": "MANUAL"}
    assert stack["campaign_id"] == promotion.public_id

    path = f"{base}/{stack['id']}"
    assert send(api_client, "get", path).json()["name"] == "Best"
    updated = send(api_client, "put", path, {"tiers": {"ids": [c.public_id, a.public_id]}}).json()
    assert updated["tiers"]["ids"] == [c.public_id, a.public_id] and updated["name"] == "Best"

    listed = send(api_client, "get", base).json()
    assert listed["data_ref"] == "data" and [s["id"] for s in listed["data"]] == [stack["id"]]
    everywhere = send(api_client, "get", "/v1/promotions/stacks").json()
    assert everywhere["total"] == 1 and everywhere["data"][0]["tiers"]["ids"][0] == c.public_id

    assert send(api_client, "delete", path).status_code == 204
    assert not PromotionStack.objects.exists()
    assert send(api_client, "get", path).status_code == 404


def test_list_all_stacks_filters_by_date_and_orders_by_name(api_client, promotion):
    tier = PromotionTierFactory(campaign=promotion)
    for name in ("B", "A"):
        send(
            api_client,
            "post",
            f"/v1/promotions/{promotion.public_id}/stacks",
            {"name": name, "tiers": {"ids": [tier.public_id]}},
        )
    PromotionStack.objects.filter(name="B").update(
        created_at=timezone.now() - dt.timedelta(days=10)
    )
    by_name = send(api_client, "get", "/v1/promotions/stacks?order=name").json()
    assert [s["name"] for s in by_name["data"]] == ["A", "B"]
    since = (timezone.now() - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    recent = send(api_client, "get", f"/v1/promotions/stacks?created_at[after]={since}").json()
    assert [s["name"] for s in recent["data"]] == ["A"]
    older = send(api_client, "get", f"/v1/promotions/stacks?created_at[before]={since}").json()
    assert [s["name"] for s in older["data"]] == ["B"]
    bad = send(api_client, "get", "/v1/promotions/stacks?created_at[after]=yesterday")
    assert bad.status_code == 400 and bad.json()["key"] == "invalid_query_params"


def test_stack_input_errors(api_client, promotion):
    tier = PromotionTierFactory(campaign=promotion)
    foreign = PromotionTierFactory(campaign=PromotionFactory(project=promotion.project))
    path = f"/v1/promotions/{promotion.public_id}/stacks"
    for body, status in (
        ({"name": "x"}, 400),
        ({"name": "x", "tiers": "all"}, 400),
        ({"name": "x", "tiers": [tier.public_id]}, 400),
        ({"name": "x", "tiers": {"ids": []}}, 400),
        ({"name": "x", "tiers": {"ids": [5]}}, 400),
        ({"name": "x", "tiers": {"ids": [tier.public_id] * 2}}, 400),
        ({"name": "x", "tiers": {"ids": [tier.public_id], "hierarchy_mode": "AUTO"}}, 400),
        ({"name": "x", "tiers": {"ids": [foreign.public_id]}}, 404),
        ({"tiers": {"ids": [tier.public_id]}}, 400),
    ):
        response = send(api_client, "post", path, body)
        assert response.status_code == status, (body, response.content)
    ids = [PromotionTierFactory(campaign=promotion).public_id for _ in range(30)]
    too_many = send(
        api_client, "post", path, {"name": "x", "tiers": {"ids": [tier.public_id, *ids]}}
    )
    assert too_many.status_code == 400
    send(api_client, "post", path, {"name": "x", "tiers": {"ids": ids}})
    duplicate = send(api_client, "post", path, {"name": "x", "tiers": {"ids": ids}})
    assert duplicate.status_code == 409 and duplicate.json()["key"] == "duplicate_found"


def test_stacks_of_another_project_or_campaign_are_invisible(api_client, other_client, promotion):
    tier = PromotionTierFactory(campaign=promotion)
    stack = PromotionStackFactory(campaign=promotion)
    stack.entries.create(tier=tier, position=0)
    path = f"/v1/promotions/{promotion.public_id}/stacks/{stack.public_id}"
    assert send(api_client, "get", path).status_code == 200
    for method in ("get", "delete"):
        assert send(other_client, method, path).status_code == 404
    assert send(other_client, "put", path, {"name": "mine"}).status_code == 404
    assert send(other_client, "get", "/v1/promotions/stacks").json()["total"] == 0
    elsewhere = PromotionFactory(project=promotion.project)
    wrong_campaign = f"/v1/promotions/{elsewhere.public_id}/stacks/{stack.public_id}"
    assert send(api_client, "get", wrong_campaign).status_code == 404
    assert PromotionStack.objects.filter(pk=stack.pk).exists()


# -- categories --------------------------------------------------------------------------------


def test_category_crud(api_client):
    created = send(api_client, "post", "/v1/categories", {"name": "First", "hierarchy": 1})
    assert created.status_code == 200, created.content
    body = created.json()
    assert body["id"].startswith("cat_") and body["object"] == "category"
    assert body["hierarchy"] == 1 and body["created_at"].endswith("Z")
    send(api_client, "post", "/v1/categories", {"name": "Zero", "hierarchy": 0})

    listed = send(api_client, "get", "/v1/categories").json()
    assert listed["object"] == "list" and listed["data_ref"] == "data" and listed["total"] == 2
    assert [c["name"] for c in listed["data"]] == ["Zero", "First"]

    path = f"/v1/categories/{body['id']}"
    assert send(api_client, "get", path).json()["name"] == "First"
    updated = send(api_client, "put", path, {"hierarchy": 5}).json()
    assert updated["hierarchy"] == 5 and updated["name"] == "First"
    assert send(api_client, "delete", path).status_code == 204
    assert send(api_client, "get", path).status_code == 404


def test_category_errors_and_isolation(api_client, other_client):
    CategoryFactory(project=api_client.project, name="Taken")
    for body, status in (
        ({}, 400),
        ({"name": 5}, 400),
        ({"name": "x", "hierarchy": "1"}, 400),
        ({"name": "x", "hierarchy": -1}, 400),
        ({"name": "x", "stacking_rules_type": "SOMETIMES"}, 400),
        ({"name": "Taken"}, 409),
        ("[]", 400),
    ):
        response = send(api_client, "post", "/v1/categories", body)
        assert response.status_code == status, (body, response.content)
    mine = Category.objects.get(name="Taken")
    path = f"/v1/categories/{mine.public_id}"
    for method in ("get", "delete"):
        assert send(other_client, method, path).status_code == 404
    assert send(other_client, "put", path, {"name": "Mine"}).status_code == 404
    assert send(other_client, "get", "/v1/categories").json()["total"] == 0
    assert Category.objects.get(pk=mine.pk).name == "Taken"


GARBAGE = ["x", 5, 1.5, True, [], [1], {}, {"a": 1}]
TIER_FIELDS = (
    "name",
    "banner",
    "action",
    "metadata",
    "hierarchy",
    "active",
    "start_date",
    "validity_timeframe",
    "validity_day_of_week",
    "validity_hours",
    "category_id",
)


def test_garbage_in_tiers_stacks_and_categories_is_never_a_500(api_client, promotion):
    tier = PromotionTierFactory(campaign=promotion)
    category = CategoryFactory(project=promotion.project)
    good_tier = {"name": "t", "action": {"discount": DISCOUNT}}
    good_stack = {"name": "s", "tiers": {"ids": [tier.public_id]}}
    cases = [
        ("post", f"/v1/promotions/{promotion.public_id}/tiers", good_tier, TIER_FIELDS),
        ("put", f"/v1/promotions/tiers/{tier.public_id}", {}, TIER_FIELDS),
        ("post", f"/v1/promotions/{promotion.public_id}/stacks", good_stack, ("tiers", "name")),
        ("post", "/v1/categories", {"name": "c"}, ("hierarchy", "stacking_rules_type")),
        ("put", f"/v1/categories/{category.public_id}", {}, ("name", "hierarchy")),
    ]
    n = 0
    for method, path, base, fields in cases:
        for field in fields:
            for g in [
                *GARBAGE,
                *({"discount": g} for g in GARBAGE),
                *({"ids": g} for g in GARBAGE),
            ]:
                n += 1
                body = {**base, field: g}
                if "name" in base and field != "name":
                    body["name"] = f"n{n}"
                response = send(api_client, method, path, body)
                assert response.status_code in (200, 400, 404), (path, body, response.content)
