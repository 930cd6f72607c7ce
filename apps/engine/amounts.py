"""What one discount takes off an order: pure integer arithmetic on minor units.

    compute_discount(discount, order, applicable=None) -> Applied(order_amount, items)

`order` is the order as the engine sees it: its amount and its lines (price per unit, quantity,
amount). `applicable` is the set of line indexes the discount may touch (from the validation
rule's applicable_to); None means every line.

The rounding rule, the only one: a percentage of an amount is rounded half up to the cent
(12.345 -> 12.35, computed exactly with integers), and when one amount is split over several
lines, each line gets its share rounded down and the cents left over go, one each, to the lines
with the largest remainders (ties: the earlier line), so the parts always add up to the whole.

A discount never takes more than the amount it applies to: no line and no order goes negative.

Effects:
    APPLY_TO_ORDER                          the order amount
    APPLY_TO_ITEMS                          each applicable line (AMOUNT: amount_off per line)
    APPLY_TO_ITEMS_BY_QUANTITY              each unit of each applicable line
    APPLY_TO_ITEMS_PROPORTIONALLY           one amount, split by the lines' amounts
    APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY   one amount, split by the lines' quantities
"""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Line:
    price: int  # per unit, minor units
    quantity: int
    amount: int | None = None  # price * quantity unless the shop sent another figure

    @property
    def total(self) -> int:
        return self.amount if self.amount is not None else self.price * self.quantity


@dataclass(frozen=True)
class Order:
    amount: int
    lines: tuple[Line, ...] = ()


@dataclass
class Applied:
    """Minor units taken off: at order level, and per line index."""

    order_amount: int = 0
    items: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.order_amount + sum(self.items.values())


def percent_of(amount: int, percent) -> int:
    """`percent` % of `amount`, rounded half up to the cent, in integers (percent may have up to
    four decimals: 12.5 is 125000 / 10000)."""
    scaled = round(float(percent) * 10_000) if not isinstance(percent, int) else percent * 10_000
    numerator = amount * scaled
    denominator = 100 * 10_000
    return (2 * numerator + denominator) // (2 * denominator)


def split(total: int, weights: list[int]) -> list[int]:
    """`total` in whole cents over `weights`: shares rounded down, the leftover cents to the
    largest remainders (earlier first on ties). Sums to `total` exactly when any weight > 0."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    shares = [total * w // weight_sum for w in weights]
    remainders = [(total * w % weight_sum, -i) for i, w in enumerate(weights)]
    left = total - sum(shares)
    for _, negative_index in sorted(remainders, reverse=True)[:left]:
        shares[-negative_index] += 1
    return shares


def _order_discount(discount: dict, base: int) -> int:
    kind = discount["type"]
    if kind == "AMOUNT":
        value = discount["amount_off"]
    elif kind == "PERCENT":
        value = percent_of(base, discount["percent_off"])
        if discount.get("amount_limit") is not None:
            value = min(value, discount["amount_limit"])
    elif kind == "FIXED":
        value = base - discount["fixed_amount"]  # the order costs fixed_amount
    else:
        raise ValueError(f"{kind} discounts are applied by apps.engine.units")
    return max(0, min(value, base))


def compute_discount(discount: dict, order: Order, applicable: set[int] | None = None) -> Applied:
    """What `discount` (a cleaned Voucherify Discount) takes off `order`."""
    effect = discount.get("effect") or "APPLY_TO_ORDER"
    indexes = [i for i in range(len(order.lines)) if applicable is None or i in applicable]
    if effect == "APPLY_TO_ORDER":
        return Applied(order_amount=_order_discount(discount, max(order.amount, 0)))
    lines = {i: order.lines[i] for i in indexes}
    applied = Applied()
    if effect in ("APPLY_TO_ITEMS_PROPORTIONALLY", "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY"):
        base = sum(line.total for line in lines.values())
        total = _order_discount(discount, base)
        by_quantity = effect.endswith("BY_QUANTITY")
        weights = [lines[i].quantity if by_quantity else lines[i].total for i in indexes]
        shares = split(total, weights)
        # a share never exceeds its line: move any excess to lines with room, in order
        excess = 0
        for i, share in zip(indexes, shares, strict=True):
            take = min(share, lines[i].total)
            excess += share - take
            applied.items[i] = take
        for i in indexes:
            room = lines[i].total - applied.items[i]
            moved = min(room, excess)
            applied.items[i] += moved
            excess -= moved
        return _without_zeros(applied)
    for i in indexes:
        line = lines[i]
        if effect == "APPLY_TO_ITEMS_BY_QUANTITY":
            per_unit = _order_discount(discount, line.price)
            value = per_unit * line.quantity
            if discount["type"] == "PERCENT" and discount.get("amount_limit") is not None:
                value = min(value, discount["amount_limit"])
        elif discount["type"] == "FIXED":  # every unit of the line costs fixed_amount
            value = max(0, line.price - discount["fixed_amount"]) * line.quantity
        else:
            value = _order_discount(discount, line.total)
        applied.items[i] = max(0, min(value, line.total))
    return _without_zeros(applied)


def _without_zeros(applied: Applied) -> Applied:
    applied.items = {i: value for i, value in applied.items.items() if value}
    return applied
