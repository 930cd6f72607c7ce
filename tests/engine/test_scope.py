"""applicable_to through validate(): which lines a discount reaches, and how much each line gets."""

import datetime as dt

import pytest

from apps.engine.scope import scope
from apps.engine.snapshot import Cart, Item, Redeemable, Request, Rule
from apps.engine.validation import APPLICABLE, INAPPLICABLE, validate

NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
ALL = "pc_all"


def line(product, price, quantity, *collections):
    return Item(
        price=price,
        quantity=quantity,
        amount=price * quantity,
        product_id=product,
        sku_id=f"sku_{product.removeprefix('prod_')}",
        name=product,
        collections=frozenset({ALL, *collections}),
    )


LINES = (
    line("prod_a", 1_000, 3),  # 30.00
    line("prod_b", 400, 2, "pc_x"),  # 8.00
    line("prod_c", 2_500, 1),  # 25.00
    line("prod_d", 400, 5, "pc_x"),  # 20.00
)
CART = Cart(amount=8_300, items=LINES)
HALF_OFF_ITEMS = {"type": "PERCENT", "percent_off": 50, "effect": "APPLY_TO_ITEMS"}


def product(pid, **extra):
    return {"object": "product", "id": pid, **extra}


def collection(cid, **extra):
    return {"object": "products_collection", "id": cid, **extra}


def run(applicable_to, discount=HALF_OFF_ITEMS, cart=CART):
    """Validate one voucher carrying one rule with `applicable_to`; return its result."""
    rules = () if applicable_to is None else (Rule("val_scope", "Scope", {}, "", applicable_to),)
    redeemable = Redeemable(object="voucher", id="CODE", discount=discount, rules=rules)
    outcome = validate(Request(cart=cart, redeemables=(redeemable,), now=NOW))
    (result,) = outcome.results
    return outcome, result


SCOPE_CASES = [
    ("no-rule-every-line", None, {0: 1_500, 1: 400, 2: 1_250, 3: 1_000}),
    ("empty-applicable-to", {}, {0: 1_500, 1: 400, 2: 1_250, 3: 1_000}),
    ("included-product", {"included": [product("prod_a")]}, {0: 1_500}),
    (
        "included-two-products",
        {"included": [product("prod_a"), product("prod_c")]},
        {0: 1_500, 2: 1_250},
    ),
    ("included-sku", {"included": [{"object": "sku", "id": "sku_d"}]}, {3: 1_000}),
    ("included-collection", {"included": [collection("pc_x")]}, {1: 400, 3: 1_000}),
    (
        "excluded-only",
        {"excluded": [product("prod_c")]},
        {0: 1_500, 1: 400, 3: 1_000},
    ),
    (
        "excluded-wins-over-included",
        {"included": [collection("pc_x")], "excluded": [product("prod_b")]},
        {3: 1_000},
    ),
    (
        "excluded-collection",
        {"included": [collection(ALL)], "excluded": [collection("pc_x")]},
        {0: 1_500, 2: 1_250},
    ),
    # effects
    (
        "every",
        {"included": [collection(ALL, effect="APPLY_TO_EVERY")]},
        {0: 1_500, 1: 400, 2: 1_250, 3: 1_000},
    ),
    # one unit of the cheapest line; 4.00 ties between lines 1 and 3: the earlier one
    ("cheapest", {"included": [collection(ALL, effect="APPLY_TO_CHEAPEST")]}, {1: 200}),
    (
        "most-expensive",
        {"included": [collection(ALL, effect="APPLY_TO_MOST_EXPENSIVE")]},
        {2: 1_250},
    ),
    (
        "most-expensive-one-unit",
        {"included": [product("prod_a", effect="APPLY_TO_MOST_EXPENSIVE")]},
        {0: 500},
    ),
    (
        "from-cheapest-all-units",
        {"included": [collection(ALL, effect="APPLY_FROM_CHEAPEST")]},
        {0: 1_500, 1: 400, 2: 1_250, 3: 1_000},
    ),
    (
        "from-cheapest-4-units",
        {"included": [collection(ALL, effect="APPLY_FROM_CHEAPEST", aggregated_quantity_limit=4)]},
        {1: 400, 3: 400},  # 2 units of b, then 2 of the 5 units of d
    ),
    (
        "from-most-expensive-3-units",
        {
            "included": [
                collection(ALL, effect="APPLY_FROM_MOST_EXPENSIVE", aggregated_quantity_limit=3)
            ]
        },
        {2: 1_250, 0: 1_000},  # the 25.00 unit, then 2 of the 3 units of a
    ),
    (
        "from-most-expensive-1-unit",
        {
            "included": [
                collection(ALL, effect="APPLY_FROM_MOST_EXPENSIVE", aggregated_quantity_limit=1)
            ]
        },
        {2: 1_250},
    ),
    # limits
    (
        "quantity-limit-per-line",
        {"included": [collection(ALL, quantity_limit=2)]},
        {0: 1_000, 1: 400, 2: 1_250, 3: 400},
    ),
    (
        "aggregated-quantity-limit-in-line-order",
        {"included": [collection(ALL, aggregated_quantity_limit=4)]},
        {0: 1_500, 1: 200},  # 3 units of a, 1 of b
    ),
    (
        "quantity-and-aggregated-quantity",
        {"included": [collection(ALL, quantity_limit=1, aggregated_quantity_limit=3)]},
        {0: 500, 1: 200, 2: 1_250},
    ),
    (
        "amount-limit-per-line",
        {"included": [collection(ALL, amount_limit=300)]},
        {0: 300, 1: 300, 2: 300, 3: 300},
    ),
    (
        "aggregated-amount-limit",
        {"included": [collection(ALL, aggregated_amount_limit=2_000)]},
        {0: 1_500, 1: 400, 2: 100},  # in line order until the 20.00 are spent
    ),
    (
        "amount-and-aggregated-amount",
        {"included": [collection(ALL, amount_limit=700, aggregated_amount_limit=2_000)]},
        {0: 700, 1: 400, 2: 700, 3: 200},
    ),
    (
        "limits-per-target",
        {
            "included": [
                product("prod_a", amount_limit=1_000),
                product("prod_d", quantity_limit=1),
            ]
        },
        {0: 1_000, 3: 200},
    ),
    (
        "overlapping-targets-reach-the-larger",
        {"included": [collection(ALL, quantity_limit=1), product("prod_a", quantity_limit=2)]},
        {0: 1_000, 1: 200, 2: 1_250, 3: 200},
    ),
]


