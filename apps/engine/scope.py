"""Which order lines a discount may touch, from the validation rules' `applicable_to`.

    scope(applicable_to_list, items) -> Scope(units, line_caps, group_caps, included, excluded)

`units[i]` is how many units of line i the discount may reach; lines not in `units` are out of
reach. Targets (`{object: product|sku|products_collection, id, effect, quantity_limit,
aggregated_quantity_limit, amount_limit, aggregated_amount_limit}`) are joined over every rule
assigned to the redeemable: a line is in reach if some included target matches it (or nothing
is included) and no excluded target matches it.

Effects: APPLY_TO_EVERY (default) every matched unit; APPLY_TO_CHEAPEST / APPLY_TO_MOST_EXPENSIVE
one unit of the cheapest / dearest matched line; APPLY_FROM_CHEAPEST / APPLY_FROM_MOST_EXPENSIVE
matched units from the cheapest / dearest up (with `aggregated_quantity_limit`, that many).
`quantity_limit` caps units per line, `aggregated_quantity_limit` units over the target,
`amount_limit` the discount per line and `aggregated_amount_limit` the discount over the target.
"""

from dataclasses import dataclass, field

from .snapshot import Item


@dataclass
class Scope:
    units: dict[int, int] | None = None  # None: every line, whole
    line_caps: dict[int, int] = field(default_factory=dict)
    group_caps: list[tuple[list[int], int]] = field(default_factory=list)
    included: list[dict] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)

    @property
    def lines(self) -> set[int] | None:
        return None if self.units is None else {i for i, n in self.units.items() if n > 0}


def scope(applicable_to: list[dict], items: tuple[Item, ...]) -> Scope:
    included = [t for part in applicable_to for t in (part.get("included") or [])]
    excluded = [t for part in applicable_to for t in (part.get("excluded") or [])]
    result = Scope(included=included, excluded=excluded)
    if not included and not excluded:
        return result
    allowed = [i for i, item in enumerate(items) if not any(item.matches(t) for t in excluded)]
    if not included:
        result.units = {i: items[i].quantity for i in allowed}
        return result
    units: dict[int, int] = {}
    for target in included:
        matched = [i for i in allowed if items[i].matches(target)]
        reach = _reach(target, matched, items)
        for index, count in reach.items():
            units[index] = max(units.get(index, 0), count)
        if target.get("amount_limit") is not None:
            for index in reach:
                cap = int(target["amount_limit"])
                result.line_caps[index] = min(result.line_caps.get(index, cap), cap)
        if target.get("aggregated_amount_limit") is not None:
            result.group_caps.append((sorted(reach), int(target["aggregated_amount_limit"])))
    result.units = units
    return result


def _reach(target: dict, matched: list[int], items) -> dict[int, int]:
    effect = target.get("effect") or "APPLY_TO_EVERY"
    if not matched:
        return {}
    by_price = sorted(matched, key=lambda i: (items[i].price, i))
    if effect == "APPLY_TO_CHEAPEST":
        return {by_price[0]: 1}
    if effect == "APPLY_TO_MOST_EXPENSIVE":
        return {max(matched, key=lambda i: (items[i].price, -i)): 1}
    if effect == "APPLY_FROM_CHEAPEST":
        ordered = by_price
    elif effect == "APPLY_FROM_MOST_EXPENSIVE":
        ordered = sorted(matched, key=lambda i: (-items[i].price, i))
    else:
        ordered = matched
    per_line = target.get("quantity_limit")
    left = target.get("aggregated_quantity_limit")
    reach = {}
    for index in ordered:
        count = items[index].quantity
        if per_line is not None:
            count = min(count, int(per_line))
        if left is not None:
            count = min(count, left)
            left -= count
        if count > 0:
            reach[index] = count
    return reach
