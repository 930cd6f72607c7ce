"""Stackable validation through validate(): discount types x effects x rounding, gift and loyalty
cards, every gate key, every stacking rule and the totals of reference §3.8, in exact cents."""

import dataclasses
import datetime as dt

import pytest

from apps.engine.snapshot import (
    Cart,
    Category,
    Counters,
    CustomerFacts,
    Item,
    Redeemable,
    Request,
    Rule,
    StackingRules,
)
from apps.engine.validation import APPLICABLE, INAPPLICABLE, SKIPPED, validate

NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)


def item(product, price, quantity, **extra):
    return Item(
        price=price,
        quantity=quantity,
        amount=price * quantity,
        product_id=product,
        name=product.removeprefix("prod_"),
        **extra,
    )


LINES = (
    item("prod_shirt", 2_500, 2),  # 50.00
    item("prod_cap", 1_000, 3),  # 30.00
    item("prod_bag", 2_000, 1),  # 20.00
)
CART = Cart(amount=10_000, items=LINES)
ODD = Cart(amount=999, items=(item("prod_pen", 999, 1),))


def voucher(code="CODE", discount=None, **fields) -> Redeemable:
    return Redeemable(object="voucher", id=code, discount=discount, **fields)


def tier(pid="promo_1", discount=None, **fields) -> Redeemable:
    return Redeemable(
        object="promotion_tier", id=pid, type="PROMOTION", discount=discount, **fields
    )


def gift(code="GIFT", balance=5_000, credits=None, effect="APPLY_TO_ORDER", **fields):
    return Redeemable(
        object="voucher",
        id=code,
        type="GIFT_VOUCHER",
        gift_balance=balance,
        credits=credits,
        gift_effect=effect,
        **fields,
    )


def loyalty(code="CARD", balance=1_000, points=None, **fields):
    return Redeemable(
        object="voucher",
        id=code,
        type="LOYALTY_CARD",
        loyalty_balance=balance,
        points=points,
        **fields,
    )


def amount_off(cents, effect="APPLY_TO_ORDER"):
    return {"type": "AMOUNT", "amount_off": cents, "effect": effect}


def percent_off(percent, effect="APPLY_TO_ORDER", **extra):
    return {"type": "PERCENT", "percent_off": percent, "effect": effect, **extra}


def fixed(cents, effect="APPLY_TO_ORDER"):
    return {"type": "FIXED", "fixed_amount": cents, "effect": effect}


def run(*redeemables, cart=CART, stacking=None, **fields):
    request = Request(
        cart=cart,
        redeemables=tuple(
            dataclasses.replace(r, requested_position=i) for i, r in enumerate(redeemables)
        ),
        now=NOW,
        stacking=stacking or StackingRules(),
        **fields,
    )
    return validate(request)


def partial(**rules) -> StackingRules:
    return StackingRules(redeemables_application_mode="PARTIAL", **rules)


def statuses(outcome):
    return [(r.redeemable.id, r.status, r.key) for r in outcome.results]


def rule(name, condition, *, error_message="", rule_name="Rule", applicable_to=None) -> Rule:
    return Rule(
        id="val_1",
        name=rule_name,
        rules={"1": condition, "logic": "1"},
        error_message=error_message,
        applicable_to=applicable_to or {},
    )


# -- discount types x effects x rounding --------------------------------------------------------

