"""API load benchmark: gunicorn in front of PostgreSQL, a load generator on the same machine.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/vc_redemptions_bench
    export CELERY_BROKER_URL=redis://127.0.0.1:6379/9
    .venv/bin/python bench/redemptions.py --runs 20      # creates the data once
    .venv/bin/python bench/api_load.py [--workers 3] [--clients 8] [--seconds 20]

Targets (issue 7): POST /v1/validations (5 codes, 20-item cart, rules) >= 400 req/s with p95
<= 30 ms; POST /v1/redemptions >= 250 req/s with p95 <= 50 ms and no over-redemption of a hot
code; POST /v1/qualifications with 100 active campaigns and tiers p95 <= 60 ms. A plain indexed
lookup (GET /v1/customers/{source_id}: one row by a unique index, serialized) is measured too, as
the framework's floor, and validation is printed as a ratio of it.

gunicorn runs `--workers` sync processes with persistent database connections. The load generator
is wrk (Debian's `wrk`) when it is installed: every request body is generated first and written to
files that `bench/wrk/replay.lua` replays over `--clients` keep-alive connections, so the generator
costs the server almost no CPU. Without wrk (or with `--python-client`) the requests come from
`--clients` threads in this process, which spend about a fifth of a core themselves. Each endpoint
gets `--seconds` of back-to-back requests.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from export_customers import BASE_DIR, setup_django

PORT = 8765
SERVER_LOG = Path(tempfile.gettempdir()) / "vc-api-load-server.log"


def start_server(workers: int, extra: list[str]) -> subprocess.Popen:
    env = {**os.environ, "CONN_MAX_AGE": "600", "DEBUG": "False", "ALLOWED_HOSTS": "*"}
    env.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    # The server's log (a line per refused request: a third of the redemptions are refused)
    # goes to a file, so that it cannot break the figures' lines on the terminal.
    log = open(SERVER_LOG, "w")  # noqa: SIM115 -- open for the server's lifetime
    print(f"gunicorn's log: {SERVER_LOG}")
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
            *extra,
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=log,
    )
    log.close()
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


WRK = shutil.which("wrk")
WRK_THREADS = 2
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "replay.lua"
WRK_RATE = 900  # requests generated per second of run: more than any endpoint serves here


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far by the web workers (gunicorn) and by PostgreSQL's processes, read
    from /proc: per request it is steadier than req/s on a machine doing other work too."""
    used = {"web": 0.0, "db": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        spent = (int(fields[11]) + int(fields[12])) / tick
        if b"gunicorn" in command:
            used["web"] += spent
        elif stat.split(" ", 2)[1] == "(postgres)":
            used["db"] += spent
    return used


def load(name: str, make_request, *, clients: int, seconds: float, python=False):
    """Run the load; print and return (requests per second, CPU ms per request)."""
    before = cpu_seconds()
    if WRK and not python:
        served, elapsed = load_wrk(name, make_request, clients=clients, seconds=seconds)
    else:
        served, elapsed = load_threads(name, make_request, clients=clients, seconds=seconds)
    after = cpu_seconds()
    web, db = ((after[k] - before[k]) * 1000 / max(served, 1) for k in ("web", "db"))
    print(f"{'':44s} CPU per request: web {web:.2f} ms, PostgreSQL {db:.2f} ms")
    return served / elapsed, web + db


def load_wrk(name: str, make_request, *, clients: int, seconds: float) -> tuple[int, float]:
    """Generate the requests first (each thread of wrk gets a file of its own, so a code popped
    for one request is never sent twice), then replay them with wrk."""
    threads = min(WRK_THREADS, clients)
    per_thread = int(seconds * WRK_RATE / threads) + 1
    auth = {}
    with tempfile.TemporaryDirectory(prefix="vc-wrk-") as folder:
        for number in range(threads):
            with open(f"{folder}/requests-{number}.txt", "w") as out:
                for _ in range(per_thread):
                    method, path, body, headers = make_request()
                    auth = headers
                    out.write(f"{method}\t{path}\t{body or ''}\n")
        result = subprocess.run(  # noqa: S603 -- wrk with fixed arguments
            [
                WRK,
                f"-t{threads}",
                f"-c{clients}",
                f"-d{round(seconds)}s",
                "--timeout",
                "10s",
                "-s",
                str(WRK_SCRIPT),
                f"http://127.0.0.1:{PORT}",
                "--",
                folder,
                auth["X-App-Id"],
                auth["X-App-Token"],
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    count, duration, p50, p95, p99, statuses = line.split(" ", 6)[1:]
    print(
        f"{name:44s} {int(count) / float(duration):7.0f} req/s  p50 {float(p50):6.1f}  "
        f"p95 {float(p95):6.1f}  p99 {float(p99):6.1f} ms  statuses {statuses}"
    )
    return int(count), float(duration)


def load_threads(name: str, make_request, *, clients: int, seconds: float) -> tuple[int, float]:
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
    return len(latencies), elapsed


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
    parser.add_argument(
        "--python-client", action="store_true", help="threads in this process instead of wrk"
    )
    parser.add_argument(
        "--gunicorn", default="", help="more gunicorn options, e.g. '--worker-class gthread'"
    )
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
        """Codes nobody has redeemed yet, each used once."""
        with pool_lock:
            return [fresh.pop() for _ in range(count)]

    def some_codes(count):
        """Fresh codes for a validation, which spends nothing: they may come up again."""
        with pool_lock:
            return rng.sample(fresh, count)

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
            "redeemables": [{"object": "voucher", "id": code} for code in some_codes(5)],
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

    def lookup():
        with pool_lock:
            customer = f"src-{rng.randrange(1, 1_000_000)}"
        return "GET", f"/v1/customers/{customer}", None, headers

    server = start_server(args.workers, args.gunicorn.split())
    try:
        print(f"gunicorn {args.workers} workers, {args.clients} clients, {args.seconds:.0f} s each")
        python = args.python_client
        load("warm-up", validation, clients=args.clients, seconds=3, python=python)
        floor = load("GET /v1/customers/{source_id} (floor)", lookup, **vars_of(args))
        checked = load("POST /v1/validations (5 codes, 20 lines)", validation, **vars_of(args))
        print(
            f"{'':44s} validation / floor: {checked[0] / floor[0]:.2f} of its req/s, "
            f"{checked[1] / floor[1]:.2f}x its CPU per request"
        )
        load("POST /v1/redemptions (1 code, 20 lines)", redemption, **vars_of(args))
        load("POST /v1/qualifications (100 campaigns+tiers)", qualification, **vars_of(args))
        # latency without queueing: one client per worker
        load(
            f"POST /v1/qualifications, {args.workers} clients",
            qualification,
            clients=args.workers,
            seconds=args.seconds,
            python=python,
        )
        load(
            "POST /v1/redemptions, one hot code",
            hot_redemption,
            clients=args.clients,
            seconds=5,
            python=python,
        )
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
    return {"clients": args.clients, "seconds": args.seconds, "python": args.python_client}


if __name__ == "__main__":
    main()
