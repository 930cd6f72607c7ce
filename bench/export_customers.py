"""Benchmark: export customers to CSV through the export service, end to end (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vc_exports_bench \
        .venv/bin/python bench/export_customers.py [--rows 1000000] [--filters "country=Poland"]

Creates (or reuses) a project with N customers (two metadata keys) in one INSERT ... SELECT
generate_series, then runs `apps.exports.services.export_run` - the service the Celery task calls
- and prints rows/s and the process's peak RSS. Targets: >= 100,000 rows/s, <= 200 MB.
`--method python` measures the portable writer (ORM iterator + csv.writer) instead of COPY.
The CSV goes to a temporary MEDIA_ROOT and is deleted afterwards (--keep to keep it).
"""

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
TARGET_ROWS_PER_SECOND = 100_000
TARGET_PEAK_MB = 200


def setup_django(media_root: str | None = None) -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voucherify_clone.settings")
    os.environ.setdefault("DEBUG", "False")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    if media_root:
        os.environ["MEDIA_ROOT"] = media_root
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit(
            "This benchmark needs PostgreSQL (SQLite has no server-side cursors, COPY or the "
            "indexes being measured). Run it with, for example:\n"
            "  createdb -h 127.0.0.1 -U postgres vc_exports_bench\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/vc_exports_bench "
            ".venv/bin/python bench/export_customers.py"
        )
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# Set-based generation: countries cycle every 140 rows (Poland is 1 in 20), tiers every 3 rows,
# created_at one minute apart going back from 2026-11-01 (1M rows span about 694 days).
INSERT_CUSTOMERS = """
INSERT INTO customers_customer (
    project_id, public_id, source_id, name, email, phone, birthdate, description,
    address_line_1, address_line_2, address_city, address_state, address_postal_code,
    address_country, metadata,
    orders_total_amount, orders_total_count, orders_average_amount, orders_last_order_amount,
    orders_last_order_date,
    redemptions_total_redeemed, redemptions_total_failed, redemptions_total_succeeded,
    redemptions_total_rolled_back, redemptions_total_rollback_failed,
    redemptions_total_rollback_succeeded, gift_redeemed_amount, loyalty_redeemed_points,
    loyalty_referred_customers, system_metadata, created_at, updated_at
)
SELECT
    %(project_id)s,
    'cust_' || substr(md5(%(project_id)s || '-' || i), 1, 24),
    'src-' || i,
    (ARRAY['Anna','Jan','Maria','Piotr','Zofia','Tomasz','Ewa','Adam','Olga','Marek'])[1 + i %% 10]
        || ' ' ||
    (ARRAY['Nowak','Kowalski','Smith','Müller','García','Rossi','Dubois','Novák','Jones','Silva',
           'Wiśniewska','Brown','Lopez','Ivanova','Berg'])[1 + (i / 10) %% 15],
    'user' || i || '@' || (ARRAY['example.com','mail.test','shop.test'])[1 + i %% 3],
    '+48 ' || (600000000 + i),
    date '1960-01-01' + (i %% 15000),
    CASE WHEN i %% 10 = 0 THEN 'Prefers email, "VIP", since 2020' ELSE '' END,
    'Street ' || (i %% 997) || ' / ' || (i %% 13 + 1),
    '',
    (ARRAY['Warsaw','Kraków','Berlin','Paris','Madrid','Rome','London','Prague','Vienna',
           'Lisbon'])[1 + (i / 3) %% 10],
    '',
    lpad((i %% 99999)::text, 5, '0'),
    (ARRAY['Poland','Germany','France','Spain','Italy','United Kingdom','Czechia','Austria',
           'Portugal','Netherlands','Belgium','Sweden','Norway','Denmark','Finland','Ireland',
           'Greece','Hungary','Romania','Slovakia'])[1 + (i / 7) %% 20],
    jsonb_build_object('tier', (ARRAY['Gold','Silver','Bronze'])[1 + i %% 3], 'visits', i %% 50),
    (i %% 1000) * 1250, i %% 10, (i %% 1000) * 125,
    CASE WHEN i %% 10 = 0 THEN NULL ELSE (i %% 97) * 999 END,
    CASE WHEN i %% 10 = 0 THEN NULL
         ELSE timestamptz '2026-11-01 00:00:00+00' - (i %% 1000) * interval '1 hour' END,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, '{"source": "import"}'::jsonb,
    timestamptz '2026-11-01 00:00:00+00' - i * interval '1 minute',
    timestamptz '2026-11-01 00:00:00+00' - i * interval '1 minute'
FROM generate_series(1, %(rows)s) AS i
"""


