"""Validation rules evaluated over a snapshot, every failure explained.

    check(rule, context) -> Outcome(passed, failures)

A rule is Voucherify's structure: numbered conditions (`{"1": {...}, "2": {...}, "logic": "1 and
2"}`), each with a `name` (what it looks at), `conditions` (`{"$op": [values]}`, all operators must
hold), an optional `property` (the metadata key) and optional nested `rules` (sub-rules over the
items a product/SKU/items condition matched). A failed condition becomes a `Failure` saying which
rule, what was found and what was required: "order amount 84.00 is below 100.00".
"""

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass, field

from .logic import default_logic, failing, parse_logic
from .snapshot import Cart, Counters, CustomerFacts, Item, Redeemable, Rule

NUMBER_OPERATORS = {
    "$is": "is",
    "$is_not": "is not",
    "$in": "is one of",
    "$not_in": "is not one of",
    "$more_than": "above",
    "$more_than_or_equal": "at least",
    "$less_than": "below",
    "$less_than_or_equal": "at most",
}
TEXT_OPERATORS = {
    **{key: NUMBER_OPERATORS[key] for key in ("$is", "$is_not", "$in", "$not_in")},
    "$starts_with": "starts with",
    "$ends_with": "ends with",
    "$contains": "contains",
    "$not_contain": "does not contain",
    "$has_value": "has a value",
    "$is_unknown": "has no value",
}
METADATA_OPERATORS = {**TEXT_OPERATORS, **NUMBER_OPERATORS}
SET_OPERATORS = {
    "$is": "is in",
    "$in": "is in any of",
    "$is_not": "is not in",
    "$not_in": "is in none of",
}
ITEM_OPERATORS = {"$is": "has", "$in": "has any of", "$is_not": "has no", "$not_in": "has none of"}
BOOLEAN_OPERATORS = {"$is": "is"}