DISCOUNT_CASES = [
    # id, discount, cart, order-level discount, per-line discounts
    ("amount-order", amount_off(1_500), CART, 1_500, {}),
    ("amount-order-capped", amount_off(20_000), CART, 10_000, {}),
    ("amount-items", amount_off(1_500, "APPLY_TO_ITEMS"), CART, 0, {0: 1_500, 1: 1_500, 2: 1_500}),
    (
        "amount-items-capped-per-line",
        amount_off(2_500, "APPLY_TO_ITEMS"),
        CART,
        0,
        {0: 2_500, 1: 2_500, 2: 2_000},
    ),
    (
        "amount-by-quantity",
        amount_off(300, "APPLY_TO_ITEMS_BY_QUANTITY"),
        CART,
        0,
        {0: 600, 1: 900, 2: 300},
    ),
    (
        "amount-by-quantity-capped-per-unit",
        amount_off(1_500, "APPLY_TO_ITEMS_BY_QUANTITY"),
        CART,
        0,
        {0: 3_000, 1: 3_000, 2: 1_500},
    ),
    (
        "amount-proportional",
        amount_off(1_000, "APPLY_TO_ITEMS_PROPORTIONALLY"),
        CART,
        0,
        {0: 500, 1: 300, 2: 200},
    ),
    (  # 500.5 / 300.3 / 200.2: the leftover cent to the largest remainder
        "amount-proportional-odd-cent",
        amount_off(1_001, "APPLY_TO_ITEMS_PROPORTIONALLY"),
        CART,
        0,
        {0: 501, 1: 300, 2: 200},
    ),
    (  # 333.33 / 500 / 166.67 by quantities 2, 3, 1
        "amount-proportional-by-quantity",
        amount_off(1_000, "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY"),
        CART,
        0,
        {0: 333, 1: 500, 2: 167},
    ),
    (  # 10 cents over 3 units of one and 3 of another: 5 / 5
        "amount-proportional-tiny",
        amount_off(10, "APPLY_TO_ITEMS_PROPORTIONALLY"),
        Cart(amount=600, items=(item("prod_a", 100, 3), item("prod_b", 100, 3))),
        0,
        {0: 5, 1: 5},
    ),
    (  # 1 cent over three equal lines: the first
        "amount-proportional-one-cent",
        amount_off(1, "APPLY_TO_ITEMS_PROPORTIONALLY"),
        Cart(amount=300, items=(item("a", 100, 1), item("b", 100, 1), item("c", 100, 1))),
        0,
        {0: 1},
    ),
    ("percent-order", percent_off(10), CART, 1_000, {}),
    ("percent-order-33.333", percent_off(33.333), CART, 3_333, {}),  # 3333.3
    ("percent-half-cent-up", percent_off(50), ODD, 500, {}),  # 499.5 -> 500
    ("percent-33.333-of-odd", percent_off(33.333), ODD, 333, {}),  # 332.99667
    ("percent-12.5-of-odd", percent_off(12.5), ODD, 125, {}),  # 124.875
    ("percent-0.01-of-odd", percent_off(0.01), ODD, 0, {}),  # 0.0999
    ("percent-limit", percent_off(50, amount_limit=2_000), CART, 2_000, {}),
    ("percent-limit-not-reached", percent_off(5, amount_limit=2_000), CART, 500, {}),
    ("percent-100", percent_off(100), CART, 10_000, {}),
    ("percent-items", percent_off(15, "APPLY_TO_ITEMS"), CART, 0, {0: 750, 1: 450, 2: 300}),
    (  # 1666.65 / 999.99 / 666.66, each half up
        "percent-items-33.333",
        percent_off(33.333, "APPLY_TO_ITEMS"),
        CART,
        0,
        {0: 1_667, 1: 1_000, 2: 667},
    ),
    (  # the limit is per line for items
        "percent-items-limit",
        percent_off(50, "APPLY_TO_ITEMS", amount_limit=500),
        CART,
        0,
        {0: 500, 1: 500, 2: 500},
    ),
    (
        "percent-by-quantity-limit",
        percent_off(10, "APPLY_TO_ITEMS_BY_QUANTITY", amount_limit=200),
        CART,
        0,
        {0: 200, 1: 200, 2: 200},
    ),
    (  # per unit rounding: 33.333 % of 9.99 is 3.33, times 3 units
        "percent-by-quantity-rounds-per-unit",
        percent_off(33.333, "APPLY_TO_ITEMS_BY_QUANTITY"),
        Cart(amount=2_997, items=(item("prod_pen", 999, 3),)),
        0,
        {0: 999},
    ),
    (
        "percent-aggregated-limit",
        percent_off(50, "APPLY_TO_ITEMS", aggregated_amount_limit=3_000),
        CART,
        0,
        {0: 2_500, 1: 500},
    ),
    (
        "percent-proportional",
        percent_off(10, "APPLY_TO_ITEMS_PROPORTIONALLY"),
        CART,
        0,
        {0: 500, 1: 300, 2: 200},
    ),
    (  # 33.333 % of 100.00 = 3333.30 -> 3333 split 5:3:2 = 1666.5 / 999.9 / 666.6:
        # the two leftover cents go to the largest remainders (.9 and .6)
        "percent-proportional-remainders",
        percent_off(33.333, "APPLY_TO_ITEMS_PROPORTIONALLY"),
        CART,
        0,
        {0: 1_666, 1: 1_000, 2: 667},
    ),
    ("fixed-order", fixed(7_000), CART, 3_000, {}),
    ("fixed-order-above-amount", fixed(12_000), CART, 0, {}),
    ("fixed-items", fixed(800, "APPLY_TO_ITEMS"), CART, 0, {0: 3_400, 1: 600, 2: 1_200}),
    (
        "fixed-by-quantity",
        fixed(800, "APPLY_TO_ITEMS_BY_QUANTITY"),
        CART,
        0,
        {0: 3_400, 1: 600, 2: 1_200},
    ),
    (
        "fixed-items-above-price",
        fixed(1_500, "APPLY_TO_ITEMS"),
        CART,
        0,
        {0: 2_000, 2: 500},
    ),
    (
        "fixed-proportional",
        fixed(7_000, "APPLY_TO_ITEMS_PROPORTIONALLY"),
        CART,
        0,
        {0: 1_500, 1: 900, 2: 600},
    ),
]


@pytest.mark.parametrize(
    "discount, cart, order_amount, items",
    [case[1:] for case in DISCOUNT_CASES],
    ids=[case[0] for case in DISCOUNT_CASES],
)
def test_discount_types_and_effects(discount, cart, order_amount, items):
    outcome = run(voucher(discount=discount), cart=cart)
    (result,) = outcome.results
    assert result.status == APPLICABLE
    assert result.applied.order_amount == order_amount
    assert result.applied.items == items
    assert result.discount == order_amount + sum(items.values())
    totals = outcome.totals
    assert totals.discount_amount == order_amount
    assert totals.items == items
    assert totals.items_discount_amount == sum(items.values())
    assert totals.total_discount_amount == result.discount
    assert totals.total_amount == cart.amount - result.discount
    assert outcome.valid is True


@pytest.mark.parametrize(
    "discount, unit_prices, lines, added, applied, amount, total_amount",
    [
        (  # the order already has 3 caps: one of them free
            {"type": "UNIT", "unit_off": 1, "unit_type": "prod_cap", "effect": "ADD_MISSING_ITEMS"},
            {},
            {1: (3, 3_000)},
            {},
            {1: 1_000},
            10_000,
            9_000,
        ),
        (  # 5 free caps: 2 are added, all 5 are free
            {"type": "UNIT", "unit_off": 5, "unit_type": "prod_cap", "effect": "ADD_MISSING_ITEMS"},
            {},
            {1: (5, 5_000)},
            {1: 2},
            {1: 5_000},
            12_000,
            7_000,
        ),
        (  # 2 new caps, free, on top of the 3 bought
            {"type": "UNIT", "unit_off": 2, "unit_type": "prod_cap", "effect": "ADD_NEW_ITEMS"},
            {},
            {1: (5, 5_000)},
            {1: 2},
            {1: 2_000},
            12_000,
            10_000,
        ),
        (  # a product not in the order: a new line at its catalogue price
            {"type": "UNIT", "unit_off": 1, "unit_type": "prod_gift", "effect": "ADD_NEW_ITEMS"},
            {"prod_gift": 1_500},
            {3: (1, 1_500)},
            {3: 1},
            {3: 1_500},
            11_500,
            10_000,
        ),
        (  # several units: the bag is there, two SKUs are added
            {
                "type": "UNIT",
                "units": [
                    {"unit_off": 1, "unit_type": "prod_bag", "effect": "ADD_MISSING_ITEMS"},
                    {"unit_off": 2, "unit_type": "sku_sample", "effect": "ADD_NEW_ITEMS"},
                ],
            },
            {"sku_sample": 700},
            {2: (1, 2_000), 3: (2, 1_400)},
            {3: 2},
            {2: 2_000, 3: 1_400},
            11_400,
            8_000,
        ),
    ],
    ids=["missing-present", "missing-adds", "new-existing-line", "new-line", "several-units"],
)
def test_unit_discounts(discount, unit_prices, lines, added, applied, amount, total_amount):
    outcome = run(voucher(discount=discount), unit_prices=unit_prices)
    (result,) = outcome.results
    assert result.status == APPLICABLE
    for index, (quantity, line_amount) in lines.items():
        assert (outcome.items[index].quantity, outcome.items[index].amount) == (
            quantity,
            line_amount,
        )
    assert result.added == added
    assert result.applied.items == applied
    assert outcome.totals.amount == amount
    assert outcome.totals.total_amount == total_amount
    assert outcome.totals.items_discount_amount == sum(applied.values())