def ensure_customers(rows: int):
    """The bench project with exactly `rows` customers, created once and reused."""
    from django.db import connection, transaction

    from apps.customers.models import Customer
    from apps.projects.models import Project

    project, _ = Project.objects.get_or_create(
        name=f"Bench customers {rows}", defaults={"currency": "EUR"}
    )
    existing = Customer.objects.filter(project=project).count()
    if existing == rows:
        print(f"Reusing {rows:,} customers of project {project.public_id}.")
        return project
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM customers_customer WHERE project_id = %s", [project.pk])
        cursor.execute(INSERT_CUSTOMERS, {"project_id": project.pk, "rows": rows})
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_customer")
    seconds = time.perf_counter() - started
    print(f"Created {rows:,} customers in {seconds:.1f} s ({rows / seconds:,.0f} rows/s).")
    return project


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_export(project, filters: str, method: str | None = None) -> tuple[float, object]:
    from apps.exports.services import export_run
    from apps.jobs.models import Job, JobStatus
    from apps.jobs.services import job_create

    job = job_create(
        project=project, type="export.customers", params={"kind": "customers", "filters": filters}
    )
    started = time.perf_counter()
    export_run(job_id=job.pk, method=method)
    seconds = time.perf_counter() - started
    job = Job.objects.get(pk=job.pk)
    if job.status != JobStatus.DONE:
        sys.exit(f"Export failed: {job.error}")
    return seconds, job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="customers (default 1M)")
    parser.add_argument("--filters", default="", help='list filters, e.g. "country=Poland"')
    parser.add_argument("--runs", type=int, default=1, help="export runs (default 1)")
    parser.add_argument(
        "--method",
        choices=["copy", "python"],
        help="writer (default: the one the task uses, COPY on PostgreSQL)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the CSV file(s)")
    args = parser.parse_args()

    media_root = tempfile.mkdtemp(prefix="vc-bench-export-")
    setup_django(media_root)
    from django.conf import settings

    project = ensure_customers(args.rows)
    rss_before = peak_rss_mb()
    results = []
    for run in range(1, args.runs + 1):
        seconds, job = run_export(project, args.filters, args.method)
        rows = job.result["rows"]
        results.append(rows / seconds)
        print(
            f"run {run}: {rows:,} rows, {len(job.result['columns'])} columns, "
            f"{job.result['size'] / 1e6:,.1f} MB CSV in {seconds:.2f} s = {rows / seconds:,.0f} "
            f"rows/s (filters: {args.filters or 'none'}; writer: {args.method or 'default'})"
        )
    peak = peak_rss_mb()
    best = max(results)
    print(
        f"rows/s: median {statistics.median(results):,.0f}, best {best:,.0f} "
        f"(target >= {TARGET_ROWS_PER_SECOND:,})"
    )
    print(
        f"peak RSS: {peak:.0f} MB (before the export: {rss_before:.0f} MB; target <= "
        f"{TARGET_PEAK_MB} MB)"
    )
    if args.keep:
        print(f"CSV files kept in {settings.MEDIA_ROOT}")
    else:
        shutil.rmtree(media_root, ignore_errors=True)
    ok = statistics.median(results) >= TARGET_ROWS_PER_SECOND and peak <= TARGET_PEAK_MB
    print("PASS" if ok else "MISS")


if __name__ == "__main__":
    main()
