"""Distribution benchmark: a manual email distribution to a 100,000-customer segment, a code per
customer, sent by a real Celery worker to an SMTP server on loopback (PostgreSQL and Redis).

    createdb -h 127.0.0.1 -U postgres vc_distributions_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/vc_distributions_bench
    export CELERY_BROKER_URL=redis://127.0.0.1:6379/9
    .venv/bin/python bench/distributions.py [--customers 100000] [--concurrency 2] [--kill]

The first run creates the customers (1 % without an email, 1 % opted out), a static segment of
all of them and a campaign with a code for each; later runs reuse them, releasing the codes and
dropping the previous run's distribution first. The SMTP sink (tests/distributions/smtp_sink.py)
runs in a process of its own and logs every message it accepts; the worker is
`celery worker -Q bulk -c <concurrency>` in its own process group.

Prints messages/s end to end (from the "Send now" call to the job's end), the worker's peak RSS
(every process of the worker), the delivery counts, and the checks: every reachable customer
got exactly one message and holds exactly one code. `--kill` SIGKILLs the worker (its whole
process group) a third of the way through, starts a new one, and lets the sweep (what beat runs
every 30 s; called here every 2 s) pick up the lapsed work.

Target: at least 500 messages/s on the 2-core machine, memory flat.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

TARGET_PER_SECOND = 500

INSERT_CUSTOMERS = """
INSERT INTO customers_customer (
    project_id, public_id, source_id, name, email, phone, description,
    address_line_1, address_line_2, address_city, address_state, address_postal_code,
    address_country, metadata, orders_total_amount, orders_total_count, orders_average_amount,
    redemptions_total_redeemed, redemptions_total_failed, redemptions_total_succeeded,
    redemptions_total_rolled_back, redemptions_total_rollback_failed,
    redemptions_total_rollback_succeeded, gift_redeemed_amount, loyalty_redeemed_points,
    loyalty_referred_customers, marketing_opt_out, system_metadata, created_at, updated_at
)
SELECT
    %(project_id)s,
    'cust_' || substr(md5('distr-' || %(project_id)s || '-' || i), 1, 24),
    'dbench-' || i,
    'Customer ' || i,
    CASE WHEN i %% 100 = 0 THEN '' ELSE 'c' || i || '@bench.test' END,
    '', '', '', '', '', '', '', '',
    jsonb_build_object('tier', (ARRAY['Gold','Silver','Bronze'])[1 + i %% 3]),
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    i %% 100 = 1,
    '{}'::jsonb, now(), now()