# name -> (kind, label, operators). Kinds: money, count, metadata, segment, items, boolean.
MONEY, COUNT, META, SEGMENT, ITEMS, BOOLEAN = (
    "money",
    "count",
    "metadata",
    "segment",
    "items",
    "boolean",
)
RULE_NAMES: dict[str, tuple[str, str, dict]] = {
    "customer.segment": (SEGMENT, "customer", SET_OPERATORS),
    "customer.metadata": (META, "customer metadata", METADATA_OPERATORS),
    "order.amount": (MONEY, "order amount", NUMBER_OPERATORS),
    "order.total_amount": (MONEY, "order total amount", NUMBER_OPERATORS),
    "order.initial_amount": (MONEY, "order initial amount", NUMBER_OPERATORS),
    "order.items.count": (COUNT, "number of items in the order", NUMBER_OPERATORS),
    "order.items.price_any": (MONEY, "price of some item", NUMBER_OPERATORS),
    "order.items.price_each": (MONEY, "price of every item", NUMBER_OPERATORS),
    "order.items.metadata_any": (META, "metadata of some item", METADATA_OPERATORS),
    "order.items.metadata_each": (META, "metadata of every item", METADATA_OPERATORS),
    "order.metadata": (META, "order metadata", METADATA_OPERATORS),
    "order.items.any": (ITEMS, "the order", ITEM_OPERATORS),
    "order.items.every": (ITEMS, "every item of the order", ITEM_OPERATORS),
    "order.items.none": (ITEMS, "no item of the order", ITEM_OPERATORS),
    "order.items.cheapest": (ITEMS, "the cheapest item", ITEM_OPERATORS),
    "order.items.most_expensive": (ITEMS, "the most expensive item", ITEM_OPERATORS),
    "product.id": (ITEMS, "the order", ITEM_OPERATORS),
    "product.price": (MONEY, "product price", NUMBER_OPERATORS),
    "product.quantity": (COUNT, "product quantity", NUMBER_OPERATORS),
    "product.metadata": (META, "product metadata", METADATA_OPERATORS),
    "sku.id": (ITEMS, "the order", ITEM_OPERATORS),
    "sku.price": (MONEY, "SKU price", NUMBER_OPERATORS),
    "sku.quantity": (COUNT, "SKU quantity", NUMBER_OPERATORS),
    "campaign.redemptions.count": (COUNT, "campaign redemptions", NUMBER_OPERATORS),
    "campaign.redemptions.count.daily": (COUNT, "campaign redemptions today", NUMBER_OPERATORS),
    "campaign.redemptions.count.weekly": (
        COUNT,
        "campaign redemptions this week",
        NUMBER_OPERATORS,
    ),
    "campaign.redemptions.count.monthly": (
        COUNT,
        "campaign redemptions this month",
        NUMBER_OPERATORS,
    ),
    "campaign.redemptions.customers_count": (
        COUNT,
        "customers who redeemed in the campaign",
        NUMBER_OPERATORS,
    ),
    "campaign.orders.amount_discounted": (MONEY, "campaign discount given", NUMBER_OPERATORS),
    "campaign.orders.amount": (MONEY, "campaign orders amount", NUMBER_OPERATORS),
    "redemption.count.per_customer": (
        COUNT,
        "this customer's redemptions",
        NUMBER_OPERATORS,
    ),
    "redemption.count.per_customer.daily": (
        COUNT,
        "this customer's redemptions today",
        NUMBER_OPERATORS,
    ),
    "redemption.count.per_customer.weekly": (
        COUNT,
        "this customer's redemptions this week",
        NUMBER_OPERATORS,
    ),
    "redemption.count.per_customer.monthly": (
        COUNT,
        "this customer's redemptions this month",
        NUMBER_OPERATORS,
    ),
    "redemption.metadata": (META, "redemption metadata", METADATA_OPERATORS),
    "redemption.gift.amount": (MONEY, "gift credits asked for", NUMBER_OPERATORS),
    "publication.redeemable_by_linked_customer": (
        BOOLEAN,
        "redeemed by the customer the code was published to",
        BOOLEAN_OPERATORS,
    ),
    "custom_event.metadata": (META, "custom event metadata", METADATA_OPERATORS),
}
# Sub-rules of an items condition look at the items it matched.
SUB_RULE_NAMES: dict[str, tuple[str, str, dict]] = {
    "order.items.quantity": (COUNT, "quantity", NUMBER_OPERATORS),
    "order.items.aggregated_quantity": (COUNT, "total quantity", NUMBER_OPERATORS),
    "order.items.price": (MONEY, "unit price", NUMBER_OPERATORS),
    "order.items.aggregated_amount": (MONEY, "total amount", NUMBER_OPERATORS),
    "product.quantity": (COUNT, "quantity", NUMBER_OPERATORS),
    "product.price": (MONEY, "unit price", NUMBER_OPERATORS),
    "product.metadata": (META, "product metadata", METADATA_OPERATORS),
    "product.metadata.aggregated_quantity": (COUNT, "total quantity", NUMBER_OPERATORS),
    "product.metadata.aggregated_amount": (MONEY, "total amount", NUMBER_OPERATORS),
    "sku.quantity": (COUNT, "quantity", NUMBER_OPERATORS),
    "sku.price": (MONEY, "unit price", NUMBER_OPERATORS),
}
NEEDS_PROPERTY = {
    name for name, spec in {**RULE_NAMES, **SUB_RULE_NAMES}.items() if spec[0] == META
}
COUNTER_FIELDS = {
    "campaign.redemptions.count": "campaign_total",
    "campaign.redemptions.count.daily": "campaign_daily",
    "campaign.redemptions.count.weekly": "campaign_weekly",
    "campaign.redemptions.count.monthly": "campaign_monthly",
    "campaign.redemptions.customers_count": "campaign_customers",
    "campaign.orders.amount_discounted": "campaign_discounted",
    "campaign.orders.amount": "campaign_orders_amount",
    "redemption.count.per_customer": "customer_total",
    "redemption.count.per_customer.daily": "customer_daily",
    "redemption.count.per_customer.weekly": "customer_weekly",
    "redemption.count.per_customer.monthly": "customer_monthly",
}
BUDGET = "campaign.orders.amount_discounted"
# Counters that count *this* redemption too: "at most 100 redemptions" holds while the count
# before this one is below 100. Voucherify states these limits as the count after redeeming.
COUNTS_THIS_ONE = {name for name in COUNTER_FIELDS if ".count" in name or "customers" in name}


