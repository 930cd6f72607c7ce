"""Stackable validation: which redeemables apply to this cart, what each takes off, and why the
others do not.

    validate(request) -> Outcome(valid, results, totals, items)

Two passes:

1. **Gates**, for every redeemable on the order as sent: found, switched on (code, campaign,
   tier), dates and validity windows, quantity left (counting other sessions' locks), gift or
   loyalty balance, and every assigned validation rule. A failure makes it INAPPLICABLE with
   Voucherify's key and an explanation (the failed conditions, found and required values).
2. **Stacking**, over the survivors in order (REQUESTED_ORDER, or CATEGORY_HIERARCHY: lowest
   category hierarchy first): gift cards and loyalty cards always come last, so they pay what
   the discounts leave. Each discount sees the order as the earlier ones left it. A redeemable is
   SKIPPED, with Voucherify's key, when it is over a limit of the project's stacking rules, when
   an exclusive category rules it out, when it has no effect and the no-effect rule says SKIP,
   or (application mode ALL) when another redeemable is INAPPLICABLE.

Exclusive categories: the first redeemable (in order) of an EXCLUSIVE category decides; only
redeemables of that category or of a JOINT category may join it, at most
`applicable_exclusive_redeemables_limit` of the exclusive ones.

Amounts are integer minor units and no total goes below zero (see amounts.py for the rounding).
"""

import dataclasses
from dataclasses import dataclass, field

from .amounts import Applied, Line, Order, compute_discount
from .rules import BUDGET, COUNTER_FIELDS, ERROR_MESSAGES, Context, Failure, check, error_key, money
from .scope import Scope, scope
from .snapshot import Item, Redeemable, Request
from .totals import Totals, take
from .validity import why_not_now

APPLICABLE, INAPPLICABLE, SKIPPED = "APPLICABLE", "INAPPLICABLE", "SKIPPED"
ITEM_EFFECTS = (
    "APPLY_TO_ITEMS",
    "APPLY_TO_ITEMS_PROPORTIONALLY",
    "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY",
    "APPLY_TO_ITEMS_BY_QUANTITY",
)
PERSONAL = {
    *COUNTER_FIELDS,
    "publication.redeemable_by_linked_customer",
    "redemption.gift.amount",
}
SKIP_MESSAGES = {
    "applicable_redeemables_limit_exceeded": "Applicable redeemables limit exceeded",
    "applicable_redeemables_per_category_limit_exceeded": (
        "Applicable redeemables per category limit exceeded"
    ),
    "applicable_exclusive_redeemables_limit_exceeded": (
        "Applicable exclusive redeemables limit exceeded"
    ),
    "applicable_exclusive_redeemables_per_category_limit_exceeded": (
        "Applicable exclusive redeemables per category limit exceeded"
    ),
    "exclusion_rules_not_met": "Redeemable cannot be applied due to exclusion rules",
    "preceding_validation_failed": (
        "Redeemable cannot be applied due to preceding validation failure"
    ),
    "no_effect": "Redeemable cannot be applied due to no effect",
}


@dataclass
class Result:
    redeemable: Redeemable
    status: str = APPLICABLE
    key: str = ""
    message: str = ""
    explanation: str = ""
    failures: list[Failure] = field(default_factory=list)
    scope: Scope = field(default_factory=Scope)
    applied: Applied = field(default_factory=Applied)
    credits: int = 0  # gift credits used
    points: int = 0  # loyalty points used
    added: dict[int, int] = field(default_factory=dict)  # line index -> units added (UNIT)
    totals: Totals | None = None  # the order after this redeemable

    @property
    def discount(self) -> int:
        return self.applied.total

    def error(self) -> dict:
        """Voucherify's error object for an INAPPLICABLE result, with the explanation added."""
        custom = next((f.error_message for f in self.failures if f.error_message), "")
        rule_message = next((r.error_message for r in self.redeemable.rules if r.error_message), "")
        body = {
            "code": 404 if self.key == "not_found" else 400,
            "key": self.key,
            "message": self.message,
            "details": self.explanation,
        }
        if custom or rule_message:
            body["error"] = {"message": custom or rule_message}
        if self.failures:
            body["failures"] = [failure.as_dict() for failure in self.failures]
        return body


