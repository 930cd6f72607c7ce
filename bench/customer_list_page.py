"""Benchmark: the customer list page (`/customers/`) over 1,000,000 customers (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vc_exports_bench \
        .venv/bin/python bench/customer_list_page.py [--rows 1000000] [--runs 15]

Reuses (or creates) the customers of bench/export_customers.py, logs a member in with Django's
test Client and requests the page with each filter several times, printing the median and p95
server time (the whole request through middleware, view, queries and template) and the number of
queries. Target: <= 150 ms. For a filter slower than that, prints EXPLAIN ANALYZE of its list
query.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from export_customers import ensure_customers, setup_django

TARGET_MS = 150

FILTERS = [
    ("no filter", ""),
    ("country", "country=Poland"),
    ("country: no match", "country=Atlantis"),
    ("city", "city=Kraków"),
    ("q: email fragment", "q=user12345"),
    ("q: name", "q=Kowalski"),
    ("q: no match", "q=nobody-has-this"),
    ("q: 2 letters, no match", "q=qx"),
    ("metadata", "metadata_key=tier&metadata_value=Gold"),
    ("metadata: no match", "metadata_key=tier&metadata_value=Platinum"),
    ("created: recent month", "created_after=2026-10-01&created_before=2026-10-31"),
    ("created: older month", "created_after=2025-06-01&created_before=2025-06-30"),
    ("created: oldest month", "created_after=2024-12-01&created_before=2024-12-31"),
    ("created + country", "created_after=2025-06-01&created_before=2025-06-30&country=Spain"),
    ("page 100", "page=100"),
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def logged_in_client(project):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from apps.projects.middleware import SESSION_PROJECT_KEY
    from apps.projects.models import Membership, Role

    user, _ = get_user_model().objects.get_or_create(
        username="bench-list@example.com", defaults={"email": "bench-list@example.com"}
    )
    Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.MARKETER})
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_PROJECT_KEY] = project.public_id
    session.save()
    return client


def explain(project, query_string: str) -> str:
    from django.db import connection
    from django.http import QueryDict

    from apps.core.pagination import page_number
    from apps.customers.selectors import customer_list

    data = QueryDict(query_string)
    queryset, _ = customer_list(project=project, filters=data)
    offset = (page_number(data.get("page")) - 1) * 25
    sql, params = queryset[offset : offset + 26].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(f"    {row[0]}" for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="customers (default 1M)")
    parser.add_argument("--runs", type=int, default=15, help="measured requests per filter")
    parser.add_argument("--no-explain", action="store_true", help="skip EXPLAIN for slow filters")
    args = parser.parse_args()

    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import NoReverseMatch, reverse

    # DEBUG is off (as in production) but there is no collectstatic manifest here.
    override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()
    try:
        url = reverse("customers:list")
    except NoReverseMatch:
        sys.exit("The customer list page (customers:list) does not exist yet.")

    project = ensure_customers(args.rows)
    with connection.cursor() as cursor:
        # Fresh statistics, as autovacuum would have by now in production; without them the
        # planner cannot use the expression indexes (UPPER(country)) well.
        cursor.execute("ANALYZE customers_customer")
    client = logged_in_client(project)
    print(f"GET {url} as a marketer, {args.runs} runs per filter (after 2 warm-up requests)")
    print(f"{'filter':<26} {'median ms':>9} {'p95 ms':>7} {'queries':>7} {'rows':>5}  query string")
    slow = []
    for label, query_string in FILTERS:
        target = f"{url}?{query_string}" if query_string else url
        for _ in range(2):
            response = client.get(target)
            assert response.status_code == 200, (target, response.status_code)
        timings = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(target)
                timings.append((time.perf_counter() - started) * 1000)
        rows = response.content.count(b'-row"')  # <tr id="customer-…-row">
        median, p95 = statistics.median(timings), percentile(timings, 0.95)
        print(
            f"{label:<26} {median:>9.1f} {p95:>7.1f} {len(queries):>7} {rows:>5}  "
            f"{query_string or '-'}"
        )
        if median > TARGET_MS:
            slow.append((label, query_string))
    if not slow:
        print(f"PASS: every filter's median is within {TARGET_MS} ms")
        return
    print(f"MISS: {len(slow)} filter(s) over {TARGET_MS} ms")
    if args.no_explain:
        return
    for label, query_string in slow:
        print(f"\nEXPLAIN ANALYZE for {label} ({query_string}):")
        print(explain(project, query_string))


if __name__ == "__main__":
    main()
