"""Properties of validate() over random carts and random stacks of redeemables (hypothesis):
nothing goes negative, no line gives more than it costs, the parts add up to the totals, and the
same request always gives the same outcome."""

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.engine.amounts import Line, Order, compute_discount, split
from apps.engine.snapshot import Cart, Category, Item, Redeemable, Request, Rule, StackingRules
from apps.engine.validation import APPLICABLE, validate

NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
PRODUCTS = [f"prod_{n}" for n in range(6)]
UNIT_PRICES = {pid: 100 * (n + 1) for n, pid in enumerate(PRODUCTS)}
EFFECTS = [
    "APPLY_TO_ORDER",
    "APPLY_TO_ITEMS",
    "APPLY_TO_ITEMS_BY_QUANTITY",
    "APPLY_TO_ITEMS_PROPORTIONALLY",
    "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY",
]
SCOPE_EFFECTS = [
    "APPLY_TO_EVERY",
    "APPLY_TO_CHEAPEST",
    "APPLY_FROM_CHEAPEST",
    "APPLY_TO_MOST_EXPENSIVE",
    "APPLY_FROM_MOST_EXPENSIVE",
]
CATEGORIES = [
    Category("cat_j1", "J1", 1),
    Category("cat_j2", "J2", 2),
    Category("cat_e", "E", 3, "EXCLUSIVE"),
]

money = st.integers(min_value=0, max_value=1_000_000)
limit = st.none() | st.integers(min_value=0, max_value=50_000)


@st.composite
def carts(draw):
    lines = draw(
        st.lists(
            st.tuples(st.sampled_from(PRODUCTS), money, st.integers(min_value=1, max_value=20)),
            min_size=1,
            max_size=50,
        )
    )
    items = tuple(
        Item(
            price=price,
            quantity=quantity,
            amount=price * quantity,
            product_id=pid,
            collections=frozenset({f"pc_{int(pid[-1]) % 2}"}),
        )
        for pid, price, quantity in lines
    )
    return Cart(amount=sum(i.amount for i in items), items=items)


@st.composite
def discounts(draw):
    kind = draw(st.sampled_from(["AMOUNT", "PERCENT", "FIXED", "UNIT"]))
    if kind == "UNIT":
        units = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "unit_off": st.integers(min_value=1, max_value=5),
                        "unit_type": st.sampled_from(PRODUCTS),
                        "effect": st.sampled_from(["ADD_MISSING_ITEMS", "ADD_NEW_ITEMS"]),
                    }
                ),
                min_size=1,
                max_size=3,
            )
        )
        return {"type": "UNIT", "units": units}
    discount = {"type": kind, "effect": draw(st.sampled_from(EFFECTS))}
    if kind == "AMOUNT":
        discount["amount_off"] = draw(money)
    elif kind == "PERCENT":
        discount["percent_off"] = draw(
            st.sampled_from([1, 5, 10, 12.5, 33.333, 50, 66.6667, 99.99, 100])
        )
        discount["amount_limit"] = draw(limit)
    else:
        discount["fixed_amount"] = draw(money)
    if draw(st.booleans()):
        discount["aggregated_amount_limit"] = draw(st.integers(min_value=0, max_value=100_000))
    return discount


@st.composite
def rules(draw):
    """Nothing, or a rule whose applicable_to targets some products or a collection."""
    if draw(st.booleans()):
        return ()
    target = draw(
        st.sampled_from(
            [{"object": "product", "id": pid} for pid in PRODUCTS]
            + [{"object": "products_collection", "id": "pc_0"}]
        )
    )
    target = {
        **target,
        "effect": draw(st.sampled_from(SCOPE_EFFECTS)),
        "quantity_limit": draw(st.none() | st.integers(min_value=0, max_value=10)),
        "aggregated_quantity_limit": draw(st.none() | st.integers(min_value=0, max_value=30)),
        "amount_limit": draw(limit),
        "aggregated_amount_limit": draw(limit),
    }
    target = {key: value for key, value in target.items() if value is not None}
    excluded = draw(st.lists(st.sampled_from(PRODUCTS), max_size=2))
    applicable_to = {
        "included": [target],
        "excluded": [{"object": "product", "id": pid} for pid in excluded],
    }
    return (Rule("val_scope", "Scope", {}, "", applicable_to),)


@st.composite
def redeemables(draw, position):
    kind = draw(st.sampled_from(["voucher", "voucher", "tier", "gift", "loyalty"]))
    categories = tuple(draw(st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True)))
    common = {
        "id": f"R{position}",
        "requested_position": position,
        "categories": categories,
        "rules": draw(rules()),
    }
    if kind == "gift":
        balance = draw(money)
        return Redeemable(
            object="voucher",
            type="GIFT_VOUCHER",
            gift_balance=balance,
            credits=draw(st.none() | st.integers(min_value=0, max_value=balance)),
            gift_effect=draw(st.sampled_from(["APPLY_TO_ORDER", "APPLY_TO_ITEMS"])),
            **common,
        )
    if kind == "loyalty":
        balance = draw(st.integers(min_value=1, max_value=1_000_000))
        return Redeemable(
            object="voucher",
            type="LOYALTY_CARD",
            loyalty_balance=balance,
            points=draw(st.integers(min_value=1, max_value=balance)),
            **common,
        )
    return Redeemable(
        object="promotion_tier" if kind == "tier" else "voucher",
        type="PROMOTION" if kind == "tier" else "DISCOUNT_VOUCHER",
        discount=draw(discounts()),
        **common,
    )


