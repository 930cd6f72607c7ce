"""Every /v1 operation that names an object, called with another project's key: a JSON 404, and
the object is left as it was. Walks the OpenAPI document, so endpoints added later are covered."""

import re

import pytest
from django.test import Client

from apps.projects.services import api_key_create
from apps.redemptions.services import redemption_redeem
from tests.campaigns.factories import (
    CampaignFactory,
    CategoryFactory,
    GiftCardFactory,
    PromotionStackFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.customers.factories import CustomerFactory
from tests.jobs.factories import JobFactory
from tests.orders.factories import OrderFactory
from tests.products.factories import ProductCollectionFactory, ProductFactory, SkuFactory
from tests.projects.factories import ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory
from tests.segments.factories import SegmentFactory

pytestmark = pytest.mark.django_db
# path parameters that name no object of a project (the same in every project)
NOT_OBJECTS = {"resource", "session_key"}
# operations whose path names a new object rather than an existing one
CREATES = {("post", "/v1/vouchers/{code}")}


def objects(project) -> dict[str, str]:
    campaign = CampaignFactory(project=project, name="Secret campaign")
    voucher = VoucherFactory(campaign=campaign, code="SECRET-CODE")
    GiftCardFactory(campaign__project=project, code="SECRET-GIFT", gift_balance=1000)
    product = ProductFactory(project=project, source_id="secret-product")
    rule = ValidationRuleFactory(project=project)
    tier = PromotionTierFactory(campaign__project=project)
    redeemed = redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "voucher", "id": voucher.code}],
            "order": {"amount": 900},
        },
    )
    return {
        "customer_id": CustomerFactory(project=project, source_id="secret-customer").public_id,
        "campaign_id": campaign.public_id,
        "code": voucher.code,
        "member_id": "SECRET-GIFT",
        "product_id": product.public_id,
        "sku_id": SkuFactory(product=product).public_id,
        "collection_id": ProductCollectionFactory(project=project).public_id,
        "order_id": OrderFactory(customer__project=project).public_id,
        "segment_id": SegmentFactory(project=project).public_id,
        "category_id": CategoryFactory(project=project).public_id,
        "validation_rule_id": rule.public_id,
        "assignment_id": RuleAssignmentFactory(rule=rule, campaign=campaign).public_id,
        "promotion_tier_id": tier.public_id,
        "stack_id": PromotionStackFactory(campaign=tier.campaign).public_id,
        "redemption_id": redeemed.parent.public_id,
        "async_action_id": JobFactory(project=project).public_id,
        "export_id": JobFactory(project=project, type="export.vouchers").public_id,
        "resource": "customer",
        "session_key": "ssn_x",
    }


def test_an_outsider_key_gets_404_for_every_object_of_another_project(client):
    owner = ProjectFactory(name="Owner")
    ids = objects(owner)
    outsider = ProjectFactory(name="Outsider")
    key, token = api_key_create(project=outsider, name="outsider")
    stranger = Client(HTTP_X_APP_ID=key.app_id, HTTP_X_APP_TOKEN=token)
    document = client.get("/v1/openapi.json").json()
    checked = 0
    for path, operations in document["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        if not path.startswith("/v1/") or not set(names) - NOT_OBJECTS:
            continue
        missing = [name for name in names if name not in ids]
        assert not missing, f"{path}: add an object for {missing} to objects()"
        url = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)
        for method in operations:
            if method not in ("get", "post", "put", "delete", "patch") or (method, path) in CREATES:
                continue
            response = getattr(stranger, method)(url, {}, content_type="application/json")
            assert response.status_code == 404, f"{method.upper()} {url} -> {response.status_code}"
            assert response.json()["key"] == "not_found", f"{method.upper()} {url}"
            checked += 1
    assert checked >= 20
    # and nothing of the owner's changed
    from apps.campaigns.models import Campaign, Voucher
    from apps.customers.models import Customer

    assert Customer.objects.filter(public_id=ids["customer_id"]).exists()
    assert Campaign.objects.get(public_id=ids["campaign_id"]).active
    assert Voucher.objects.get(code="SECRET-CODE").active
    assert Voucher.objects.get(code="SECRET-GIFT").gift_balance == 1000


def test_lists_never_show_another_projects_objects(client):
    owner = ProjectFactory(name="Owner")
    objects(owner)
    outsider = ProjectFactory(name="Outsider")
    key, token = api_key_create(project=outsider, name="outsider")
    stranger = Client(HTTP_X_APP_ID=key.app_id, HTTP_X_APP_TOKEN=token)
    document = client.get("/v1/openapi.json").json()
    listed = 0
    for path, operations in document["paths"].items():
        if "{" in path or "get" not in operations or not path.startswith("/v1/"):
            continue
        response = stranger.get(path)
        if response.status_code != 200 or not response["Content-Type"].startswith(
            "application/json"
        ):
            continue
        text = response.content.decode()
        for secret in (
            "Secret campaign",
            "SECRET-CODE",
            "SECRET-GIFT",
            "secret-customer",
            "secret-product",
        ):
            assert secret not in text, f"GET {path} shows {secret}"
        listed += 1
    assert listed >= 10
