"""Discount amounts: types x effects x rounding edges, in integer cents."""

import random

import pytest

from apps.engine.amounts import Line, Order, compute_discount, percent_of, split

CART = Order(
    amount=10_000,
    lines=(
        Line(price=2_500, quantity=2),  # 50.00
        Line(price=1_000, quantity=3),  # 30.00
        Line(price=2_000, quantity=1),  # 20.00
    ),
)


@pytest.mark.parametrize(
    "amount, percent, expected",
    [
        (1_000, 10, 100),
        (1_234, 12.5, 154),  # 154.25 -> 154
        (1_235, 10, 124),  # 123.5 -> 124: half up
        (1_225, 10, 123),  # 122.5 -> 123
        (1, 50, 1),  # 0.5 cent -> 1
        (1, 49, 0),
        (999_999_999, 33.3333, 333_333_000),  # 333,332,999.67
        (0, 100, 0),
    ],
)
def test_percent_rounds_half_up_to_the_cent(amount, percent, expected):
    assert percent_of(amount, percent) == expected


@pytest.mark.parametrize(
    "total, weights, expected",
    [
        (100, [1, 1, 1], [34, 33, 33]),  # the leftover cent goes to the earliest tie
        (1_000, [5_000, 3_000, 2_000], [500, 300, 200]),
        (7, [3, 3], [4, 3]),
        (5, [0, 0], [0, 0]),
        (0, [1, 2], [0, 0]),
        (10, [1, 0, 2], [3, 0, 7]),
    ],
)
def test_splits_add_up_exactly(total, weights, expected):
    assert split(total, weights) == expected


@pytest.mark.parametrize(
    "discount, order_amount, items",
    [
        ({"type": "AMOUNT", "amount_off": 1_500, "effect": "APPLY_TO_ORDER"}, 1_500, {}),
        ({"type": "AMOUNT", "amount_off": 50_000, "effect": "APPLY_TO_ORDER"}, 10_000, {}),
        ({"type": "PERCENT", "percent_off": 15, "effect": "APPLY_TO_ORDER"}, 1_500, {}),
        (
            {
                "type": "PERCENT",
                "percent_off": 15,
                "amount_limit": 1_000,
                "effect": "APPLY_TO_ORDER",
            },
            1_000,
            {},
        ),
        ({"type": "FIXED", "fixed_amount": 7_999, "effect": "APPLY_TO_ORDER"}, 2_001, {}),
        ({"type": "FIXED", "fixed_amount": 20_000, "effect": "APPLY_TO_ORDER"}, 0, {}),
        # per line
        (
            {"type": "AMOUNT", "amount_off": 2_500, "effect": "APPLY_TO_ITEMS"},
            0,
            {0: 2_500, 1: 2_500, 2: 2_000},
        ),
        (
            {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ITEMS"},
            0,
            {0: 500, 1: 300, 2: 200},
        ),
        (
            {"type": "FIXED", "fixed_amount": 1_500, "effect": "APPLY_TO_ITEMS"},
            0,
            {0: 2_000, 2: 500},  # units cost 15.00 at most; line 1 is already cheaper
        ),
        # per unit
        (
            {"type": "AMOUNT", "amount_off": 300, "effect": "APPLY_TO_ITEMS_BY_QUANTITY"},
            0,
            {0: 600, 1: 900, 2: 300},
        ),
        (
            {"type": "AMOUNT", "amount_off": 1_200, "effect": "APPLY_TO_ITEMS_BY_QUANTITY"},
            0,
            {0: 2_400, 1: 3_000, 2: 1_200},  # never more than a unit's price
        ),
        # one amount split over the lines
        (
            {"type": "AMOUNT", "amount_off": 1_000, "effect": "APPLY_TO_ITEMS_PROPORTIONALLY"},
            0,
            {0: 500, 1: 300, 2: 200},
        ),
        (
            {
                "type": "AMOUNT",
                "amount_off": 1_000,
                "effect": "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY",
            },
            0,
            {0: 333, 1: 500, 2: 167},  # 2:3:1; the leftover cent to the largest remainder
        ),
        (
            {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ITEMS_PROPORTIONALLY"},
            0,
            {0: 500, 1: 300, 2: 200},
        ),
    ],
)
def test_types_and_effects(discount, order_amount, items):
    applied = compute_discount(discount, CART)
    assert (applied.order_amount, applied.items) == (order_amount, items)


def test_only_applicable_lines_are_touched():
    discount = {"type": "AMOUNT", "amount_off": 1_000, "effect": "APPLY_TO_ITEMS_PROPORTIONALLY"}
    assert compute_discount(discount, CART, applicable={1, 2}).items == {1: 600, 2: 400}
    assert compute_discount(discount, CART, applicable=set()).items == {}


def test_a_share_bigger_than_its_line_moves_to_lines_with_room():
    order = Order(amount=1_010, lines=(Line(price=1, quantity=10), Line(price=1_000, quantity=1)))
    discount = {
        "type": "AMOUNT",
        "amount_off": 1_000,
        "effect": "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY",
    }
    applied = compute_discount(discount, order)
    assert applied.items == {0: 10, 1: 990}  # line 0 holds only 0.10


@pytest.mark.parametrize("seed", range(40))
def test_invariants_on_random_carts(seed):
    rng = random.Random(seed)
    lines = tuple(
        Line(price=rng.randint(0, 50_000), quantity=rng.randint(1, 20))
        for _ in range(rng.randint(1, 8))
    )
    order = Order(amount=sum(line.total for line in lines), lines=lines)
    kind = rng.choice(["AMOUNT", "PERCENT", "FIXED"])
    discount = {
        "type": kind,
        "amount_off": rng.randint(1, 100_000),
        "percent_off": rng.choice([1, 5, 12.5, 33.3333, 50, 99.99, 100]),
        "fixed_amount": rng.randint(0, 100_000),
        "amount_limit": rng.choice([None, rng.randint(1, 50_000)]),
        "effect": rng.choice(
            [
                "APPLY_TO_ORDER",
                "APPLY_TO_ITEMS",
                "APPLY_TO_ITEMS_BY_QUANTITY",
                "APPLY_TO_ITEMS_PROPORTIONALLY",
                "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY",
            ]
        ),
    }
    applied = compute_discount(discount, order)
    assert 0 <= applied.total <= order.amount
    for index, value in applied.items.items():
        assert 0 < value <= lines[index].total
    if discount["effect"].startswith("APPLY_TO_ITEMS_PROPORTIONALLY") and kind == "AMOUNT":
        assert applied.total == min(discount["amount_off"], order.amount)
