"""Validation rules and assignments over /v1: Voucherify's rule JSON in and out, the structure
checked, JSON errors for bad input, and nothing of another project visible or writable."""

import pytest

from apps.rules.models import RuleAssignment, ValidationRule
from tests.api.helpers import send
from tests.campaigns.factories import (
    CampaignFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.products.factories import ProductFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

pytestmark = pytest.mark.django_db

AMOUNT_RULE = {
    "1": {"name": "order.amount", "conditions": {"$more_than_or_equal": [10000]}},
    "logic": "1",
}


def test_create_read_update_and_delete_a_rule(api_client):
    product = ProductFactory(project=api_client.project, source_id="shoe")
    response = send(
        api_client,
        "post",
        "/v1/validation-rules",
        {
            "name": "Big baskets",
            "type": "complex",
            "context_type": "campaign.discount_coupons",
            "error": {"message": "Spend 100 first"},
            "rules": AMOUNT_RULE,
            "applicable_to": {
                "included": [{"object": "product", "id": product.public_id, "effect": None}],
                "excluded": [],
            },
            "bundle_rules": None,
        },
    )
    assert response.status_code == 200, response.content
    rule = response.json()
    assert rule["id"].startswith("val_") and rule["object"] == "validation_rules"
    assert rule["rules"] == AMOUNT_RULE
    assert rule["error"] == {"message": "Spend 100 first"}
    assert rule["type"] == "complex" and rule["context_type"] == "campaign.discount_coupons"
    assert rule["applicable_to"]["included"] == [
        {
            "object": "product",
            "id": product.public_id,
            "source_id": "shoe",
            "effect": "APPLY_TO_EVERY",
        }
    ]
    assert rule["applicable_to"]["excluded"] == [] and rule["assignments_count"] == 0

    path = f"/v1/validation-rules/{rule['id']}"
    assert send(api_client, "get", path).json()["name"] == "Big baskets"
    changed = {
        "1": {"name": "order.amount", "conditions": {"$more_than": [5000]}},
        "2": {"name": "customer.metadata", "property": "vip", "conditions": {"$is": [True]}},
        "logic": "1 or 2",
    }
    updated = send(api_client, "put", path, {"rules": changed, "error": None}).json()
    assert updated["rules"] == changed and updated["name"] == "Big baskets"
    assert updated["error"] == {"message": "Spend 100 first"}

    assert send(api_client, "delete", path).status_code == 204
    assert not ValidationRule.objects.exists()
    assert send(api_client, "get", path).json()["key"] == "not_found"


def test_excluded_targets_carry_an_effect(api_client):
    product = ProductFactory(project=api_client.project)
    body = send(
        api_client,
        "post",
        "/v1/validation-rules",
        {
            "name": "Not shoes",
            "rules": AMOUNT_RULE,
            "applicable_to": {"excluded": [{"object": "product", "id": product.public_id}]},
        },
    ).json()
    assert body["applicable_to"]["excluded"][0]["effect"] == "APPLY_TO_EVERY"


def test_rule_input_errors_are_400s(api_client):
    ValidationRuleFactory(project=api_client.project, name="Taken")
    for body, status, key in (
        ("nope", 400, "invalid_payload"),
        ({"rules": AMOUNT_RULE}, 400, "invalid_validation_rules"),
        ({"name": "x"}, 400, "invalid_validation_rules"),
        ({"name": "x", "rules": "amount > 100"}, 400, "invalid_validation_rules"),
        ({"name": "x", "rules": {"1": {"name": "order.colour"}}}, 400, "invalid_validation_rules"),
        (
            {"name": "x", "rules": {"1": {"name": "order.amount", "conditions": {"$is": ["a"]}}}},
            400,
            "invalid_validation_rules",
        ),
        (
            {"name": "x", "rules": {**AMOUNT_RULE, "logic": "1 and 2"}},
            400,
            "invalid_validation_rules",
        ),
        ({"name": "x", "rules": AMOUNT_RULE, "error": "oops"}, 400, "invalid_validation_rules"),
        (
            {"name": "x", "rules": {"1": {**AMOUNT_RULE["1"], "error": ["m"]}}},
            400,
            "invalid_validation_rules",
        ),
        ({"name": "x", "rules": AMOUNT_RULE, "type": "mystic"}, 400, "invalid_validation_rules"),
        (
            {"name": "x", "rules": AMOUNT_RULE, "context_type": "anything"},
            400,
            "invalid_validation_rules",
        ),
        (
            {"name": "x", "rules": AMOUNT_RULE, "applicable_to": {"included": [{"id": "p"}]}},
            400,
            "invalid_validation_rules",
        ),
        ({"name": "Taken", "rules": AMOUNT_RULE}, 409, "duplicate_found"),
    ):
        response = send(api_client, "post", "/v1/validation-rules", body)
        assert response.status_code == status, (body, response.content)
        assert response.json()["key"] == key, body
    for query in ("limit=500", "page=0", "order=size", "start_date=soon"):
        assert send(api_client, "get", f"/v1/validation-rules?{query}").status_code == 400


def test_list_rules_pages_orders_and_counts_assignments(api_client):
    project = api_client.project
    first = ValidationRuleFactory(project=project, name="B")
    ValidationRuleFactory(project=project, name="A")
    RuleAssignmentFactory(rule=first, campaign=CampaignFactory(project=project))
    body = send(api_client, "get", "/v1/validation-rules?order=name").json()
    assert body["object"] == "list" and body["data_ref"] == "data" and body["total"] == 2
    assert [r["name"] for r in body["data"]] == ["A", "B"]
    assert body["data"][1]["assignments_count"] == 1
    page = send(api_client, "get", "/v1/validation-rules?limit=1&page=2&order=-name").json()
    assert [r["name"] for r in page["data"]] == ["A"]


def test_assign_to_a_campaign_a_voucher_and_a_tier_then_unassign(api_client):
    project = api_client.project
    rule = ValidationRuleFactory(project=project)
    campaign = CampaignFactory(project=project, name="Summer")
    voucher = VoucherFactory(campaign=campaign, code="SUMMER1")
    tier = PromotionTierFactory(campaign__project=project)
    base = f"/v1/validation-rules/{rule.public_id}/assignments"

    created = []
    for body, kind, target in (
        ({"related_object_type": "campaign", "related_object_id": "Summer"}, "campaign", campaign),
        ({"related_object_type": "voucher", "related_object_id": "summer1"}, "voucher", voucher),
        ({"promotion_tier": tier.public_id}, "promotion_tier", tier),
    ):
        response = send(api_client, "post", base, body)
        assert response.status_code == 200, response.content
        item = response.json()
        assert item["id"].startswith("asgm_") and item["object"] == "validation_rules_assignment"
        assert item["rule_id"] == rule.public_id and item["related_object_type"] == kind
        assert item["related_object_id"] == target.public_id
        created.append(item["id"])

    again = send(api_client, "post", base, {"campaign": campaign.public_id})
    assert again.status_code == 409 and again.json()["key"] == "duplicate_found"

    listed = send(api_client, "get", base).json()
    assert listed["total"] == 3 and {a["id"] for a in listed["data"]} == set(created)
    everything = send(api_client, "get", "/v1/validation-rules-assignments").json()
    assert everything["total"] == 3
    for_voucher = send(
        api_client, "get", f"/v1/validation-rules-assignments?related_object_id={voucher.public_id}"
    ).json()
    assert [a["related_object_type"] for a in for_voucher["data"]] == ["voucher"]
    other_rule = ValidationRuleFactory(project=project)
    by_rule = f"/v1/validation-rules-assignments?rule={other_rule.public_id}"
    assert send(api_client, "get", by_rule).json()["total"] == 0
    assert (
        send(api_client, "get", f"/v1/validation-rules/{rule.public_id}").json()[
            "assignments_count"
        ]
        == 3
    )

    deleted = send(api_client, "delete", f"{base}/{created[0]}")
    assert deleted.status_code == 204
    assert RuleAssignment.objects.count() == 2
    wrong_rule = f"/v1/validation-rules/{other_rule.public_id}/assignments/{created[1]}"
    assert send(api_client, "delete", wrong_rule).status_code == 404


def test_assignment_input_errors(api_client):
    rule = ValidationRuleFactory(project=api_client.project)
    base = f"/v1/validation-rules/{rule.public_id}/assignments"
    for body, status in (
        ({}, 400),
        ({"related_object_type": "campaign"}, 400),
        ({"related_object_type": "campaign", "related_object_id": 5}, 400),
        ({"related_object_type": "earning_rule", "related_object_id": "ern_1"}, 400),
        ({"related_object_type": "campaign", "related_object_id": "camp_none"}, 404),
        ({"voucher": "NOPE"}, 404),
        ({"campaign": "a", "voucher": "b"}, 400),
        ("[]", 400),
    ):
        response = send(api_client, "post", base, body)
        assert response.status_code == status, (body, response.content)


def test_rules_and_assignments_of_another_project_are_invisible(api_client, other_client):
    project = api_client.project
    rule = ValidationRuleFactory(project=project)
    campaign = CampaignFactory(project=project)
    item = RuleAssignmentFactory(rule=rule, campaign=campaign)
    path = f"/v1/validation-rules/{rule.public_id}"
    for method in ("get", "delete"):
        assert send(other_client, method, path).status_code == 404
    assert send(other_client, "put", path, {"name": "Mine"}).status_code == 404
    assert send(other_client, "get", f"{path}/assignments").status_code == 404
    assert send(other_client, "delete", f"{path}/assignments/{item.public_id}").status_code == 404
    assert send(other_client, "get", "/v1/validation-rules").json()["total"] == 0
    assert send(other_client, "get", "/v1/validation-rules-assignments").json()["total"] == 0
    # their own rule cannot be attached to our campaign
    theirs = ValidationRuleFactory(project=other_client.project)
    attach = send(
        other_client,
        "post",
        f"/v1/validation-rules/{theirs.public_id}/assignments",
        {"campaign": campaign.public_id},
    )
    assert attach.status_code == 404
    # nor can a rule name another project's products
    product = ProductFactory(project=project)
    foreign = send(
        other_client,
        "post",
        "/v1/validation-rules",
        {
            "name": "x",
            "rules": AMOUNT_RULE,
            "applicable_to": {"included": [{"object": "product", "id": product.public_id}]},
        },
    )
    assert foreign.status_code == 400
    assert ValidationRule.objects.get(pk=rule.pk).name == rule.name


GARBAGE = ["x", 5, 1.5, True, [], [1], {}, {"a": 1}]
BROKEN_RULES = (
    lambda g: {"1": g},
    lambda g: {"1": {"name": g, "conditions": {"$is": [1]}}},
    lambda g: {"1": {"name": "order.amount", "conditions": g}},
    lambda g: {"1": {"name": "order.amount", "conditions": {"$more_than": g}}},
    lambda g: {"1": {"name": "order.metadata", "property": g, "conditions": {"$is": ["a"]}}},
    lambda g: {"1": {"name": "product.id", "conditions": {"$is": [{"object": g, "id": "p"}]}}},
    lambda g: {"1": {"name": "customer.segment", "conditions": {"$in": g}}},
    lambda g: {**AMOUNT_RULE, "logic": g},
)
BROKEN_TARGETS = (
    lambda g: {"included": g},
    lambda g: {"included": [g]},
    lambda g: {"included": [{"object": "product", "id": g}]},
    lambda g: {"excluded": [{"object": g, "id": "x"}]},
)


def test_garbage_anywhere_in_a_rule_is_a_400_never_a_500(api_client):
    rule = ValidationRuleFactory(project=api_client.project)
    for n, (field, make, g) in enumerate(
        [("rules", make, g) for make in BROKEN_RULES for g in GARBAGE]
        + [("applicable_to", make, g) for make in BROKEN_TARGETS for g in GARBAGE]
    ):
        body = {"name": f"r{n}", "rules": AMOUNT_RULE, field: make(g)}
        created = send(api_client, "post", "/v1/validation-rules", body)
        path = f"/v1/validation-rules/{rule.public_id}"
        updated = send(api_client, "put", path, {**body, "name": f"u{n}"})
        for response in (created, updated):
            assert response.status_code in (200, 400), (body, response.content)
