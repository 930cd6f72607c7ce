import os
import socket

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(name="jobs.ping", acks_late=True)
def ping_task(job_id: int) -> None:
    eager = settings.CELERY_TASK_ALWAYS_EAGER
    worker = "eager (in process)" if eager else f"{socket.gethostname()} pid {os.getpid()}"
    services.ping_run(job_id=job_id, worker=worker, step_seconds=0 if eager else 0.2)


@shared_task(name="jobs.reap_stale")
def reap_stale_jobs_task() -> int:
    return services.jobs_reap_stale()