def test_an_added_sku_line_is_a_sku():
    discount = {"type": "UNIT", "unit_off": 1, "unit_type": "sku_x", "effect": "ADD_NEW_ITEMS"}
    outcome = run(voucher(discount=discount), unit_prices={"sku_x": 100})
    assert (outcome.items[3].sku_id, outcome.items[3].product_id) == ("sku_x", "")


def test_a_unit_without_a_price_is_inapplicable_and_changes_nothing():
    discount = {"type": "UNIT", "unit_off": 1, "unit_type": "prod_gift", "effect": "ADD_NEW_ITEMS"}
    outcome = run(voucher(discount=discount), stacking=partial())
    (result,) = outcome.results
    assert (result.status, result.key) == (INAPPLICABLE, "invalid_product")
    assert result.explanation == "prod_gift is not in the order and has no price to add it with"
    assert outcome.valid is False
    assert len(outcome.items) == 3
    assert outcome.totals.amount == 10_000


def test_a_failed_second_unit_undoes_the_first():
    discount = {
        "type": "UNIT",
        "units": [
            {"unit_off": 2, "unit_type": "prod_cap", "effect": "ADD_NEW_ITEMS"},
            {"unit_off": 1, "unit_type": "prod_unknown", "effect": "ADD_NEW_ITEMS"},
        ],
    }
    outcome = run(voucher(discount=discount), voucher("TEN", amount_off(1_000)), stacking=partial())
    assert statuses(outcome) == [
        ("CODE", INAPPLICABLE, "invalid_product"),
        ("TEN", APPLICABLE, ""),
    ]
    assert [(i.quantity, i.amount) for i in outcome.items] == [(2, 5_000), (3, 3_000), (1, 2_000)]
    assert (outcome.totals.amount, outcome.totals.total_amount) == (10_000, 9_000)


@pytest.mark.parametrize(
    "discounts, applied, total_amount",
    [
        ([percent_off(33.333), percent_off(33.333)], [3_333, 2_222], 4_445),
        ([amount_off(9_999), percent_off(50)], [9_999, 1], 0),  # 0.5 cent rounds up
        ([percent_off(100), amount_off(100)], [10_000, 0], 0),
        (
            [percent_off(50, "APPLY_TO_ITEMS"), amount_off(3_000, "APPLY_TO_ITEMS")],
            [5_000, 5_000],  # the second sees lines of 25.00, 15.00, 10.00: all of them
            0,
        ),
        (
            [amount_off(9_000), percent_off(100, "APPLY_TO_ITEMS")],
            [9_000, 1_000],  # lines hold more than the order has left: cut in line order
            0,
        ),
        (
            [amount_off(1_000, "APPLY_TO_ITEMS_PROPORTIONALLY"), fixed(5_000)],
            [1_000, 4_000],
            5_000,
        ),
    ],
    ids=[
        "two-thirds",
        "half-cent",
        "nothing-left",
        "items-then-items",
        "order-then-items",
        "fixed",
    ],
)
def test_each_discount_sees_what_the_earlier_ones_left(discounts, applied, total_amount):
    outcome = run(*[voucher(f"V{i}", d) for i, d in enumerate(discounts)])
    assert [r.discount for r in outcome.results] == applied
    assert outcome.totals.total_amount == total_amount
    assert outcome.totals.total_discount_amount == sum(applied)


# -- gift cards and loyalty cards ---------------------------------------------------------------


@pytest.mark.parametrize(
    "card, credits, total_amount",
    [
        (gift(balance=5_000), 5_000, 5_000),
        (gift(balance=5_000, credits=2_000), 2_000, 8_000),
        (gift(balance=50_000), 10_000, 0),  # never more than the order
        (gift(balance=50_000, credits=12_000), 10_000, 0),
        (gift(balance=1), 1, 9_999),
    ],
    ids=["all-it-has", "asked", "bill", "asked-above-bill", "one-cent"],
)
def test_gift_card_credits(card, credits, total_amount):
    outcome = run(card)
    (result,) = outcome.results
    assert result.status == APPLICABLE
    assert (result.credits, result.discount) == (credits, credits)
    assert result.applied.order_amount == credits
    assert outcome.totals.total_amount == total_amount


def test_gift_cards_pay_last_whatever_the_order_asked():
    outcome = run(gift(balance=5_000), voucher(discount=amount_off(9_000)))
    assert [r.redeemable.id for r in outcome.results] == ["CODE", "GIFT"]
    assert [r.discount for r in outcome.results] == [9_000, 1_000]
    assert outcome.results[1].credits == 1_000
    assert outcome.totals.total_amount == 0


def test_gift_cards_pay_last_under_category_hierarchy_too():
    category = Category("cat_1", "First", hierarchy=1)
    outcome = run(
        gift(balance=5_000, categories=(category,)),
        voucher(discount=percent_off(10), categories=(Category("cat_9", "Last", 9),)),
        stacking=StackingRules(redeemables_sorting_rule="CATEGORY_HIERARCHY"),
    )
    assert [(r.redeemable.id, r.discount) for r in outcome.results] == [
        ("CODE", 1_000),
        ("GIFT", 5_000),
    ]


