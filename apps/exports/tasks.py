from celery import shared_task

from . import services


# `bulk.` routes the task to the bulk queue: a big export never delays checkout side effects.
@shared_task(name="bulk.exports.run", acks_late=True)
def export_run_task(job_id: int) -> None:
    services.export_run(job_id=job_id)