@dataclass
class Outcome:
    valid: bool
    results: list[Result]
    totals: Totals
    items: list[Item]  # the order's lines, with units UNIT discounts added

    def of(self, status: str) -> list[Result]:
        return [result for result in self.results if result.status == status]


def validate(request: Request, memo: dict | None = None) -> Outcome:
    """`memo` may be shared by several calls about the same cart, customer and moment (a
    qualification judges each candidate alone): rule outcomes and scopes are then worked out
    once for all of them."""
    items = list(request.cart.items)
    totals = _opening_totals(request)
    # rule outcomes and scopes shared by redeemables with the same rules
    memo = {} if memo is None else memo
    results = [_gate(redeemable, request, memo) for redeemable in request.redeemables]
    ordered = sorted(results, key=lambda result: _sort_key(result, request))
    candidates = [result for result in ordered if result.status == APPLICABLE]
    rules = request.stacking
    all_or_nothing = rules.redeemables_application_mode == "ALL"
    if all_or_nothing and len(candidates) < len(results):
        for result in candidates:
            _skip(result, "preceding_validation_failed")
        return Outcome(False, ordered, totals, items)
    exclusive = _exclusive_winner(candidates)
    applied_count, exclusive_count = 0, 0
    per_category: dict[str, int] = {}
    for result in candidates:
        categories = result.redeemable.categories
        is_exclusive = any(c.stacking_rules_type == "EXCLUSIVE" for c in categories)
        if exclusive is not None and not _may_join(categories, exclusive):
            _skip(result, "exclusion_rules_not_met")
            continue
        if applied_count >= rules.applicable_redeemables_limit:
            _skip(result, "applicable_redeemables_limit_exceeded")
            continue
        if is_exclusive and exclusive_count >= rules.applicable_exclusive_redeemables_limit:
            _skip(result, "applicable_exclusive_redeemables_limit_exceeded")
            continue
        limit = (
            rules.applicable_exclusive_redeemables_per_category_limit
            if is_exclusive
            else rules.applicable_redeemables_per_category_limit
        )
        if limit is not None and any(per_category.get(c.id, 0) >= limit for c in categories):
            _skip(
                result,
                "applicable_exclusive_redeemables_per_category_limit_exceeded"
                if is_exclusive
                else "applicable_redeemables_per_category_limit_exceeded",
            )
            continue
        before = dataclasses.replace(totals, items=dict(totals.items))
        items_before = list(items)
        error = _apply(result, request, items, totals, memo)
        if error is None and _judged_stepwise(result.redeemable):
            error = _stepwise_error(result, request, total_before=before.total_amount)
        if error is not None:
            _take_back(result)
            result.status, result.key, result.message, result.explanation = INAPPLICABLE, *error
            totals, items[:] = before, items_before
            continue
        if (
            result.discount == 0
            and not result.points
            and rules.redeemables_no_effect_rule == "SKIP"
        ):
            _take_back(result)
            _skip(result, "no_effect")
            totals, items[:] = before, items_before
            continue
        result.totals = dataclasses.replace(totals, items=dict(totals.items))
        applied_count += 1
        exclusive_count += is_exclusive
        for category in categories:
            per_category[category.id] = per_category.get(category.id, 0) + 1
    if all_or_nothing and any(r.status == INAPPLICABLE for r in ordered):
        # A redeemable failed only once the discounts were known (a budget, the total left):
        # in mode ALL nothing applies then.
        for result in ordered:
            if result.status == APPLICABLE:
                _take_back(result)
                _skip(result, "preceding_validation_failed")
        return Outcome(False, ordered, _opening_totals(request), list(request.cart.items))
    applicable = [r for r in ordered if r.status == APPLICABLE]
    # SKIPPED redeemables (limits, exclusions, no effect) do not make a validation invalid.
    valid = bool(applicable) and not any(r.status == INAPPLICABLE for r in ordered)
    if not all_or_nothing:
        valid = bool(applicable)
    return Outcome(valid, ordered, totals, items)


def _opening_totals(request: Request) -> Totals:
    """The order before this request: discounts it already carries (a stored order redeemed
    again) stay, and this request's discounts add to them."""
    items = {
        i: item.discount_amount for i, item in enumerate(request.cart.items) if item.discount_amount
    }
    return Totals(
        amount=request.cart.amount,
        discount_amount=request.cart.discount_amount,
        items_discount_amount=sum(items.values()),
        items=items,
    )


