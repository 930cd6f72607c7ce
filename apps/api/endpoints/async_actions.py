"""Async actions (`aa_…`): every bulk, import, generation and export job, with its progress
(reference §3.13). They are the dashboard's job rows under Voucherify's names."""

from datetime import datetime

from ninja import Router

from apps.jobs.models import Job, JobStatus

from .. import lookups
from ..listing import check_paging, invalid_query
from ..serializers import iso

router = Router(tags=["async actions"])

# our job types -> Voucherify's async action types
TYPES = {
    "campaign.generate": "CAMPAIGN.VOUCHERS_GENERATION",
    "campaign.publish_segment": "CAMPAIGN.VOUCHERS_PUBLISH",
    "segment.recompute": "SEGMENT.RECOMPUTE",
    "CUSTOMERS_IMPORT_CSV": "CUSTOMERS.IMPORT_CSV",
    "PRODUCTS_IMPORT_CSV": "PRODUCTS.IMPORT_CSV",
    "SKUS_IMPORT_CSV": "SKUS.IMPORT_CSV",
    "ORDERS_IMPORT_CSV": "ORDERS.IMPORT_CSV",
    "VOUCHERS_IMPORT_CSV": "CAMPAIGN.VOUCHERS_IMPORT_CSV",
}
OPERATION_STATUS = {JobStatus.DONE: "SUCCESS", JobStatus.FAILED: "FAILED"}


def action_type(job: Job) -> str:
    if job.type in TYPES:
        return TYPES[job.type]
    return job.type.upper().replace("_DRY_RUN", ".DRY_RUN")


def async_action(job: Job, *, with_result: bool = True) -> dict:
    body = {
        "id": job.public_id,
        "object": "async_action",
        "type": action_type(job),
        "status": job.status,
        "operation_status": OPERATION_STATUS.get(job.status, "UNKNOWN"),
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "request_id": job.public_id,
        "progress": job.progress,
    }
    if job.duration_ms is not None:
        body["processing_time"] = job.duration_ms
    if with_result:
        result = dict(job.result or {})
        if job.error:
            result["message"] = job.error
        body["result"] = result
    return body


def accepted(job: Job) -> dict:
    """What an endpoint that starts a job answers (202): the async action to poll."""
    return {"async_action_id": job.public_id}


@router.get("/async-actions/{async_action_id}", summary="Get Async Action")
def async_actions_get(request, async_action_id: str):
    return async_action(lookups.by_id(Job, request.api.project, async_action_id, "async action"))


@router.get("/async-actions", summary="List Async Actions")
def async_actions_list(
    request,
    limit: int = 10,
    end_date: datetime | None = None,
    start_date: datetime | None = None,
):
    """Newest first, `limit` at a time: pass the oldest `created_at` seen as `end_date` to page
    back (Voucherify pages async actions by date, with `has_more`)."""
    check_paging(limit, 1)
    if start_date and end_date and start_date > end_date:
        raise invalid_query("start_date must not be after end_date.")
    jobs = Job.objects.filter(project=request.api.project)
    if end_date:
        jobs = jobs.filter(created_at__lt=end_date)
    if start_date:
        jobs = jobs.filter(created_at__gte=start_date)
    rows = list(jobs.order_by("-created_at", "-pk")[: limit + 1])
    return {
        "object": "list",
        "data_ref": "async_actions",
        "async_actions": [async_action(job, with_result=False) for job in rows[:limit]],
        "has_more": len(rows) > limit,
    }
