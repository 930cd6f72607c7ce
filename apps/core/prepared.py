"""Prepared statements for the checkout's queries, and for nothing else.

A prepared statement skips parsing and, after five runs, PostgreSQL may also keep one generic
plan for it instead of planning each run with the actual values. The checkout's reads and
writes are lookups by key whose best plan never depends on the values, and planning was a large
part of their cost: with prepared statements a redemption spends about half the database CPU.

A list page's filters are the opposite. With a generic plan, `UPPER(email) LIKE $1 ORDER BY
created_at DESC LIMIT 26` no longer knows that the pattern is rare, walks the newest-first index
and, when nothing matches, reads all of a million customers (700 ms where a custom plan takes
6 ms through the trigram index). So connections prepare nothing (`prepare_threshold=None` in the
database options) and the checkout services turn preparing on for their own queries:

    @prepared_statements()
    def validation_check(...): ...

`settings.DATABASE_PREPARE_THRESHOLD` is how often a query must run on a connection before it is
prepared; None (or SQLite) makes this a no-op.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import connection


@contextmanager
def prepared_statements():
    threshold = settings.DATABASE_PREPARE_THRESHOLD
    if threshold is None or connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.prepare_threshold
    raw.prepare_threshold = threshold
    try:
        yield
    finally:
        # the old value back, also when nested (a redemption validates first); a connection
        # replaced meanwhile started with the default and prepares nothing
        raw.prepare_threshold = before
