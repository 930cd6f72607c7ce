"""Redemption engine benchmark on PostgreSQL: the pure engine, the validation service and the
redemption service over 1,000,000 customers, 1,000,000 vouchers and 50 campaigns with rules.

    createdb -h 127.0.0.1 -U postgres vc_redemptions_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/vc_redemptions_bench
    export CELERY_BROKER_URL=redis://127.0.0.1:6379/9  # after-commit tasks go where they would
    .venv/bin/python bench/redemptions.py [--runs 300] [--profile validate|redeem]

Targets (issue 6): engine, 30 redeemables on a 50-item cart <= 5 ms; validation service
(5 redeemables, 20-item cart, segment and product rules) <= 8 ms median; redemption service
<= 15 ms median; queries per validation <= 15 whatever the number of items and rules.

The first run creates the data (customers as in export_customers.py, about 80 s; 50 campaigns
of 20,000 codes, about 30 s); later runs reuse it.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from export_customers import ensure_customers, setup_django

CAMPAIGNS = 50
CODES_PER_CAMPAIGN = 20_000
PRODUCTS = 200


def ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    return (
        f"median {statistics.median(samples):6.2f} ms  p95 {p95:6.2f} ms  "
        f"min {samples[0]:6.2f} ms  (n={len(samples)})"
    )


def ensure_catalog(project):
    """200 products, a static collection of the first 50 and an auto-update one (price >= 50.00),
    an auto-update segment (metadata tier Gold) and a static one."""
    from apps.products.models import CollectionItem, Product, ProductCollection
    from apps.segments.models import Segment

    if not Product.objects.filter(project=project).exists():
        Product.objects.bulk_create(
            Product(
                project=project,
                source_id=f"bench-prod-{i}",
                name=f"Product {i}",
                price=500 + (i * 137) % 9500,
                metadata={"brand": ["Acme", "Globex", "Initech"][i % 3]},
            )
            for i in range(PRODUCTS)
        )
    products = list(Product.objects.filter(project=project).order_by("pk"))
    shoes, _ = ProductCollection.objects.get_or_create(
        project=project, name="Bench shoes", defaults={"type": "STATIC"}
    )
    if not CollectionItem.objects.filter(collection=shoes).exists():
        CollectionItem.objects.bulk_create(
            CollectionItem(collection=shoes, product=p) for p in products[:50]
        )
    premium, _ = ProductCollection.objects.get_or_create(
        project=project,
        name="Bench premium",
        defaults={
            "type": "AUTO_UPDATE",
            "filter": {"junction": "and", "price": {"conditions": {"$more_than": [5000]}}},
        },
    )
    gold, _ = Segment.objects.get_or_create(
        project=project,
        name="Bench gold",
        defaults={
            "type": "auto-update",
            "filter": {"junction": "and", "metadata.tier": {"conditions": {"$is": "Gold"}}},
        },
    )
    if gold.computed_at is None:
        from apps.segments.services import segment_recompute

        segment_recompute(segment_id=gold.pk)  # a third of the customers
    return products, shoes, premium, gold


def ensure_campaigns(project, shoes, premium, gold):
    """50 campaigns of 20,000 codes; each with a rule of segment, order and product conditions."""
    from apps.campaigns.models import Campaign, Voucher
    from apps.campaigns.services import campaign_create
    from apps.campaigns.services.generation import generate_codes
    from apps.rules.models import RuleAssignment, ValidationRule
    from apps.rules.services import assignment_create, rule_create

    rules = {
        "1": {"name": "customer.segment", "conditions": {"$in": [gold.public_id]}},
        "2": {"name": "order.amount", "conditions": {"$more_than_or_equal": [5000]}},
        "3": {
            "name": "product.id",
            "conditions": {"$in": [{"object": "products_collection", "id": shoes.public_id}]},
            "rules": {
                "1": {"name": "product.quantity", "conditions": {"$more_than_or_equal": [1]}},
                "logic": "1",
            },
        },
        "4": {"name": "customer.metadata", "property": "tier", "conditions": {"$is": ["Bronze"]}},
        "logic": "(1 or 4) and 2 and 3",
    }
    rule = ValidationRule.objects.filter(project=project, name="Bench rule").first() or rule_create(
        project=project,
        payload={
            "name": "Bench rule",
            "rules": rules,
            "applicable_to": {
                "included": [{"object": "products_collection", "id": premium.public_id}],
            },
        },
    )
    created = 0
    for n in range(CAMPAIGNS):
        name = f"Bench campaign {n:02d}"
        campaign = Campaign.objects.filter(project=project, name=name).first()
        if campaign is None:
            discount = (
                {"type": "PERCENT", "percent_off": 5 + n % 20, "effect": "APPLY_TO_ITEMS"}
                if n % 2
                else {"type": "AMOUNT", "amount_off": 100 + n * 10, "effect": "APPLY_TO_ORDER"}
            )
            campaign = campaign_create(
                project=project,
                payload={
                    "name": name,
                    "voucher": {
                        "discount": discount,
                        "code_config": {"pattern": f"B{n:02d}-########"},
                    },
                },
            )
        have = Voucher.objects.filter(campaign=campaign).count()
        if have < CODES_PER_CAMPAIGN:
            created += generate_codes(campaign, CODES_PER_CAMPAIGN - have)
        if not RuleAssignment.objects.filter(rule=rule, campaign=campaign).exists():
            assignment_create(rule=rule, target=campaign)
    return created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--profile", choices=["validate", "redeem"], help="cProfile a service")
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from apps.campaigns.models import Voucher
    from apps.customers.models import Customer
    from apps.engine.validation import validate
    from apps.redemptions.services import redemption_redeem, validation_check
    from apps.redemptions.snapshot import Ref, load

    project = ensure_customers(1_000_000)
    products, shoes, premium, gold = ensure_catalog(project)
    started = time.perf_counter()
    created = ensure_campaigns(project, shoes, premium, gold)
    if created:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE campaigns_voucher")
        print(f"Generated {created:,} codes in {time.perf_counter() - started:.1f} s.")
    print(
        f"Data: {Customer.objects.filter(project=project).count():,} customers, "
        f"{Voucher.objects.filter(project=project).count():,} vouchers, {CAMPAIGNS} campaigns."
    )
    rng = random.Random(6)  # noqa: S311 -- repeatable test data, not secrets
    # One code per campaign that nobody has redeemed yet, drawn fresh for every sample.
    pools = {
        n: list(
            Voucher.objects.filter(
                project=project, campaign__name=f"Bench campaign {n:02d}", redeemed_quantity=0
            ).values_list("code", flat=True)[: args.runs + 10]
        )
        for n in range(CAMPAIGNS)
    }

    def codes(count: int) -> list[str]:
        picked = rng.sample(range(CAMPAIGNS), count)
        return [pools[n].pop() for n in picked]

    def cart(lines: int) -> dict:
        others = [rng.choice(products[1:]) for _ in range(lines - 1)]
        chosen = [products[0], *others]  # product 0 is in "shoes"
        return {
            "items": [
                {"product_id": p.public_id, "quantity": rng.randint(1, 3), "price": p.price}
                for p in chosen
            ]
        }

    def customer() -> dict:
        # every third bench customer is Gold (i % 3 == 0 → tier index 1 + 0), the rest pass by
        # metadata Bronze or fail: a realistic mix of applicable and inapplicable checks
        return {"source_id": f"src-{rng.randrange(1, 1_000_000)}"}

    def body(count: int, lines: int) -> dict:
        return {
            "redeemables": [{"object": "voucher", "id": code} for code in codes(count)],
            "order": cart(lines),
            "customer": customer(),
        }

    # warm up connections, plans and caches
    for _ in range(20):
        validation_check(project=project, payload=body(5, 20))

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        requests = [body(5, 20) for _ in range(100)]
        service = redemption_redeem if args.profile == "redeem" else validation_check
        profiler.enable()
        for request in requests:
            service(project=project, payload=request)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        return

    # 1. the pure engine: 30 redeemables, 50 lines, from one snapshot
    payload = body(30, 50)
    refs = [
        Ref("voucher", entry["id"], position=i) for i, entry in enumerate(payload["redeemables"])
    ]
    snap = load(
        project=project,
        refs=refs,
        order_payload=payload["order"],
        customer=Customer.objects.get(project=project, source_id="src-3"),
        metadata={},
        now=timezone.now(),
    )
    outcome = validate(snap.request)
    samples = []
    for _ in range(args.runs):
        started = time.perf_counter()
        validate(snap.request)
        samples.append((time.perf_counter() - started) * 1000)
    applicable = len(outcome.of("APPLICABLE"))
    print(f"engine, 30 redeemables x 50 lines ({applicable} applicable): {ms(samples)}  (<= 5 ms)")

    # 2. the validation service: 5 redeemables, 20 lines, segment and product rules
    samples, queries, valid = [], [], 0
    for _ in range(args.runs):
        request = body(5, 20)
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = validation_check(project=project, payload=request)
            samples.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured))
        valid += result.valid
    print(f"validation service, 5 x 20 lines ({valid} of {args.runs} valid): {ms(samples)}  (<= 8)")
    print(f"  queries per validation: {min(queries)}-{max(queries)}  (<= 15)")
    for count, lines in ((1, 1), (30, 50), (30, 500)):
        with CaptureQueriesContext(connection) as captured:
            validation_check(project=project, payload=body(count, lines))
        print(f"  queries with {count} redeemables x {lines} lines: {len(captured)}")

    # 3. the redemption service: 1 code, 20 lines (the common checkout), and 5 codes
    for count in (1, 5):
        samples, queries, won = [], [], 0
        for _ in range(args.runs if count == 1 else args.runs // 3):
            request = body(count, 20)
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                done = redemption_redeem(project=project, payload=request)
                samples.append((time.perf_counter() - started) * 1000)
            queries.append(len(captured))
            won += done.error is None
        print(
            f"redemption service, {count} code(s) x 20 lines ({won} succeeded): {ms(samples)}"
            f"  queries {min(queries)}-{max(queries)}  (<= 15 ms)"
        )


if __name__ == "__main__":
    main()
