"""Segment benchmark on PostgreSQL: full recompute, preview count and one customer's re-evaluation
over 1,000,000 customers (the export benchmark's data, created if missing).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/vc_exports_bench
    .venv/bin/python bench/segments.py

Targets (issue 4): recompute <= 2 s, preview count <= 500 ms, one customer's 20 segments <= 20 ms.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from export_customers import ensure_customers, setup_django

FILTER = {
    "junction": "and",
    "metadata.tier": {"conditions": {"$is": "Gold"}},
    "summary.orders.total_count": {"conditions": {"$less_than": [5]}},
    "created_at": {"conditions": {"$less_than_ago": [540]}},  # relative: the last 18 months
    "address.country": {"conditions": {"$in": ["Poland", "Germany", "Spain"]}},
}


def timed(function):
    started = time.perf_counter()
    result = function()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    setup_django()
    from apps.customers.models import Customer
    from apps.segments.models import Segment, SegmentEvent, SegmentMember
    from apps.segments.services import (
        segment_filter_q,
        segment_recompute,
        segments_evaluate_customers,
    )

    project = ensure_customers(args.rows)
    Segment.objects.filter(project=project).delete()
    segment = Segment.objects.create(
        project=project, name="Bench", type="auto-update", filter=FILTER
    )

    ms, result = timed(lambda: segment_recompute(segment_id=segment.pk))
    print(f"recompute from empty:        {ms:8.0f} ms  {result}  (target <= 2000 ms)")
    ms, result = timed(lambda: segment_recompute(segment_id=segment.pk))
    print(f"recompute, nothing changed:  {ms:8.0f} ms  {result}")
    members = SegmentMember.objects.filter(segment=segment).count()
    events = SegmentEvent.objects.filter(segment=segment).count()
    print(f"members {members:,}, entered events {events:,}")

    query = Customer.objects.filter(project=project).filter(segment_filter_q(segment))
    runs = [timed(query.count)[0] for _ in range(5)]
    print(
        f"preview count:               {statistics.median(runs):8.0f} ms median of 5 "
        "(target <= 500 ms)"
    )

    for i in range(19):
        Segment.objects.create(
            project=project,
            name=f"Bench {i}",
            type="passive",
            filter={
                **FILTER,
                "metadata.tier": {"conditions": {"$is": ["Gold", "Silver", "Bronze"][i % 3]}},
            },
        )
    customer_ids = list(Customer.objects.filter(project=project).values_list("pk", flat=True)[:40])
    runs = [
        timed(lambda pk=pk: segments_evaluate_customers(project_id=project.pk, customer_ids=[pk]))[
            0
        ]
        for pk in customer_ids
    ]
    print(
        f"one customer, 20 segments:   {statistics.median(runs):8.1f} ms median, "
        f"{sorted(runs)[int(len(runs) * 0.95) - 1]:.1f} ms p95 of {len(runs)} (target <= 20 ms)"
    )
    Segment.objects.filter(project=project).delete()


if __name__ == "__main__":
    main()