@st.composite
def requests(draw):
    count = draw(st.integers(min_value=1, max_value=10))
    stack = tuple(draw(redeemables(position)) for position in range(count))
    stacking = StackingRules(
        redeemables_application_mode=draw(st.sampled_from(["ALL", "PARTIAL"])),
        redeemables_sorting_rule=draw(st.sampled_from(["REQUESTED_ORDER", "CATEGORY_HIERARCHY"])),
        redeemables_no_effect_rule=draw(st.sampled_from(["REDEEM_ANYWAY", "SKIP"])),
    )
    return Request(
        cart=draw(carts()),
        redeemables=stack,
        now=NOW,
        stacking=stacking,
        unit_prices=UNIT_PRICES,
    )


def snapshot(outcome):
    return (
        outcome.valid,
        [
            (r.redeemable.id, r.status, r.key, r.applied.order_amount, r.applied.items, r.added)
            for r in outcome.results
        ],
        dataclasses.asdict(outcome.totals),
        outcome.items,
    )


@settings(max_examples=200, deadline=None, database=None)
@given(requests())
def test_stacks_never_go_negative_and_add_up(request):
    outcome = validate(request)
    totals = outcome.totals
    applicable = [r for r in outcome.results if r.status == APPLICABLE]

    # units added by UNIT discounts raise the amount, at their price
    added_value = sum(
        outcome.items[index].price * units for r in applicable for index, units in r.added.items()
    )
    assert totals.amount == request.cart.amount + added_value
    assert sum(item.amount for item in outcome.items) == totals.amount

    # nothing negative, nothing more than there is to pay
    assert totals.discount_amount >= 0
    assert all(value > 0 for value in totals.items.values())
    assert totals.total_discount_amount <= totals.amount
    assert totals.total_amount == totals.amount - totals.total_discount_amount >= 0
    for index, value in totals.items.items():
        assert value <= outcome.items[index].amount

    # the parts add up to the totals
    assert totals.items_discount_amount == sum(totals.items.values())
    assert sum(r.discount for r in applicable) == totals.total_applied_discount_amount
    assert totals.total_applied_discount_amount == totals.total_discount_amount
    assert sum(r.applied.order_amount for r in applicable) == totals.applied_discount_amount
    per_line: dict[int, int] = {}
    for result in applicable:
        assert result.applied.order_amount >= 0
        for index, value in result.applied.items.items():
            assert value > 0
            per_line[index] = per_line.get(index, 0) + value
    assert per_line == totals.items

    # only applicable redeemables take anything; a gift card never pays more than its balance
    for result in outcome.results:
        if result.status != APPLICABLE:
            assert result.discount == 0
            # (`added` of a skipped UNIT discount is a known engine bug: see test_validation.py)
        if result.redeemable.type == "GIFT_VOUCHER":
            assert result.credits <= result.redeemable.gift_balance
        if result.redeemable.type == "LOYALTY_CARD":
            assert result.points <= result.redeemable.points

    # each step's totals only ever grow the discount
    steps = [r.totals.total_discount_amount for r in outcome.results if r.totals is not None]
    assert steps == sorted(steps)
    if steps:
        assert steps[-1] == totals.total_discount_amount

    if request.stacking.redeemables_application_mode == "ALL" and not outcome.valid:
        assert len(applicable) < len(outcome.results)


@settings(max_examples=100, deadline=None, database=None)
@given(requests())
def test_the_outcome_is_deterministic(request):
    assert snapshot(validate(request)) == snapshot(validate(request))


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(st.tuples(money, st.integers(min_value=1, max_value=20)), min_size=1, max_size=50),
    discounts().filter(lambda d: d["type"] != "UNIT"),
)
def test_one_discount_never_exceeds_a_line_or_the_order(lines, discount):
    order = Order(
        amount=sum(price * quantity for price, quantity in lines),
        lines=tuple(Line(price=price, quantity=quantity) for price, quantity in lines),
    )
    applied = compute_discount(discount, order)
    assert 0 <= applied.order_amount <= order.amount
    for index, value in applied.items.items():
        assert 0 < value <= order.lines[index].total


@settings(max_examples=200, deadline=None, database=None)
@given(money, st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=1, max_size=50))
def test_splits_always_add_up(total, weights):
    shares = split(total, weights)
    assert len(shares) == len(weights)
    assert all(share >= 0 for share in shares)
    if sum(weights) > 0:
        assert sum(shares) == total
        assert all(share == 0 for share, weight in zip(shares, weights, strict=True) if not weight)
    else:
        assert shares == [0] * len(weights)