def _take_back(result: Result) -> None:
    result.applied, result.added, result.credits, result.points = Applied(), {}, 0, 0


def _sort_key(result: Result, request: Request):
    redeemable = result.redeemable
    pays_last = redeemable.type in ("GIFT_VOUCHER", "LOYALTY_CARD")
    if request.stacking.redeemables_sorting_rule == "CATEGORY_HIERARCHY":
        hierarchy = min((c.hierarchy for c in redeemable.categories), default=10**9)
        return (pays_last, hierarchy, redeemable.requested_position)
    return (pays_last, redeemable.requested_position)


def _skip(result: Result, key: str) -> None:
    result.status, result.key, result.message = SKIPPED, key, SKIP_MESSAGES[key]


def _exclusive_winner(candidates: list[Result]):
    for result in candidates:
        for category in result.redeemable.categories:
            if category.stacking_rules_type == "EXCLUSIVE":
                return category
    return None


def _may_join(categories, exclusive) -> bool:
    return any(c.id == exclusive.id or c.stacking_rules_type == "JOINT" for c in categories)


STEPWISE = {BUDGET, "order.total_amount"}


def _judged_stepwise(redeemable: Redeemable) -> bool:
    return any(_names(rule.rules) & STEPWISE for rule in redeemable.rules)


def _stepwise_error(result: Result, request: Request, *, total_before: int):
    """Rules judged again once this redeemable's place in the stack is known: a budget holds
    only if this discount still fits in it (the campaign never gives more than its budget), and
    order.total_amount is what is left to pay after the redeemables before this one."""
    return _rules_error(
        result, request, pending=result.discount, total_amount=total_before, memo={}
    )


# -- pass 1: gates -------------------------------------------------------------------------


def _gate(redeemable: Redeemable, request: Request, memo: dict) -> Result:
    result = Result(redeemable)
    error = _status_error(redeemable, request)
    if error is None:
        error = _rules_error(result, request, memo=memo)
    if error is not None:
        result.status, result.key, result.message, result.explanation = INAPPLICABLE, *error
    return result


def _status_error(r: Redeemable, request: Request) -> tuple[str, str, str] | None:
    tier = r.object == "promotion_tier"
    what = "promotion tier" if tier else "voucher"
    if not r.found:
        return "not_found", "Resource not found", f"Cannot find {what} with id {r.id}"
    if not r.active:
        if tier:
            return "promotion_inactive", "promotion is inactive", f"{r.name or r.id} is disabled"
        return "voucher_disabled", "voucher is disabled", f"{r.id} is disabled"
    if not r.campaign_active:
        key = "promotion_inactive" if tier else "voucher_disabled"
        return key, f"{what} is disabled", f"campaign {r.campaign_name} is disabled"
    when = why_not_now(r, request.now, request.time_zone)
    if when == "not_started":
        key = "promotion_not_active_now" if tier else "voucher_not_active"
        return key, f"{what} not active", f"starts at {r.start_date.isoformat()}"
    if when == "expired":
        key = "promotion_not_active_now" if tier else "voucher_expired"
        return key, f"{what} expired", f"expired at {r.expiration_date.isoformat()}"
    if when == "not_now":
        key = "promotion_not_active_now" if tier else "voucher_not_active_now"
        return key, f"{what} not active now", "outside its validity days or hours"
    if r.quantity is not None and r.redeemed_quantity + r.held_by_others >= r.quantity:
        locks = f" and {r.held_by_others} held by open sessions" if r.held_by_others else ""
        return (
            "quantity_exceeded",
            "quantity exceeded",
            f"{r.redeemed_quantity} of {r.quantity} uses redeemed{locks}",
        )
    digits = request.currency_digits
    if r.type == "GIFT_VOUCHER":
        if r.gift_balance <= 0:
            return "zero_card_balance", "gift card balance is zero", f"{r.id} has no credits left"
        if r.credits is not None and r.credits > r.gift_balance:
            return (
                "gift_amount_exceeded",
                "gift amount exceeded",
                f"asked for {money(r.credits, digits)}, balance is {money(r.gift_balance, digits)}",
            )
    if r.type == "LOYALTY_CARD":
        if not r.points:
            return "missing_reward", "missing reward", "say how many points to pay with"
        if r.points > r.loyalty_balance:
            return (
                "loyalty_card_points_exceeded",
                "loyalty card points exceeded",
                f"asked for {r.points} points, balance is {r.loyalty_balance}",
            )
    return None


