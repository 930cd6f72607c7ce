"""Validation rules over a snapshot: every rule name, every operator per kind, sub-rules, counters,
budgets, logic with blame, and the words a failure is explained in."""

import dataclasses
import datetime as dt

import pytest

from apps.engine.rules import (
    BOOLEAN,
    COUNT,
    ITEMS,
    META,
    MONEY,
    RULE_NAMES,
    SEGMENT,
    SUB_RULE_NAMES,
    Context,
    check,
    error_key,
    money,
)
from apps.engine.snapshot import Cart, Counters, CustomerFacts, Item, Redeemable, Rule

NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)

SHOE = Item(
    price=5_000,
    quantity=2,
    amount=10_000,
    product_id="prod_shoe",
    product_source_id="shoe-1",
    sku_id="sku_shoe_42",
    sku_source_id="shoe-1-42",
    name="Running shoe",
    metadata={"color": "red", "size": "42"},
    product_metadata={"brand": "acme", "weight": 800},
    collections=frozenset({"pc_shoes", "pc_summer"}),
)
SOCK = Item(
    price=500,
    quantity=4,
    amount=2_000,
    product_id="prod_sock",
    product_source_id="sock-1",
    sku_id="sku_sock_m",
    name="Sock",
    metadata={"color": "blue"},
    product_metadata={"brand": "knit", "weight": 50},
    collections=frozenset({"pc_apparel"}),
)
CART = Cart(
    amount=12_000,
    items=(SHOE, SOCK),
    initial_amount=13_000,
    metadata={"channel": "web", "store": "warsaw-1", "basket": 3},
)
CUSTOMER = CustomerFacts(
    id="cust_ann",
    source_id="ann@example.com",
    segments=frozenset({"seg_vip", "seg_new"}),
    metadata={"tier": "gold", "age": 30, "newsletter": True, "nickname": ""},
)


def context(**changes) -> Context:
    """A context around CART and CUSTOMER; `counters`, `credits` and `holder` go on the
    redeemable, everything else on the context."""
    redeemable = Redeemable(
        object="voucher",
        id="CODE",
        counters=changes.pop("counters", Counters()),
        credits=changes.pop("credits", None),
        holder_id=changes.pop("holder", ""),
    )
    base = {"cart": CART, "redeemable": redeemable, "now": NOW, "customer": CUSTOMER}
    return Context(**{**base, **changes})


def rule(*conditions, logic=None, error_message="") -> Rule:
    rules = {str(number): condition for number, condition in enumerate(conditions, start=1)}
    if logic is not None:
        rules["logic"] = logic
    return Rule(id="val_test", name="Test rule", rules=rules, error_message=error_message)


def cond(name, operator, values, *, prop=None, sub=None, message=None) -> dict:
    condition = {"name": name, "conditions": {operator: values}}
    if prop is not None:
        condition["property"] = prop
    if sub is not None:
        condition["rules"] = sub
    if message is not None:
        condition["error"] = {"message": message}
    return condition


def passes(condition: dict, **changes) -> bool:
    return check(rule(condition), context(**changes)).passed


# -- every rule name: one passing and one failing case at least ----------------------------------

