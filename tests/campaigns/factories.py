import factory

from apps.campaigns.models import (
    Campaign,
    CampaignTemplate,
    CampaignType,
    Category,
    PromotionStack,
    PromotionTier,
    Publication,
    Voucher,
    VoucherType,
)
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Category {n}")


class CampaignFactory(factory.django.DjangoModelFactory):
    """A discount-coupon campaign (10% off) without codes; add VoucherFactory rows as needed."""

    class Meta:
        model = Campaign

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    campaign_type = CampaignType.DISCOUNT_COUPONS
    voucher_type = VoucherType.DISCOUNT_VOUCHER
    discount = factory.LazyFunction(
        lambda: {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"}
    )
    code_config = factory.LazyFunction(lambda: {"length": 8, "charset": "alphanumeric_upper"})


class PromotionFactory(CampaignFactory):
    campaign_type = CampaignType.PROMOTION
    type = "AUTO_UPDATE"
    discount = None
    code_config = factory.LazyFunction(dict)


class VoucherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Voucher

    campaign = factory.SubFactory(CampaignFactory)
    project = factory.SelfAttribute("campaign.project")
    code = factory.Sequence(lambda n: f"CODE{n:06d}")
    code_key = factory.LazyAttribute(lambda o: o.code.upper())
    type = VoucherType.DISCOUNT_VOUCHER
    discount = factory.LazyFunction(
        lambda: {"type": "AMOUNT", "amount_off": 500, "effect": "APPLY_TO_ORDER"}
    )


class GiftCardFactory(VoucherFactory):
    campaign = factory.SubFactory(
        CampaignFactory,
        campaign_type=CampaignType.GIFT_VOUCHERS,
        voucher_type=VoucherType.GIFT_VOUCHER,
        discount=None,
        gift_amount=5000,
    )
    type = VoucherType.GIFT_VOUCHER
    discount = None
    gift_amount = 5000
    gift_balance = 5000


class PromotionTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromotionTier

    campaign = factory.SubFactory(PromotionFactory)
    project = factory.SelfAttribute("campaign.project")
    name = factory.Sequence(lambda n: f"Tier {n}")
    discount = factory.LazyFunction(
        lambda: {"type": "AMOUNT", "amount_off": 1000, "effect": "APPLY_TO_ORDER"}
    )
    hierarchy = factory.Sequence(lambda n: n + 1)


class PromotionStackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromotionStack

    campaign = factory.SubFactory(PromotionFactory)
    project = factory.SelfAttribute("campaign.project")
    name = factory.Sequence(lambda n: f"Stack {n}")


class CampaignTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignTemplate

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Template {n}")
    campaign_type = CampaignType.DISCOUNT_COUPONS
    config = factory.LazyFunction(
        lambda: {
            "campaign_type": "DISCOUNT_COUPONS",
            "type": "STATIC",
            "voucher": {
                "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"},
                "code_config": {"length": 8},
            },
        }
    )


class PublicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Publication

    customer = factory.SubFactory(CustomerFactory)
    project = factory.SelfAttribute("customer.project")