def _rules_error(
    result: Result,
    request: Request,
    *,
    memo: dict,
    pending: int = 0,
    total_amount: int | None = None,
) -> tuple[str, str, str] | None:
    redeemable = result.redeemable
    context = Context(
        cart=request.cart,
        redeemable=redeemable,
        now=request.now,
        time_zone=request.time_zone,
        customer=request.customer,
        metadata=request.metadata,
        digits=request.currency_digits,
        pending_discount=pending,
        total_amount=total_amount,
    )
    for rule in redeemable.rules:
        # The same rule object on many redeemables (a campaign's rule on its codes) is judged
        # once per request, unless it looks at something of the redeemable's own.
        shared = total_amount is None and not pending and not _personal(rule, memo)
        outcome = memo.get(id(rule)) if shared else None
        if outcome is None:
            outcome = check(rule, context)
            if shared:
                memo[id(rule)] = outcome
        if not outcome.passed:
            result.failures = outcome.failures
            key = error_key(outcome.failures[0].name)
            message = outcome.failures[0].error_message or rule.error_message or ERROR_MESSAGES[key]
            # a product condition's message already includes its failed sub-rules
            explanation = "; ".join(f.message for f in outcome.failures if "." not in f.rule)
            return key, message, f"{rule.name}: {explanation}"
    key = ("scope", *map(id, redeemable.rules))
    if key not in memo:
        memo[key] = scope([rule.applicable_to for rule in redeemable.rules], request.cart.items)
    result.scope = memo[key]
    if result.scope.lines == set() and _touches_items(redeemable):
        return (
            "order_rules_violated",
            ERROR_MESSAGES["order_rules_violated"],
            "no item in the order is one the discount applies to",
        )
    return None


def _personal(rule, memo: dict) -> bool:
    """Does the rule look at the redeemable itself (its counters, holder, gift credits)?"""
    key = ("personal", id(rule))
    if key not in memo:
        memo[key] = bool(_names(rule.rules) & PERSONAL)
    return memo[key]


def _names(group: dict) -> set:
    found = set()
    for key, condition in (group or {}).items():
        if key != "logic" and isinstance(condition, dict):
            found.add(condition.get("name"))
            found |= _names(condition.get("rules") or {})
    return found


def _touches_items(redeemable: Redeemable) -> bool:
    if redeemable.type == "GIFT_VOUCHER":
        return redeemable.gift_effect == "APPLY_TO_ITEMS"
    discount = redeemable.discount or {}
    return discount.get("effect") in ITEM_EFFECTS


# -- pass 2: amounts -------------------------------------------------------------------------


def _apply(result: Result, request: Request, items: list[Item], totals: Totals, memo: dict):
    """Take this redeemable's discount off the order as it stands; None, or an error tuple."""
    redeemable = result.redeemable
    left = _left(items, totals, memo)
    if redeemable.type == "GIFT_VOUCHER":
        credits = _within_scope_total(left, result.scope)
        if redeemable.credits is not None:
            credits = min(credits, redeemable.credits)
        credits = max(0, min(credits, redeemable.gift_balance, left.amount))
        effect = (
            "APPLY_TO_ITEMS_PROPORTIONALLY"
            if redeemable.gift_effect == "APPLY_TO_ITEMS"
            else "APPLY_TO_ORDER"
        )
        discount = {"type": "AMOUNT", "amount_off": credits, "effect": effect}
        result.applied = take(totals, _compute(discount, left, result.scope), left)
        result.credits = result.applied.total
        return None
    if redeemable.type == "LOYALTY_CARD":
        # Paying with points: one point pays one minor unit (rewards with other exchange rates
        # arrive with the loyalty issue). Only the points that find something to pay are used.
        discount = {"type": "AMOUNT", "amount_off": redeemable.points or 0}
        result.applied = take(totals, _compute(discount, left, result.scope), left)
        result.points = result.applied.total
        return None
    discount = redeemable.discount or {}
    if discount.get("type") == "UNIT":
        return _apply_units(result, request, items, totals, discount)
    applied = _compute(discount, left, result.scope)
    result.applied = take(totals, applied, left)
    return None