# (id, condition, context changes, passes?)
NAME_CASES = [
    # customer
    ("segment-is", cond("customer.segment", "$is", ["seg_vip"]), {}, True),
    ("segment-is-miss", cond("customer.segment", "$is", ["seg_gold"]), {}, False),
    ("customer-meta-is", cond("customer.metadata", "$is", ["gold"], prop="tier"), {}, True),
    ("customer-meta-is-miss", cond("customer.metadata", "$is", ["silver"], prop="tier"), {}, False),
    # order amounts
    ("order-amount-at-least", cond("order.amount", "$more_than_or_equal", [12_000]), {}, True),
    ("order-amount-above", cond("order.amount", "$more_than", [12_000]), {}, False),
    ("total-amount-default", cond("order.total_amount", "$is", [12_000]), {}, True),
    (
        "total-amount-after-earlier",
        cond("order.total_amount", "$less_than", [9_000]),
        {"total_amount": 8_000},
        True,
    ),
    (
        "total-amount-after-earlier-miss",
        cond("order.total_amount", "$more_than_or_equal", [9_000]),
        {"total_amount": 8_000},
        False,
    ),
    ("initial-amount", cond("order.initial_amount", "$is", [13_000]), {}, True),
    ("initial-amount-miss", cond("order.initial_amount", "$is", [12_000]), {}, False),
    (
        "initial-amount-defaults-to-amount",
        cond("order.initial_amount", "$is", [12_000]),
        {"cart": dataclasses.replace(CART, initial_amount=None)},
        True,
    ),
    ("items-count-is-units", cond("order.items.count", "$is", [6]), {}, True),
    ("items-count-miss", cond("order.items.count", "$more_than", [6]), {}, False),
    ("price-any", cond("order.items.price_any", "$more_than", [4_000]), {}, True),
    ("price-any-miss", cond("order.items.price_any", "$more_than", [5_000]), {}, False),
    ("price-each", cond("order.items.price_each", "$more_than_or_equal", [500]), {}, True),
    ("price-each-miss", cond("order.items.price_each", "$more_than", [500]), {}, False),
    (
        "price-each-empty-cart",
        cond("order.items.price_each", "$more_than", [500]),
        {"cart": Cart(amount=0)},
        True,
    ),
    (
        "item-meta-any",
        cond("order.items.metadata_any", "$is", ["blue"], prop="color"),
        {},
        True,
    ),
    (
        "item-meta-any-miss",
        cond("order.items.metadata_any", "$is", ["green"], prop="color"),
        {},
        False,
    ),
    (
        "item-meta-each",
        cond("order.items.metadata_each", "$in", ["red", "blue"], prop="color"),
        {},
        True,
    ),
    (
        "item-meta-each-miss",
        cond("order.items.metadata_each", "$is", ["red"], prop="color"),
        {},
        False,
    ),
    ("order-meta", cond("order.metadata", "$is", ["web"], prop="channel"), {}, True),
    ("order-meta-miss", cond("order.metadata", "$is", ["pos"], prop="channel"), {}, False),
    # order items
    ("items-any", cond("order.items.any", "$is", [{"id": "prod_sock"}]), {}, True),
    ("items-any-miss", cond("order.items.any", "$is", [{"id": "prod_hat"}]), {}, False),
    (
        "items-every",
        cond("order.items.every", "$in", [{"id": "prod_shoe"}, {"id": "prod_sock"}]),
        {},
        True,
    ),
    ("items-every-miss", cond("order.items.every", "$in", [{"id": "prod_shoe"}]), {}, False),
    (
        "items-every-empty-cart",
        cond("order.items.every", "$is", [{"id": "prod_shoe"}]),
        {"cart": Cart(amount=0)},
        False,
    ),
    ("items-none", cond("order.items.none", "$is", [{"id": "prod_hat"}]), {}, True),
    ("items-none-miss", cond("order.items.none", "$is", [{"id": "prod_sock"}]), {}, False),
    ("cheapest", cond("order.items.cheapest", "$is", [{"id": "prod_sock"}]), {}, True),
    ("cheapest-miss", cond("order.items.cheapest", "$is", [{"id": "prod_shoe"}]), {}, False),
    (
        "most-expensive",
        cond("order.items.most_expensive", "$is", [{"id": "prod_shoe"}]),
        {},
        True,
    ),
    (
        "most-expensive-miss",
        cond("order.items.most_expensive", "$is", [{"id": "prod_sock"}]),
        {},
        False,
    ),
    # product and SKU
    ("product-id", cond("product.id", "$is", [{"id": "prod_shoe"}]), {}, True),
    ("product-id-plain-string", cond("product.id", "$is", ["prod_shoe"]), {}, True),
    (
        "product-id-source-id",
        cond("product.id", "$is", [{"source_id": "sock-1"}]),
        {},
        True,
    ),
    ("product-id-miss", cond("product.id", "$is", [{"id": "prod_hat"}]), {}, False),
    ("product-price", cond("product.price", "$is", [5_000]), {}, True),
    ("product-price-miss", cond("product.price", "$more_than", [5_000]), {}, False),
    ("product-quantity", cond("product.quantity", "$is", [6]), {}, True),
    ("product-quantity-miss", cond("product.quantity", "$less_than", [6]), {}, False),
    ("product-meta", cond("product.metadata", "$is", ["knit"], prop="brand"), {}, True),
    ("product-meta-miss", cond("product.metadata", "$is", ["zeta"], prop="brand"), {}, False),
    ("sku-id", cond("sku.id", "$is", [{"id": "sku_sock_m"}]), {}, True),
    ("sku-id-source-id", cond("sku.id", "$is", [{"source_id": "shoe-1-42"}]), {}, True),
    ("sku-id-product-id-is-not-a-sku", cond("sku.id", "$is", [{"id": "prod_shoe"}]), {}, False),
    ("sku-price", cond("sku.price", "$less_than_or_equal", [5_000]), {}, True),
    ("sku-price-miss", cond("sku.price", "$less_than", [5_000]), {}, False),
    ("sku-quantity", cond("sku.quantity", "$more_than_or_equal", [6]), {}, True),
    ("sku-quantity-miss", cond("sku.quantity", "$more_than", [6]), {}, False),
    # campaign counters: the counts include this redemption
    (
        "campaign-count",
        cond("campaign.redemptions.count", "$less_than_or_equal", [100]),
        {"counters": Counters(campaign_total=99)},
        True,
    ),
    (
        "campaign-count-full",
        cond("campaign.redemptions.count", "$less_than_or_equal", [100]),
        {"counters": Counters(campaign_total=100)},
        False,
    ),
    (
        "campaign-daily",
        cond("campaign.redemptions.count.daily", "$less_than_or_equal", [10]),
        {"counters": Counters(campaign_daily=9, campaign_total=500)},
        True,
    ),
    (
        "campaign-daily-full",
        cond("campaign.redemptions.count.daily", "$less_than_or_equal", [10]),
        {"counters": Counters(campaign_daily=10)},
        False,
    ),
    (
        "campaign-weekly",
        cond("campaign.redemptions.count.weekly", "$less_than", [50]),
        {"counters": Counters(campaign_weekly=48)},
        True,
    ),
    (
        "campaign-weekly-full",
        cond("campaign.redemptions.count.weekly", "$less_than", [50]),
        {"counters": Counters(campaign_weekly=49)},
        False,
    ),
    (
        "campaign-monthly",
        cond("campaign.redemptions.count.monthly", "$less_than_or_equal", [200]),
        {"counters": Counters(campaign_monthly=199)},
        True,
    ),
    (
        "campaign-monthly-full",
        cond("campaign.redemptions.count.monthly", "$less_than_or_equal", [200]),
        {"counters": Counters(campaign_monthly=200)},
        False,
    ),
    (
        "campaign-customers",
        cond("campaign.redemptions.customers_count", "$less_than_or_equal", [3]),
        {"counters": Counters(campaign_customers=2)},
        True,
    ),
    (
        "campaign-customers-full",
        cond("campaign.redemptions.customers_count", "$less_than_or_equal", [3]),
        {"counters": Counters(campaign_customers=3)},
        False,
    ),
    (
        "campaign-orders-amount",
        cond("campaign.orders.amount", "$less_than", [1_000_000]),
        {"counters": Counters(campaign_orders_amount=999_999)},
        True,
    ),
    (
        "campaign-orders-amount-does-not-count-this-one",
        cond("campaign.orders.amount", "$less_than", [1_000_000]),
        {"counters": Counters(campaign_orders_amount=1_000_000)},
        False,
    ),
    # the budget: what was given plus this redemption's own discount
    (
        "budget",
        cond("campaign.orders.amount_discounted", "$less_than_or_equal", [50_000]),
        {"counters": Counters(campaign_discounted=45_000), "pending_discount": 5_000},
        True,
    ),
    (
        "budget-overrun-by-one-cent",
        cond("campaign.orders.amount_discounted", "$less_than_or_equal", [50_000]),
        {"counters": Counters(campaign_discounted=45_000), "pending_discount": 5_001},
        False,
    ),
    (
        "budget-before-the-discount-is-known",
        cond("campaign.orders.amount_discounted", "$less_than_or_equal", [50_000]),
        {"counters": Counters(campaign_discounted=50_000)},
        True,
    ),
    # per customer
    (
        "per-customer",
        cond("redemption.count.per_customer", "$less_than_or_equal", [1]),
        {"counters": Counters(customer_total=0)},
        True,
    ),
    (
        "per-customer-used",
        cond("redemption.count.per_customer", "$less_than_or_equal", [1]),
        {"counters": Counters(customer_total=1)},
        False,
    ),
    (
        "per-customer-daily",
        cond("redemption.count.per_customer.daily", "$less_than_or_equal", [2]),
        {"counters": Counters(customer_daily=1, customer_total=40)},
        True,
    ),
    (
        "per-customer-daily-used",
        cond("redemption.count.per_customer.daily", "$less_than_or_equal", [2]),
        {"counters": Counters(customer_daily=2)},
        False,
    ),
    (
        "per-customer-weekly",
        cond("redemption.count.per_customer.weekly", "$less_than", [3]),
        {"counters": Counters(customer_weekly=1)},
        True,
    ),
    (
        "per-customer-weekly-used",
        cond("redemption.count.per_customer.weekly", "$less_than", [3]),
        {"counters": Counters(customer_weekly=2)},
        False,
    ),
    (
        "per-customer-monthly",
        cond("redemption.count.per_customer.monthly", "$is", [5]),
        {"counters": Counters(customer_monthly=4)},
        True,
    ),
    (
        "per-customer-monthly-miss",
        cond("redemption.count.per_customer.monthly", "$is", [5]),
        {"counters": Counters(customer_monthly=5)},
        False,
    ),
    # redemption
    (
        "redemption-meta",
        cond("redemption.metadata", "$is", ["kiosk"], prop="source"),
        {"metadata": {"source": "kiosk"}},
        True,
    ),
    (
        "redemption-meta-miss",
        cond("redemption.metadata", "$is", ["kiosk"], prop="source"),
        {"metadata": {"source": "app"}},
        False,
    ),
    (
        "gift-amount",
        cond("redemption.gift.amount", "$less_than_or_equal", [5_000]),
        {"credits": 5_000},
        True,
    ),
    (
        "gift-amount-miss",
        cond("redemption.gift.amount", "$less_than_or_equal", [5_000]),
        {"credits": 5_001},
        False,
    ),
    (
        "gift-amount-not-asked-is-zero",
        cond("redemption.gift.amount", "$is", [0]),
        {},
        True,
    ),
    # publication
    (
        "holder",
        cond("publication.redeemable_by_linked_customer", "$is", [True]),
        {"holder": "cust_ann"},
        True,
    ),
    (
        "holder-other",
        cond("publication.redeemable_by_linked_customer", "$is", [True]),
        {"holder": "cust_bob"},
        False,
    ),
    (
        "holder-none",
        cond("publication.redeemable_by_linked_customer", "$is", [True]),
        {},
        False,
    ),
    (
        "holder-anonymous",
        cond("publication.redeemable_by_linked_customer", "$is", [True]),
        {"holder": "cust_ann", "customer": None},
        False,
    ),
    # custom event
    (
        "event-meta",
        cond("custom_event.metadata", "$is", ["signup"], prop="kind"),
        {"event_metadata": {"kind": "signup"}},
        True,
    ),
    (
        "event-meta-miss",
        cond("custom_event.metadata", "$is", ["signup"], prop="kind"),
        {},
        False,
    ),
]


