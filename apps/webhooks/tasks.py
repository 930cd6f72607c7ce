from celery import shared_task

from . import services


@shared_task(name="webhooks.deliver", acks_late=True)
def webhook_deliver_task(delivery_id: int) -> str | None:
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.sweep")
def webhooks_sweep_task() -> int:
    """Enqueue every due delivery (retries later than a few minutes, and claims that ran out)."""
    due = services.deliveries_due()
    for pk in due:
        webhook_deliver_task.delay(pk)
    return len(due)