@dataclass(frozen=True)
class Failure:
    """One condition that did not hold, in words and in data."""

    rule: str  # "2" or "2.1" for a sub-rule
    name: str
    operator: str
    expected: list
    actual: object
    message: str
    error_message: str = ""  # the marketer's custom message for this rule, if any

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "name": self.name,
            "operator": self.operator,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
            **({"error": {"message": self.error_message}} if self.error_message else {}),
        }


@dataclass
class Outcome:
    passed: bool
    failures: list[Failure] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    cart: Cart
    redeemable: Redeemable
    now: dt.datetime
    time_zone: str = "UTC"
    customer: CustomerFacts | None = None
    metadata: dict = field(default_factory=dict)
    event_metadata: dict | None = None
    digits: int = 2
    total_amount: int | None = None  # what is left to pay after the redeemables before this one
    pending_discount: int = 0  # this redemption's own discount, for budget rules

    @property
    def counters(self) -> Counters:
        return self.redeemable.counters


def money(value, digits: int = 2) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return str(value)
    if digits == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    whole, part = divmod(abs(value), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d}"


def error_key(name: str) -> str:
    """Voucherify's error key for a failed rule of this name."""
    head = name.split(".", 1)[0]
    if head in ("customer", "publication"):
        return "customer_rules_violated"
    if head in ("order", "product", "sku"):
        return "order_rules_violated"
    return "redemption_rules_violated"


ERROR_MESSAGES = {
    "customer_rules_violated": "customer does not match validation rules",
    "order_rules_violated": "order does not match validation rules",
    "redemption_rules_violated": "redemption does not match validation rules",
}


def check(rule: Rule, context: Context) -> Outcome:
    """Does the cart, customer and redeemable satisfy `rule`? With every failed condition."""
    return _check_group(rule.rules or {}, context, prefix="", items=None)


def _check_group(group: dict, context: Context, *, prefix: str, items) -> Outcome:
    numbers = [key for key in group if key != "logic"]
    if not numbers:
        return Outcome(True)
    results: dict[str, bool] = {}
    failures: dict[str, list[Failure]] = {}
    for number in numbers:
        outcome = _check_condition(group[number], context, f"{prefix}{number}", items)
        results[number] = outcome.passed
        failures[number] = outcome.failures
    tree = _tree(group.get("logic") or default_logic(numbers), tuple(sorted(numbers)))
    blamed = failing(tree, results)
    if not blamed:
        return Outcome(True)
    return Outcome(False, [failure for number in blamed for failure in failures[number]])


@functools.lru_cache(maxsize=4096)
def _tree(logic: str, numbers: tuple):
    """Parsed once per distinct expression: a checkout judges the same rules again and again."""
    return parse_logic(logic, known=set(numbers))


def _check_condition(condition: dict, context: Context, number: str, items) -> Outcome:
    name = condition.get("name", "")
    spec = (SUB_RULE_NAMES if items is not None else RULE_NAMES).get(name) or RULE_NAMES.get(name)
    if spec is None:
        failure = Failure(number, name, "", [], None, f"rule {number}: “{name}” is not a rule name")
        return Outcome(False, [failure])
    kind, label, _ = spec
    custom = ((condition.get("error") or {}).get("message")) or ""
    prop = condition.get("property") or ""
    if prop:
        label = f"{label} “{prop}”"
    conditions = condition.get("conditions") or {}
    if kind == ITEMS:
        return _check_items(condition, context, number, items, label, custom)
    if kind == SEGMENT:
        actual = sorted(context.customer.segments) if context.customer else []
        return _all_hold(
            conditions, context, number, name, label, custom, actual, _segment_holds, kind=SEGMENT
        )
    values = _values(name, prop, context, items)
    return _all_hold(
        conditions,
        context,
        number,
        name,
        label,
        custom,
        values,
        lambda op, expected, found: _compare(op, expected, found, name),
        many=name.endswith(("_any", "_each")) or name == "product.metadata",
        each=name.endswith("_each"),
        kind=kind,
    )