@pytest.mark.parametrize(
    "condition, changes, expected",
    [case[1:] for case in NAME_CASES],
    ids=[case[0] for case in NAME_CASES],
)
def test_every_rule_name(condition, changes, expected):
    outcome = check(rule(condition), context(**changes))
    assert outcome.passed is expected
    assert bool(outcome.failures) is not expected
    if not expected:
        assert {f.name for f in outcome.failures} == {condition["name"]}


def test_the_table_covers_every_rule_name_passing_and_failing():
    seen = {}
    for _, condition, _, expected in NAME_CASES:
        seen.setdefault(condition["name"], set()).add(expected)
    assert set(seen) == set(RULE_NAMES)
    assert {name for name, outcomes in seen.items() if outcomes != {True, False}} == set()


# -- every operator per kind --------------------------------------------------------------------

NUMBER_CASES = [
    # operator, values, found, passes
    ("$is", [12_000], 12_000, True),
    ("$is", [12_001], 12_000, False),
    ("$is_not", [12_001], 12_000, True),
    ("$is_not", [12_000], 12_000, False),
    ("$in", [1, 12_000], 12_000, True),
    ("$in", [1, 2], 12_000, False),
    ("$not_in", [1, 2], 12_000, True),
    ("$not_in", [1, 12_000], 12_000, False),
    ("$more_than", [11_999], 12_000, True),
    ("$more_than", [12_000], 12_000, False),
    ("$more_than_or_equal", [12_000], 12_000, True),
    ("$more_than_or_equal", [12_001], 12_000, False),
    ("$less_than", [12_001], 12_000, True),
    ("$less_than", [12_000], 12_000, False),
    ("$less_than_or_equal", [12_000], 12_000, True),
    ("$less_than_or_equal", [11_999], 12_000, False),
    ("$more_than", ["11999"], 12_000, True),  # numbers sent as strings compare as numbers
    ("$more_than", ["lots"], 12_000, False),  # not a number: never holds
    ("$more_than", [], 12_000, False),
]