def test_two_gift_cards_pay_in_turn():
    outcome = run(gift("G1", balance=6_000), gift("G2", balance=6_000))
    assert [r.credits for r in outcome.results] == [6_000, 4_000]
    assert outcome.totals.total_amount == 0


@pytest.mark.parametrize(
    "card, items",
    [
        (gift(balance=1_000, effect="APPLY_TO_ITEMS"), {0: 500, 1: 300, 2: 200}),
        (gift(balance=20_000, effect="APPLY_TO_ITEMS"), {0: 5_000, 1: 3_000, 2: 2_000}),
        (
            gift(
                balance=5_000,
                effect="APPLY_TO_ITEMS",
                rules=(
                    rule(
                        "x",
                        {"name": "order.amount", "conditions": {"$more_than": [0]}},
                        applicable_to={"included": [{"object": "product", "id": "prod_cap"}]},
                    ),
                ),
            ),
            {1: 3_000},  # only the caps: 30.00 of the 50.00 balance
        ),
        (
            gift(
                balance=1_000,
                effect="APPLY_TO_ITEMS",
                rules=(
                    rule(
                        "x",
                        {"name": "order.amount", "conditions": {"$more_than": [0]}},
                        applicable_to={"excluded": [{"object": "product", "id": "prod_shirt"}]},
                    ),
                ),
            ),
            {1: 600, 2: 400},
        ),
    ],
    ids=["split", "whole", "in-scope", "excluded"],
)
def test_gift_cards_applied_to_items(card, items):
    outcome = run(card)
    (result,) = outcome.results
    assert result.applied.items == items
    assert result.applied.order_amount == 0
    assert result.credits == sum(items.values())
    assert outcome.totals.items_discount_amount == sum(items.values())


def test_a_gift_card_for_items_none_of_which_are_ordered_is_inapplicable():
    applicable_to = {"included": [{"object": "product", "id": "prod_hat"}]}
    card = gift(
        effect="APPLY_TO_ITEMS",
        rules=(Rule("val_1", "Hats", {}, "", applicable_to),),
    )
    (result,) = run(card).results
    assert (result.status, result.key) == (INAPPLICABLE, "order_rules_violated")


@pytest.mark.parametrize(
    "card, points, total_amount",
    [
        (loyalty(balance=1_000, points=300), 300, 9_700),
        (loyalty(balance=1_000, points=1_000), 1_000, 9_000),
        (loyalty(balance=50_000, points=20_000), 10_000, 0),  # only what finds something to pay
    ],
)
def test_loyalty_card_points(card, points, total_amount):
    outcome = run(card)
    (result,) = outcome.results
    assert result.status == APPLICABLE
    assert (result.points, result.discount) == (points, points)
    assert outcome.totals.total_amount == total_amount


def test_loyalty_cards_pay_after_discounts():
    outcome = run(loyalty(balance=50_000, points=5_000), voucher(discount=amount_off(8_000)))
    assert [(r.redeemable.id, r.discount) for r in outcome.results] == [
        ("CODE", 8_000),
        ("CARD", 2_000),
    ]


# -- gates: every key ---------------------------------------------------------------------------

LATER = NOW + dt.timedelta(days=1)
EARLIER = NOW - dt.timedelta(days=1)
MONDAY_ONLY = [1]  # NOW is a Tuesday
TEN = amount_off(1_000)

