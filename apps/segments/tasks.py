from celery import shared_task

from . import services


@shared_task(name="bulk.segments.recompute", acks_late=True)
def segment_recompute_task(segment_id: int, job_id: int | None = None) -> None:
    services.segment_recompute(segment_id=segment_id, job_id=job_id)


@shared_task(name="segments.evaluate_customers", acks_late=True)
def segments_evaluate_customers_task(project_id: int, customer_ids: list[int]) -> None:
    services.segments_evaluate_customers(project_id=project_id, customer_ids=customer_ids)


@shared_task(name="bulk.segments.recompute_project", acks_late=True)
def segments_recompute_project_task(project_id: int) -> None:
    services.segments_recompute_project(project_id=project_id)


@shared_task(name="segments.recompute_time_based")
def segments_recompute_time_based_task() -> None:
    services.segments_recompute_time_based()