@pytest.mark.parametrize("operator, values, found, expected", NUMBER_CASES)
@pytest.mark.parametrize("name", ["order.amount", "campaign.orders.amount"])
def test_number_operators_on_money(name, operator, values, found, expected):
    changes = (
        {"cart": dataclasses.replace(CART, amount=found)}
        if name == "order.amount"
        else {"counters": Counters(campaign_orders_amount=found)}
    )
    assert passes(cond(name, operator, values), **changes) is expected


@pytest.mark.parametrize(
    "operator, values, expected",
    [
        ("$is", [6], True),
        ("$is_not", [6], False),
        ("$in", [5, 6, 7], True),
        ("$not_in", [5, 7], True),
        ("$more_than", [5], True),
        ("$more_than_or_equal", [7], False),
        ("$less_than", [6], False),
        ("$less_than_or_equal", [6], True),
    ],
)
def test_number_operators_on_counts(operator, values, expected):
    assert passes(cond("order.items.count", operator, values)) is expected


METADATA_CASES = [
    # property, operator, values, passes
    ("tier", "$is", ["gold"], True),
    ("tier", "$is", ["GOLD"], False),  # text is compared exactly
    ("tier", "$is_not", ["silver"], True),
    ("tier", "$is_not", ["gold"], False),
    ("tier", "$in", ["silver", "gold"], True),
    ("tier", "$in", ["silver", "bronze"], False),
    ("tier", "$not_in", ["silver", "bronze"], True),
    ("tier", "$not_in", ["gold"], False),
    ("tier", "$starts_with", ["go"], True),
    ("tier", "$starts_with", ["ol"], False),
    ("tier", "$ends_with", ["ld"], True),
    ("tier", "$ends_with", ["go"], False),
    ("tier", "$contains", ["ol"], True),
    ("tier", "$contains", ["x"], False),
    ("tier", "$not_contain", ["x"], True),
    ("tier", "$not_contain", ["ol"], False),
    ("tier", "$has_value", [], True),
    ("nickname", "$has_value", [], False),  # an empty string is no value
    ("missing", "$has_value", [], False),
    ("missing", "$is_unknown", [], True),
    ("nickname", "$is_unknown", [], True),
    ("tier", "$is_unknown", [], False),
    ("age", "$is", [30], True),
    ("age", "$is", ["30"], True),
    ("age", "$more_than", [29], True),
    ("age", "$more_than_or_equal", [31], False),
    ("age", "$less_than", [31], True),
    ("age", "$less_than_or_equal", [29], False),
    ("missing", "$less_than", [100], False),  # no value: no comparison holds
    ("missing", "$is_not", ["gold"], True),
    ("newsletter", "$is", [True], True),
    ("newsletter", "$is", ["true"], True),
    ("newsletter", "$is", [False], False),
]


@pytest.mark.parametrize(
    "prop, operator, values, expected",
    METADATA_CASES,
    ids=[f"{c[0]}{c[1]}{c[2]}" for c in METADATA_CASES],
)
def test_metadata_operators_read_the_property(prop, operator, values, expected):
    assert passes(cond("customer.metadata", operator, values, prop=prop)) is expected


