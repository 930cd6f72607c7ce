"""The export object (reference §3.13) in Voucherify's shape. Exports are the project's export
jobs, whether started in the dashboard or through the API; the id is the job's."""

from apps.exports.services import export_exported_object
from apps.jobs.models import Job, JobStatus

from ..serializers import iso

STATUS = {
    JobStatus.ENQUEUED: "SCHEDULED",
    JobStatus.IN_PROGRESS: "IN_PROGRESS",
    JobStatus.DONE: "DONE",
    JobStatus.FAILED: "ERROR",
}


def export(job: Job, *, url: str | None = None, status: str | None = None) -> dict:
    """`url` is the download link of a finished export; `status` overrides the job's (a new
    export is always answered as SCHEDULED, as Voucherify does, even when a worker already
    picked it up)."""
    parameters = dict(job.params.get("parameters") or {})
    body = {
        "id": job.public_id,
        "object": "export",
        "created_at": iso(job.created_at),
        "status": status or STATUS.get(job.status, "SCHEDULED"),
        "channel": job.params.get("channel") or ("WEBSITE" if job.created_by_id else "API"),
        "exported_object": export_exported_object(job),
        "parameters": parameters,
        "result": None,
        "user_id": None,
    }
    if url is not None:
        body["result"] = {"url": url}
    elif job.status == JobStatus.FAILED:
        body["result"] = {"error": job.error}
    return body