def _values(name: str, prop: str, context: Context, items):
    """What the condition looks at: one value, or a list (per item) for *_any / *_each."""
    cart = context.cart
    if items is not None:  # a sub-rule: the matched items
        if name in ("order.items.aggregated_quantity", "product.metadata.aggregated_quantity"):
            return sum(item.quantity for item in items)
        if name in ("order.items.aggregated_amount", "product.metadata.aggregated_amount"):
            return sum(item.amount for item in items)
        if name.endswith(".quantity"):
            return sum(item.quantity for item in items)
        if name.endswith(".price"):
            return max((item.price for item in items), default=0)
        if name == "product.metadata":
            return [item.product_metadata.get(prop) for item in items]
    if name == "campaign.orders.amount_discounted":
        return context.counters.campaign_discounted + context.pending_discount
    if name in COUNTER_FIELDS:
        value = getattr(context.counters, COUNTER_FIELDS[name])
        return value + 1 if name in COUNTS_THIS_ONE else value
    if name == "order.amount":
        return cart.amount
    if name == "order.total_amount":
        return cart.amount if context.total_amount is None else context.total_amount
    if name == "order.initial_amount":
        return cart.initial_amount if cart.initial_amount is not None else cart.amount
    if name == "order.items.count":
        return sum(item.quantity for item in cart.items)
    if name in ("order.items.price_any", "order.items.price_each"):
        return [item.price for item in cart.items]
    if name in ("order.items.metadata_any", "order.items.metadata_each"):
        return [item.metadata.get(prop) for item in cart.items]
    if name == "product.metadata":
        return [item.product_metadata.get(prop) for item in cart.items]
    if name in ("product.price", "sku.price"):
        return max((item.price for item in cart.items), default=0)
    if name in ("product.quantity", "sku.quantity"):
        return sum(item.quantity for item in cart.items)
    if name == "order.metadata":
        return cart.metadata.get(prop)
    if name == "customer.metadata":
        return (context.customer.metadata if context.customer else {}).get(prop)
    if name == "redemption.metadata":
        return context.metadata.get(prop)
    if name == "custom_event.metadata":
        return (context.event_metadata or {}).get(prop)
    if name == "redemption.gift.amount":
        return context.redeemable.credits or 0
    if name == "publication.redeemable_by_linked_customer":
        holder = context.redeemable.holder_id
        return bool(holder) and context.customer is not None and holder == context.customer.id
    raise KeyError(name)


def _all_hold(
    conditions: dict,
    context: Context,
    number: str,
    name: str,
    label: str,
    custom: str,
    actual,
    holds,
    *,
    many: bool = False,
    each: bool = False,
    kind: str = "",
) -> Outcome:
    failures = []
    for operator, expected in conditions.items():
        expected = expected if isinstance(expected, list) else [expected]
        if many:
            results = [holds(operator, expected, value) for value in actual]
            ok = all(results) if each else any(results)
            if each and not actual:
                ok = True
        else:
            ok = holds(operator, expected, actual)
        if not ok:
            if kind == SEGMENT:
                message = _segment_sentence(operator, expected, actual)
            elif name == "publication.redeemable_by_linked_customer":
                message = "the code was published to another customer, or to nobody"
            else:
                message = _sentence(label, operator, expected, actual, kind, context.digits, many)
            failures.append(Failure(number, name, operator, expected, actual, message, custom))
    return Outcome(not failures, failures)


