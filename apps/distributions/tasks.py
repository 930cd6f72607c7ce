"""Thin adapters: load by id, call the service. `bulk.` names route to the bulk queue."""

from celery import shared_task

from . import sending, services


@shared_task(name="bulk.distributions.plan", acks_late=True)
def distribution_plan_task(distribution_id: int) -> int:
    return services.distribution_plan(distribution_id=distribution_id)


@shared_task(name="bulk.distributions.deliver", acks_late=True)
def distribution_deliver_task(
    distribution_id: int,
    first_customer: int | None = None,
    last_customer: int | None = None,
    ids: list[int] | None = None,
) -> dict:
    totals = sending.deliveries_process(
        distribution_id=distribution_id,
        first_customer=first_customer,
        last_customer=last_customer,
        ids=ids,
    )
    services.distribution_finish_if_done(distribution_id=distribution_id)
    return totals


@shared_task(name="distributions.sweep")
def distributions_sweep_task() -> dict:
    return services.distributions_sweep()