@pytest.mark.parametrize(
    "name, prop, changes",
    [
        ("order.metadata", "store", {}),
        ("redemption.metadata", "store", {"metadata": {"store": "warsaw-1"}}),
        ("custom_event.metadata", "store", {"event_metadata": {"store": "warsaw-1"}}),
        ("order.items.metadata_any", "store", {}),
        ("product.metadata", "store", {}),
    ],
)
def test_every_metadata_rule_reads_its_own_property(name, prop, changes):
    if name in ("order.items.metadata_any", "product.metadata"):
        shoe = dataclasses.replace(
            SHOE, metadata={"store": "warsaw-1"}, product_metadata={"store": "warsaw-1"}
        )
        changes = {"cart": dataclasses.replace(CART, items=(shoe, SOCK))}
    assert passes(cond(name, "$is", ["warsaw-1"], prop=prop), **changes)
    assert not passes(cond(name, "$is", ["warsaw-1"], prop="other"), **changes)
    assert not passes(cond(name, "$is", ["krakow-2"], prop=prop), **changes)


SEGMENT_CASES = [
    # operator, values, segments (None: no customer), passes
    ("$is", ["seg_vip"], {"seg_vip", "seg_new"}, True),
    ("$is", [{"id": "seg_vip"}], {"seg_vip"}, True),
    ("$is", ["seg_vip", "seg_new"], {"seg_vip", "seg_new"}, True),
    ("$is", ["seg_vip", "seg_gold"], {"seg_vip"}, False),  # $is: in every one named
    ("$is", ["seg_vip"], set(), False),
    ("$is", ["seg_vip"], None, False),
    ("$in", ["seg_gold", "seg_vip"], {"seg_vip"}, True),
    ("$in", ["seg_gold", "seg_silver"], {"seg_vip"}, False),
    ("$in", ["seg_vip"], None, False),
    ("$is_not", ["seg_gold"], {"seg_vip"}, True),
    ("$is_not", ["seg_vip"], {"seg_vip"}, False),
    ("$is_not", ["seg_vip"], None, True),
    ("$not_in", ["seg_gold", "seg_silver"], {"seg_vip"}, True),
    ("$not_in", ["seg_gold", "seg_vip"], {"seg_vip"}, False),
    ("$not_in", ["seg_gold"], set(), True),
]


@pytest.mark.parametrize("operator, values, segments, expected", SEGMENT_CASES)
def test_customer_segment_operators(operator, values, segments, expected):
    customer = None if segments is None else CustomerFacts(id="c", segments=frozenset(segments))
    condition = cond("customer.segment", operator, values)
    assert passes(condition, customer=customer) is expected


ITEM_CASES = [
    # name, operator, targets, passes
    ("product.id", "$is", [{"id": "prod_shoe"}, {"id": "prod_sock"}], True),
    ("product.id", "$is", [{"id": "prod_shoe"}, {"id": "prod_hat"}], False),  # $is: all of them
    ("product.id", "$in", [{"id": "prod_hat"}, {"id": "prod_shoe"}], True),  # $in: any of them
    ("product.id", "$in", [{"id": "prod_hat"}, {"id": "prod_cap"}], False),
    ("product.id", "$is_not", [{"id": "prod_hat"}], True),
    ("product.id", "$is_not", [{"id": "prod_shoe"}], False),
    ("product.id", "$not_in", [{"id": "prod_hat"}, {"id": "prod_cap"}], True),
    ("product.id", "$not_in", [{"id": "prod_hat"}, {"id": "prod_sock"}], False),
    ("sku.id", "$is", [{"id": "sku_shoe_42"}], True),
    ("sku.id", "$in", [{"id": "sku_shoe_43"}, {"id": "sku_sock_m"}], True),
    ("sku.id", "$is_not", [{"id": "sku_shoe_42"}], False),
    ("sku.id", "$not_in", [{"id": "sku_shoe_43"}], True),
    # collections, through Item.collections
    ("order.items.any", "$is", [{"object": "products_collection", "id": "pc_shoes"}], True),
    ("order.items.any", "$is", [{"object": "products_collection", "id": "pc_toys"}], False),
    (
        "order.items.every",
        "$in",
        [
            {"object": "products_collection", "id": "pc_shoes"},
            {"object": "products_collection", "id": "pc_apparel"},
        ],
        True,
    ),
    ("order.items.every", "$is", [{"object": "products_collection", "id": "pc_shoes"}], False),
    ("order.items.every", "$is_not", [{"id": "prod_hat"}], True),
    ("order.items.every", "$not_in", [{"id": "prod_sock"}], False),
    ("order.items.none", "$is", [{"object": "products_collection", "id": "pc_toys"}], True),
    ("order.items.none", "$in", [{"object": "products_collection", "id": "pc_summer"}], False),
    ("order.items.any", "$is_not", [{"object": "sku", "id": "sku_sock_m"}], False),
    ("order.items.any", "$in", [{"object": "sku", "id": "sku_sock_m"}], True),
    ("order.items.cheapest", "$in", [{"id": "prod_hat"}, {"id": "prod_sock"}], True),
    ("order.items.cheapest", "$is_not", [{"id": "prod_sock"}], False),
    ("order.items.cheapest", "$not_in", [{"id": "prod_shoe"}], True),
    ("order.items.most_expensive", "$in", [{"id": "prod_hat"}, {"id": "prod_shoe"}], True),
    ("order.items.most_expensive", "$is_not", [{"id": "prod_shoe"}], False),
    ("order.items.most_expensive", "$is", [{"object": "sku", "id": "sku_shoe_42"}], True),
]


