from celery import shared_task

from . import services


# `bulk.` routes the task to the bulk queue: a big import never delays checkout side effects.
@shared_task(name="bulk.orders.import", acks_late=True)
def orders_import_task(job_id: int) -> None:
    services.orders_import_run(job_id=job_id)
