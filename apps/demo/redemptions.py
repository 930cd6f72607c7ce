"""Demo validation rules and two months of redemption history for `seed_demo`.

Four rules guard the demo campaigns (a minimum order, one use per customer, a VIP-only tier and
a tier for the "Staff picks" collection). Then a few hundred checkouts of demo customers, with
carts of demo products, go through the real redemption service, spread over the last 60 days:
welcome codes, referral codes, Spring sale tiers and stacks of them. Some fail on purpose (a
used-up code, a small cart, a repeat referral, a tier for someone else, an unknown code), and
5 % of the successful ones are rolled back a few hours later. (Gift cards are left untouched:
the demo shows them with their full balance.)

Idempotent: a rule that exists (by name) and an assignment that exists are left alone, and the
history is written once per project (its redemptions carry the channel id "seed_demo").
"""

import random
from datetime import timedelta

from django.utils import timezone

from apps.campaigns.models import Campaign, PromotionTier, Voucher
from apps.core.errors import ApplicationError
from apps.demo.data import VIP_SOURCE_IDS
from apps.products.models import Product, ProductCollection
from apps.redemptions.models import ChannelType, Redemption
from apps.redemptions.services import redemption_redeem, redemption_rollback
from apps.rules.models import RuleAssignment, ValidationRule
from apps.rules.services import assignment_create, rule_create
from apps.segments.models import Segment

SEED_CHANNEL = "seed_demo"
HISTORY_DAYS = 60
HISTORY_COUNT = 300
ROLLBACK_EVERY = 20  # every twentieth successful redemption is rolled back
ROLLBACK_REASONS = ["Order returned", "Payment failed", "Cancelled by the customer"]

REFERRAL = "Refer a friend"
WELCOME = "Welcome 10% off"
SPRING = "Spring sale"
TIER_100 = "10% off orders above 100.00"
TIER_200 = "15% off orders above 200.00"
TIER_400 = "50.00 off orders above 400.00"


def seed_redemptions(project, *, count: int = HISTORY_COUNT, now=None) -> None:
    seed_rules(project)
    seed_history(project, count=count, now=now or timezone.now())


# -- rules -------------------------------------------------------------------------------------


def _rule_specs(project) -> list[tuple[dict, list]]:
    """(rule payload, targets) for the rules whose campaigns, tiers, segment and collection are
    there (a demo the user edited may have lost some)."""
    campaigns = {c.name: c for c in Campaign.objects.filter(project=project)}
    tiers = {
        t.name: t for t in PromotionTier.objects.filter(project=project, campaign__name=SPRING)
    }
    vip = Segment.objects.filter(project=project, name="VIP list").first()
    picks = ProductCollection.objects.filter(project=project, name="Staff picks").first()
    specs = []
    if REFERRAL in campaigns:
        referral = [campaigns[REFERRAL]]
        specs.append(
            (
                {
                    "name": "Orders over 50.00",
                    "rules": {
                        "1": {
                            "name": "order.amount",
                            "conditions": {"$more_than_or_equal": [5000]},
                        },
                        "logic": "1",
                    },
                    "error": {"message": "Referral codes work on orders of 50.00 or more."},
                },
                referral,
            )
        )
        specs.append(
            (
                {
                    "name": "Once per customer",
                    "rules": {
                        "1": {
                            "name": "redemption.count.per_customer",
                            "conditions": {"$less_than_or_equal": [1]},
                        },
                        "logic": "1",
                    },
                    "error": {"message": "Each customer can use a referral code once."},
                },
                referral,
            )
        )
    if vip is not None and TIER_400 in tiers:
        specs.append(
            (
                {
                    "name": "VIP orders over 400.00",
                    "rules": {
                        "1": {"name": "customer.segment", "conditions": {"$is": [vip.public_id]}},
                        "2": {
                            "name": "order.amount",
                            "conditions": {"$more_than_or_equal": [40000]},
                        },
                        "logic": "1 and 2",
                    },
                },
                [tiers[TIER_400]],
            )
        )
    if picks is not None and TIER_100 in tiers:
        collection = {"object": "products_collection", "id": picks.public_id}
        specs.append(
            (
                {
                    "name": "Staff picks over 100.00",
                    "rules": {
                        "1": {"name": "order.items.any", "conditions": {"$in": [collection]}},
                        "2": {
                            "name": "order.amount",
                            "conditions": {"$more_than_or_equal": [10000]},
                        },
                        "logic": "1 and 2",
                    },
                    "applicable_to": {"included": [collection]},
                    "error": {"message": "Add a staff pick and spend 100.00 or more."},
                },
                [tiers[TIER_100]],
            )
        )
    return specs


def seed_rules(project) -> list[ValidationRule]:
    existing = {rule.name: rule for rule in ValidationRule.objects.filter(project=project)}
    rules = []
    for payload, targets in _rule_specs(project):
        rule = existing.get(payload["name"]) or rule_create(project=project, payload=payload)
        rules.append(rule)
        for target in targets:
            field = "campaign" if isinstance(target, Campaign) else "tier"
            if not RuleAssignment.objects.filter(rule=rule, **{field: target}).exists():
                assignment_create(rule=rule, target=target)
    return rules