GATE_CASES = [
    # id, redeemable, key, message, explanation
    (
        "not-found-voucher",
        voucher("NOPE", TEN, found=False),
        "not_found",
        "Resource not found",
        "Cannot find voucher with id NOPE",
    ),
    (
        "not-found-tier",
        tier("promo_gone", TEN, found=False),
        "not_found",
        "Resource not found",
        "Cannot find promotion tier with id promo_gone",
    ),
    (
        "voucher-disabled",
        voucher("OFF", TEN, active=False),
        "voucher_disabled",
        "voucher is disabled",
        "OFF is disabled",
    ),
    (
        "voucher-campaign-disabled",
        voucher("OFF", TEN, campaign_active=False, campaign_name="Spring"),
        "voucher_disabled",
        "voucher is disabled",
        "campaign Spring is disabled",
    ),
    (
        "tier-disabled",
        tier("promo_1", TEN, active=False, name="Ten off"),
        "promotion_inactive",
        "promotion is inactive",
        "Ten off is disabled",
    ),
    (
        "tier-campaign-disabled",
        tier("promo_1", TEN, campaign_active=False, campaign_name="Summer"),
        "promotion_inactive",
        "promotion tier is disabled",
        "campaign Summer is disabled",
    ),
    (
        "voucher-not-active",
        voucher(discount=TEN, start_date=LATER),
        "voucher_not_active",
        "voucher not active",
        f"starts at {LATER.isoformat()}",
    ),
    (
        "voucher-expired",
        voucher(discount=TEN, expiration_date=EARLIER),
        "voucher_expired",
        "voucher expired",
        f"expired at {EARLIER.isoformat()}",
    ),
    (
        "voucher-not-active-now",
        voucher(discount=TEN, validity_day_of_week=MONDAY_ONLY),
        "voucher_not_active_now",
        "voucher not active now",
        "outside its validity days or hours",
    ),
    (
        "tier-not-started",
        tier(discount=TEN, start_date=LATER),
        "promotion_not_active_now",
        "promotion tier not active",
        f"starts at {LATER.isoformat()}",
    ),
    (
        "tier-expired",
        tier(discount=TEN, expiration_date=EARLIER),
        "promotion_not_active_now",
        "promotion tier expired",
        f"expired at {EARLIER.isoformat()}",
    ),
    (
        "tier-not-now",
        tier(
            discount=TEN,
            validity_hours={"daily": [{"start_time": "18:00", "expiration_time": "20:00"}]},
        ),
        "promotion_not_active_now",
        "promotion tier not active now",
        "outside its validity days or hours",
    ),
    (
        "quantity-exceeded",
        voucher(discount=TEN, quantity=10, redeemed_quantity=10),
        "quantity_exceeded",
        "quantity exceeded",
        "10 of 10 uses redeemed",
    ),
    (
        "quantity-held-by-others",
        voucher(discount=TEN, quantity=10, redeemed_quantity=8, held_by_others=2),
        "quantity_exceeded",
        "quantity exceeded",
        "8 of 10 uses redeemed and 2 held by open sessions",
    ),
    (
        "tier-quantity-exceeded",
        tier(discount=TEN, quantity=1, redeemed_quantity=1),
        "quantity_exceeded",
        "quantity exceeded",
        "1 of 1 uses redeemed",
    ),
    (
        "zero-card-balance",
        gift(balance=0),
        "zero_card_balance",
        "gift card balance is zero",
        "GIFT has no credits left",
    ),
    (
        "gift-amount-exceeded",
        gift(balance=5_000, credits=5_001),
        "gift_amount_exceeded",
        "gift amount exceeded",
        "asked for 50.01, balance is 50.00",
    ),
    (
        "missing-reward",
        loyalty(balance=1_000, points=None),
        "missing_reward",
        "missing reward",
        "say how many points to pay with",
    ),
    (
        "missing-reward-zero",
        loyalty(balance=1_000, points=0),
        "missing_reward",
        "missing reward",
        "say how many points to pay with",
    ),
    (
        "loyalty-points-exceeded",
        loyalty(balance=1_000, points=1_001),
        "loyalty_card_points_exceeded",
        "loyalty card points exceeded",
        "asked for 1001 points, balance is 1000",
    ),
    (
        "customer-rules",
        voucher(
            discount=TEN,
            rules=(
                rule(
                    "vip",
                    {"name": "customer.segment", "conditions": {"$is": ["seg_vip"]}},
                    rule_name="VIP only",
                ),
            ),
        ),
        "customer_rules_violated",
        "customer does not match validation rules",
        "VIP only: the customer is not in segment seg_vip",
    ),
    (
        "order-rules",
        voucher(
            discount=TEN,
            rules=(
                rule(
                    "min",
                    {"name": "order.amount", "conditions": {"$more_than_or_equal": [15_000]}},
                    rule_name="Orders over 150.00",
                ),
            ),
        ),
        "order_rules_violated",
        "order does not match validation rules",
        "Orders over 150.00: order amount 100.00 is below 150.00",
    ),
    (
        "redemption-rules",
        voucher(
            discount=TEN,
            counters=Counters(customer_total=1),
            rules=(
                rule(
                    "once",
                    {
                        "name": "redemption.count.per_customer",
                        "conditions": {"$less_than_or_equal": [1]},
                    },
                    rule_name="Once per customer",
                ),
            ),
        ),
        "redemption_rules_violated",
        "redemption does not match validation rules",
        "Once per customer: this customer's redemptions 2 is above 1",
    ),
    (
        "rule-error-message",
        voucher(
            discount=TEN,
            rules=(
                rule(
                    "min",
                    {"name": "order.amount", "conditions": {"$more_than": [50_000]}},
                    error_message="Spend more than 500.00",
                    rule_name="Big orders",
                ),
            ),
        ),
        "order_rules_violated",
        "Spend more than 500.00",
        "Big orders: order amount 100.00 is not above 500.00",
    ),
    (
        "condition-error-message-wins",
        voucher(
            discount=TEN,
            rules=(
                rule(
                    "min",
                    {
                        "name": "order.amount",
                        "conditions": {"$more_than": [50_000]},
                        "error": {"message": "Only for big baskets"},
                    },
                    error_message="Spend more than 500.00",
                    rule_name="Big orders",
                ),
            ),
        ),
        "order_rules_violated",
        "Only for big baskets",
        "Big orders: order amount 100.00 is not above 500.00",
    ),
]


@pytest.mark.parametrize(
    "redeemable, key, message, explanation",
    [case[1:] for case in GATE_CASES],
    ids=[case[0] for case in GATE_CASES],
)
def test_gates(redeemable, key, message, explanation):
    outcome = run(redeemable)
    (result,) = outcome.results
    assert (result.status, result.key) == (INAPPLICABLE, key)
    assert result.message == message
    assert result.explanation == explanation
    assert result.discount == 0
    assert outcome.valid is False
    assert outcome.totals.total_amount == 10_000
    error = result.error()
    assert error["key"] == key
    assert error["code"] == (404 if key == "not_found" else 400)
    assert error["details"] == explanation


def test_the_gate_table_covers_every_key():
    keys = {case[2] for case in GATE_CASES}
    assert keys == {
        "not_found",
        "voucher_disabled",
        "promotion_inactive",
        "voucher_not_active",
        "voucher_expired",
        "voucher_not_active_now",
        "promotion_not_active_now",
        "quantity_exceeded",
        "zero_card_balance",
        "gift_amount_exceeded",
        "missing_reward",
        "loyalty_card_points_exceeded",
        "customer_rules_violated",
        "order_rules_violated",
        "redemption_rules_violated",
    }


@pytest.mark.parametrize(
    "redeemable",
    [
        voucher(discount=TEN, quantity=10, redeemed_quantity=9),
        voucher(discount=TEN, quantity=10, redeemed_quantity=8, held_by_others=1),
        voucher(discount=TEN, quantity=None, redeemed_quantity=10_000, held_by_others=5),
        voucher(discount=TEN, start_date=NOW, expiration_date=LATER),
        gift(balance=5_000, credits=5_000),
        loyalty(balance=1_000, points=1_000),
    ],
    ids=[
        "one-left",
        "one-left-with-locks",
        "unlimited",
        "starts-now",
        "gift-exact",
        "points-exact",
    ],
)
def test_gates_just_inside_the_limits(redeemable):
    outcome = run(redeemable)
    assert outcome.results[0].status == APPLICABLE
    assert outcome.valid is True


def test_gates_are_judged_in_order():
    (result,) = run(voucher(discount=TEN, active=False, expiration_date=EARLIER)).results
    assert result.key == "voucher_disabled"
    (result,) = run(
        voucher(discount=TEN, expiration_date=EARLIER, quantity=1, redeemed_quantity=1)
    ).results
    assert result.key == "voucher_expired"
    failing_rule = rule("x", {"name": "order.amount", "conditions": {"$more_than": [50_000]}})
    (result,) = run(
        voucher(discount=TEN, quantity=1, redeemed_quantity=1, rules=(failing_rule,))
    ).results
    assert result.key == "quantity_exceeded"