MUST_BE = {
    "$is": "",
    "$is_not": "other than",
    "$in": "one of",
    "$not_in": "none of",
    "$more_than": "above",
    "$more_than_or_equal": "at least",
    "$less_than": "below",
    "$less_than_or_equal": "at most",
    "$starts_with": "starting with",
    "$ends_with": "ending with",
    "$contains": "containing",
    "$not_contain": "not containing",
}
COMPARED = {
    "$more_than": "is not above",
    "$more_than_or_equal": "is below",
    "$less_than": "is not below",
    "$less_than_or_equal": "is above",
}


def _sentence(label, operator, expected, actual, kind, digits, many) -> str:
    """ "order amount 84.00 is below 100.00", "order metadata “channel” is app, not web"."""

    def show(value):
        if kind == MONEY:
            return money(value, digits)
        if isinstance(value, bool):
            return "yes" if value else "no"
        if value is None:
            return "nothing"
        return str(value)

    wanted = ", ".join(show(value) for value in expected)
    if operator == "$has_value":
        return f"{label} has no value"
    if operator == "$is_unknown":
        return f"{label} has a value ({show(actual)})"
    if many:
        found = ", ".join(show(value) for value in actual) or "no items"
        phrase = " ".join(part for part in (MUST_BE.get(operator, operator), wanted) if part)
        return f"{label} must be {phrase} (found {found})"
    if operator in COMPARED:
        return f"{label} {show(actual)} {COMPARED[operator]} {wanted}"
    if operator in ("$is_not", "$not_in"):
        return f"{label} is {show(actual)}, which is excluded"
    if operator == "$in":
        return f"{label} is {show(actual)}, not one of {wanted}"
    if operator == "$is":
        return f"{label} is {show(actual)}, not {wanted}"
    return f"{label} is {show(actual)}, not {MUST_BE.get(operator, operator)} {wanted}"


def _segment_sentence(operator: str, expected: list, segments: list) -> str:
    wanted = ", ".join(str(value) for value in expected)
    if operator == "$is":
        missing = [value for value in expected if value not in segments]
        return f"the customer is not in segment {', '.join(missing) or wanted}"
    if operator == "$in":
        return f"the customer is in none of the segments {wanted}"
    inside = [value for value in expected if value in segments]
    return f"the customer is in segment {', '.join(inside) or wanted}, which is excluded"


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(operator: str, expected: list, actual, name: str = "") -> bool:
    if operator == "$has_value":
        return actual not in (None, "", [])
    if operator == "$is_unknown":
        return actual in (None, "", [])
    if operator in ("$more_than", "$more_than_or_equal", "$less_than", "$less_than_or_equal"):
        found, wanted = _number(actual), _number(expected[0]) if expected else None
        if found is None or wanted is None:
            return False
        return {
            "$more_than": found > wanted,
            "$more_than_or_equal": found >= wanted,
            "$less_than": found < wanted,
            "$less_than_or_equal": found <= wanted,
        }[operator]
    if operator in ("$is", "$in"):
        return any(_equal(actual, value) for value in expected)
    if operator in ("$is_not", "$not_in"):
        return not any(_equal(actual, value) for value in expected)
    text = "" if actual is None else str(actual)
    if operator == "$starts_with":
        return any(text.startswith(str(value)) for value in expected)
    if operator == "$ends_with":
        return any(text.endswith(str(value)) for value in expected)
    if operator == "$contains":
        return any(str(value) in text for value in expected)
    if operator == "$not_contain":
        return not any(str(value) in text for value in expected)
    return False


def _equal(actual, value) -> bool:
    if isinstance(actual, list):
        return any(_equal(element, value) for element in actual)
    if isinstance(actual, bool) or isinstance(value, bool):
        return actual is value or str(actual).lower() == str(value).lower()
    found, wanted = _number(actual), _number(value)
    if found is not None and wanted is not None and not isinstance(actual, str):
        return found == wanted
    return actual == value or (actual is not None and str(actual) == str(value))


def _segment_holds(operator: str, expected: list, segments: list) -> bool:
    wanted = {value if isinstance(value, str) else (value or {}).get("id") for value in expected}
    have = set(segments)
    if operator == "$is":
        return wanted <= have
    if operator == "$in":
        return bool(wanted & have)
    return not (wanted & have)


