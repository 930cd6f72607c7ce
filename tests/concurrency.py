"""Run callables at the same moment in threads, each with its own database connection."""

import threading

import pytest
from django.db import connection, connections


def requires_postgres():
    return pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and concurrent transactions need PostgreSQL (set DATABASE_URL)",
    )


def run_concurrently(*functions) -> list:
    """Start all functions behind a barrier; return each one's result or raised exception."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as exc:  # collected for the test to assert on
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
