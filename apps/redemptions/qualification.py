"""Qualification: which of the customer's codes, which campaigns and which promotion tiers would
apply to this cart, best deal first. Nothing is redeemed or reserved.

Each candidate is judged alone (as if it were the only redeemable), from one snapshot loaded for
all of them in a bounded number of queries.
"""

import dataclasses
import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.core.prepared import prepared_statements
from apps.engine.validation import APPLICABLE, Result, validate

from . import reads
from .services import _customer, tracking_id_for
from .snapshot import Ref, load

SCENARIOS = ("ALL", "CUSTOMER_WALLET", "PROMOTION_STACKS", "AUDIENCE_ONLY", "PRODUCTS")
SORTING = ("BEST_DEAL", "LEAST_DEAL", "DEFAULT")
MAX_CANDIDATES = 300  # per kind: wallet codes, promotion tiers, campaigns
DEFAULT_LIMIT, MAX_LIMIT = 5, 50


@dataclass
class Qualified:
    ref: Ref
    result: Result

    @property
    def object(self) -> str:
        return self.ref.object

    @property
    def value(self) -> int:
        return self.result.discount + self.result.points


@dataclass
class Qualification:
    redeemables: list[Qualified]
    total: int
    has_more: bool
    tracking_id: str
    customer: object
    order: object
    stacking_rules: dict


def _options(payload: dict) -> tuple[str, str, int]:
    scenario = payload.get("scenario") or "ALL"
    if scenario not in SCENARIOS:
        raise ApplicationError(
            f"scenario must be one of {', '.join(SCENARIOS)}.", details="scenario"
        )
    options = payload.get("options") or {}
    if not isinstance(options, dict):
        raise ApplicationError("options must be an object.", details="options")
    sorting = options.get("sorting_rule") or "BEST_DEAL"
    if sorting not in SORTING:
        raise ApplicationError(
            f"options.sorting_rule must be one of {', '.join(SORTING)}.", details="options"
        )
    limit = options.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ApplicationError(
            f"options.limit must be a whole number from 1 to {MAX_LIMIT}.", details="options"
        )
    return scenario, sorting, limit


@prepared_statements()
def qualification_check(*, project, payload: dict, now: dt.datetime | None = None) -> Qualification:
    now = now or timezone.now()
    if not isinstance(payload, dict):
        raise ApplicationError("The request must be a JSON object.")
    scenario, sorting, limit = _options(payload)
    customer, fresh = _customer(project, payload)
    refs: list[Ref] = []
    if customer is not None and scenario in ("ALL", "CUSTOMER_WALLET", "AUDIENCE_ONLY"):
        wallet = reads.held_codes(project, customer_id=customer.pk, limit=MAX_CANDIDATES)
        refs += [Ref("voucher", v.code, voucher=v) for v in wallet]
    if scenario in ("ALL", "PROMOTION_STACKS", "AUDIENCE_ONLY", "PRODUCTS"):
        tiers = reads.tiers(project, active=True, limit=MAX_CANDIDATES)
        refs += [Ref("promotion_tier", t.public_id, tier=t) for t in tiers]
    if scenario in ("ALL", "AUDIENCE_ONLY", "PRODUCTS"):
        # Campaigns that hand out codes on demand: the customer could get one.
        campaigns = reads.code_campaigns(project, limit=MAX_CANDIDATES)
        refs += [Ref("campaign", c.public_id, campaign=c) for c in campaigns]
    for position, ref in enumerate(refs):
        ref.position = position
    snap = load(
        project=project,
        refs=refs,
        order_payload=payload.get("order") or {},
        customer=customer,
        customer_fresh=fresh,
        metadata=payload.get("metadata") or {},
        now=now,
        preloaded=True,
    )
    qualified = []
    # one cart, customer and moment: a rule shared by many candidates is judged once (not for
    # AUDIENCE_ONLY, whose trimmed rules are new objects for every candidate)
    shared: dict = {}
    for ref, redeemable in zip(refs, snap.request.redeemables, strict=True):
        memo = shared
        if scenario == "AUDIENCE_ONLY":
            redeemable = dataclasses.replace(redeemable, rules=_audience_rules(redeemable.rules))
            memo = None
        outcome = validate(dataclasses.replace(snap.request, redeemables=(redeemable,)), memo)
        result = outcome.results[0]
        if result.status == APPLICABLE:
            qualified.append(Qualified(ref, result))
    if sorting != "DEFAULT":
        qualified.sort(key=lambda q: q.value, reverse=sorting == "BEST_DEAL")
    return Qualification(
        redeemables=qualified[:limit],
        total=len(qualified),
        has_more=len(qualified) > limit,
        tracking_id=tracking_id_for(customer, payload.get("tracking_id")),
        customer=customer,
        order=snap.order,
        stacking_rules=snap.request.stacking.as_dict(),
    )


def _audience_rules(rules):
    """AUDIENCE_ONLY: only the customer conditions count; the cart is not judged."""
    kept = []
    for rule in rules:
        conditions = {
            key: condition
            for key, condition in rule.rules.items()
            if key != "logic" and str(condition.get("name", "")).startswith("customer.")
        }
        if conditions:
            logic = " and ".join(sorted(conditions, key=int))
            kept.append(dataclasses.replace(rule, rules={**conditions, "logic": logic}))
    return tuple(kept)