def _left(items: list[Item], totals: Totals, memo: dict | None = None) -> Order:
    """The order as the redeemables so far left it (what totals.remaining computes, built
    straight from the items). While nothing is taken off the lines, they are the items' own,
    built once per `memo` (a qualification asks for them once per candidate)."""
    taken = totals.items
    if not taken and memo is not None:
        key = ("lines", *map(id, items))
        kept = memo.get(key)
        if kept is None:
            # the items are kept with their lines, so no other item can take over their ids
            kept = memo[key] = (
                tuple(items),
                tuple(Line(i.price, i.quantity, i.amount) for i in items),
            )
        return Order(amount=totals.total_amount, lines=kept[1])
    return Order(
        amount=totals.total_amount,
        lines=tuple(
            Line(price=i.price, quantity=i.quantity, amount=i.amount - taken.get(n, 0))
            for n, i in enumerate(items)
        ),
    )


def _within_scope_total(left: Order, reach: Scope) -> int:
    if reach.units is None:
        return left.amount
    return sum(_capped(left.lines[i], n).total for i, n in reach.units.items())


def _capped(line: Line, units: int) -> Line:
    if units >= line.quantity or line.quantity == 0:
        return line
    return Line(price=line.price, quantity=units, amount=line.total * units // line.quantity)


def _compute(discount: dict, left: Order, reach: Scope) -> Applied:
    if reach.units is None or discount.get("effect", "APPLY_TO_ORDER") == "APPLY_TO_ORDER":
        applied = compute_discount(discount, left)
    else:
        view = Order(
            amount=left.amount,
            lines=tuple(
                _capped(line, reach.units[i]) if i in reach.units else line
                for i, line in enumerate(left.lines)
            ),
        )
        applied = compute_discount(discount, view, reach.lines)
    for index, cap in reach.line_caps.items():
        if index in applied.items:
            applied.items[index] = min(applied.items[index], cap)
    caps = list(reach.group_caps)
    if discount.get("aggregated_amount_limit") is not None and applied.items:
        caps.append((sorted(applied.items), discount["aggregated_amount_limit"]))
    for indexes, cap in caps:
        for index in indexes:
            value = applied.items.get(index, 0)
            applied.items[index] = min(value, max(cap, 0))
            cap -= applied.items[index]
    applied.items = {i: v for i, v in applied.items.items() if v}
    return applied


def _apply_units(result, request, items, totals, discount):
    """UNIT: `unit_off` units of a product free. ADD_MISSING_ITEMS tops the order up to that many
    units when it has fewer; ADD_NEW_ITEMS always adds them. The added units raise the order
    amount and the discount covers them, so the customer pays nothing for them."""
    applied = Applied()
    for unit in discount.get("units") or [discount]:
        ref = unit["unit_type"]
        index = next(
            (i for i, item in enumerate(items) if ref in (item.product_id, item.sku_id)), None
        )
        price = items[index].price if index is not None else request.unit_prices.get(ref)
        if price is None:
            return (
                "invalid_product",
                "invalid product",
                f"{ref} is not in the order and has no price to add it with",
            )
        have = items[index].quantity if index is not None else 0
        wanted = unit["unit_off"]
        add = wanted if unit.get("effect") == "ADD_NEW_ITEMS" else max(0, wanted - have)
        if add:
            if index is None:
                kind = "sku" if ref.startswith("sku_") else "product"
                items.append(
                    Item(
                        price=price,
                        quantity=0,
                        amount=0,
                        product_id=ref if kind == "product" else "",
                        sku_id=ref if kind == "sku" else "",
                    )
                )
                index = len(items) - 1
            item = items[index]
            items[index] = dataclasses.replace(
                item, quantity=item.quantity + add, amount=item.amount + add * price
            )
            totals.amount += add * price
            result.added[index] = result.added.get(index, 0) + add
        applied.items[index] = applied.items.get(index, 0) + wanted * price
    left = _left(items, totals)
    result.applied = take(totals, applied, left)
    return None
