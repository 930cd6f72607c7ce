from celery import shared_task

from . import services


# `bulk.` routes the task to the bulk queue, next to imports and exports.
@shared_task(name="bulk.products.bulk_update", acks_late=True)
def products_bulk_update_task(job_id: int) -> None:
    services.products_bulk_update_run(job_id=job_id)