def test_rule_failures_come_with_the_error_object():
    custom = {
        "name": "order.amount",
        "conditions": {"$more_than_or_equal": [15_000]},
        "error": {"message": "Add 50.00 more"},
    }
    (result,) = run(voucher(discount=TEN, rules=(rule("x", custom),))).results
    error = result.error()
    assert error["error"] == {"message": "Add 50.00 more"}
    assert error["failures"] == [
        {
            "rule": "1",
            "name": "order.amount",
            "operator": "$more_than_or_equal",
            "expected": [15_000],
            "actual": 10_000,
            "message": "order amount 100.00 is below 150.00",
            "error": {"message": "Add 50.00 more"},
        }
    ]


def test_rules_see_the_customer_and_metadata():
    vip = rule("vip", {"name": "customer.segment", "conditions": {"$is": ["seg_vip"]}})
    channel = Rule(
        "val_2",
        "App only",
        {
            "1": {
                "name": "redemption.metadata",
                "property": "channel",
                "conditions": {"$is": ["app"]},
            }
        },
    )
    code = voucher(discount=TEN, rules=(vip, channel))
    customer = CustomerFacts(id="cust_1", segments=frozenset({"seg_vip"}))
    assert run(code, customer=customer, metadata={"channel": "app"}).valid
    assert run(code, customer=customer, metadata={"channel": "web"}).results[0].key == (
        "redemption_rules_violated"
    )
    assert run(code, metadata={"channel": "app"}).results[0].key == "customer_rules_violated"


# -- budgets: checked again once the discount is known -------------------------------------------

BUDGET = rule(
    "budget",
    {"name": "campaign.orders.amount_discounted", "conditions": {"$less_than_or_equal": [50_000]}},
    rule_name="Budget 500.00",
)


@pytest.mark.parametrize(
    "given, discount, status, key",
    [
        (49_000, 1_000, APPLICABLE, ""),
        (49_000, 1_001, INAPPLICABLE, "redemption_rules_violated"),
        (50_000, 1, INAPPLICABLE, "redemption_rules_violated"),
        (50_000, 0, APPLICABLE, ""),
    ],
)
def test_budget_counts_this_discount(given, discount, status, key):
    code = voucher(
        discount=amount_off(discount), counters=Counters(campaign_discounted=given), rules=(BUDGET,)
    )
    outcome = run(code)
    (result,) = outcome.results
    assert (result.status, result.key) == (status, key)
    if status == INAPPLICABLE:
        assert result.explanation == (
            f"Budget 500.00: campaign discount given {(given + discount) / 100:.2f} is above 500.00"
        )
        assert outcome.totals.total_discount_amount == 0  # the discount is taken back
    else:
        assert outcome.totals.total_discount_amount == discount


def test_a_budget_judges_what_is_left_after_earlier_discounts():
    # 90.00 off first: the budgeted 50 % then takes 5.00, which fits in the 6.00 left
    code = voucher(
        "HALF",
        percent_off(50),
        counters=Counters(campaign_discounted=49_400),
        rules=(BUDGET,),
    )
    outcome = run(voucher("BIG", amount_off(9_000)), code)
    assert [r.status for r in outcome.results] == [APPLICABLE, APPLICABLE]
    assert outcome.results[1].discount == 500


def test_an_inapplicable_found_while_stacking_fails_the_others_in_mode_all():
    code = voucher(
        "OVER", amount_off(2_000), counters=Counters(campaign_discounted=49_000), rules=(BUDGET,)
    )
    outcome = run(voucher("TEN", TEN), code)
    assert statuses(outcome) == [
        ("TEN", SKIPPED, "preceding_validation_failed"),
        ("OVER", INAPPLICABLE, "redemption_rules_violated"),
    ]
    assert outcome.valid is False
    assert outcome.totals.total_discount_amount == 0


def test_order_total_amount_rules_see_earlier_discounts():
    at_least_90 = rule(
        "total", {"name": "order.total_amount", "conditions": {"$more_than_or_equal": [9_000]}}
    )
    outcome = run(
        voucher("BIG", amount_off(2_000)),
        voucher("SMALL", TEN, rules=(at_least_90,)),
        stacking=partial(),
    )
    assert statuses(outcome) == [
        ("BIG", APPLICABLE, ""),
        ("SMALL", INAPPLICABLE, "order_rules_violated"),
    ]


# -- stacking -----------------------------------------------------------------------------------


def test_mode_all_skips_everything_when_one_is_inapplicable():
    outcome = run(voucher("A", TEN), voucher("GONE", TEN, found=False), voucher("B", TEN))
    assert statuses(outcome) == [
        ("A", SKIPPED, "preceding_validation_failed"),
        ("GONE", INAPPLICABLE, "not_found"),
        ("B", SKIPPED, "preceding_validation_failed"),
    ]
    assert outcome.results[0].message == (
        "Redeemable cannot be applied due to preceding validation failure"
    )
    assert outcome.valid is False
    assert outcome.totals.total_discount_amount == 0
    assert all(r.discount == 0 for r in outcome.results)


def test_mode_partial_applies_the_rest():
    outcome = run(
        voucher("A", TEN), voucher("GONE", TEN, found=False), voucher("B", TEN), stacking=partial()
    )
    assert statuses(outcome) == [
        ("A", APPLICABLE, ""),
        ("GONE", INAPPLICABLE, "not_found"),
        ("B", APPLICABLE, ""),
    ]
    assert outcome.valid is True
    assert outcome.totals.total_discount_amount == 2_000


def test_mode_partial_with_nothing_applicable_is_invalid():
    outcome = run(voucher("GONE", TEN, found=False), stacking=partial())
    assert outcome.valid is False


def test_nothing_asked_is_invalid():
    outcome = run()
    assert outcome.valid is False
    assert outcome.totals.total_amount == 10_000


