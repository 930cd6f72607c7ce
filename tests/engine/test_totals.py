"""Order totals after several discounts, and gift credits."""

import random

import pytest

from apps.engine.amounts import Line, Order
from apps.engine.totals import apply_in_order, gift_credits

CART = Order(amount=10_000, lines=(Line(price=6_000, quantity=1), Line(price=2_000, quantity=2)))


def test_totals_follow_voucherifys_formulas():
    totals, applied = apply_in_order(
        CART,
        [
            ({"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ITEMS"}, {0}),
            ({"type": "AMOUNT", "amount_off": 1_000, "effect": "APPLY_TO_ORDER"}, None),
        ],
        previous_discount=500,
    )
    assert [a.total for a in applied] == [600, 1_000]
    assert totals.items == {0: 600}
    assert (totals.discount_amount, totals.items_discount_amount) == (1_500, 600)
    assert totals.total_discount_amount == 2_100
    assert totals.total_amount == 7_900
    assert (totals.applied_discount_amount, totals.items_applied_discount_amount) == (1_000, 600)
    assert totals.total_applied_discount_amount == 1_600


def test_later_discounts_see_what_earlier_ones_left():
    # 100.00 off the order, then 50 % of each line: the lines are worth nothing more to discount
    totals, applied = apply_in_order(
        CART,
        [
            ({"type": "AMOUNT", "amount_off": 9_000, "effect": "APPLY_TO_ORDER"}, None),
            ({"type": "PERCENT", "percent_off": 50, "effect": "APPLY_TO_ITEMS"}, None),
            ({"type": "AMOUNT", "amount_off": 5_000, "effect": "APPLY_TO_ORDER"}, None),
        ],
    )
    assert [a.total for a in applied] == [9_000, 1_000, 0]
    assert totals.total_amount == 0 and totals.total_discount_amount == 10_000


@pytest.mark.parametrize(
    "requested, balance, payable, expected",
    [
        (None, 5_000, 3_000, 3_000),
        (2_000, 5_000, 3_000, 2_000),
        (9_000, 5_000, 8_000, 5_000),
        (-5, 5_000, 100, 0),
        (100, 0, 100, 0),
    ],
)
def test_gift_credits_never_exceed_the_balance_or_the_bill(requested, balance, payable, expected):
    assert gift_credits(requested=requested, balance=balance, payable=payable) == expected


@pytest.mark.parametrize("seed", range(40))
def test_stacked_discounts_never_take_more_than_the_order(seed):
    rng = random.Random(seed)
    lines = tuple(
        Line(price=rng.randint(1, 20_000), quantity=rng.randint(1, 5))
        for _ in range(rng.randint(1, 6))
    )
    order = Order(amount=sum(line.total for line in lines), lines=lines)
    effects = [
        "APPLY_TO_ORDER",
        "APPLY_TO_ITEMS",
        "APPLY_TO_ITEMS_BY_QUANTITY",
        "APPLY_TO_ITEMS_PROPORTIONALLY",
        "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY",
    ]
    discounts = [
        (
            {
                "type": rng.choice(["AMOUNT", "PERCENT", "FIXED"]),
                "amount_off": rng.randint(1, 30_000),
                "percent_off": rng.choice([5, 10, 50, 100]),
                "fixed_amount": rng.randint(0, 30_000),
                "effect": rng.choice(effects),
            },
            None,
        )
        for _ in range(rng.randint(1, 30))
    ]
    totals, applied = apply_in_order(order, discounts)
    assert 0 <= totals.total_amount <= order.amount
    assert totals.total_discount_amount == sum(a.total for a in applied) <= order.amount
    for index, value in totals.items.items():
        assert 0 < value <= lines[index].total
