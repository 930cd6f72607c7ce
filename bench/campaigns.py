"""Campaign benchmark on PostgreSQL: code generation and concurrent publications.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/vc_campaigns_bench
    .venv/bin/python bench/campaigns.py [--codes 1000000] [--publications 200]
                                        [--processes 4] [--threads 2]

Targets (issue 5): 1,000,000 unique codes <= 10 s end to end, 100,000 codes <= 1.5 s; 200
concurrent publications from one campaign (4 worker processes x 2 threads, as web workers would
make them), each customer a distinct code, >= 200 publications/s.
"""

import argparse
import multiprocessing
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from export_customers import setup_django


def _publish_part(project_id: int, campaign_id: str, customer_ids: list[int], threads: int):
    """One worker process: publish to its share of the customers from `threads` threads."""
    from django.db import connections

    from apps.campaigns import services
    from apps.customers.models import Customer
    from apps.projects.models import Project

    connections.close_all()  # never share the parent's connection after fork
    project = Project.objects.get(pk=project_id)
    queue = list(Customer.objects.filter(pk__in=customer_ids))
    lock = threading.Lock()
    errors = []

    def worker():
        while True:
            with lock:
                if not queue:
                    break
                customer = queue.pop()
            try:
                services.publication_create(
                    project=project, customer=customer, campaign=campaign_id
                )
            except Exception as exc:  # counted and printed by the parent
                errors.append(repr(exc))
        connections.close_all()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return len(errors)


def publish_concurrently(project, campaign, customer_ids, *, processes: int, threads: int):
    """Publications as a deployment makes them: several worker processes (the GIL makes one
    process's threads take turns), each with a few threads. Returns (seconds, errors)."""
    from django.db import connections

    connections.close_all()
    shares = [customer_ids[i::processes] for i in range(processes)]
    context = multiprocessing.get_context("fork")
    with context.Pool(processes) as workers:
        started = time.perf_counter()
        errors = workers.starmap(
            _publish_part, [(project.pk, campaign.public_id, share, threads) for share in shares]
        )
        elapsed = time.perf_counter() - started
    return elapsed, sum(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--publications", type=int, default=200)
    parser.add_argument("--processes", type=int, default=4, help="like web workers")
    parser.add_argument("--threads", type=int, default=2, help="per process")
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from apps.campaigns import services
    from apps.campaigns.models import Campaign, Voucher
    from apps.customers.models import Customer
    from apps.jobs.models import Job
    from apps.projects.models import Project

    project = Project.objects.filter(name="Campaign bench").first()
    if project is None:
        owner, _ = get_user_model().objects.get_or_create(username="bench@example.com")
        from apps.projects.services import project_create

        project = project_create(name="Campaign bench", owner=owner)
    for campaign in Campaign.objects.filter(project=project):
        services.campaign_delete(campaign=campaign)
    with connection.cursor() as cursor:
        # the last run deleted a million codes: start from a table without their dead rows
        cursor.execute("VACUUM ANALYZE campaigns_voucher")

    def generate(name: str, count: int, pattern: str) -> float:
        campaign = services.campaign_create(
            project=project,
            payload={
                "name": name,
                "voucher": {
                    "discount": {"type": "PERCENT", "percent_off": 10},
                    "code_config": {"pattern": pattern, "charset": "alphanumeric_upper"},
                },
            },
        )
        job = services.campaign_add_vouchers(campaign=campaign, count=count)  # the job row
        started = time.perf_counter()
        services.campaign_generate(job_id=job.pk)  # what the Celery task runs
        elapsed = time.perf_counter() - started
        stored = Voucher.objects.filter(campaign=campaign).count()
        distinct = Voucher.objects.filter(campaign=campaign).values("code_key").distinct().count()
        assert stored == distinct == count, (stored, distinct, count)
        assert Job.objects.get(pk=job.pk).status == "DONE"
        return elapsed

    seconds = generate("Bench 100k", 100_000, "HK-########")
    print(
        f"generate 100,000 codes:   {seconds:6.2f} s  {100_000 / seconds:10,.0f} codes/s "
        "(target <= 1.5 s)"
    )
    seconds = generate("Bench 1M", args.codes, "BN-########")
    print(
        f"generate {args.codes:,} codes: {seconds:6.2f} s  {args.codes / seconds:10,.0f} codes/s "
        "(target <= 10 s)"
    )

    # publications: N customers at once from one campaign, `threads` workers
    pool = services.campaign_create(
        project=project,
        payload={
            "name": "Bench publications",
            "vouchers_count": 100,
            "voucher": {"discount": {"type": "AMOUNT", "amount_off": 500}},
        },
    )
    services.generate_codes(pool, args.publications)
    Customer.objects.filter(project=project, source_id__startswith="bench-pub-").delete()
    customers = Customer.objects.bulk_create(
        [Customer(project=project, source_id=f"bench-pub-{i}") for i in range(args.publications)]
    )
    elapsed, errors = publish_concurrently(
        project, pool, [c.pk for c in customers], processes=args.processes, threads=args.threads
    )
    held = Voucher.objects.filter(campaign=pool, holder__isnull=False)
    distinct_holders = held.values("holder").distinct().count()
    print(
        f"{args.publications} publications, {args.processes} processes x {args.threads} "
        f"threads: {elapsed:6.2f} s  "
        f"{args.publications / elapsed:8.0f} publications/s (target >= 200/s); "
        f"codes held {held.count()}, distinct holders {distinct_holders}, errors {errors}"
    )
    for campaign in Campaign.objects.filter(project=project):
        services.campaign_delete(campaign=campaign)


if __name__ == "__main__":
    main()