# -- history -----------------------------------------------------------------------------------


def seed_history(project, *, count: int, now) -> None:
    if Redemption.objects.filter(project=project, channel_id=SEED_CHANNEL).exists():
        return
    codes = {
        name: list(
            Voucher.objects.filter(project=project, campaign__name=name)
            .order_by("pk")
            .values_list("code", flat=True)
        )
        for name in (WELCOME, REFERRAL)
    }
    tiers = {
        t.name: t.public_id
        for t in PromotionTier.objects.filter(project=project, campaign__name=SPRING)
    }
    products = list(
        Product.objects.filter(project=project, source_id__startswith="demo-prod-").order_by(
            "source_id"
        )
    )
    if not products:
        return
    rng = random.Random(f"{project.public_id}-redemptions")  # noqa: S311 (demo data)
    pick = _Picker(rng, codes, tiers)
    dearest = max(products, key=lambda product: product.price or 0)
    start = now - timedelta(days=HISTORY_DAYS)
    step = timedelta(days=HISTORY_DAYS) / count
    succeeded = 0
    for index in range(count):
        when = start + step * index + timedelta(seconds=rng.randint(0, int(step.total_seconds())))
        redeemables, big_spender = pick()
        lines = rng.sample(products, rng.choice([1, 1, 2, 2, 3, 4]))
        if big_spender and dearest not in lines:
            lines.append(dearest)
        payload = {
            "redeemables": redeemables,
            "order": {
                "source_id": f"demo-red-ord-{index + 1:04d}",
                "items": [
                    {"product_id": product.public_id, "quantity": rng.randint(1, 3)}
                    for product in lines
                ],
                "metadata": {"channel": rng.choice(["web", "app", "store"])},
            },
            "metadata": {"channel": rng.choice(["web", "app", "store"])},
        }
        if big_spender and rng.random() < 0.75:
            payload["customer"] = {"source_id": rng.choice(VIP_SOURCE_IDS)}
        elif rng.random() > 0.08:  # a few anonymous checkouts
            payload["customer"] = {"source_id": f"demo-cust-{rng.randint(1, 300):04d}"}
        later = timedelta(hours=rng.randint(1, 72))
        reason = rng.choice(ROLLBACK_REASONS)
        try:
            done = redemption_redeem(
                project=project,
                payload=payload,
                now=when,
                channel_type=ChannelType.API,
                channel_id=SEED_CHANNEL,
            )
        except ApplicationError:
            continue  # the demo was edited into a shape this request no longer fits
        if done.error is not None:
            continue
        succeeded += 1
        if succeeded % ROLLBACK_EVERY == ROLLBACK_EVERY // 2:  # one in twenty: 5 %
            redemption_rollback(
                redemption=done.parent,
                reason=reason,
                now=min(when + later, now),
                channel_type=ChannelType.API,
                channel_id=SEED_CHANNEL,
            )


class _Picker:
    """What each checkout asks for: mostly things that work, and some that fail on purpose.
    Deterministic for a given random generator and demo (codes in primary-key order)."""

    def __init__(self, rng: random.Random, codes: dict, tiers: dict):
        self.rng, self.tiers = rng, tiers
        self.welcome, self.referral = codes[WELCOME], codes[REFERRAL]
        self.used: list[str] = []

    def welcome_code(self) -> str:
        """The next unused single-use code; now and then one used before (quantity_exceeded)."""
        fresh = self.welcome[len(self.used) :]
        if self.used and (not fresh or self.rng.random() < 0.1):
            return self.rng.choice(self.used)
        self.used.append(fresh[0])
        return fresh[0]

    def __call__(self) -> tuple[list[dict], bool]:
        """(redeemables, whether the checkout is a big VIP order)."""
        rng, tiers = self.rng, self.tiers
        kind = rng.choices(
            ["welcome", "referral", "tier", "stack", "unknown"],
            weights=[10, 25, 55, 6, 4],
        )[0]
        if kind == "welcome" and self.welcome:
            return [{"object": "voucher", "id": self.welcome_code()}], False
        if kind == "referral" and self.referral:
            # small carts and second uses by the same customer fail the referral rules
            return [{"object": "voucher", "id": rng.choice(self.referral)}], False
        names = [name for name in (TIER_100, TIER_200, TIER_400) if name in tiers]
        if kind == "tier" and names:
            name = rng.choices(
                names, weights=[{TIER_100: 2, TIER_400: 2}.get(n, 5) for n in names]
            )[0]
            return [{"object": "promotion_tier", "id": tiers[name]}], name == TIER_400
        if kind == "stack" and tiers and self.welcome:
            # a seasonal tier (exclusive category) with a newsletter code (joint category)
            tier = tiers.get(TIER_200) or next(iter(tiers.values()))
            return [
                {"object": "promotion_tier", "id": tier},
                {"object": "voucher", "id": self.welcome_code()},
            ], False
        return [{"object": "voucher", "id": f"NOPE-{rng.randint(1000, 9999)}"}], False
