"""Run the whole stack in one terminal: the web server, a Celery worker and Celery beat.

`make run` calls this after migrating and seeding. Ctrl-C stops all three.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server, a Celery worker (interactive, bulk) and beat; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, addr, concurrency, **options):
        python = sys.executable
        var = settings.VAR_DIR
        var.mkdir(exist_ok=True)
        celery = [python, "-m", "celery", "-A", "voucherify_clone"]
        commands = {
            "web": [python, "manage.py", "runserver", addr],
            "worker": [
                *celery,
                "worker",
                "-Q",
                "interactive,bulk",
                "-c",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "-n",
                "worker@%h",
            ],
            "beat": [
                *celery,
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(var / "celerybeat-schedule"),
            ],
        }
        procs = {
            name: subprocess.Popen(cmd, cwd=settings.BASE_DIR)  # noqa: S603 (fixed commands)
            for name, cmd in commands.items()
        }
        self.stdout.write(f"Started {', '.join(f'{n} (pid {p.pid})' for n, p in procs.items())}.")
        self.stdout.write(f"Open http://{addr}/ — Ctrl-C stops everything.")
        try:
            while all(proc.poll() is None for proc in procs.values()):
                time.sleep(0.5)
            stopped = [name for name, proc in procs.items() if proc.poll() is not None]
            self.stderr.write(f"{', '.join(stopped)} stopped; shutting the rest down.")
        except KeyboardInterrupt:
            pass
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
