"""The official SDK's ClientSideApi (client keys plus an Origin) against a live server: the
storefront calls parse into the SDK's strict models."""

import pytest

from apps.projects.models import ApiKeyKind
from apps.projects.services import api_key_create
from tests.campaigns.factories import (
    CampaignFactory,
    PromotionFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.projects.factories import ProjectFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = "https://shop.example.com"


@pytest.fixture
def storefront(live_server, transactional_db):
    project = ProjectFactory(
        allowed_origins=[ORIGIN], client_rate_limit=1000, client_redemptions_enabled=True
    )
    VoucherFactory(campaign=CampaignFactory(project=project), code="WEB10")
    PromotionTierFactory(campaign=PromotionFactory(project=project), name="Web promo")
    key, token = api_key_create(project=project, name="web", kind=ApiKeyKind.CLIENT)
    configuration = voucherify.Configuration(
        host=live_server.url,
        api_key={"X-Client-Application-Id": key.app_id, "X-Client-Token": token},
    )
    return voucherify.ClientSideApi(voucherify.ApiClient(configuration))


def test_the_storefront_calls_through_the_sdk(storefront):
    body = {"redeemables": [{"object": "voucher", "id": "WEB10"}], "order": {"amount": 3000}}
    valid = storefront.validate_stacked_discounts_client_side(
        ORIGIN, voucherify.ClientValidationsValidateRequestBody.from_dict(body)
    )
    assert valid.valid is True and valid.redeemables[0].status == "APPLICABLE"
    tiers = storefront.list_promotion_tiers_client_side(ORIGIN)
    assert [tier.name for tier in tiers.tiers] == ["Web promo"]
    qualified = storefront.check_eligibility_client_side(
        voucherify.ClientQualificationsCheckEligibilityRequestBody.from_dict(
            {"order": {"amount": 3000}, "scenario": "ALL"}
        ),
        _headers={"Origin": ORIGIN},
    )
    assert qualified.redeemables is not None
    event = storefront.track_custom_event_client_side(
        ORIGIN,
        voucherify.ClientEventsCreateRequestBody.from_dict(
            {"event": "viewed", "customer": {"source_id": "web-1"}}
        ),
    )
    assert event.type == "viewed"
    redeemed = storefront.redeem_stacked_discounts_client_side(
        ORIGIN, voucherify.ClientRedemptionsRedeemRequestBody.from_dict(body)
    )
    assert redeemed.redemptions[0].result == "SUCCESS"


def test_an_origin_the_project_does_not_allow_is_refused(storefront):
    body = {"redeemables": [{"object": "voucher", "id": "WEB10"}]}
    with pytest.raises(voucherify.ApiException) as refused:
        storefront.validate_stacked_discounts_client_side(
            "https://evil.example.net",
            voucherify.ClientValidationsValidateRequestBody.from_dict(body),
        )
    assert refused.value.status == 401
