"""apps.core.postgresql: a persistent connection is health-checked at most once a second, and a
connection the server dropped is still replaced."""

from types import SimpleNamespace

import psycopg
import pytest
from django.db import connection

from apps.core.postgresql import base
from tests.concurrency import requires_postgres

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clock(monkeypatch):
    now = SimpleNamespace(value=1000.0)
    monkeypatch.setattr(base, "time", SimpleNamespace(monotonic=lambda: now.value))
    connection.ensure_connection()
    connection.checked_at = float("-inf")
    return now


def new_request():
    """What Django does when a request starts, then the request's first query."""
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def kill_the_server_side_of_our_connection():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pid


def test_checks_once_a_second_on_a_busy_connection(clock, monkeypatch):
    checks = []
    usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or usable())
    for _ in range(3):
        new_request()
        clock.value += 0.3
    assert len(checks) == 1
    clock.value += 0.5
    new_request()
    assert len(checks) == 2


def test_a_connection_the_server_dropped_is_replaced_after_an_idle_second(clock):
    pid = kill_the_server_side_of_our_connection()
    clock.value += 1.5
    assert new_request() != pid  # the check found it dead and a new connection answered
