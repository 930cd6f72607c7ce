"""What the engine is given: frozen facts gathered by the services in a bounded number of queries.

Nothing here touches the database. Ids are public ids (`prod_…`, `seg_…`, `camp_…`); money is
integer minor units; times are aware datetimes in UTC and the project's time zone comes along
for day-based validity.
"""

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Item:
    """One order line, with what rules need to know about its product."""

    price: int
    quantity: int
    amount: int
    product_id: str = ""
    product_source_id: str = ""
    sku_id: str = ""
    sku_source_id: str = ""
    name: str = ""
    metadata: dict = field(default_factory=dict)  # the line's metadata
    product_metadata: dict = field(default_factory=dict)
    discount_amount: int = 0  # discount the line already carries (a stored order)
    collections: frozenset = frozenset()  # pc_ ids the product or SKU belongs to

    def matches(self, target: dict) -> bool:
        """Does this line fall under an ApplicableTo / product reference (`{object, id}`)?"""
        kind = target.get("object") or "product"
        ref = target.get("id") or ""
        source = target.get("source_id") or ""
        if kind == "products_collection":
            return ref in self.collections
        if kind == "sku":
            return bool(ref and ref == self.sku_id) or bool(source and source == self.sku_source_id)
        return bool(ref and ref == self.product_id) or bool(
            source and source == self.product_source_id
        )


@dataclass(frozen=True)
class Cart:
    amount: int
    items: tuple[Item, ...] = ()
    initial_amount: int | None = None
    metadata: dict = field(default_factory=dict)
    discount_amount: int = 0  # order-level discount the order already carries


@dataclass(frozen=True)
class CustomerFacts:
    id: str = ""
    source_id: str = ""
    segments: frozenset = frozenset()
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Counters:
    """Redemption counts the rules compare against, for the redeemable's campaign (or the voucher
    itself when it has none) and for this customer. Periods are calendar periods in the project's
    time zone. Rolled-back redemptions do not count; failed ones never did."""

    campaign_total: int = 0
    campaign_daily: int = 0
    campaign_weekly: int = 0
    campaign_monthly: int = 0
    campaign_customers: int = 0
    campaign_discounted: int = 0  # minor units of discount the campaign has given
    campaign_orders_amount: int = 0
    customer_total: int = 0
    customer_daily: int = 0
    customer_weekly: int = 0
    customer_monthly: int = 0


@dataclass(frozen=True)
class Rule:
    """A validation rule as stored (Voucherify's `rules` dict with `logic`) plus its id."""

    id: str
    name: str
    rules: dict
    error_message: str = ""
    applicable_to: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    hierarchy: int
    stacking_rules_type: str = "JOINT"  # JOINT | EXCLUSIVE


@dataclass(frozen=True)
class Redeemable:
    """A voucher (code) or a promotion tier, with everything needed to judge it."""

    object: str  # voucher | promotion_tier
    id: str  # the code for vouchers, promo_… for tiers: what the request named
    public_id: str = ""
    found: bool = True
    type: str = "DISCOUNT_VOUCHER"  # DISCOUNT_VOUCHER | GIFT_VOUCHER | LOYALTY_CARD | PROMOTION
    name: str = ""
    campaign_id: str = ""
    campaign_name: str = ""
    discount: dict | None = None
    gift_balance: int = 0
    gift_effect: str = "APPLY_TO_ORDER"
    loyalty_balance: int = 0
    active: bool = True
    campaign_active: bool = True
    start_date: dt.datetime | None = None
    expiration_date: dt.datetime | None = None
    validity_timeframe: dict | None = None
    validity_day_of_week: list | None = None
    validity_hours: dict | None = None
    quantity: int | None = None
    redeemed_quantity: int = 0
    held_by_others: int = 0  # live session locks of other sessions
    holder_id: str = ""
    categories: tuple[Category, ...] = ()
    rules: tuple[Rule, ...] = ()
    counters: Counters = Counters()
    credits: int | None = None  # gift credits asked for (None: as many as possible)
    points: int | None = None  # loyalty points asked for
    metadata: dict = field(default_factory=dict)
    requested_position: int = 0


@dataclass(frozen=True)
class StackingRules:
    """The project's stacking rules, with Voucherify's defaults."""

    redeemables_limit: int = 30
    applicable_redeemables_limit: int = 30
    applicable_redeemables_per_category_limit: int | None = None
    applicable_exclusive_redeemables_limit: int = 5
    applicable_exclusive_redeemables_per_category_limit: int | None = None
    redeemables_application_mode: str = "ALL"  # ALL | PARTIAL
    redeemables_sorting_rule: str = "REQUESTED_ORDER"  # REQUESTED_ORDER | CATEGORY_HIERARCHY
    redeemables_no_effect_rule: str = "REDEEM_ANYWAY"  # REDEEM_ANYWAY | SKIP

    def as_dict(self) -> dict:
        return {
            "redeemables_limit": self.redeemables_limit,
            "applicable_redeemables_limit": self.applicable_redeemables_limit,
            "applicable_redeemables_per_category_limit": (
                self.applicable_redeemables_per_category_limit
            ),
            "applicable_exclusive_redeemables_limit": self.applicable_exclusive_redeemables_limit,
            "applicable_exclusive_redeemables_per_category_limit": (
                self.applicable_exclusive_redeemables_per_category_limit
            ),
            "exclusive_categories": [],
            "joint_categories": [],
            "redeemables_application_mode": self.redeemables_application_mode,
            "redeemables_sorting_rule": self.redeemables_sorting_rule,
            "redeemables_products_application_mode": "STACK",
            "redeemables_no_effect_rule": self.redeemables_no_effect_rule,
            "no_effect_skip_categories": [],
            "no_effect_redeem_anyway_categories": [],
            "redeemables_rollback_order_mode": "WITH_ORDER",
        }


@dataclass(frozen=True)
class Request:
    cart: Cart
    redeemables: tuple[Redeemable, ...]
    now: dt.datetime
    time_zone: str = "UTC"
    customer: CustomerFacts | None = None
    metadata: dict = field(default_factory=dict)  # the redemption's metadata
    stacking: StackingRules = StackingRules()
    unit_prices: dict = field(default_factory=dict)  # prod_/sku_ id -> price, for UNIT discounts
    currency_digits: int = 2
