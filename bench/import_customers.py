"""Benchmark: a 1,000,000-row customer CSV imported through the dashboard's import services.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vc_imports_bench \\
        .venv/bin/python bench/import_customers.py [--rows N] [--writers N] [--batch-size N]
            [--lean-table] [--drop-index NAME] [--skip-reader] [--keep-files]

What it does, on a dedicated PostgreSQL database (created and migrated if missing; its name
must contain "bench" because the bench truncates its tables):

1. writes a CSV of N rows (8 columns + 2 metadata columns) to a temporary folder, streaming;
2. pre-loads N/2 existing customers (every other source_id, with different values) by COPY,
   so the file is half updates, half new customers;
3. runs the same calls as the dashboard: `import_create` (upload checks), `import_set_mapping`,
   `import_start_dry_run` and `import_confirm`, with Celery eager so the `bulk.` tasks run in
   this process exactly as a worker would run them;
4. prints rows/s for the dry run, the import and end to end, the time the writer connections
   spent in COPY and in the upsert, and the peak RSS of the process;
5. times parsing + validation alone (in a forked child, so its memory does not count) and a raw
   `COPY` of the same file into a bare table (no indexes), and prints the ratios.

`--lean-table` is a diagnostic: it drops the customers table's secondary indexes for the run and
re-creates them afterwards, to show what their maintenance costs; `--drop-index NAME` (repeatable)
does the same for the named indexes only.

Figures are printed, not asserted; see bench/README.md for results on the 2-core dev machine.
"""

import argparse
import contextlib
import csv
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/vc_imports_bench"
COLUMNS = [
    "source_id",
    "name",
    "email",
    "phone",
    "birthdate",
    "city",
    "country",
    "postal_code",
    "metadata.tier",
    "metadata.score",
]
FIRST = ["Anna", "Piotr", "Maria", "Jan", "Ewa", "Tomasz", "Olga", "Marek", "Lena", "Adam"]
LAST = ["Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Kamińska", "Lewandowski", "Zielińska"]
ASCII = str.maketrans("śóńłęąćźżŚÓŃŁĘĄĆŹŻ", "sonleacczSONLEACZZ")
CITIES = ["Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Szczecin", "Lublin"]
TIERS = ["Bronze", "Silver", "Gold", "Platinum"]


def refuse(message: str) -> None:
    sys.exit(f"bench/import_customers.py: {message}")


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    scheme = urlsplit(url).scheme
    if scheme not in ("postgres", "postgresql", "pgsql", "postgis"):
        refuse(
            f"this benchmark needs PostgreSQL (COPY, INSERT … ON CONFLICT); DATABASE_URL uses "
            f"“{scheme or url}”. SQLite is not supported. Run it with "
            f"DATABASE_URL={DEFAULT_URL}"
        )
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        refuse(
            f"the database “{name}” does not look like a dedicated bench database (its name must "
            "contain “bench”); the benchmark truncates customer tables."
        )
    return url


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def setup_django(url: str, media: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["MEDIA_ROOT"] = media
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "True"
    os.environ.setdefault("DEBUG", "False")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ["DJANGO_SETTINGS_MODULE"] = "voucherify_clone.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def person(rng: random.Random, i: int, version: int) -> list[str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    city = rng.choice(CITIES)
    return [
        f"crm-{i:08d}",
        f"{first} {last}" + (" Jr" if version else ""),
        f"{first.lower()}.{last.lower().translate(ASCII)}.{i}@example.com",
        f"+48 {600000000 + i * 7 % 99999999:09d}",
        f"{1950 + i % 55}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        city,
        "PL",
        f"{i % 100:02d}-{i % 1000:03d}",
        TIERS[(i + version) % len(TIERS)],
        str((i * 31 + version) % 1000),
    ]


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)  # noqa: S311 - test data
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for i in range(rows):
            writer.writerow(person(rng, i, version=1))


def reset(project_name: str):
    from django.db import connection

    from apps.projects.models import Project

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE customers_customer, imports_importissue, imports_importbatch, "
            "imports_import, jobs_job CASCADE"
        )
    Project.objects.filter(name=project_name).delete()
    return Project.objects.create(name=project_name, currency="PLN")


