"""API load benchmark: gunicorn in front of PostgreSQL, a load generator on the same machine.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/vc_redemptions_bench
    export CELERY_BROKER_URL=redis://127.0.0.1:6379/9
    .venv/bin/python bench/redemptions.py --runs 20      # creates the data once
    .venv/bin/python bench/api_load.py [--workers 3] [--clients 8] [--seconds 20]

Targets (issue 7): POST /v1/validations (5 codes, 20-item cart, rules) >= 400 req/s with p95
<= 30 ms; POST /v1/redemptions >= 250 req/s with p95 <= 50 ms and no over-redemption of a hot
code; POST /v1/qualifications with 100 active campaigns and tiers p95 <= 60 ms. A plain indexed
lookup (GET /v1/redemptions/{id}) is measured too, as the framework's floor.

gunicorn runs `--workers` sync processes with persistent database connections; the load generator
runs `--clients` threads in this process, each with a keep-alive HTTP connection, sending requests
back to back for `--seconds` per endpoint.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from export_customers import BASE_DIR, setup_django

PORT = 8765


def start_server(workers: int) -> subprocess.Popen:
    env = {**os.environ, "CONN_MAX_AGE": "600", "DEBUG": "False", "ALLOWED_HOSTS": "*"}
    env.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    server = subprocess.Popen(  # noqa: S603 -- our own gunicorn, fixed arguments
        [
            str(BASE_DIR / ".venv/bin/gunicorn"),
            "voucherify_clone.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    sys.exit("gunicorn did not start")


def load(name: str, make_request, *, clients: int, seconds: float) -> None:
    """Run `make_request() -> (method, path, body)` from `clients` threads for `seconds`."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        mine, codes = [], {}
        while time.perf_counter() < stop:
            method, path, body, headers = make_request()
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            codes[response.status] = codes.get(response.status, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))]

    print(
        f"{name:44s} {len(latencies) / elapsed:7.0f} req/s  p50 {pct(0.5):6.1f}  "
        f"p95 {pct(0.95):6.1f}  p99 {pct(0.99):6.1f} ms  statuses {statuses}"
    )


def ensure_promotions(project, tiers: int = 50):
    """A promotion campaign with `tiers` active tiers (every other one behind the bench rule):
    with the 50 code campaigns, 100 campaigns and tiers for qualifications to weigh."""
    from apps.campaigns.models import Campaign, PromotionTier
    from apps.rules.models import RuleAssignment, ValidationRule

    campaign, _ = Campaign.objects.get_or_create(
        project=project,
        name="Bench promotions",
        defaults={"campaign_type": "PROMOTION", "type": "AUTO_UPDATE", "code_config": {}},
    )
    rule = ValidationRule.objects.filter(project=project, name="Bench rule").first()
    for n in range(PromotionTier.objects.filter(campaign=campaign).count(), tiers):
        tier = PromotionTier.objects.create(
            project=project,
            campaign=campaign,
            name=f"Bench tier {n:02d}",
            hierarchy=n + 1,
            discount={"type": "AMOUNT", "amount_off": 50 + n * 5, "effect": "APPLY_TO_ORDER"},
        )
        if rule is not None and n % 2:
            RuleAssignment.objects.create(project=project, rule=rule, tier=tier)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    setup_django()
    from apps.campaigns.models import Voucher
    from apps.products.models import Product
    from apps.projects.models import Project
    from apps.projects.services import api_key_create
    from apps.redemptions.models import Redemption

    project = Project.objects.filter(name="Bench customers 1000000").first()
    if project is None or not Voucher.objects.filter(project=project).exists():
        sys.exit("Run bench/redemptions.py first: it creates the data.")
    key, token = api_key_create(project=project, name=f"load {time.time():.0f}")
    headers = {
        "Content-Type": "application/json",
        "X-App-Id": key.app_id,
        "X-App-Token": token,
    }
    products = list(Product.objects.filter(project=project).order_by("pk"))
    fresh = list(
        Voucher.objects.filter(project=project, redeemed_quantity=0)
        .order_by("?")
        .values_list("code", flat=True)[:60_000]
    )
    pool_lock = threading.Lock()
    rng = random.Random(7)  # noqa: S311 -- repeatable test data, not secrets

    def codes(count):
        with pool_lock:
            return [fresh.pop() for _ in range(count)]

    def cart():
        with pool_lock:
            lines = [products[0], *(rng.choice(products[1:]) for _ in range(19))]
            customer = f"src-{rng.randrange(1, 1_000_000)}"
        return {
            "items": [{"product_id": p.public_id, "quantity": 1, "price": p.price} for p in lines]
        }, {"source_id": customer}

    def validation():
        order, customer = cart()
        body = {
            "redeemables": [{"object": "voucher", "id": code} for code in codes(5)],
            "order": order,
            "customer": customer,
        }
        return "POST", "/v1/validations", json.dumps(body), headers

    def redemption():
        order, customer = cart()
        body = {
            "redeemables": [{"object": "voucher", "id": codes(1)[0]}],
            "order": order,
            "customer": customer,
        }
        return "POST", "/v1/redemptions", json.dumps(body), headers

    ensure_promotions(project)

    def qualification():
        order, customer = cart()
        body = {"customer": customer, "order": order, "scenario": "ALL", "options": {"limit": 10}}
        return "POST", "/v1/qualifications", json.dumps(body), headers

    # a hot code: every client redeems the same code, which has `hot_quantity` uses
    hot_quantity = 200
    hot = Voucher.objects.filter(project=project, redeemed_quantity=0).order_by("-pk").first()
    Voucher.objects.filter(pk=hot.pk).update(redemption_quantity=hot_quantity)

    def hot_redemption():
        order, customer = cart()
        body = {"redeemables": [{"object": "voucher", "id": hot.code}], "order": order}
        return "POST", "/v1/redemptions", json.dumps({**body, "customer": customer}), headers

    some = Redemption.objects.filter(project=project).values_list("public_id", flat=True)
    lookups = list(some[:1000])

    def lookup():
        with pool_lock:
            redemption_id = rng.choice(lookups)
        return "GET", f"/v1/redemptions/{redemption_id}", None, headers

    server = start_server(args.workers)
    try:
        print(f"gunicorn {args.workers} workers, {args.clients} clients, {args.seconds:.0f} s each")
        load("warm-up", validation, clients=args.clients, seconds=3)
        load("GET /v1/redemptions/{id} (framework floor)", lookup, **vars_of(args))
        load("POST /v1/validations (5 codes, 20 lines)", validation, **vars_of(args))
        load("POST /v1/redemptions (1 code, 20 lines)", redemption, **vars_of(args))
        load("POST /v1/qualifications (100 campaigns+tiers)", qualification, **vars_of(args))
        # latency without queueing: one client per worker
        load(
            f"POST /v1/qualifications, {args.workers} clients",
            qualification,
            clients=args.workers,
            seconds=args.seconds,
        )
        load("POST /v1/redemptions, one hot code", hot_redemption, clients=args.clients, seconds=5)
        hot.refresh_from_db()
        succeeded = Redemption.objects.filter(voucher=hot, result="SUCCESS").count()
        print(
            f"hot code {hot.code}: {hot_quantity} uses, redeemed_quantity {hot.redeemed_quantity}, "
            f"successful redemptions {succeeded}, over-redemption "
            f"{max(0, succeeded - hot_quantity)}"
        )
    finally:
        server.terminate()
        server.wait()


def vars_of(args) -> dict:
    return {"clients": args.clients, "seconds": args.seconds}


if __name__ == "__main__":
    main()
