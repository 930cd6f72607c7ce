import datetime as dt

import pytest
from django.urls import reverse

from apps.campaigns import services
from apps.campaigns.models import (
    Campaign,
    CampaignTemplate,
    CampaignType,
    Category,
    PromotionTier,
    Voucher,
)
from apps.projects.models import Role
from tests.campaigns.factories import (
    CampaignFactory,
    CampaignTemplateFactory,
    CategoryFactory,
    PromotionFactory,
    PromotionTierFactory,
    VoucherFactory,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


# --- categories -------------------------------------------------------------------------------


def test_categories_list_counts_what_uses_them(
    member_client, project, django_assert_max_num_queries
):
    # given two categories, one used by two campaigns and three vouchers
    used = CategoryFactory(project=project, name="Seasonal", hierarchy=2)
    CategoryFactory(project=project, name="Idle", hierarchy=5)
    for _ in range(2):
        campaign = CampaignFactory(project=project, category=used)
    for _ in range(3):
        VoucherFactory(campaign=campaign, category=used)
    client = member_client(Role.VIEWER)
    client.get(reverse("campaigns:categories"))  # session and membership cached
    # when
    with django_assert_max_num_queries(8):
        response = client.get(reverse("campaigns:categories"))
    # then
    rows = list(response.context["page"])
    assert [(c.name, c.campaigns_count, c.vouchers_count) for c in rows] == [
        ("Seasonal", 2, 3),
        ("Idle", 0, 0),
    ]
    html = response.content.decode()
    assert 'data-testid="category-vouchers">3<' in html
    # a viewer gets no create form and no buttons
    assert 'id="category-form"' not in html and "Delete" not in html


def test_categories_list_partial_for_htmx(member_client, project):
    CategoryFactory(project=project, name="Seasonal")
    response = member_client(Role.VIEWER).get(reverse("campaigns:categories"), **HX)
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="category-results"' in html and "Seasonal" in html


def test_creating_a_category_on_the_list_page(member_client, project):
    client = member_client(Role.MARKETER)
    response = client.post(
        reverse("campaigns:categories"),
        {"name": " Premium ", "hierarchy": "3", "stacking_rules_type": "EXCLUSIVE"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:categories")
    category = Category.objects.get(project=project)
    assert (category.name, category.hierarchy, category.stacking_rules_type) == (
        "Premium",
        3,
        "EXCLUSIVE",
    )


def test_category_errors_are_shown(member_client, project):
    CategoryFactory(project=project, name="Premium")
    client = member_client(Role.MARKETER)
    response = client.post(
        reverse("campaigns:categories"),
        {"name": "Premium", "hierarchy": "1", "stacking_rules_type": "JOINT"},
    )
    assert response.status_code == 200
    assert "A category named “Premium” exists." in response.content.decode()
    response = client.post(
        reverse("campaigns:categories"),
        {"name": "Other", "hierarchy": "-1", "stacking_rules_type": "SOMETIMES"},
    )
    errors = response.context["form"].errors
    assert set(errors) == {"hierarchy", "stacking_rules_type"}
    assert Category.objects.filter(project=project).count() == 1


def test_editing_a_category(member_client, project):
    category = CategoryFactory(project=project, name="Old")
    client = member_client(Role.MARKETER)
    page = client.get(reverse("campaigns:category_edit", args=[category.public_id]))
    assert 'value="Old"' in page.content.decode()
    response = client.post(
        reverse("campaigns:category_edit", args=[category.public_id]),
        {"name": "New", "hierarchy": "7", "stacking_rules_type": "EXCLUSIVE"},
    )
    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.name, category.hierarchy, category.stacking_rules_type) == (
        "New",
        7,
        "EXCLUSIVE",
    )


def test_deleting_a_category_keeps_its_campaigns(member_client, project):
    category = CategoryFactory(project=project, name="Gone")
    campaign = CampaignFactory(project=project, category=category)
    voucher = VoucherFactory(campaign=campaign, category=category)
    client = member_client(Role.MARKETER)
    listing = client.get(reverse("campaigns:categories")).content.decode()
    assert "keep existing, without a category" in listing  # the confirm text
    response = client.post(reverse("campaigns:category_delete", args=[category.public_id]))
    assert response.status_code == 302
    assert not Category.objects.filter(pk=category.pk).exists()
    campaign.refresh_from_db()
    voucher.refresh_from_db()
    assert campaign.category is None and voucher.category is None


def test_viewers_cannot_change_categories(member_client, project):
    category = CategoryFactory(project=project, name="Keep")
    client = member_client(Role.VIEWER)
    data = {"name": "Hacked", "hierarchy": "1", "stacking_rules_type": "JOINT"}
    assert client.post(reverse("campaigns:categories"), data).status_code == 403
    assert (
        client.get(reverse("campaigns:category_edit", args=[category.public_id])).status_code == 403
    )
    assert (
        client.post(reverse("campaigns:category_delete", args=[category.public_id])).status_code
        == 403
    )
    assert list(Category.objects.values_list("name", flat=True)) == ["Keep"]


def test_other_projects_categories_are_404_and_not_listed(member_client, project):
    theirs = CategoryFactory(name="Their category")
    client = member_client(Role.OWNER)
    assert "Their category" not in client.get(reverse("campaigns:categories")).content.decode()
    for name in ("category_edit", "category_delete"):
        response = client.post(reverse(f"campaigns:{name}", args=[theirs.public_id]), {})
        assert response.status_code == 404
    assert Category.objects.filter(pk=theirs.pk).exists()


# --- templates --------------------------------------------------------------------------------


def test_saving_a_campaign_as_a_template(member_client, project):
    campaign = CampaignFactory(project=project, name="Spring", description="Spring coupons")
    client = member_client(Role.MARKETER)
    page = client.get(reverse("campaigns:template_save", args=[campaign.public_id]))
    assert 'value="Spring template"' in page.content.decode()
    response = client.post(
        reverse("campaigns:template_save", args=[campaign.public_id]),
        {"name": "Ten percent", "description": "Reusable"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:templates")
    template = CampaignTemplate.objects.get(project=project)
    assert (template.name, template.description, template.campaign_type) == (
        "Ten percent",
        "Reusable",
        CampaignType.DISCOUNT_COUPONS,
    )
    assert template.config["voucher"]["discount"]["percent_off"] == 10
    # the same name again is refused on the form
    response = client.post(
        reverse("campaigns:template_save", args=[campaign.public_id]), {"name": "Ten percent"}
    )
    assert response.status_code == 200
    assert "A template named “Ten percent” exists." in response.content.decode()


def test_template_list(member_client, project):
    CampaignTemplateFactory(project=project, name="Ten percent", description="For spring")
    CampaignTemplateFactory(name="Not ours")
    response = member_client(Role.VIEWER).get(reverse("campaigns:templates"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ten percent" in html and "For spring" in html and "Discount coupons" in html
    assert "Not ours" not in html
    assert ">Use<" not in html  # viewers cannot use templates
    partial = member_client(Role.VIEWER).get(reverse("campaigns:templates"), **HX)
    assert "<html" not in partial.content.decode()
    assert 'id="template-results"' in partial.content.decode()


def test_using_a_template_creates_a_campaign_with_codes(member_client, project):
    project.time_zone = "Europe/Warsaw"
    project.save()
    template = CampaignTemplateFactory(project=project, name="Ten percent")
    client = member_client(Role.MARKETER)
    page = client.get(reverse("campaigns:template_use", args=[template.public_id]))
    html = page.content.decode()
    assert "10% off" in html
    assert 'id="template-tier-form"' in html  # a discount template can also become a tier
    response = client.post(
        reverse("campaigns:template_use", args=[template.public_id]),
        {
            "action": "campaign",
            "name": "Autumn",
            "vouchers_count": "5",
            "start_date": "2026-09-01T00:00",
        },
    )
    campaign = Campaign.objects.get(project=project, name="Autumn")
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.public_id])
    assert campaign.discount == {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"}
    assert Voucher.objects.filter(campaign=campaign).count() == 5
    assert campaign.start_date == dt.datetime(2026, 8, 31, 22, 0, tzinfo=dt.UTC)


def test_using_a_template_with_a_taken_name_shows_the_error(member_client, project):
    CampaignFactory(project=project, name="Autumn")
    template = CampaignTemplateFactory(project=project)
    response = member_client(Role.MARKETER).post(
        reverse("campaigns:template_use", args=[template.public_id]),
        {"action": "campaign", "name": "Autumn"},
    )
    assert response.status_code == 200
    assert "A campaign named “Autumn” exists." in response.content.decode()
    assert Campaign.objects.filter(project=project).count() == 1


def test_a_template_becomes_a_tier_of_a_promotion(member_client, project):
    template = CampaignTemplateFactory(project=project, name="Ten percent")
    promotion = PromotionFactory(project=project, name="Summer")
    PromotionTierFactory(campaign=promotion, hierarchy=1)
    response = member_client(Role.MARKETER).post(
        reverse("campaigns:template_use", args=[template.public_id]),
        {"action": "tier", "campaign": promotion.public_id, "tier_name": "Summer ten"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[promotion.public_id])
    tier = PromotionTier.objects.get(campaign=promotion, name="Summer ten")
    assert tier.discount["percent_off"] == 10
    assert tier.hierarchy == 2


def test_a_tier_cannot_go_to_another_projects_promotion(member_client, project):
    template = CampaignTemplateFactory(project=project)
    theirs = PromotionFactory(name="Theirs")
    response = member_client(Role.MARKETER).post(
        reverse("campaigns:template_use", args=[template.public_id]),
        {"action": "tier", "campaign": theirs.public_id},
    )
    assert response.status_code == 200
    assert "campaign" in response.context["tier_form"].errors
    assert not PromotionTier.objects.exists()


def test_a_promotion_template_makes_a_promotion_with_its_tiers(member_client, project):
    promotion = PromotionFactory(project=project, name="Black Friday")
    PromotionTierFactory(campaign=promotion, name="Big", hierarchy=1)
    PromotionTierFactory(campaign=promotion, name="Small", hierarchy=2)
    template = services.template_create(campaign=promotion, name="BF")
    client = member_client(Role.MARKETER)
    page = client.get(reverse("campaigns:template_use", args=[template.public_id]))
    assert "vouchers_count" not in page.context["campaign_form"].fields
    response = client.post(
        reverse("campaigns:template_use", args=[template.public_id]),
        {"action": "campaign", "name": "Black Friday 2027"},
    )
    assert response.status_code == 302
    copy = Campaign.objects.get(project=project, name="Black Friday 2027")
    assert copy.campaign_type == CampaignType.PROMOTION
    assert list(copy.tiers.order_by("hierarchy").values_list("name", flat=True)) == [
        "Big",
        "Small",
    ]


def test_a_gift_card_template_offers_no_tier(member_client, project):
    template = CampaignTemplateFactory(
        project=project,
        campaign_type=CampaignType.GIFT_VOUCHERS,
        config={
            "campaign_type": "GIFT_VOUCHERS",
            "voucher": {"type": "GIFT_VOUCHER", "gift": {"amount": 5000}},
        },
    )
    page = member_client(Role.MARKETER).get(
        reverse("campaigns:template_use", args=[template.public_id])
    )
    assert page.status_code == 200
    assert page.context["tier_form"] is None
    assert 'id="template-tier-form"' not in page.content.decode()


def test_deleting_a_template(member_client, project):
    template = CampaignTemplateFactory(project=project)
    response = member_client(Role.MARKETER).post(
        reverse("campaigns:template_delete", args=[template.public_id])
    )
    assert response.status_code == 302
    assert not CampaignTemplate.objects.exists()


def test_templates_viewers_and_other_projects(member_client, project):
    ours = CampaignTemplateFactory(project=project)
    theirs = CampaignTemplateFactory(name="Theirs")
    their_campaign = CampaignFactory(name="Their campaign")
    viewer = member_client(Role.VIEWER)
    assert viewer.get(reverse("campaigns:template_use", args=[ours.public_id])).status_code == 403
    assert (
        viewer.post(reverse("campaigns:template_delete", args=[ours.public_id])).status_code == 403
    )
    owner = member_client(Role.OWNER)
    for url in (
        reverse("campaigns:template_use", args=[theirs.public_id]),
        reverse("campaigns:template_delete", args=[theirs.public_id]),
        reverse("campaigns:template_save", args=[their_campaign.public_id]),
    ):
        assert owner.post(url, {"action": "campaign", "name": "x"}).status_code == 404, url
    assert CampaignTemplate.objects.count() == 2
    assert not Campaign.objects.filter(name="x").exists()
