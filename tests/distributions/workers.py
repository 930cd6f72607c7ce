"""A real Celery worker as a subprocess (its own process group, so SIGKILL takes its pool
children too), pointed at the test database, a broker and an SMTP server."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(*, broker: str, smtp_port: int, concurrency: int = 2, extra_env=None, log=None):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
        "DJANGO_SETTINGS_MODULE": "voucherify_clone.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "voucherify_clone", "worker",
        "-Q", "bulk", "-c", str(concurrency), "-P", "prefork",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-l", os.environ.get("WORKER_LOG_LEVEL", "WARNING"),
    ]  # fmt: skip
    return subprocess.Popen(  # noqa: S603
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )


def kill_worker(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool: no shutdown, no acknowledgements, nothing flushed."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_worker(process)