@pytest.mark.parametrize(
    "applicable_to, expected",
    [case[1:] for case in SCOPE_CASES],
    ids=[case[0] for case in SCOPE_CASES],
)
def test_discount_per_line(applicable_to, expected):
    outcome, result = run(applicable_to)
    assert result.status == APPLICABLE
    assert result.applied.items == expected
    assert result.applied.order_amount == 0
    assert outcome.totals.items == expected
    assert outcome.totals.items_discount_amount == sum(expected.values())
    assert outcome.totals.total_amount == 8_300 - sum(expected.values())


@pytest.mark.parametrize(
    "discount, applicable_to, expected",
    [
        (  # 1.00 off each unit in reach
            {"type": "AMOUNT", "amount_off": 100, "effect": "APPLY_TO_ITEMS_BY_QUANTITY"},
            {"included": [collection(ALL, quantity_limit=2)]},
            {0: 200, 1: 200, 2: 100, 3: 200},
        ),
        (  # 10.00 off each line in reach, never more than the line
            {"type": "AMOUNT", "amount_off": 1_000, "effect": "APPLY_TO_ITEMS"},
            {"included": [collection("pc_x")]},
            {1: 800, 3: 1_000},
        ),
        (  # 10.00 split over a (30.00) and b (8.00): 789.47 / 210.53, leftover cent to b
            {"type": "AMOUNT", "amount_off": 1_000, "effect": "APPLY_TO_ITEMS_PROPORTIONALLY"},
            {"included": [product("prod_a"), product("prod_b")]},
            {0: 789, 1: 211},
        ),
        (  # 10.00 split by quantity over a (3) and b (2)
            {
                "type": "AMOUNT",
                "amount_off": 1_000,
                "effect": "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY",
            },
            {"included": [product("prod_a"), product("prod_b")]},
            {0: 600, 1: 400},
        ),
        (  # each unit in reach costs 3.00: only a (10.00) and c (25.00) are dearer
            {"type": "FIXED", "fixed_amount": 300, "effect": "APPLY_TO_ITEMS"},
            {"included": [collection(ALL, quantity_limit=1)]},
            {0: 700, 1: 100, 2: 2_200, 3: 100},
        ),
        (  # the discount's own aggregated_amount_limit, over what the scope reached
            {
                "type": "PERCENT",
                "percent_off": 50,
                "effect": "APPLY_TO_ITEMS",
                "aggregated_amount_limit": 1_600,
            },
            {"included": [collection(ALL)]},
            {0: 1_500, 1: 100},
        ),
        (  # the cheapest unit, free
            {"type": "PERCENT", "percent_off": 100, "effect": "APPLY_TO_ITEMS"},
            {"included": [collection(ALL, effect="APPLY_TO_CHEAPEST")]},
            {1: 400},
        ),
    ],
    ids=[
        "by-quantity",
        "amount-per-line",
        "proportional",
        "proportional-qty",
        "fixed",
        "agg",
        "free",
    ],
)
def test_discount_types_within_the_scope(discount, applicable_to, expected):
    _, result = run(applicable_to, discount)
    assert result.status == APPLICABLE
    assert result.applied.items == expected