JOINT_A = Category("cat_a", "A", hierarchy=1, stacking_rules_type="JOINT")
JOINT_B = Category("cat_b", "B", hierarchy=2, stacking_rules_type="JOINT")
EXCL_E = Category("cat_e", "E", hierarchy=3, stacking_rules_type="EXCLUSIVE")
EXCL_F = Category("cat_f", "F", hierarchy=4, stacking_rules_type="EXCLUSIVE")


@pytest.mark.parametrize(
    "stacking, redeemables, expected",
    [
        (
            partial(applicable_redeemables_limit=2),
            [voucher("A", TEN), voucher("B", TEN), voucher("C", TEN)],
            [
                ("A", APPLICABLE, ""),
                ("B", APPLICABLE, ""),
                ("C", SKIPPED, "applicable_redeemables_limit_exceeded"),
            ],
        ),
        (  # an inapplicable one does not use up the limit
            partial(applicable_redeemables_limit=2),
            [voucher("X", TEN, found=False), voucher("A", TEN), voucher("B", TEN)],
            [("X", INAPPLICABLE, "not_found"), ("A", APPLICABLE, ""), ("B", APPLICABLE, "")],
        ),
        (
            partial(applicable_redeemables_per_category_limit=1),
            [
                voucher("A1", TEN, categories=(JOINT_A,)),
                voucher("B1", TEN, categories=(JOINT_B,)),
                voucher("A2", TEN, categories=(JOINT_A,)),
                voucher("N", TEN),
            ],
            [
                ("A1", APPLICABLE, ""),
                ("B1", APPLICABLE, ""),
                ("A2", SKIPPED, "applicable_redeemables_per_category_limit_exceeded"),
                ("N", APPLICABLE, ""),
            ],
        ),
        (
            partial(applicable_exclusive_redeemables_limit=1),
            [voucher("E1", TEN, categories=(EXCL_E,)), voucher("E2", TEN, categories=(EXCL_E,))],
            [
                ("E1", APPLICABLE, ""),
                ("E2", SKIPPED, "applicable_exclusive_redeemables_limit_exceeded"),
            ],
        ),
        (
            partial(applicable_exclusive_redeemables_per_category_limit=1),
            [voucher("E1", TEN, categories=(EXCL_E,)), voucher("E2", TEN, categories=(EXCL_E,))],
            [
                ("E1", APPLICABLE, ""),
                ("E2", SKIPPED, "applicable_exclusive_redeemables_per_category_limit_exceeded"),
            ],
        ),
        (  # the first exclusive category decides: its own and JOINT ones may join
            partial(),
            [
                voucher("N", TEN),
                voucher("E1", TEN, categories=(EXCL_E,)),
                voucher("A", TEN, categories=(JOINT_A,)),
                voucher("F", TEN, categories=(EXCL_F,)),
                voucher("E2", TEN, categories=(EXCL_E,)),
                voucher("FA", TEN, categories=(EXCL_F, JOINT_A)),
            ],
            [
                ("N", SKIPPED, "exclusion_rules_not_met"),
                ("E1", APPLICABLE, ""),
                ("A", APPLICABLE, ""),
                ("F", SKIPPED, "exclusion_rules_not_met"),
                ("E2", APPLICABLE, ""),
                ("FA", APPLICABLE, ""),
            ],
        ),
        (  # without an exclusive one, everything stacks
            partial(),
            [voucher("N", TEN), voucher("A", TEN, categories=(JOINT_A,))],
            [("N", APPLICABLE, ""), ("A", APPLICABLE, "")],
        ),
        (  # an inapplicable exclusive one rules nothing out
            partial(),
            [voucher("E", TEN, categories=(EXCL_E,), active=False), voucher("N", TEN)],
            [("E", INAPPLICABLE, "voucher_disabled"), ("N", APPLICABLE, "")],
        ),
        (
            partial(redeemables_no_effect_rule="SKIP"),
            [voucher("A", fixed(20_000)), voucher("B", TEN)],
            [("A", SKIPPED, "no_effect"), ("B", APPLICABLE, "")],
        ),
        (  # nothing left to take off: the second has no effect
            partial(redeemables_no_effect_rule="SKIP"),
            [voucher("ALL", percent_off(100)), voucher("B", TEN), gift(balance=100)],
            [("ALL", APPLICABLE, ""), ("B", SKIPPED, "no_effect"), ("GIFT", SKIPPED, "no_effect")],
        ),
        (
            partial(redeemables_no_effect_rule="REDEEM_ANYWAY"),
            [voucher("A", fixed(20_000)), voucher("B", TEN)],
            [("A", APPLICABLE, ""), ("B", APPLICABLE, "")],
        ),
        (  # a skipped one uses up no limit
            partial(redeemables_no_effect_rule="SKIP", applicable_redeemables_limit=1),
            [voucher("A", fixed(20_000)), voucher("B", TEN)],
            [("A", SKIPPED, "no_effect"), ("B", APPLICABLE, "")],
        ),
    ],
    ids=[
        "limit",
        "limit-counts-applied",
        "per-category",
        "exclusive-limit",
        "exclusive-per-category",
        "exclusion",
        "no-exclusive",
        "inapplicable-exclusive",
        "no-effect-skip",
        "no-effect-nothing-left",
        "no-effect-redeem-anyway",
        "no-effect-no-limit",
    ],
)
def test_skipped_keys(stacking, redeemables, expected):
    outcome = run(*redeemables, stacking=stacking)
    assert statuses(outcome) == expected
    applied = [r for r in outcome.results if r.status == APPLICABLE]
    assert outcome.totals.total_discount_amount == sum(r.discount for r in applied)
    for result in outcome.results:
        if result.status == SKIPPED:
            assert result.discount == 0
            assert result.message


def test_sorting_requested_order_vs_category_hierarchy():
    second = voucher("TEN", TEN, categories=(JOINT_B,))
    first = voucher("HALF", percent_off(50), categories=(JOINT_A,))
    plain = voucher("PLAIN", amount_off(500))
    requested = run(second, first, plain)
    assert [(r.redeemable.id, r.discount) for r in requested.results] == [
        ("TEN", 1_000),
        ("HALF", 4_500),
        ("PLAIN", 500),
    ]
    assert requested.totals.total_amount == 4_000
    by_category = run(
        second, first, plain, stacking=StackingRules(redeemables_sorting_rule="CATEGORY_HIERARCHY")
    )
    assert [(r.redeemable.id, r.discount) for r in by_category.results] == [
        ("HALF", 5_000),
        ("TEN", 1_000),
        ("PLAIN", 500),  # no category: last
    ]
    assert by_category.totals.total_amount == 3_500


