"""The official `voucherify` SDK (unchanged) drives validation rules and their assignments on a
live server; its strict models parse every answer."""

import pytest

from tests.campaigns.factories import CampaignFactory, PromotionTierFactory, VoucherFactory
from tests.products.factories import ProductFactory
from tests.projects.factories import ProjectFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)


def test_rules_and_assignments_through_the_sdk(sdk):
    project = ProjectFactory(name="SDK rules")
    campaign = CampaignFactory(project=project, name="Summer")
    voucher = VoucherFactory(campaign=campaign, code="SUMMER1")
    tier = PromotionTierFactory(campaign__project=project)
    product = ProductFactory(project=project)
    api = voucherify.ValidationRulesApi(sdk(project))

    created = api.create_validation_rules(
        voucherify.ValidationRulesCreateRequestBody.from_dict(
            {
                "name": "Big baskets",
                "type": "advanced",
                "context_type": "global",
                "error": {"message": "Spend more"},
                "rules": {
                    "1": {"name": "order.amount", "conditions": {"$more_than": [10000]}},
                    "logic": "1",
                },
                "applicable_to": {
                    "included": [
                        {"object": "product", "id": product.public_id, "effect": "APPLY_TO_EVERY"}
                    ],
                    "excluded": [],
                },
            }
        )
    )
    assert created.id.startswith("val_") and created.assignments_count == 0
    assert created.applicable_to.included[0].id == product.public_id
    assert created.error.message == "Spend more"

    got = api.get_validation_rule(created.id)
    assert got.rules["1"]["name"] == "order.amount" and got.context_type == "global"
    updated = api.update_validation_rule(
        created.id,
        voucherify.ValidationRulesUpdateRequestBody.from_dict(
            {"name": "Bigger baskets", "context_type": "campaign.discount_coupons"}
        ),
    )
    assert updated.name == "Bigger baskets" and updated.context_type == "campaign.discount_coupons"
    listed = api.list_validation_rules(limit=10, page=1, order="-created_at")
    assert [r.id for r in listed.data] == [created.id] and listed.total == 1

    assignments = []
    for kind, ref in (
        ("campaign", campaign.public_id),
        ("voucher", voucher.code),
        ("promotion_tier", tier.public_id),
    ):
        assignment = api.create_validation_rule_assignment(
            created.id,
            validation_rules_assignments_create_request_body=(
                voucherify.ValidationRulesAssignmentsCreateRequestBody(
                    related_object_type=kind, related_object_id=ref
                )
            ),
        )
        assert assignment.related_object_type == kind and assignment.rule_id == created.id
        assignments.append(assignment)
    assert assignments[1].related_object_id == voucher.public_id

    of_rule = api.list_validation_rule_assignments(created.id, limit=10, order="created_at")
    assert [a.id for a in of_rule.data] == [a.id for a in assignments]
    of_tier = api.list_validation_rules_assignments(related_object_id=tier.public_id)
    assert [a.id for a in of_tier.data] == [assignments[2].id]
    assert api.list_validation_rules_assignments(rule=created.id).total == 3
    assert api.get_validation_rule(created.id).assignments_count == 3

    assert api.delete_validation_rule_assignment(created.id, assignments[0].id) is None
    assert api.list_validation_rule_assignments(created.id).total == 2
    assert api.delete_validation_rules(created.id) is None
    with pytest.raises(voucherify.exceptions.NotFoundException):
        api.get_validation_rule(created.id)
    with pytest.raises(voucherify.exceptions.BadRequestException):
        api.create_validation_rules(
            voucherify.ValidationRulesCreateRequestBody.from_dict(
                {"name": "Broken", "rules": {"1": {"name": "order.nothing"}}}
            )
        )
