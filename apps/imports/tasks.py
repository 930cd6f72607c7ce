"""Celery adapters (`bulk.` names route to the bulk queue): load by id, call the service."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services


@shared_task(name="bulk.imports.dry_run", acks_late=True)
def import_dry_run_task(import_id: int) -> None:
    services.import_dry_run(import_id=import_id)


@shared_task(
    name="bulk.imports.apply",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def import_apply_task(import_id: int) -> None:
    # Re-delivered or retried, it resumes after the last committed batch.
    services.import_apply(import_id=import_id)


@shared_task(name="imports.reap_stale")
def imports_reap_stale_task() -> int:
    return services.imports_reap_stale()