@pytest.mark.parametrize("name, operator, targets, expected", ITEM_CASES)
def test_item_operators(name, operator, targets, expected):
    assert passes(cond(name, operator, targets)) is expected


def test_every_kind_has_every_operator_tested():
    tested = {
        MONEY: {c[0] for c in NUMBER_CASES},
        COUNT: {c[0] for c in NUMBER_CASES},
        META: {c[1] for c in METADATA_CASES},
        SEGMENT: {c[0] for c in SEGMENT_CASES},
        ITEMS: {c[1] for c in ITEM_CASES},
        BOOLEAN: {"$is"},
    }
    for name, (kind, _, operators) in RULE_NAMES.items():
        assert set(operators) <= tested[kind], name


# -- sub-rules over the matched items -----------------------------------------------------------

SHOE_RED = dataclasses.replace(SHOE, quantity=1, amount=5_000, sku_id="sku_shoe_41")
THREE = Cart(amount=17_000, items=(SHOE, SHOE_RED, SOCK))


@pytest.mark.parametrize(
    "target, sub, expected",
    [
        ({"id": "prod_shoe"}, cond("product.quantity", "$more_than_or_equal", [3]), True),
        ({"id": "prod_shoe"}, cond("product.quantity", "$more_than", [3]), False),
        ({"id": "prod_sock"}, cond("product.quantity", "$is", [4]), True),
        ({"id": "prod_shoe"}, cond("product.price", "$more_than_or_equal", [5_000]), True),
        ({"id": "prod_sock"}, cond("product.price", "$more_than_or_equal", [5_000]), False),
        ({"id": "prod_shoe"}, cond("order.items.quantity", "$is", [3]), True),
        ({"id": "prod_shoe"}, cond("order.items.aggregated_quantity", "$is", [3]), True),
        ({"id": "prod_shoe"}, cond("order.items.aggregated_amount", "$is", [15_000]), True),
        ({"id": "prod_shoe"}, cond("order.items.aggregated_amount", "$more_than", [15_000]), False),
        ({"id": "prod_shoe"}, cond("order.items.price", "$is", [5_000]), True),
        ({"id": "prod_shoe"}, cond("product.metadata", "$is", ["acme"], prop="brand"), True),
        ({"id": "prod_sock"}, cond("product.metadata", "$is", ["acme"], prop="brand"), False),
        (
            {"object": "sku", "id": "sku_shoe_42"},
            cond("sku.quantity", "$is", [2]),
            True,
        ),
        (
            {"object": "sku", "id": "sku_shoe_41"},
            cond("sku.quantity", "$more_than", [1]),
            False,
        ),
        ({"object": "sku", "id": "sku_sock_m"}, cond("sku.price", "$is", [500]), True),
        (
            {"object": "products_collection", "id": "pc_shoes"},
            cond("order.items.aggregated_quantity", "$more_than_or_equal", [3]),
            True,
        ),
    ],
)
def test_sub_rules_look_at_the_items_matched(target, sub, expected):
    name = "sku.id" if target.get("object") == "sku" else "product.id"
    condition = cond(name, "$is", [target], sub={"1": sub, "logic": "1"})
    outcome = check(rule(condition), context(cart=THREE))
    assert outcome.passed is expected
    if not expected:
        assert [f.rule for f in outcome.failures] == ["1.1", "1"]
        assert outcome.failures[0].name == sub["name"]


def test_sub_rules_of_every_and_of_any():
    sub = {
        "1": cond("order.items.aggregated_quantity", "$more_than_or_equal", [7]),
        "2": cond("order.items.aggregated_amount", "$less_than", [18_000]),
        "logic": "1 and 2",
    }
    every = cond("order.items.every", "$in", [{"id": "prod_shoe"}, {"id": "prod_sock"}], sub=sub)
    assert check(rule(every), context(cart=THREE)).passed  # 7 units worth 170.00
    stricter = {**sub, "2": cond("order.items.aggregated_amount", "$less_than", [17_000])}
    every["rules"] = stricter
    outcome = check(rule(every), context(cart=THREE))
    assert not outcome.passed
    assert [f.rule for f in outcome.failures] == ["1.2", "1"]
    assert outcome.failures[0].message == "total amount 170.00 is not below 170.00"


def test_sub_rules_with_logic_or():
    sub = {
        "1": cond("product.quantity", "$more_than", [10]),
        "2": cond("product.price", "$more_than", [4_000]),
        "logic": "1 or 2",
    }
    assert check(rule(cond("product.id", "$is", [{"id": "prod_shoe"}], sub=sub)), context()).passed
    outcome = check(rule(cond("product.id", "$is", [{"id": "prod_sock"}], sub=sub)), context())
    assert [f.rule for f in outcome.failures] == ["1.1", "1.2", "1"]


