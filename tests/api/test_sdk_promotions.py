"""The official `voucherify` SDK (unchanged) drives promotion tiers, promotion stacks and
categories on a live server; its strict models parse every answer."""

import datetime as dt

import pytest

from tests.campaigns.factories import PromotionFactory
from tests.projects.factories import ProjectFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)


def test_tiers_and_stacks_through_the_sdk(sdk):
    project = ProjectFactory(name="SDK promotions")
    promotion = PromotionFactory(project=project, name="Spring")
    client = sdk(project)
    promotions = voucherify.PromotionsApi(client)
    category = voucherify.CategoriesApi(client).create_category(
        voucherify.CategoriesCreateRequestBody(name="Seasonal", hierarchy=1)
    )

    # tiers: add, read, list, update, disable/enable
    created = promotions.add_promotion_tier_to_campaign(
        "Spring",
        voucherify.PromotionsTiersCreateRequestBody.from_dict(
            {
                "name": "10 off",
                "banner": "Ten off",
                "action": {"discount": {"type": "PERCENT", "percent_off": 10}},
                "category_id": category.id,
                "validity_day_of_week": [1, 5],
                "metadata": {"k": "v"},
            }
        ),
    )
    assert created.id.startswith("promo_") and created.campaign_id == promotion.public_id
    assert created.action.discount.percent_off == 10
    assert created.categories[0].id == category.id
    second = promotions.add_promotion_tier_to_campaign(
        promotion.public_id,
        voucherify.PromotionsTiersCreateRequestBody.from_dict(
            {"name": "5 off", "action": {"discount": {"type": "AMOUNT", "amount_off": 500}}}
        ),
    )
    got = promotions.get_promotion_tier(created.id)
    assert got.validity_day_of_week == [1, 5] and got.summary.redemptions.total_redeemed == 0
    listed = promotions.list_promotion_tiers_from_campaign(promotion.public_id)
    assert [t.id for t in listed.tiers] == [created.id, second.id]
    everywhere = promotions.list_promotion_tiers(is_available=True, limit=1, page=1)
    assert everywhere.total == 2 and everywhere.has_more is True
    updated = promotions.update_promotion_tier(
        created.id, voucherify.PromotionsTiersUpdateRequestBody(name="Ten off", hierarchy=3)
    )
    assert updated.name == "Ten off" and updated.hierarchy == 3
    assert promotions.disable_promotion_tier(second.id).active is False
    assert promotions.enable_promotion_tier(second.id).active is True

    # stacks: create, read, list, update, delete
    stack = promotions.create_promotion_stack(
        promotion.public_id,
        voucherify.PromotionsStacksCreateRequestBody.from_dict(
            {"name": "Both", "tiers": {"ids": [second.id, created.id], "hierarchy_mode": "MANUAL"}}
        ),
    )
    assert stack.id.startswith("stack_") and stack.tiers.ids == [second.id, created.id]
    assert promotions.get_promotion_stack(promotion.public_id, stack.id).name == "Both"
    assert promotions.list_promotion_stacks_in_campaign(promotion.public_id).total == 1
    assert promotions.list_all_promotion_stacks(order="name", limit=5).data[0].id == stack.id
    before = voucherify.ParameterCreatedBeforeAfter(before=stack.created_at)
    assert promotions.list_all_promotion_stacks(created_at=before).total == 0
    after = voucherify.ParameterCreatedBeforeAfter(after=stack.created_at - dt.timedelta(hours=1))
    assert promotions.list_all_promotion_stacks(created_at=after).total == 1
    changed = promotions.update_promotion_stack(
        promotion.public_id,
        stack.id,
        voucherify.PromotionsStacksUpdateRequestBody.from_dict(
            {"name": "Just one", "tiers": {"ids": [created.id]}}
        ),
    )
    assert changed.name == "Just one" and changed.tiers.ids == [created.id]
    assert promotions.delete_promotion_stack(promotion.public_id, stack.id) is None
    assert promotions.list_all_promotion_stacks().total == 0

    assert promotions.delete_promotion_tier(second.id) is None
    with pytest.raises(voucherify.exceptions.NotFoundException):
        promotions.get_promotion_tier(second.id)


def test_categories_through_the_sdk(sdk):
    project = ProjectFactory(name="SDK categories")
    categories = voucherify.CategoriesApi(sdk(project))
    created = categories.create_category(voucherify.CategoriesCreateRequestBody(name="Top"))
    assert created.id.startswith("cat_") and created.object == "category"
    categories.create_category(voucherify.CategoriesCreateRequestBody(name="Base", hierarchy=0))
    listed = categories.list_categories()
    assert [c.name for c in listed.data] == ["Base", "Top"] and listed.total == 2
    assert categories.get_category(created.id).name == "Top"
    updated = categories.update_category(
        created.id, voucherify.CategoriesUpdateRequestBody(name="Top", hierarchy=7)
    )
    assert updated.hierarchy == 7
    assert categories.delete_category(created.id) is None
    with pytest.raises(voucherify.exceptions.NotFoundException):
        categories.get_category(created.id)
    with pytest.raises(voucherify.exceptions.ApiException) as refused:
        categories.create_category(voucherify.CategoriesCreateRequestBody(name="Base"))
    assert refused.value.status == 409
