"""The cart simulator ("Test a cart"): simulate without side effects, explain, redeem."""

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from apps.campaigns.models import Voucher
from apps.customers.models import Customer
from apps.orders.models import Order
from apps.projects.models import Role
from apps.redemptions.models import ChannelType, Redemption, Status, ValidationSession
from tests.campaigns.factories import (
    CampaignFactory,
    GiftCardFactory,
    PromotionFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.customers.factories import CustomerFactory
from tests.products.factories import ProductFactory, SkuFactory
from tests.projects.factories import ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

pytestmark = pytest.mark.django_db

URL = reverse("redemptions:simulator")
REDEEM = reverse("redemptions:simulator_redeem")


def text(response) -> str:
    """The page's text without tags and with collapsed whitespace, for phrase assertions."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", body)


def query(items=(), redeemables=(), **single) -> list[tuple[str, str]]:
    """The simulator's query string: items as (product ref, price, qty), redeemables as codes."""
    pairs = list(single.items())
    for ref, price, qty in items:
        pairs += [("item", ref), ("price", price), ("qty", str(qty))]
    for code in redeemables:
        pairs += [("code", code), ("tier", ""), ("credits", ""), ("points", "")]
    return pairs


def simulate(client, pairs, **headers):
    return client.get(f"{URL}?{urlencode(pairs)}", **headers)


@pytest.fixture
def shop(project):
    """A 5.00-off code whose campaign needs an order of at least 100.00, and a 25.00 product."""
    campaign = CampaignFactory(project=project, name="Spring coupons")
    voucher = VoucherFactory(campaign=campaign, code="SAVE5")
    rule = ValidationRuleFactory(project=project, name="Big baskets")
    RuleAssignmentFactory(rule=rule, campaign=campaign)
    product = ProductFactory(project=project, name="Teapot", price=2500)
    return voucher, product


def test_the_page_renders_the_empty_form(owner_client):
    response = owner_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="simulator-form"' in body and 'id="simulator-results"' in body
    assert 'data-testid="item-row"' in body and 'data-testid="redeemable-row"' in body
    assert "How it works" in text(response)


def test_it_returns_only_the_results_for_htmx(owner_client, shop):
    _voucher, product = shop
    response = simulate(
        owner_client,
        query(items=[(product.public_id, "", 4)], redeemables=["SAVE5"]),
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert "<html" not in body and 'id="simulator-form"' not in body
    assert body.lstrip().startswith('<div id="simulator-results"')


def test_a_cart_under_the_rules_minimum_shows_the_explanation(owner_client, shop):
    # given 2 x 42.00 = 84.00, under the campaign's 100.00 minimum
    _, product = shop
    response = simulate(
        owner_client, query(items=[(product.public_id, "42.00", 2)], redeemables=["save5"])
    )
    page = text(response)
    assert "Not valid" in page
    assert "INAPPLICABLE" in page
    assert "order_rules_violated" in page
    assert "Big baskets: order amount 84.00 is below 100.00" in page
    assert "Rule 1 · order amount: order amount 84.00 is below 100.00" in page
    assert 'data-testid="redeem"' not in response.content.decode()


def test_a_rules_custom_error_message_is_shown(owner_client, project):
    campaign = CampaignFactory(project=project)
    VoucherFactory(campaign=campaign, code="VIP")
    rule = ValidationRuleFactory(
        project=project,
        rules={
            "1": {
                "name": "order.amount",
                "conditions": {"$more_than": [5000]},
                "error": {"message": "Spend more than 50 to use VIP"},
            },
            "logic": "1",
        },
    )
    RuleAssignmentFactory(rule=rule, campaign=campaign)
    response = simulate(owner_client, query(redeemables=["VIP"], amount="20.00"))
    assert "“Spend more than 50 to use VIP”" in text(response)


def test_a_valid_cart_shows_the_totals_and_the_lines(owner_client, shop):
    # given 4 x 25.00 = 100.00 and a 5.00-off code
    _, product = shop
    response = simulate(
        owner_client, query(items=[(product.public_id, "", 4)], redeemables=["SAVE5"])
    )
    body = response.content.decode()
    page = text(response)
    assert "Valid : this cart can be redeemed." in page
    assert "Takes off $5.00" in page
    assert re.search(r'data-testid="total-amount-before">\$100\.00<', body)
    assert re.search(r'data-testid="discount-amount">\$5\.00<', body)
    assert re.search(r'data-testid="items-discount-amount">\$0\.00<', body)
    assert re.search(r'data-testid="total-discount-amount">\$5\.00<', body)
    assert re.search(r'data-testid="total-amount">\$95\.00<', body)
    assert "Teapot" in page and "$25.00" in page
    assert "Stacking: ALL" in page
    assert 'data-testid="redeem"' in body


def test_item_discounts_and_free_units_appear_on_their_lines(owner_client, project):
    # given a tier giving 10.00 off the mug only, and a unit discount adding one free spoon
    mug = ProductFactory(project=project, name="Mug", price=3000)
    spoon = ProductFactory(project=project, name="Spoon", price=400)
    promotion = PromotionFactory(project=project, name="Kitchen week")
    mug_off = PromotionTierFactory(
        campaign=promotion,
        name="10 off mugs",
        discount={"type": "AMOUNT", "amount_off": 1000, "effect": "APPLY_TO_ITEMS"},
    )
    rule = ValidationRuleFactory(
        project=project,
        rules={},
        applicable_to={"included": [{"object": "product", "id": mug.public_id}], "excluded": []},
    )
    RuleAssignmentFactory(rule=rule, tier=mug_off)
    free_spoon = PromotionTierFactory(
        campaign=promotion,
        name="Free spoon",
        discount={
            "type": "UNIT",
            "unit_off": 1,
            "unit_type": spoon.public_id,
            "effect": "ADD_NEW_ITEMS",
        },
    )
    pairs = query(items=[(mug.public_id, "", 2), (spoon.public_id, "", 1)])
    for tier in (mug_off, free_spoon):
        pairs += [("code", ""), ("tier", tier.public_id), ("credits", ""), ("points", "")]
    response = simulate(owner_client, pairs)
    body = response.content.decode()
    lines = re.findall(r'<tr data-testid="line">(.*?)</tr>', body, re.S)
    mug_line = next(line for line in lines if "Mug" in line)
    assert "\u2212$10.00" in mug_line
    assert 'data-testid="line-added">+1 free' in body
    # 2 x 30.00 + 4.00, plus the free 4.00 spoon; 10.00 + 4.00 off the items
    assert re.search(r'data-testid="total-amount-before">\$68\.00<', body)
    assert re.search(r'data-testid="items-discount-amount">\$14\.00<', body)
    assert re.search(r'data-testid="total-amount">\$54\.00<', body)


def test_gift_credits_and_the_sku_picker_go_into_the_payload(owner_client, project):
    sku = SkuFactory(product__project=project, product__name="Shirt", sku="Blue L", price=4000)
    GiftCardFactory(campaign__project=project, code="GIFT-1")
    pairs = [
        *query(items=[(sku.public_id, "", 1)]),
        ("code", "GIFT-1"),
        ("tier", ""),
        ("credits", "15.00"),
        ("points", ""),
    ]
    response = simulate(owner_client, pairs)
    body = response.content.decode()
    assert "Pays $15.00 with gift credits" in text(response)
    assert re.search(r'data-testid="total-amount">\$25\.00<', body)


def test_redeem_creates_a_user_redemption_and_links_to_it(member_client, shop):
    # given a marketer and a valid cart
    voucher, product = shop
    client = member_client(Role.MARKETER)
    customer = CustomerFactory(project=voucher.project, name="Alice Doe")
    pairs = query(items=[(product.public_id, "", 4)], redeemables=["SAVE5"])
    pairs.append(("customer", customer.public_id))
    # when Redeem posts the cart
    response = client.post(REDEEM, dict_of(pairs), HTTP_HX_REQUEST="true")
    # then one successful parent redemption by this user, linked from the answer
    assert response.status_code == 200
    parent = Redemption.objects.get(parent__isnull=True)
    assert parent.status == Status.SUCCEEDED
    assert parent.channel_type == ChannelType.USER
    assert parent.channel_id == str(client.membership.user.pk)
    assert parent.customer == customer and parent.amount == 500
    body = response.content.decode()
    assert reverse("redemptions:detail", args=[parent.public_id]) in body
    assert "Redeemed: $5.00 off" in text(response)
    voucher.refresh_from_db()
    assert voucher.redeemed_quantity == 1


def test_a_refused_redemption_shows_the_error_and_the_explanation(owner_client, shop):
    _, product = shop
    pairs = query(items=[(product.public_id, "", 1)], redeemables=["SAVE5"])
    response = owner_client.post(REDEEM, dict_of(pairs))
    page = text(response)
    assert "The redemption was refused" in page
    assert "order amount 25.00 is below 100.00" in page
    failed = Redemption.objects.get(parent__isnull=True)
    assert failed.status == Status.FAILED
    assert reverse("redemptions:detail", args=[failed.public_id]) in response.content.decode()


def test_redeem_with_an_ad_hoc_customer_creates_that_customer(owner_client, shop):
    _, product = shop
    pairs = query(items=[(product.public_id, "", 4)], redeemables=["SAVE5"])
    pairs += [("source_id", "walk-in-7"), ("cmeta_key", "tier"), ("cmeta_value", "gold")]
    owner_client.post(REDEEM, dict_of(pairs))
    customer = Customer.objects.get(source_id="walk-in-7")
    assert customer.metadata == {"tier": "gold"}
    assert Redemption.objects.get(parent__isnull=True).customer == customer


def test_viewers_can_simulate_but_not_redeem(member_client, shop):
    _, product = shop
    client = member_client(Role.VIEWER)
    pairs = query(items=[(product.public_id, "", 4)], redeemables=["SAVE5"])
    page = simulate(client, pairs)
    assert page.status_code == 200
    assert "Valid : this cart can be redeemed." in text(page)
    assert 'data-testid="redeem"' not in page.content.decode()
    assert "Redeeming needs the marketer role." in text(page)
    response = client.post(REDEEM, dict_of(pairs))
    assert response.status_code == 403
    assert not Redemption.objects.exists()


def test_simulating_never_creates_customers_sessions_orders_or_redemptions(owner_client, shop):
    # given a known customer chosen by id, and an unknown ad-hoc source id
    voucher, product = shop
    known = CustomerFactory(project=voucher.project, metadata={"tier": "silver"})
    stamp = known.updated_at
    before = (Customer.objects.count(), Order.objects.count())
    chosen = query(items=[(product.public_id, "", 4)], redeemables=["SAVE5"])
    adhoc = [*chosen, ("source_id", "nobody-yet"), ("cmeta_key", "tier"), ("cmeta_value", "gold")]
    # when both carts are simulated
    assert "Valid" in text(simulate(owner_client, [*chosen, ("customer", known.public_id)]))
    response = simulate(owner_client, adhoc)
    # then nothing was written
    assert "judged as an anonymous customer" in text(response)
    assert (Customer.objects.count(), Order.objects.count()) == before
    assert not Customer.objects.filter(source_id="nobody-yet").exists()
    assert not ValidationSession.objects.exists()
    assert not Redemption.objects.exists()
    known.refresh_from_db()
    assert known.updated_at == stamp and known.metadata == {"tier": "silver"}
    assert Voucher.objects.get(pk=voucher.pk).redeemed_quantity == 0


def test_an_ad_hoc_source_id_of_an_existing_customer_is_judged_as_that_customer(
    owner_client, project
):
    # given a code only for customers whose metadata says gold
    campaign = CampaignFactory(project=project)
    VoucherFactory(campaign=campaign, code="GOLD")
    rule = ValidationRuleFactory(
        project=project,
        rules={
            "1": {
                "name": "customer.metadata",
                "property": "tier",
                "conditions": {"$is": ["gold"]},
            },
            "logic": "1",
        },
    )
    RuleAssignmentFactory(rule=rule, campaign=campaign)
    CustomerFactory(project=project, source_id="ann", name="Ann Gold", metadata={"tier": "gold"})
    known = simulate(owner_client, query(redeemables=["GOLD"], amount="10.00", source_id="ann"))
    assert "Valid : this cart can be redeemed." in text(known)
    assert "Judged as Ann Gold" in text(known)
    stranger = simulate(owner_client, query(redeemables=["GOLD"], amount="10.00", source_id="x"))
    assert "Not valid" in text(stranger)


def test_another_projects_code_is_not_found(owner_client, project):
    other = ProjectFactory()
    VoucherFactory(campaign=CampaignFactory(project=other), code="THEIRS")
    response = simulate(owner_client, query(redeemables=["THEIRS"], amount="50.00"))
    page = text(response)
    assert "INAPPLICABLE" in page and "not_found" in page
    assert "Cannot find voucher with id THEIRS" in page
    assert other.name not in page


def test_another_projects_product_and_customer_are_unknown(owner_client, project):
    other = ProjectFactory()
    product = ProductFactory(project=other)
    customer = CustomerFactory(project=other)
    response = simulate(
        owner_client,
        query(items=[(product.public_id, "", 1)], customer=customer.public_id),
    )
    page = text(response)
    assert f"Item 1: there is no product or SKU “{product.public_id}” in this project." in page
    assert f"Customer: no customer {customer.public_id} in this project." in page


def test_bad_input_is_shown_and_nothing_is_validated(owner_client, shop):
    _, product = shop
    pairs = query(items=[(product.public_id, "abc", 0)], redeemables=["SAVE5"], amount="1.234")
    response = simulate(owner_client, pairs)
    page = text(response)
    assert "Fix these to test the cart" in page
    assert "Item 1 · Price: “abc” is not an amount; use digits like 12.50." in page
    assert "Item 1 · Quantity:" in page
    assert "Order amount: USD amounts have at most 2 decimal places" in page
    assert 'data-testid="validity"' not in response.content.decode()
    # the full page keeps what was typed, and still names the product
    body = response.content.decode()
    assert 'value="abc"' in body and "Teapot" in body and "No product or SKU" not in body


def test_a_code_and_a_tier_in_one_row_is_an_error(owner_client, project):
    tier = PromotionTierFactory(campaign__project=project)
    pairs = [("code", "X"), ("tier", tier.public_id), ("credits", ""), ("points", "")]
    page = text(simulate(owner_client, [*pairs, ("amount", "10.00")]))
    assert "Code or tier 1: Give a code or a promotion tier, not both." in page


def test_duplicated_codes_are_explained(owner_client, shop):
    page = text(simulate(owner_client, query(redeemables=["SAVE5", "SAVE5"], amount="120.00")))
    assert "duplicated_redeemables" in page


def test_the_qualification_lists_what_applies_with_an_add_button(owner_client, project):
    promotion = PromotionFactory(project=project, name="Summer sale")
    tier = PromotionTierFactory(campaign=promotion, name="Ten off everything")
    customer = CustomerFactory(project=project)
    held = VoucherFactory(campaign=CampaignFactory(project=project), code="MINE", holder=customer)
    response = simulate(owner_client, query(amount="80.00", customer=customer.public_id))
    body = response.content.decode()
    offers = re.findall(r'data-testid="offer">(.*?)</li>', body, re.S)
    assert any("Ten off everything" in o and "Summer sale" in o and "$10.00" in o for o in offers)
    assert any(held.code in o and "$5.00" in o for o in offers)
    add = (
        reverse("redemptions:simulator_row")
        + "?"
        + urlencode({"kind": "redeemable", "tier": tier.public_id})
    )
    assert add.replace("&", "&amp;") in body
    # once in the cart, the offer says so instead
    pairs = query(amount="80.00", customer=customer.public_id, redeemables=["mine"])
    body = simulate(owner_client, pairs).content.decode()
    mine = next(o for o in re.findall(r'data-testid="offer">(.*?)</li>', body, re.S) if "MINE" in o)
    assert "in the cart" in mine


def test_the_row_endpoint_fills_a_picked_product_and_tells_the_form(owner_client, project):
    product = ProductFactory(project=project, name="Kettle", price=4550)
    url = reverse("redemptions:simulator_row")
    response = owner_client.get(
        url, {"kind": "item", "row": "ab12", "pick": product.public_id, "qty": "3"}
    )
    body = response.content.decode()
    assert 'id="item-ab12"' in body
    assert f'name="item" value="{product.public_id}"' in body
    assert 'value="45.50"' in body and 'value="3"' in body
    assert "simulatorChanged" in response["HX-Trigger-After-Swap"]
    blank = owner_client.get(url, {"kind": "redeemable"})
    assert 'name="code"' in blank.content.decode() and "HX-Trigger-After-Swap" not in blank
    added = owner_client.get(url, {"kind": "redeemable", "code": "SAVE5"})
    assert 'value="SAVE5"' in added.content.decode()
    assert "simulatorChanged" in added["HX-Trigger-After-Swap"]
    assert 'name="qty"' in owner_client.get(url, {"kind": "nope"}).content.decode()
    gone = owner_client.get(reverse("redemptions:simulator_row_gone"))
    assert gone.content.strip() == b"" and "simulatorChanged" in gone["HX-Trigger-After-Swap"]


def test_the_pickers_search_this_projects_customers_and_products(owner_client, project):
    CustomerFactory(project=project, name="Alice Liddell", email="alice@example.com")
    CustomerFactory(project=ProjectFactory(), name="Alice Elsewhere")
    ProductFactory(project=project, name="Teapot", price=2500)
    SkuFactory(product__project=project, product__name="Shirt", sku="Teal M")
    ProductFactory(project=ProjectFactory(), name="Tea cosy")
    customers = owner_client.get(reverse("redemptions:simulator_customers"), {"q": "alice"})
    page = text(customers)
    assert "Alice Liddell" in page and "Elsewhere" not in page
    products = owner_client.get(
        reverse("redemptions:simulator_products"), {"q": "tea", "row": "r1"}
    )
    page = text(products)
    assert "Teapot" in page and "$25.00" in page and "Teal M" in page and "cosy" not in page
    assert 'hx-target="#item-r1"' in products.content.decode()
    nobody = owner_client.get(reverse("redemptions:simulator_customers"), {"q": "zzzz"})
    assert "No customer matches “zzzz”" in text(nobody)


def test_choosing_a_customer_renders_the_picker_with_them(owner_client, project):
    customer = CustomerFactory(project=project, name="Bob Stone")
    stranger = CustomerFactory(project=ProjectFactory(), name="Not Mine")
    url = reverse("redemptions:simulator_customer")
    response = owner_client.get(url, {"id": customer.public_id})
    body = response.content.decode()
    assert f'name="customer" value="{customer.public_id}"' in body and "Bob Stone" in body
    assert "simulatorChanged" in response["HX-Trigger-After-Swap"]
    other = owner_client.get(url, {"id": stranger.public_id}).content.decode()
    assert "Not Mine" not in other and 'name="customer" value=""' in other


def test_a_campaign_link_starts_the_cart_with_its_code_or_tiers(owner_client, project):
    voucher = VoucherFactory(campaign=CampaignFactory(project=project), code="START")
    response = owner_client.get(URL, {"campaign": voucher.campaign.public_id})
    assert response.status_code == 302 and "code=START" in response["Location"]
    promotion = PromotionFactory(project=project)
    first = PromotionTierFactory(campaign=promotion, hierarchy=1)
    second = PromotionTierFactory(campaign=promotion, hierarchy=2)
    location = owner_client.get(URL, {"campaign": promotion.public_id})["Location"]
    assert location.index(first.public_id) < location.index(second.public_id)
    # what the cart had already stays
    kept = owner_client.get(URL, {"campaign": voucher.campaign.public_id, "amount": "80.00"})
    assert "amount=80.00" in kept["Location"] and "code=START" in kept["Location"]
    other = CampaignFactory(project=ProjectFactory())
    VoucherFactory(campaign=other, code="SECRET")
    assert "SECRET" not in owner_client.get(URL, {"campaign": other.public_id})["Location"]


def test_the_nav_and_the_campaign_page_link_to_the_simulator(owner_client, project):
    campaign = CampaignFactory(project=project)
    page = owner_client.get(reverse("campaigns:detail", args=[campaign.public_id]))
    body = page.content.decode()
    assert f"{URL}?campaign={campaign.public_id}" in body
    assert f'href="{URL}"' in body


def dict_of(pairs):
    """A POST body with repeated names, as the Redeem form sends it."""
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data