@pytest.mark.parametrize(
    "sub",
    [
        cond("product.metadata.aggregated_quantity", "$more_than_or_equal", [3]),
        cond("product.metadata.aggregated_amount", "$more_than_or_equal", [15_000]),
    ],
    ids=["aggregated_quantity", "aggregated_amount"],
)
def test_product_metadata_aggregated_sub_rules(sub):
    condition = cond("product.id", "$is", [{"id": "prod_shoe"}], sub={"1": sub, "logic": "1"})
    assert check(rule(condition), context(cart=THREE)).passed


def test_every_sub_rule_name_is_known():
    known = {
        "order.items.quantity",
        "order.items.aggregated_quantity",
        "order.items.price",
        "order.items.aggregated_amount",
        "product.quantity",
        "product.price",
        "product.metadata",
        "product.metadata.aggregated_quantity",
        "product.metadata.aggregated_amount",
        "sku.quantity",
        "sku.price",
    }
    assert set(SUB_RULE_NAMES) == known


def test_an_unknown_name_fails_and_says_so():
    outcome = check(rule(cond("order.weather", "$is", ["sunny"])), context())
    assert not outcome.passed
    assert outcome.failures[0].message == "rule 1: “order.weather” is not a rule name"


def test_all_operators_of_one_condition_must_hold():
    both = {"name": "order.amount", "conditions": {"$more_than": [10_000], "$less_than": [20_000]}}
    assert passes(both)
    outside = {
        "name": "order.amount",
        "conditions": {"$more_than": [10_000], "$less_than": [12_000]},
    }
    outcome = check(rule(outside), context())
    assert [f.operator for f in outcome.failures] == ["$less_than"]


# -- logic and blame ----------------------------------------------------------------------------

YES = cond("order.amount", "$more_than", [0])


def unmet(n):
    return cond("order.items.count", "$more_than", [100 + n])


@pytest.mark.parametrize(
    "conditions, logic, passed, blamed",
    [
        ((YES, YES, unmet(3)), "(1 and 2) or 3", True, []),
        ((unmet(1), YES, YES), "(1 and 2) or 3", True, []),
        ((unmet(1), YES, unmet(3)), "(1 and 2) or 3", False, ["1", "3"]),
        ((YES, unmet(2), unmet(3)), "(1 and 2) or 3", False, ["2", "3"]),
        ((unmet(1), unmet(2), unmet(3)), "(1 and 2) or 3", False, ["1", "2", "3"]),
        ((YES, unmet(2), YES), "1 and (2 or 3)", True, []),
        ((YES, unmet(2), unmet(3)), "1 and (2 or 3)", False, ["2", "3"]),
        ((unmet(1), unmet(2), YES), "1 and (2 or 3)", False, ["1"]),
        ((YES, unmet(2), unmet(3)), None, False, ["2", "3"]),  # no logic: every rule must hold
        ((unmet(1), YES, YES), "2 AND 3 OR 1", True, []),
    ],
)
def test_logic_and_which_rules_are_blamed(conditions, logic, passed, blamed):
    outcome = check(rule(*conditions, logic=logic), context())
    assert outcome.passed is passed
    assert [f.rule for f in outcome.failures] == blamed


# -- explanations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition, changes, message",
    [
        (
            cond("order.amount", "$more_than_or_equal", [10_000]),
            {"cart": Cart(amount=8_400)},
            "order amount 84.00 is below 100.00",
        ),
        (
            cond("order.amount", "$more_than", [10_000]),
            {"cart": Cart(amount=10_000)},
            "order amount 100.00 is not above 100.00",
        ),
        (
            cond("order.amount", "$less_than", [5_000]),
            {},
            "order amount 120.00 is not below 50.00",
        ),
        (
            cond("order.amount", "$less_than_or_equal", [5_005]),
            {},
            "order amount 120.00 is above 50.05",
        ),
        (
            cond("order.amount", "$is", [5_000]),
            {},
            "order amount is 120.00, not 50.00",
        ),
        (
            cond("order.amount", "$in", [100, 200]),
            {},
            "order amount is 120.00, not one of 1.00, 2.00",
        ),
        (
            cond("order.items.count", "$more_than_or_equal", [10]),
            {},
            "number of items in the order 6 is below 10",
        ),
        (
            cond("order.items.price_any", "$more_than", [9_000]),
            {},
            "price of some item must be above 90.00 (found 50.00, 5.00)",
        ),
        (
            cond("customer.metadata", "$is", ["silver"], prop="tier"),
            {},
            "customer metadata “tier” is gold, not silver",
        ),
        (
            cond("customer.metadata", "$is_not", ["gold"], prop="tier"),
            {},
            "customer metadata “tier” is gold, which is excluded",
        ),
        (
            cond("customer.metadata", "$starts_with", ["si"], prop="tier"),
            {},
            "customer metadata “tier” is gold, not starting with si",
        ),
        (
            cond("order.items.metadata_each", "$is", ["red"], prop="color"),
            {},
            "metadata of every item “color” must be red (found red, blue)",
        ),
        (
            cond("customer.segment", "$is", ["seg_vip", "seg_gold"]),
            {},
            "the customer is not in segment seg_gold",
        ),
        (
            cond("customer.segment", "$in", ["seg_gold", "seg_silver"]),
            {},
            "the customer is in none of the segments seg_gold, seg_silver",
        ),
        (
            cond("customer.segment", "$not_in", ["seg_gold", "seg_new"]),
            {},
            "the customer is in segment seg_new, which is excluded",
        ),
        (
            cond("customer.metadata", "$has_value", [], prop="pet"),
            {},
            "customer metadata “pet” has no value",
        ),
        (
            cond("customer.metadata", "$is_unknown", [], prop="tier"),
            {},
            "customer metadata “tier” has a value (gold)",
        ),
        (
            cond("campaign.redemptions.count", "$less_than_or_equal", [100]),
            {"counters": Counters(campaign_total=100)},
            "campaign redemptions 101 is above 100",
        ),
        (
            cond("campaign.orders.amount_discounted", "$less_than_or_equal", [50_000]),
            {"counters": Counters(campaign_discounted=49_000), "pending_discount": 1_500},
            "campaign discount given 505.00 is above 500.00",
        ),
        (
            cond("product.id", "$is", [{"id": "prod_hat"}]),
            {},
            "the order has no prod_hat",
        ),
        (
            cond("order.items.none", "$is", [{"id": "prod_sock"}]),
            {},
            "the order has Sock, which is excluded",
        ),
        (
            cond("order.items.every", "$is", [{"id": "prod_shoe"}]),
            {},
            "not every item is one of prod_shoe (Sock is not)",
        ),
        (
            cond("order.items.cheapest", "$is", [{"id": "prod_shoe"}]),
            {},
            "cheapest item is Sock, not prod_shoe",
        ),
        (
            cond("order.items.most_expensive", "$is", [{"id": "prod_sock"}]),
            {},
            "most expensive item is Running shoe, not prod_sock",
        ),
        (
            cond("publication.redeemable_by_linked_customer", "$is", [True]),
            {},
            "the code was published to another customer, or to nobody",
        ),
    ],
)
def test_explanations_name_what_was_found_and_required(condition, changes, message):
    outcome = check(rule(condition), context(**changes))
    assert [f.message for f in outcome.failures] == [message]