FROM generate_series(1, %(rows)s) AS i
"""


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_data(rows: int):
    """The project, its customers, a segment of all of them and a campaign of `rows` codes."""
    from django.db import connection, transaction

    from apps.campaigns.models import Campaign
    from apps.campaigns.services.generation import generate_codes
    from apps.customers.models import Customer
    from apps.projects.models import Project
    from apps.segments.models import Segment, SegmentMember

    project, _ = Project.objects.get_or_create(name=f"Distribution bench {rows}")
    if Customer.objects.filter(project=project).count() != rows:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM customers_customer WHERE project_id = %s", [project.pk])
            cursor.execute(INSERT_CUSTOMERS, {"project_id": project.pk, "rows": rows})
        print(f"Created {rows:,} customers in {time.perf_counter() - started:.1f} s.")
    segment, _ = Segment.objects.get_or_create(
        project=project, name="Everyone", defaults={"type": "static"}
    )
    if SegmentMember.objects.filter(segment=segment).count() != rows:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM segments_segmentmember WHERE segment_id = %s", [segment.pk])
            cursor.execute(
                "INSERT INTO segments_segmentmember (segment_id, customer_id, created_at) "
                "SELECT %s, id, now() FROM customers_customer WHERE project_id = %s",
                [segment.pk, project.pk],
            )
        Segment.objects.filter(pk=segment.pk).update(size=rows)
    campaign, _ = Campaign.objects.get_or_create(
        project=project,
        name="Bench codes",
        defaults={
            "campaign_type": "DISCOUNT_COUPONS",
            "voucher_type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 15, "effect": "APPLY_TO_ORDER"},
            "code_config": {"length": 10, "charset": "alphanumeric_upper", "prefix": "DB-"},
        },
    )
    have = campaign.vouchers.count()
    if have < rows:
        started = time.perf_counter()
        generate_codes(campaign, rows - have)
        print(f"Generated {rows - have:,} codes in {time.perf_counter() - started:.1f} s.")
    with connection.cursor() as cursor:
        for table in ("customers_customer", "segments_segmentmember", "campaigns_voucher"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return project, segment, campaign


def reset(project, campaign) -> None:
    """Forget the previous run: its distribution, deliveries, publications and codes' holders."""
    from django.db import connection, transaction

    from apps.distributions.models import Distribution

    with transaction.atomic(), connection.cursor() as cursor:
        Distribution.objects.filter(project=project).delete()
        cursor.execute(
            "DELETE FROM campaigns_publication_vouchers WHERE publication_id IN "
            "(SELECT id FROM campaigns_publication WHERE campaign_id = %s)",
            [campaign.pk],
        )
        cursor.execute("DELETE FROM campaigns_publication WHERE campaign_id = %s", [campaign.pk])
        cursor.execute(
            "UPDATE campaigns_voucher SET holder_id = NULL, published_at = NULL "
            "WHERE campaign_id = %s AND holder_id IS NOT NULL",
            [campaign.pk],
        )
    with connection.cursor() as cursor:
        for table in ("campaigns_voucher", "campaigns_publication", "distributions_delivery"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def group_rss_kb(pgid: int) -> tuple[int, int]:
    """(current RSS summed over the process group, the largest VmHWM of one of its processes)."""
    total = peak = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.getpgid(int(name)) != pgid:
                continue
            status = Path(f"/proc/{name}/status").read_text()
        except (OSError, ProcessLookupError):
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        total += int(fields.get("VmRSS", "0 kB").split()[0])
        peak = max(peak, int(fields.get("VmHWM", "0 kB").split()[0]))
    return total, peak


def wait_ready(log_path: Path, after: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_path.read_bytes()[after:].count(b" ready.") > 0:
            return
        time.sleep(0.1)
    sys.exit(f"the worker did not start; see {log_path}")


def sink_lines(path: Path) -> int:
    try:
        with open(path, "rb") as sink_log:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: sink_log.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the worker a third through")
    parser.add_argument("--claim-seconds", type=int, default=10)
    parser.add_argument("--workdir", default="var/bench-distributions")
    args = parser.parse_args()

    broker = os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/9")
    if not broker.startswith("redis://"):
        sys.exit("Set CELERY_BROKER_URL to a Redis database, e.g. redis://127.0.0.1:6379/9")
    port = free_port()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    os.environ["DISTRIBUTION_CLAIM_SECONDS"] = str(args.claim_seconds)
    os.environ["DISTRIBUTION_RATE_EMAIL"] = "0"
    os.environ.setdefault("WORKER_LOG_LEVEL", "INFO")
    from export_customers import setup_django

    setup_django()
    import redis
    from django.db import connection

    from apps.distributions import services
    from apps.distributions.models import Delivery, Status
    from apps.jobs.models import Job
    from tests.distributions.workers import kill_worker, start_worker, stop_worker

    workdir = ROOT / args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    sink_log, worker_log = workdir / "sink.log", workdir / "worker.log"
    for path in (sink_log, worker_log):
        path.unlink(missing_ok=True)

    project, segment, campaign = ensure_data(args.customers)
    reset(project, campaign)
    redis.Redis.from_url(broker).flushdb()
    distribution = services.distribution_create(
        project=project,
        name="Bench mailing",
        kind="MANUAL",
        channel="email",
        campaign=campaign,
        audience="segment",
        segment=segment,
        subject="{{ customer.name }}, {{ voucher.discount }} for you",
        body_html=(
            "<p>Hi {{ customer.name }},</p><p>Your code: <b>{{ voucher.code }}</b> "
            '({{ voucher.discount }}).</p><p><img src="{{ voucher.qr_url }}" alt="QR"></p>'
            '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
        ),
        body_text="Hi {{ customer.name }}, your code: {{ voucher.code }}.\n{{ unsubscribe_url }}",
    )
    reachable = services.audience(distribution).filter(marketing_opt_out=False).exclude(email="")
    expected = reachable.count()

    sink = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tests.distributions.smtp_sink", "--port", str(port),
         "--log", str(sink_log)],
        cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    log = open(worker_log, "ab")  # noqa: SIM115
    env = {"DISTRIBUTION_CLAIM_SECONDS": str(args.claim_seconds)}
    worker = start_worker(
        broker=broker, smtp_port=port, concurrency=args.concurrency, extra_env=env, log=log
    )
    workers = [worker]
    peak_total = peak_process = 0
    killed_at = None
    try:
        wait_ready(worker_log, 0)
        print(
            f"Sending to {args.customers:,} customers ({expected:,} reachable by email), "
            f"worker concurrency {args.concurrency}{', kill a third through' if args.kill else ''}"
        )
        started = time.perf_counter()
        services.distribution_send(distribution=distribution)
        last_sweep = 0.0
        while True:
            time.sleep(0.5)
            total, peak = group_rss_kb(worker.pid)
            peak_total, peak_process = max(peak_total, total), max(peak_process, peak)
            received = sink_lines(sink_log)
            if args.kill and killed_at is None and received >= expected // 3:
                kill_worker(worker)
                killed_at = received
                print(
                    f"  SIGKILL after {received:,} messages at {time.perf_counter() - started:.1f} s"  # noqa: E501
                )
                size = worker_log.stat().st_size
                worker = start_worker(
                    broker=broker, smtp_port=port, concurrency=args.concurrency,
                    extra_env=env, log=log,
                )  # fmt: skip
                workers.append(worker)
                wait_ready(worker_log, size)
            if killed_at is not None and time.perf_counter() - last_sweep > 2:
                services.distributions_sweep()  # what beat does every 30 s
                last_sweep = time.perf_counter()
            distribution.refresh_from_db()
            if distribution.status == Status.SENT:
                break
            if time.perf_counter() - started > 3600:
                sys.exit("not finished after an hour")
        elapsed = time.perf_counter() - started
    finally:
        for process in workers:
            stop_worker(process)
        time.sleep(1)  # let the sink write its last lines
        os.killpg(sink.pid, signal.SIGTERM)
        sink.wait(timeout=10)
        log.close()

    job = Job.objects.get(pk=distribution.job_id)
    counts = Counter(
        Delivery.objects.filter(distribution=distribution).values_list("status", flat=True)
    )
    per_recipient = Counter(
        line.split("\t", 1)[0] for line in sink_log.read_text().splitlines() if line
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE n > 1), count(*) FROM (SELECT holder_id, count(*) n "
            "FROM campaigns_voucher WHERE campaign_id = %s AND holder_id IS NOT NULL "
            "GROUP BY holder_id) held",
            [campaign.pk],
        )
        multiple_codes, holders = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM campaigns_publication WHERE campaign_id = %s", [campaign.pk]
        )
        [publications] = cursor.fetchone()
    sent = counts["SENT"]
    rate = sent / elapsed
    verdict = "" if rate >= TARGET_PER_SECOND else "  MISSED"
    print(f"Sent {sent:,} messages in {elapsed:.1f} s: {rate:,.0f} messages/s end to end "
          f"(target >= {TARGET_PER_SECOND}){verdict}")  # fmt: skip
    if job.duration_ms:
        print(f"  job {job.public_id}: {job.duration_ms / 1000:.1f} s from plan to finish")
    print(f"Worker peak RSS: {peak_process / 1024:.0f} MB per process, "
          f"{peak_total / 1024:.0f} MB all processes")  # fmt: skip
    print(f"Deliveries: {dict(sorted(counts.items()))}")
    if killed_at is not None:
        print(f"Killed after {killed_at:,} messages; {len(workers)} workers in all")
    duplicates = sum(1 for n in per_recipient.values() if n > 1)
    print(f"Sink: {sum(per_recipient.values()):,} messages to {len(per_recipient):,} recipients; "
          f"recipients with more than one: {duplicates}")  # fmt: skip
    print(f"Codes: {holders:,} customers hold a code, {multiple_codes} hold more than one; "
          f"{publications:,} publications")  # fmt: skip
    ok = (
        len(per_recipient) == expected
        and duplicates == 0
        and holders == expected
        and multiple_codes == 0
        and publications == expected
        and sent == expected
    )
    print("CHECK: every reachable customer has one message and one code" if ok else "CHECK FAILED")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
