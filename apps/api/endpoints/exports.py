"""Exports (reference §3.13): create, get, list, delete, and the download of the CSV with the
signed token of the export's `result.url` (no API key needed, as Voucherify's download host).
Parse, call the exports services, serialize."""

from urllib.parse import urlencode

from django.http import FileResponse, HttpResponse
from ninja import Router

from apps.exports import services
from apps.exports.selectors import export_job_list
from apps.jobs.models import JobStatus
from apps.projects.models import ApiKeyKind

from .. import lookups
from ..auth import authenticate
from ..listing import ordering, page_of
from ..payload import json_body
from ..shapes.exports import export

router = Router(tags=["exports"])


def download_url(request, job) -> str | None:
    """The absolute download link of a finished export, with a fresh token."""
    if job.status != JobStatus.DONE:
        return None
    query = urlencode({"token": services.export_token(job)})
    return request.build_absolute_uri(f"/v1/exports/{job.public_id}?{query}")


def export_body(request, job) -> dict:
    return export(job, url=download_url(request, job))


def created(request, body: dict) -> dict:
    """Start an export from a create body (`exported_object`, `parameters`): SCHEDULED."""
    job = services.export_create(
        project=request.api.project,
        exported_object=body.get("exported_object"),
        parameters=body.get("parameters"),
    )
    return export(job, status="SCHEDULED")


def _export(project, export_id: str):
    return lookups.by_id(export_job_list(project=project), project, export_id, "export")


@router.post("/exports", summary="Create Export")
def exports_create(request):
    return created(request, json_body(request))


@router.get("/exports", summary="List Exports")
def exports_list(request, limit: int = 10, page: int = 1, order: str | None = None):
    return page_of(
        export_job_list(project=request.api.project).select_related("project"),
        data_ref="exports",
        shape=lambda job: export_body(request, job),
        limit=limit,
        page=page,
        order_by=ordering(order, {"created_at": "created_at", "status": "status"}, "-created_at"),
    )


@router.get("/exports/{export_id}", summary="Get Export", auth=None)
def exports_get(request, export_id: str, token: str | None = None):
    """With `token` (from the export's `result.url`), the CSV itself; the token is the only
    credential needed. Without it, the export object, for a server key."""
    if token is not None:
        return _download(services.export_for_token(export_id=export_id, token=token))
    request.api = authenticate(request, kind=ApiKeyKind.SERVER)
    return export_body(request, _export(request.api.project, export_id))


def _download(job) -> HttpResponse:
    try:
        file = services.export_file_open(job)
    except FileNotFoundError:
        raise lookups.not_found("export file", job.public_id) from None
    # text/plain: the official SDK reads only JSON and text bodies (its download_export
    # returns the CSV as a str); the attachment name keeps the .csv for browsers.
    response = FileResponse(
        file,
        as_attachment=True,
        filename=job.result.get("filename") or services.export_download_name(job),
        content_type="text/plain; charset=utf-8",
    )
    response.block_size = 1 << 16
    return response


@router.delete("/exports/{export_id}", summary="Delete Export", response={204: None})
def exports_delete(request, export_id: str):
    services.export_delete(job=_export(request.api.project, export_id))
    return HttpResponse(status=204)