def test_a_failure_carries_its_data():
    outcome = check(
        rule(cond("order.amount", "$more_than_or_equal", [10_000])), context(cart=Cart(8_400))
    )
    (failure,) = outcome.failures
    assert failure.as_dict() == {
        "rule": "1",
        "name": "order.amount",
        "operator": "$more_than_or_equal",
        "expected": [10_000],
        "actual": 8_400,
        "message": "order amount 84.00 is below 100.00",
    }


def test_sub_rule_failures_explain_the_matched_items():
    sub = {"1": cond("product.quantity", "$more_than_or_equal", [3]), "logic": "1"}
    outcome = check(rule(cond("product.id", "$is", [{"id": "prod_shoe"}], sub=sub)), context())
    assert [f.message for f in outcome.failures] == [
        "quantity 2 is below 3",
        "prod_shoe: quantity 2 is below 3",
    ]


def test_custom_error_messages_ride_on_the_failure():
    outcome = check(
        rule(
            cond("order.amount", "$more_than", [50_000], message="Spend 500 or more"),
            cond("customer.segment", "$is", ["seg_gold"]),
            logic="1 and 2",
        ),
        context(),
    )
    assert [(f.rule, f.error_message) for f in outcome.failures] == [
        ("1", "Spend 500 or more"),
        ("2", ""),
    ]
    assert outcome.failures[0].as_dict()["error"] == {"message": "Spend 500 or more"}
    assert "error" not in outcome.failures[1].as_dict()


def test_custom_error_message_of_an_items_condition():
    condition = cond("product.id", "$is", [{"id": "prod_hat"}], message="Hats only")
    (failure,) = check(rule(condition), context()).failures
    assert failure.error_message == "Hats only"


@pytest.mark.parametrize(
    "value, digits, text",
    [
        (8_400, 2, "84.00"),
        (5, 2, "0.05"),
        (-1_050, 2, "-10.50"),
        (1_234, 0, "1234"),
        (1_234, 3, "1.234"),
    ],
)
def test_money_formatting(value, digits, text):
    assert money(value, digits) == text


def test_money_in_explanations_follows_the_currency_digits():
    outcome = check(
        rule(cond("order.amount", "$more_than_or_equal", [10_000])),
        context(cart=Cart(amount=8_400), digits=0),
    )
    assert outcome.failures[0].message == "order amount 8400 is below 10000"


@pytest.mark.parametrize(
    "name, key",
    [
        ("customer.segment", "customer_rules_violated"),
        ("customer.metadata", "customer_rules_violated"),
        ("publication.redeemable_by_linked_customer", "customer_rules_violated"),
        ("order.amount", "order_rules_violated"),
        ("order.items.any", "order_rules_violated"),
        ("product.id", "order_rules_violated"),
        ("sku.quantity", "order_rules_violated"),
        ("campaign.redemptions.count", "redemption_rules_violated"),
        ("redemption.count.per_customer", "redemption_rules_violated"),
        ("redemption.gift.amount", "redemption_rules_violated"),
        ("custom_event.metadata", "redemption_rules_violated"),
    ],
)
def test_error_keys_by_rule_name(name, key):
    assert error_key(name) == key


def test_an_empty_rule_passes():
    assert check(Rule(id="val_empty", name="Empty", rules={}), context()).passed
    assert check(Rule(id="val_logic", name="Logic only", rules={"logic": ""}), context()).passed