def preload(project, rows: int) -> float:
    """Every other row of the file exists already, with older values (so it is an update)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.core.ids import random_public_ids

    rng = random.Random(42)  # noqa: S311 - test data; the same sequence as the file
    now = timezone.now()
    zeros = [0] * 12
    columns = (
        "project_id, created_at, updated_at, public_id, source_id, name, email, phone, birthdate, "
        "address_city, address_country, address_postal_code, metadata, description, "
        "address_line_1, address_line_2, address_state, orders_total_amount, orders_total_count, "
        "orders_average_amount, redemptions_total_redeemed, redemptions_total_failed, "
        "redemptions_total_succeeded, redemptions_total_rolled_back, "
        "redemptions_total_rollback_failed, redemptions_total_rollback_succeeded, "
        "gift_redeemed_amount, loyalty_redeemed_points, loyalty_referred_customers, "
        "system_metadata"
    )
    started = time.perf_counter()
    ids: list[str] = []
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY customers_customer ({columns}) FROM STDIN") as copy,
    ):
        for i in range(rows):
            p = person(rng, i, version=0)
            if i % 2:
                continue
            if not ids:
                ids = random_public_ids("cust", 10_000)
            metadata = '{"tier": "%s", "score": %s}' % (p[8], p[9])  # noqa: UP031
            copy.write_row(
                [
                    *(project.pk, now, now, ids.pop(), *p[:8], metadata, "", "", "", ""),
                    *zeros,
                    '{"source": "import"}',
                ]
            )
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_customer")
        # Start the measured run without the preload's dirty pages (needs pg_checkpoint).
        with contextlib.suppress(Exception):
            cursor.execute("CHECKPOINT")
    return elapsed


def raw_copy(path: Path) -> float:
    from django.db import connection, transaction

    columns = ", ".join(f'"{c}" text' for c in COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cursor.execute(f"CREATE TABLE bench_raw_copy ({columns})")
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy("COPY bench_raw_copy FROM STDIN (FORMAT csv, HEADER true)") as copy,
        path.open("rb") as source,
    ):
        while block := source.read(1 << 20):
            copy.write(block)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw_copy")
    return elapsed


def reader_only(imp) -> tuple[float, int]:
    """Parse and validate the whole file without any database work, in a forked child process
    (so its memory does not count in this process's peak)."""
    import multiprocessing

    from apps.imports.services import open_records
    from apps.imports.services.pipeline import read_batches
    from apps.imports.services.plans import plan_for

    plan = plan_for(imp)  # reads the metadata schema here, not in the child
    parent, child = multiprocessing.Pipe()

    def run() -> None:
        started = time.perf_counter()
        handle, records = open_records(imp)
        rows = sum(batch.records for batch in read_batches(records, plan))
        handle.close()
        child.send((time.perf_counter() - started, rows))

    process = multiprocessing.get_context("fork").Process(target=run)
    process.start()
    result = parent.recv()
    process.join()
    return result


KEEP_INDEXES = (
    "customers_customer_pkey",
    "customer_unique_source_id",
    "customers_customer_public_id_key",
)


@contextlib.contextmanager
def lean_customer_table(names: list[str] | None = None):
    """Diagnostic (--lean-table): drop the customers table's secondary indexes (or only the
    ones named by --drop-index) for the run and put them back after, to show what their
    maintenance costs. Bench database only."""
    from django.db import connection

    with connection.cursor() as cursor:
        if names:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'customers_customer' AND indexname = ANY(%s)",
                [names],
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'customers_customer' AND indexname <> ALL(%s)",
                [list(KEEP_INDEXES)],
            )
        dropped = cursor.fetchall()
        if names and len(dropped) != len(set(names)):
            found = {name for name, _ in dropped}
            refuse(f"no such index on customers_customer: {', '.join(set(names) - found)}")
        for name, _ in dropped:
            cursor.execute(f'DROP INDEX "{name}"')
    print(f"dropped {len(dropped)} secondary indexes: {', '.join(n for n, _ in dropped)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _, definition in dropped:
                cursor.execute(definition)
        print(f"re-created {len(dropped)} indexes")


class Stopwatch:
    """Time spent in a method, summed over the writer threads."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.lock = threading.Lock()

    def wrap(self, owner, name: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with self.lock:
                    self.seconds[name] = self.seconds.get(name, 0) + time.perf_counter() - started

        setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--writers", type=int, default=None, help="parallel writer connections")
    parser.add_argument("--skip-reader", action="store_true", help="skip the parse-only timing")
    parser.add_argument("--keep-files", action="store_true", help="keep the CSV and media folder")
    parser.add_argument(
        "--lean-table",
        action="store_true",
        help="diagnostic: run without the customers table's secondary indexes (restored after)",
    )
    parser.add_argument(
        "--drop-index",
        action="append",
        metavar="NAME",
        help="diagnostic: run without this index of customers_customer (restored after; repeat)",
    )
    args = parser.parse_args()
    url = database_url()
    ensure_database(url)
    workdir = Path(tempfile.mkdtemp(prefix="vc-import-bench-"))
    setup_django(url, str(workdir / "media"))

    from django.core.management import call_command

    from apps.imports import services

    if args.batch_size:
        services.BATCH_SIZE = args.batch_size
    if args.writers:
        services.WRITER_THREADS = args.writers
    call_command("migrate", verbosity=0)
    rows = args.rows
    print(f"database: {urlsplit(url).path.lstrip('/')}  rows: {rows:,}  workdir: {workdir}")

    path = workdir / "customers.csv"
    started = time.perf_counter()
    write_csv(path, rows)
    elapsed = time.perf_counter() - started
    print(f"generated CSV: {path.stat().st_size / 1e6:.0f} MB in {elapsed:.1f} s")

    project = reset("Import bench")
    try:
        lean = args.lean_table or args.drop_index
        with lean_customer_table(args.drop_index) if lean else contextlib.nullcontext():
            measure(args, rows, path, project)
    finally:
        if not args.keep_files:
            shutil.rmtree(workdir, ignore_errors=True)


def measure(args, rows: int, path: Path, project) -> None:
    from django.core.files import File

    from apps.imports import services
    from apps.imports.models import Import, ImportStatus
    from apps.imports.services.writers import SqlUpsertWriter

    elapsed = preload(project, rows)
    print(
        f"pre-loaded {(rows + 1) // 2:,} existing customers by a plain COPY into "
        f"customers_customer: {elapsed:.1f} s, {(rows + 1) // 2 / elapsed:,.0f} rows/s"
    )

    # -- the measured part: what the dashboard does, Celery tasks run eagerly in-process --
    t0 = time.perf_counter()
    with path.open("rb") as source:
        imp = services.import_create(
            project=project, kind="customers", upload=File(source, name="customers.csv")
        )
    t_upload = time.perf_counter() - t0
    services.import_set_mapping(imp=imp, mapping=imp.mapping)
    t1 = time.perf_counter()
    imp = services.import_start_dry_run(imp=imp)
    t_dry = time.perf_counter() - t1
    if imp.status != ImportStatus.VALIDATED:
        refuse(f"the dry run ended {imp.status}: {imp.error}")
    watch = Stopwatch()
    watch.wrap(SqlUpsertWriter, "_stage")
    watch.wrap(SqlUpsertWriter, "apply")
    t2 = time.perf_counter()
    imp = services.import_confirm(imp=imp)
    t_apply = time.perf_counter() - t2
    total = t_upload + t_dry + t_apply
    imp = Import.objects.get(pk=imp.pk)
    peak = rss_mb()

    print(f"mapping: {dict(zip(imp.header, imp.mapping, strict=True))}")
    print(f"dry run counts: {imp.dry_run_counts}")
    print(f"import counts:  {imp.result_counts}  status: {imp.status}")

    def line(label: str, seconds: float, count: int = rows) -> None:
        print(f"{label:<52}{seconds:6.1f} s {count / seconds:>9,.0f} rows/s")

    line("upload checks (UTF-8, header, line count, store):", t_upload)
    line("dry run (validate + stage + compare):", t_dry)
    line("import (staged rows + COPY + upsert; the Celery job):", t_apply)
    line("end to end (upload + dry run + import):", total)
    stage = watch.seconds.get("_stage", 0)
    upsert = watch.seconds.get("apply", 0) - stage
    writers = services._writer_threads(imp.line_count, services.BATCH_SIZE)
    print(
        f"  inside the import, summed over {writers} writer connection(s): "
        f"COPY into staging {stage:.1f} s, INSERT … ON CONFLICT {upsert:.1f} s"
    )
    print(f"peak RSS of this process: {peak:.0f} MB")

    if not args.skip_reader:
        elapsed, read = reader_only(imp)
        line("parse + validate only (one thread, no database):", elapsed, read)

    elapsed = raw_copy(path)
    copy_rate = rows / elapsed
    line("raw COPY of the same file into a bare table:", elapsed)
    print(
        f"ratio raw COPY / import: {copy_rate / (rows / t_apply):.1f}x; "
        f"raw COPY / end to end: {copy_rate / (rows / total):.1f}x"
    )
    print(f"peak RSS of this process: {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
