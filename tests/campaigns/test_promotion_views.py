import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from apps.campaigns.models import PromotionStack, PromotionTier, StackTier
from apps.metadata.services import metadata_schema_save
from apps.projects.models import Role
from tests.campaigns.factories import (
    CampaignFactory,
    CampaignTemplateFactory,
    CategoryFactory,
    PromotionFactory,
    PromotionStackFactory,
    PromotionTierFactory,
)
from tests.projects.factories import MembershipFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def promotion(project):
    return PromotionFactory(project=project, name="Summer sale")


def tier_data(**overrides) -> dict:
    data = {
        "name": "15% off",
        "banner": "15% off everything",
        "discount_type": "PERCENT",
        "percent_off": "15",
        "amount_limit": "20.00",
        "effect": "APPLY_TO_ORDER",
    }
    return {**data, **overrides}


def tiers_of(campaign) -> list[str]:
    return list(
        PromotionTier.objects.filter(campaign=campaign)
        .order_by("hierarchy", "id")
        .values_list("name", flat=True)
    )


def stack_entries(stack) -> list[str]:
    return list(
        StackTier.objects.filter(stack=stack)
        .order_by("position")
        .values_list("tier__name", flat=True)
    )


# --- add and edit -----------------------------------------------------------------------------


def test_tier_form_page_works(member_client, promotion):
    response = member_client(Role.MARKETER).get(
        reverse("campaigns:tier_create", args=[promotion.public_id])
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="discount_type"' in html and 'name="percent_off"' in html
    assert "Summer sale" in html


@pytest.mark.parametrize(
    ("discount", "initial"),
    [
        (
            {
                "type": "PERCENT",
                "percent_off": 15,
                "amount_limit": 2000,
                "effect": "APPLY_TO_ITEMS",
            },
            {"discount_type": "PERCENT", "percent_off": 15, "amount_limit": "20.00"},
        ),
        # a discount stored without an effect shows the default one, not an empty choice
        ({"type": "AMOUNT", "amount_off": 500}, {"discount_type": "AMOUNT", "amount_off": "5.00"}),
    ],
)
def test_the_edit_form_starts_from_the_tier_discount(promotion, discount, initial):
    from apps.campaigns.forms import PromotionTierForm

    tier = PromotionTierFactory(campaign=promotion, discount=discount)
    form = PromotionTierForm(campaign=promotion, tier=tier)
    for name, value in initial.items():
        assert form[name].value() == value
    assert form["effect"].value() == discount.get("effect", "APPLY_TO_ORDER")


def test_adding_a_tier_stores_the_discount_dates_category_and_metadata(
    member_client, project, promotion
):
    # given a project in Warsaw time, a category and a metadata schema for tiers
    project.time_zone = "Europe/Warsaw"
    project.save()
    category = CategoryFactory(project=project, name="Seasonal")
    metadata_schema_save(
        project=project,
        resource="promotion_tier",
        properties={"channel": {"type": "string"}},
        allow_defined_only=False,
    )
    PromotionTierFactory(campaign=promotion, name="First", hierarchy=1)
    client = member_client(Role.MARKETER)
    # when
    response = client.post(
        reverse("campaigns:tier_create", args=[promotion.public_id]),
        tier_data(
            category=category.public_id,
            start_date="2026-06-01T10:00",
            expiration_date="2026-06-30T22:00",
            meta__channel="web",
        ),
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[promotion.public_id])
    tier = PromotionTier.objects.get(campaign=promotion, name="15% off")
    assert tier.discount == {
        "type": "PERCENT",
        "percent_off": 15,
        "amount_limit": 2000,
        "effect": "APPLY_TO_ORDER",
    }
    assert tier.banner == "15% off everything"
    assert tier.hierarchy == 2  # after the last tier
    assert tier.category == category
    assert tier.metadata == {"channel": "web"}
    assert tier.start_date == dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
    assert tier.expiration_date == dt.datetime(2026, 6, 30, 20, 0, tzinfo=dt.UTC)
    assert tier.project == project


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (tier_data(name=""), "name", "A promotion tier needs a name."),
        (tier_data(percent_off=""), "percent_off", "Must be a number above 0"),
        (tier_data(discount_type="AMOUNT", amount_off=""), "amount_off", "Enter a value"),
        (tier_data(discount_type="AMOUNT", amount_off="12.345"), "amount_off", "decimal places"),
        (tier_data(discount_type="UNIT", unit_off="1"), "unit_type", "must name the product"),
        (
            tier_data(start_date="2026-06-02T10:00", expiration_date="2026-06-01T10:00"),
            "expiration_date",
            "Must be after the start.",
        ),
    ],
)
def test_tier_form_errors_are_shown_on_their_fields(member_client, promotion, data, field, message):
    response = member_client(Role.MARKETER).post(
        reverse("campaigns:tier_create", args=[promotion.public_id]), data
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert not PromotionTier.objects.filter(campaign=promotion).exists()


def test_a_tier_from_a_template_takes_its_discount_and_name(member_client, project, promotion):
    template = CampaignTemplateFactory(project=project, name="Ten percent")
    client = member_client(Role.MARKETER)
    page = client.get(reverse("campaigns:tier_create", args=[promotion.public_id]))
    assert "Ten percent" in page.content.decode()
    response = client.post(
        reverse("campaigns:tier_create", args=[promotion.public_id]),
        # the discount type keeps its default, no value is typed: the template's discount
        {"template": template.public_id, "name": "", "discount_type": "PERCENT"},
    )
    assert response.status_code == 302
    tier = PromotionTier.objects.get(campaign=promotion)
    assert tier.name == "Ten percent"
    assert tier.discount == {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"}
    # a discount typed on the form replaces the template's
    client.post(
        reverse("campaigns:tier_create", args=[promotion.public_id]),
        {
            "template": template.public_id,
            "name": "Five off",
            "discount_type": "AMOUNT",
            "amount_off": "5",
        },
    )
    tier = PromotionTier.objects.get(campaign=promotion, name="Five off")
    assert tier.discount == {"type": "AMOUNT", "amount_off": 500, "effect": "APPLY_TO_ORDER"}


def test_editing_a_tier(member_client, project, promotion):
    category = CategoryFactory(project=project)
    tier = PromotionTierFactory(campaign=promotion, name="Old", category=category)
    client = member_client(Role.MARKETER)
    page = client.get(reverse("campaigns:tier_edit", args=[tier.public_id]))
    assert page.status_code == 200
    assert 'value="Old"' in page.content.decode()
    assert page.context["form"]["amount_off"].value() == "10.00"
    response = client.post(
        reverse("campaigns:tier_edit", args=[tier.public_id]),
        tier_data(name="New", discount_type="FIXED", fixed_amount="49.99", hierarchy="3"),
    )
    assert response.status_code == 302
    tier.refresh_from_db()
    assert (tier.name, tier.hierarchy, tier.category) == ("New", 3, None)
    assert tier.discount == {"type": "FIXED", "fixed_amount": 4999, "effect": "APPLY_TO_ORDER"}


def test_tiers_only_belong_to_promotions(member_client, project):
    coupons = CampaignFactory(project=project)
    client = member_client(Role.MARKETER)
    assert client.get(reverse("campaigns:tier_create", args=[coupons.public_id])).status_code == 404
    assert (
        client.post(reverse("campaigns:stack_create", args=[coupons.public_id])).status_code == 404
    )


# --- the section: toggle, delete, reorder -----------------------------------------------------


def test_toggle_returns_the_section_for_htmx(member_client, promotion):
    tier = PromotionTierFactory(campaign=promotion, name="Ten off")
    client = member_client(Role.MARKETER)
    url = reverse("campaigns:tier_toggle", args=[tier.public_id])
    response = client.post(url, {"active": "false"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="promotion-tiers"' in html
    assert "Disabled" in html and "Enable Ten off" in html
    tier.refresh_from_db()
    assert tier.active is False
    # without htmx: back to the campaign page, same effect
    response = client.post(url, {"active": "true"})
    assert response["Location"] == reverse("campaigns:detail", args=[promotion.public_id])
    tier.refresh_from_db()
    assert tier.active is True


def test_deleting_a_tier_removes_it_from_stacks(member_client, promotion):
    first = PromotionTierFactory(campaign=promotion, name="A")
    second = PromotionTierFactory(campaign=promotion, name="B")
    stack = PromotionStackFactory(campaign=promotion)
    StackTier.objects.create(stack=stack, tier=first, position=0)
    StackTier.objects.create(stack=stack, tier=second, position=1)
    response = member_client(Role.MARKETER).post(
        reverse("campaigns:tier_delete", args=[first.public_id]), **HX
    )
    assert response.status_code == 200
    assert 'data-tier="' + first.public_id not in response.content.decode()
    assert tiers_of(promotion) == ["B"]
    assert stack_entries(stack) == ["B"]


def test_reorder_sets_the_hierarchy_in_the_posted_order(member_client, promotion):
    a = PromotionTierFactory(campaign=promotion, name="A", hierarchy=1)
    b = PromotionTierFactory(campaign=promotion, name="B", hierarchy=2)
    c = PromotionTierFactory(campaign=promotion, name="C", hierarchy=3)
    response = member_client(Role.MARKETER).post(
        reverse("campaigns:tiers_reorder", args=[promotion.public_id]),
        {"tier": [c.public_id, a.public_id, b.public_id]},
        **HX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert tiers_of(promotion) == ["C", "A", "B"]
    assert html.index(">C<") < html.index(">A<") < html.index(">B<")


def test_the_up_and_down_buttons_move_one_tier(member_client, promotion):
    a = PromotionTierFactory(campaign=promotion, name="A", hierarchy=1)
    b = PromotionTierFactory(campaign=promotion, name="B", hierarchy=2)
    c = PromotionTierFactory(campaign=promotion, name="C", hierarchy=3)
    client = member_client(Role.MARKETER)
    section = client.post(
        reverse("campaigns:tier_toggle", args=[a.public_id]), {"active": "true"}, **HX
    ).content.decode()
    # one form carries the order as shown; each button names its tier and direction
    assert section.count('name="tier"') == 3
    assert f'form="tier-order" name="move" value="{b.public_id}:up"' in section
    assert f'value="{a.public_id}:up"' not in section  # the first cannot move up
    assert f'value="{c.public_id}:down"' not in section
    url = reverse("campaigns:tiers_reorder", args=[promotion.public_id])
    shown = [a.public_id, b.public_id, c.public_id]
    client.post(url, {"tier": shown, "move": f"{c.public_id}:up"}, **HX)
    assert tiers_of(promotion) == ["A", "C", "B"]
    client.post(
        url, {"tier": [a.public_id, c.public_id, b.public_id], "move": f"{a.public_id}:down"}
    )
    assert tiers_of(promotion) == ["C", "A", "B"]


def test_reorder_with_a_stale_list_changes_nothing_and_says_so(member_client, promotion):
    a = PromotionTierFactory(campaign=promotion, name="A", hierarchy=1)
    PromotionTierFactory(campaign=promotion, name="B", hierarchy=2)
    foreign = PromotionTierFactory(name="Elsewhere", hierarchy=7)
    response = member_client(Role.MARKETER).post(
        reverse("campaigns:tiers_reorder", args=[promotion.public_id]),
        {"tier": [foreign.public_id, a.public_id]},
        **HX,
    )
    assert response.status_code == 200
    assert "List every tier of the campaign exactly once." in response.content.decode()
    assert tiers_of(promotion) == ["A", "B"]
    foreign.refresh_from_db()
    assert foreign.hierarchy == 7


def test_the_section_shows_validity_in_the_projects_time_zone(member_client, project, promotion):
    project.time_zone = "Europe/Warsaw"
    project.save()
    tier = PromotionTierFactory(
        campaign=promotion, expiration_date=dt.datetime(2026, 8, 31, 0, 0, tzinfo=dt.UTC)
    )
    response = member_client(Role.MARKETER).post(
        reverse("campaigns:tier_toggle", args=[tier.public_id]), {"active": "true"}, **HX
    )
    assert "until 2026-08-31 02:00" in response.content.decode()
    assert "(Europe/Warsaw)" in response.content.decode()


def test_the_section_lists_tiers_and_stacks_in_few_queries(
    member_client, project, promotion, django_assert_max_num_queries
):
    tiers = [PromotionTierFactory(campaign=promotion, name=f"T{i}") for i in range(5)]
    for n in range(3):
        stack = PromotionStackFactory(campaign=promotion, name=f"S{n}")
        for position, tier in enumerate(tiers):
            StackTier.objects.create(stack=stack, tier=tier, position=position)
    membership = MembershipFactory(project=project, role=Role.VIEWER)
    with django_assert_max_num_queries(3):
        html = render_to_string(
            "campaigns/promotions/_tiers_section.html",
            {"campaign": promotion, "project": project, "membership": membership},
        )
    assert html.count('data-testid="tier-row"') == 5
    assert html.count('data-testid="stack-row"') == 3
    # a viewer sees no buttons
    assert "Add tier" not in html and "Move T1 up" not in html and "Delete" not in html


# --- stacks -----------------------------------------------------------------------------------


def test_creating_a_stack_orders_the_chosen_tiers_by_position(member_client, promotion):
    a = PromotionTierFactory(campaign=promotion, name="A")
    b = PromotionTierFactory(campaign=promotion, name="B")
    c = PromotionTierFactory(campaign=promotion, name="C")
    client = member_client(Role.MARKETER)
    page = client.get(reverse("campaigns:stack_create", args=[promotion.public_id]))
    assert page.content.decode().count('data-testid="stack-tier-choice"') == 3
    response = client.post(
        reverse("campaigns:stack_create", args=[promotion.public_id]),
        {
            "name": "Weekend",
            f"use_{a.public_id}": "on",
            f"pos_{a.public_id}": "2",
            f"use_{b.public_id}": "on",
            f"pos_{b.public_id}": "1",
            f"pos_{c.public_id}": "3",  # not ticked: not in the stack
        },
    )
    assert response.status_code == 302
    stack = PromotionStack.objects.get(campaign=promotion)
    assert stack.name == "Weekend"
    assert stack_entries(stack) == ["B", "A"]


def test_stack_form_errors(member_client, promotion):
    a = PromotionTierFactory(campaign=promotion, name="A")
    PromotionStackFactory(campaign=promotion, name="Taken")
    client = member_client(Role.MARKETER)
    url = reverse("campaigns:stack_create", args=[promotion.public_id])
    response = client.post(url, {"name": "Empty"})
    assert response.status_code == 200
    assert "Choose at least one tier" in response.content.decode()
    response = client.post(url, {"name": "Taken", f"use_{a.public_id}": "on"})
    assert response.status_code == 200
    assert "A stack named “Taken” exists." in response.content.decode()
    assert PromotionStack.objects.filter(campaign=promotion).count() == 1


def test_editing_a_stack_changes_its_tiers_and_order(member_client, promotion):
    a = PromotionTierFactory(campaign=promotion, name="A")
    b = PromotionTierFactory(campaign=promotion, name="B")
    stack = PromotionStackFactory(campaign=promotion, name="Mine")
    StackTier.objects.create(stack=stack, tier=a, position=0)
    client = member_client(Role.MARKETER)
    page = client.get(reverse("campaigns:stack_edit", args=[stack.public_id]))
    form = page.context["form"]
    assert form[f"use_{a.public_id}"].value() is True
    assert form[f"pos_{a.public_id}"].value() == 1
    response = client.post(
        reverse("campaigns:stack_edit", args=[stack.public_id]),
        {
            "name": "Mine too",
            f"use_{a.public_id}": "on",
            f"pos_{a.public_id}": "2",
            f"use_{b.public_id}": "on",
            f"pos_{b.public_id}": "1",
        },
    )
    assert response.status_code == 302
    stack.refresh_from_db()
    assert stack.name == "Mine too"
    assert stack_entries(stack) == ["B", "A"]


def test_deleting_a_stack_keeps_its_tiers(member_client, promotion):
    tier = PromotionTierFactory(campaign=promotion, name="A")
    stack = PromotionStackFactory(campaign=promotion)
    StackTier.objects.create(stack=stack, tier=tier, position=0)
    response = member_client(Role.MARKETER).post(
        reverse("campaigns:stack_delete", args=[stack.public_id]), **HX
    )
    assert response.status_code == 200
    assert 'id="promotion-tiers"' in response.content.decode()
    assert not PromotionStack.objects.filter(pk=stack.pk).exists()
    assert tiers_of(promotion) == ["A"]


# --- access -----------------------------------------------------------------------------------


def test_pages_require_login(client, promotion):
    tier = PromotionTierFactory(campaign=promotion)
    for url in (
        reverse("campaigns:tier_create", args=[promotion.public_id]),
        reverse("campaigns:tier_edit", args=[tier.public_id]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_viewers_cannot_open_forms_or_change_tiers(member_client, promotion):
    tier = PromotionTierFactory(campaign=promotion, name="Keep")
    client = member_client(Role.VIEWER)
    assert (
        client.get(reverse("campaigns:tier_create", args=[promotion.public_id])).status_code == 403
    )
    assert client.get(reverse("campaigns:tier_edit", args=[tier.public_id])).status_code == 403
    for name in ("tier_toggle", "tier_delete"):
        assert client.post(reverse(f"campaigns:{name}", args=[tier.public_id])).status_code == 403
    response = client.post(
        reverse("campaigns:tiers_reorder", args=[promotion.public_id]), {"tier": [tier.public_id]}
    )
    assert response.status_code == 403
    tier.refresh_from_db()
    assert tier.active and tier.name == "Keep"


def test_other_projects_tiers_and_stacks_are_404(member_client):
    tier = PromotionTierFactory(name="Theirs")
    stack = PromotionStackFactory(campaign=tier.campaign)
    client = member_client(Role.OWNER)
    urls = [
        reverse("campaigns:tier_edit", args=[tier.public_id]),
        reverse("campaigns:tier_toggle", args=[tier.public_id]),
        reverse("campaigns:tier_delete", args=[tier.public_id]),
        reverse("campaigns:tier_create", args=[tier.campaign.public_id]),
        reverse("campaigns:tiers_reorder", args=[tier.campaign.public_id]),
        reverse("campaigns:stack_create", args=[tier.campaign.public_id]),
        reverse("campaigns:stack_edit", args=[stack.public_id]),
        reverse("campaigns:stack_delete", args=[stack.public_id]),
    ]
    for url in urls:
        assert client.post(url, {"tier": [tier.public_id], "name": "x"}).status_code == 404, url
    assert PromotionTier.objects.filter(pk=tier.pk, active=True).exists()
    assert PromotionStack.objects.filter(pk=stack.pk).exists()
