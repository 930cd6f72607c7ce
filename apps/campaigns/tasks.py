from celery import shared_task

from . import services


@shared_task(name="bulk.campaigns.generate", acks_late=True)
def campaign_generate_task(job_id: int) -> None:
    services.campaign_generate(job_id=job_id)


@shared_task(name="bulk.campaigns.publish_segment", acks_late=True)
def publish_segment_task(job_id: int) -> None:
    services.publish_segment(job_id=job_id)
