"""Order totals after discounts, as Voucherify reports them (reference §3.8), and gift credits.

    totals(order, applied=[Applied, ...], previous_discount=0, previous_items={})

gives the figures of a calculated order:

    discount_amount          previous order-level discounts + the order-level part applied now
    items_discount_amount    sum of every line's discount (previous + now)
    total_discount_amount    discount_amount + items_discount_amount
    total_amount             amount - total_discount_amount (never below zero)
    applied_discount_amount / items_applied_discount_amount / total_applied_discount_amount
                             the same, for what this request applied only

Discounts apply one after another: each sees the order as the previous ones left it, so the sum
can never exceed the amount (a later discount is cut to what is left).
"""

from dataclasses import dataclass, field

from .amounts import Applied, Line, Order, compute_discount


@dataclass
class Totals:
    amount: int
    discount_amount: int = 0
    items_discount_amount: int = 0
    applied_discount_amount: int = 0
    items_applied_discount_amount: int = 0
    items: dict[int, int] = field(default_factory=dict)  # discount per line, all of it

    @property
    def total_discount_amount(self) -> int:
        return self.discount_amount + self.items_discount_amount

    @property
    def total_applied_discount_amount(self) -> int:
        return self.applied_discount_amount + self.items_applied_discount_amount

    @property
    def total_amount(self) -> int:
        return max(0, self.amount - self.total_discount_amount)


def remaining(order: Order, totals: Totals) -> Order:
    """The order as the discounts so far left it: lower line amounts, lower order amount."""
    lines = tuple(
        Line(price=line.price, quantity=line.quantity, amount=line.total - totals.items.get(i, 0))
        for i, line in enumerate(order.lines)
    )
    return Order(amount=totals.total_amount, lines=lines)


def apply_in_order(
    order: Order,
    discounts: list[tuple[dict, set[int] | None]],
    *,
    previous_discount: int = 0,
    previous_items: dict[int, int] | None = None,
) -> tuple[Totals, list[Applied]]:
    """Apply (discount, applicable lines) pairs one after another; returns the totals and what
    each discount took. A discount sees what the earlier ones left, so nothing goes negative."""
    state = Totals(
        amount=order.amount,
        discount_amount=previous_discount,
        items_discount_amount=sum((previous_items or {}).values()),
        items=dict(previous_items or {}),
    )
    results = []
    for discount, applicable in discounts:
        left = remaining(order, state)
        results.append(take(state, compute_discount(discount, left, applicable), left))
    return state, results


def take(state: Totals, applied: Applied, left: Order) -> Applied:
    """Add `applied` to `state`, cut to what `left` still has to pay. Lines may hold more than the
    order has left (an order-level discount came first): lines are cut first, in line order."""
    budget = left.amount
    for index in sorted(applied.items):
        applied.items[index] = min(applied.items[index], budget, left.lines[index].total)
        budget -= applied.items[index]
    applied.items = {i: value for i, value in applied.items.items() if value}
    applied.order_amount = max(0, min(applied.order_amount, budget))
    state.discount_amount += applied.order_amount
    state.applied_discount_amount += applied.order_amount
    for index, value in applied.items.items():
        state.items[index] = state.items.get(index, 0) + value
        state.items_discount_amount += value
        state.items_applied_discount_amount += value
    return applied


def gift_credits(*, requested: int | None, balance: int, payable: int) -> int:
    """How many credits a gift card pays: what was asked (all it can when None), no more than
    the card's balance and no more than what is left to pay."""
    want = balance if requested is None else max(0, requested)
    return max(0, min(want, balance, payable))