def test_an_item_discount_that_reaches_no_line_is_inapplicable():
    outcome, result = run({"included": [product("prod_hat")]})
    assert result.status == INAPPLICABLE
    assert result.key == "order_rules_violated"
    assert result.explanation == "no item in the order is one the discount applies to"
    assert outcome.valid is False
    assert outcome.totals.total_discount_amount == 0


def test_an_order_discount_does_not_need_a_line_in_reach():
    discount = {"type": "AMOUNT", "amount_off": 500, "effect": "APPLY_TO_ORDER"}
    outcome, result = run({"included": [product("prod_hat")]}, discount)
    assert result.status == APPLICABLE
    assert (result.applied.order_amount, result.applied.items) == (500, {})
    assert outcome.totals.total_amount == 7_800


def test_targets_of_several_rules_are_joined():
    rules = (
        Rule("val_1", "A", {}, "", {"included": [product("prod_a")]}),
        Rule("val_2", "C", {}, "", {"included": [product("prod_c")], "excluded": []}),
        Rule("val_3", "not A", {}, "", {"excluded": [product("prod_a")]}),
    )
    redeemable = Redeemable(object="voucher", id="CODE", discount=HALF_OFF_ITEMS, rules=rules)
    (result,) = validate(Request(cart=CART, redeemables=(redeemable,), now=NOW)).results
    assert result.applied.items == {2: 1_250}


@pytest.mark.parametrize(
    "applicable_to, units, line_caps, group_caps",
    [
        ([], None, {}, []),
        ([{"excluded": [product("prod_a")]}], {1: 2, 2: 1, 3: 5}, {}, []),
        (
            [{"included": [collection("pc_x", quantity_limit=3, amount_limit=50)]}],
            {1: 2, 3: 3},
            {1: 50, 3: 50},
            [],
        ),
        (
            [
                {
                    "included": [
                        collection(
                            ALL,
                            effect="APPLY_FROM_CHEAPEST",
                            aggregated_quantity_limit=6,
                            aggregated_amount_limit=900,
                        )
                    ]
                }
            ],
            {1: 2, 3: 4},
            {},
            [([1, 3], 900)],
        ),
        ([{"included": [product("prod_hat")]}], {}, {}, []),
    ],
    ids=["none", "excluded", "caps", "group", "nothing"],
)
def test_scope_units_and_caps(applicable_to, units, line_caps, group_caps):
    reach = scope(applicable_to, LINES)
    assert reach.units == units
    assert reach.line_caps == line_caps
    assert reach.group_caps == group_caps
    assert reach.lines == (None if units is None else {i for i, n in units.items() if n})


def test_targets_match_by_source_id():
    shoe = Item(price=100, quantity=1, amount=100, product_source_id="shoe-1", sku_source_id="s-1")
    assert shoe.matches({"object": "product", "source_id": "shoe-1"})
    assert shoe.matches({"object": "sku", "source_id": "s-1"})
    assert not shoe.matches({"object": "product", "source_id": "s-1"})
    assert not shoe.matches({"object": "product", "id": ""})