def _check_items(condition, context, number, items, label, custom) -> Outcome:
    """product.id / sku.id / order.items.*: which lines match the referenced products, SKUs or
    collections, and do the sub-rules hold over them."""
    name = condition["name"]
    lines = list(items if items is not None else context.cart.items)
    sub = condition.get("rules") or {}
    failures = []
    for operator, targets in (condition.get("conditions") or {}).items():
        targets = targets if isinstance(targets, list) else [targets]
        targets = [t if isinstance(t, dict) else {"id": t} for t in targets]
        default = "sku" if name.startswith("sku.") else "product"
        targets = [{"object": default, **t} for t in targets]
        ok, why, nested = _items_hold(name, operator, targets, lines, sub, context, number)
        if not ok:
            failures.extend(nested)  # the sub-rules that failed, each with its own data
            failures.append(
                Failure(number, name, operator, [_ref(t) for t in targets], why, why, custom)
            )
    return Outcome(not failures, failures)


def _ref(target: dict) -> str:
    return target.get("id") or target.get("source_id") or "?"


def _items_hold(name, operator, targets, lines, sub, context, number):
    """-> (held, explanation when not, sub-rule failures)."""
    if name == "order.items.cheapest" and lines:
        lines = [min(lines, key=lambda item: item.price)]
    elif name == "order.items.most_expensive" and lines:
        lines = [max(lines, key=lambda item: item.price)]
    names = ", ".join(_ref(t) for t in targets)
    negative = operator in ("$is_not", "$not_in")
    if name in ("order.items.every",) and not negative:
        stray = [item for item in lines if not any(item.matches(t) for t in targets)]
        if stray or not lines:
            return False, f"not every item is one of {names} ({_item_name(stray)} is not)", []
        outcome = _sub(sub, context, number, lines)
        return outcome.passed, _sub_why(outcome, names), outcome.failures
    if name == "order.items.none" or negative:
        present = [item for item in lines if any(item.matches(t) for t in targets)]
        if present:
            return False, f"the order has {_item_name(present)}, which is excluded", []
        return True, "", []
    per_target = []
    for target in targets:
        matched = [item for item in lines if item.matches(target)]
        if not matched:
            per_target.append((False, f"the order has no {_ref(target)}", []))
            continue
        outcome = _sub(sub, context, number, matched)
        per_target.append((outcome.passed, _sub_why(outcome, _ref(target)), outcome.failures))
    need_all = operator == "$is" and name not in (
        "order.items.cheapest",
        "order.items.most_expensive",
    )
    held = all(ok for ok, _, _ in per_target) if need_all else any(ok for ok, _, _ in per_target)
    if held:
        return True, "", []
    misses = [entry for entry in per_target if not entry[0]]
    why = "; ".join(reason for _, reason, _ in misses)
    if name in ("order.items.cheapest", "order.items.most_expensive") and lines:
        why = f"{name.rsplit('.', 1)[1].replace('_', ' ')} item is {_item_name(lines)}, not {names}"
    return False, why, [failure for _, _, nested in misses for failure in nested]


def _sub(sub: dict, context, number, matched) -> Outcome:
    if not [key for key in sub if key != "logic"]:
        return Outcome(True)
    return _check_group(sub, context, prefix=f"{number}.", items=matched)


def _sub_why(outcome: Outcome, what: str) -> str:
    if outcome.passed:
        return ""
    return f"{what}: " + "; ".join(failure.message for failure in outcome.failures)


def _item_name(items: list[Item]) -> str:
    item = items[0] if items else None
    if item is None:
        return "nothing"
    return item.name or item.sku_id or item.product_id or item.product_source_id or "an item"


def local_now(now: dt.datetime, time_zone: str) -> dt.datetime:
    try:
        return now.astimezone(zoneinfo.ZoneInfo(time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return now.astimezone(dt.UTC)
