"""Celery adapters (`bulk.` names route to the bulk queue): load by id, call the service."""

from celery import shared_task

from . import services


@shared_task(name="bulk.customers.bulk_update", acks_late=True)
def customers_bulk_update_task(job_id: int) -> None:
    services.customers_bulk_update(job_id=job_id)


@shared_task(name="bulk.customers.metadata_update", acks_late=True)
def customers_metadata_update_task(job_id: int) -> None:
    services.customers_metadata_update(job_id=job_id)