def test_category_hierarchy_ties_keep_the_requested_order():
    outcome = run(
        voucher("B", TEN, categories=(JOINT_B,)),
        voucher("A2", amount_off(200), categories=(JOINT_A,)),
        voucher("A1", amount_off(100), categories=(JOINT_A, JOINT_B)),
        stacking=StackingRules(redeemables_sorting_rule="CATEGORY_HIERARCHY"),
    )
    assert [r.redeemable.id for r in outcome.results] == ["A2", "A1", "B"]


def test_totals_follow_the_reference():
    outcome = run(
        voucher("ITEMS", percent_off(10, "APPLY_TO_ITEMS")),
        voucher("ORDER", amount_off(1_000)),
        gift(balance=2_000),
    )
    totals = outcome.totals
    assert totals.items == {0: 500, 1: 300, 2: 200}
    assert totals.items_discount_amount == sum(totals.items.values()) == 1_000
    assert totals.discount_amount == 3_000  # 10.00 order discount + 20.00 gift credits
    assert totals.total_discount_amount == totals.discount_amount + totals.items_discount_amount
    assert totals.total_amount == totals.amount - totals.total_discount_amount == 6_000
    assert totals.total_applied_discount_amount == 4_000
    # each applicable result carries the order as it stood after it
    steps = [(r.totals.total_discount_amount, r.totals.total_amount) for r in outcome.results]
    assert steps == [(1_000, 9_000), (2_000, 8_000), (4_000, 6_000)]
    assert sum(r.discount for r in outcome.results) == totals.total_applied_discount_amount


def test_thirty_redeemables():
    codes = [voucher(f"C{i:02d}", amount_off(100 + i)) for i in range(30)]
    outcome = run(*codes)
    assert outcome.valid is True
    assert [r.status for r in outcome.results] == [APPLICABLE] * 30
    assert [r.discount for r in outcome.results] == [100 + i for i in range(30)]
    assert outcome.totals.total_discount_amount == sum(100 + i for i in range(30)) == 3_435
    assert outcome.totals.total_amount == 10_000 - 3_435


def test_the_thirty_first_is_over_the_limit():
    codes = [voucher(f"C{i:02d}", amount_off(100)) for i in range(31)]
    outcome = run(*codes, stacking=partial())
    assert [r.status for r in outcome.results] == [APPLICABLE] * 30 + [SKIPPED]
    assert outcome.results[-1].key == "applicable_redeemables_limit_exceeded"
    assert outcome.totals.total_discount_amount == 3_000


def test_thirty_redeemables_of_every_kind_never_take_more_than_the_order():
    kinds = [
        amount_off(700),
        percent_off(7.5),
        percent_off(12.5, "APPLY_TO_ITEMS"),
        amount_off(333, "APPLY_TO_ITEMS_PROPORTIONALLY"),
        amount_off(50, "APPLY_TO_ITEMS_BY_QUANTITY"),
        fixed(9_900),
    ]
    codes = [voucher(f"C{i:02d}", kinds[i % len(kinds)]) for i in range(28)]
    outcome = run(*codes, gift(balance=300), loyalty(balance=500, points=200))
    assert outcome.valid is True
    totals = outcome.totals
    assert totals.total_amount == 0
    assert totals.total_discount_amount == 10_000
    assert sum(r.discount for r in outcome.results) == 10_000
    for index, line in enumerate(LINES):
        assert totals.items.get(index, 0) <= line.amount


def test_the_same_request_gives_the_same_outcome():
    redeemables = (
        voucher("A", percent_off(33.333, "APPLY_TO_ITEMS_PROPORTIONALLY")),
        gift(balance=1_234, effect="APPLY_TO_ITEMS"),
        tier("promo_x", amount_off(77, "APPLY_TO_ITEMS")),
    )
    first, second = run(*redeemables), run(*redeemables)
    assert [(r.status, r.applied.items, r.applied.order_amount) for r in first.results] == [
        (r.status, r.applied.items, r.applied.order_amount) for r in second.results
    ]
    assert first.totals == second.totals


def test_a_tier_and_a_voucher_stack():
    outcome = run(tier("promo_5", percent_off(5)), voucher("TEN", TEN))
    assert [r.discount for r in outcome.results] == [500, 1_000]
    assert outcome.valid is True


@pytest.mark.parametrize(
    "redeemable, cart, stacking",
    [
        (
            voucher(
                "OVER",
                amount_off(2_000),
                counters=Counters(campaign_discounted=49_000),
                rules=(BUDGET,),
            ),
            CART,
            StackingRules(),
        ),
        (
            voucher(
                "UNITS",
                {
                    "type": "UNIT",
                    "units": [
                        {"unit_off": 2, "unit_type": "prod_cap", "effect": "ADD_NEW_ITEMS"},
                        {"unit_off": 1, "unit_type": "prod_unknown", "effect": "ADD_NEW_ITEMS"},
                    ],
                },
            ),
            CART,
            StackingRules(),
        ),
        (
            voucher(
                "FREEBIE",
                {
                    "type": "UNIT",
                    "unit_off": 2,
                    "unit_type": "prod_free",
                    "effect": "ADD_NEW_ITEMS",
                },
            ),
            Cart(amount=0, items=(item("prod_free", 0, 1),)),
            StackingRules(redeemables_no_effect_rule="SKIP"),
        ),
    ],
    ids=["budget", "invalid-product", "no-effect-unit"],
)
def test_a_redeemable_taken_back_reports_nothing_taken(redeemable, cart, stacking):
    outcome = run(redeemable, cart=cart, stacking=stacking)
    (result,) = outcome.results
    assert result.status != APPLICABLE
    assert (result.discount, result.added) == (0, {})
    assert outcome.totals.total_discount_amount == 0
