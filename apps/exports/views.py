from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.jobs.models import JobStatus
from apps.projects.permissions import member_required

from . import services
from .selectors import export_job_list

PAGE_SIZE = 25


def _get_export_or_404(request, job_id: str):
    return get_for_project_or_404(
        export_job_list(project=request.project).select_related("project"),
        request.project,
        public_id=job_id,
    )


@member_required()
def export_list(request):
    page = paginate(export_job_list(project=request.project), request.GET.get("page"), PAGE_SIZE)
    context = {
        "page": page,
        "polling": any(not job.is_finished for job in page),
        "kinds": [kind for kind in services.KINDS.values() if kind.dashboard],
    }
    return render_page_or_partial(request, "exports/export_list.html", context, partial="results")


@member_required()
@require_POST
def export_start(request):
    try:
        job = services.export_start(
            project=request.project,
            kind=request.POST.get("kind", ""),
            filters=request.POST.get("filters", ""),
            created_by=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("exports:list")
    url = reverse("exports:detail", args=[job.public_id])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@member_required()
def export_detail(request, job_id: str):
    job = _get_export_or_404(request, job_id)
    context = {"job": job, "kind": services.export_kind(job)}
    return render_page_or_partial(request, "exports/export_detail.html", context, partial="export")


@member_required()
def export_download(request, job_id: str):
    job = _get_export_or_404(request, job_id)
    if job.status != JobStatus.DONE:
        raise Http404("The export has not finished.")
    try:
        file = services.export_file_open(job)
    except FileNotFoundError as exc:
        raise Http404("The export file is gone.") from exc
    response = FileResponse(
        file,
        as_attachment=True,
        filename=job.result.get("filename") or services.export_download_name(job),
        content_type="text/csv; charset=utf-8",
    )
    response.block_size = 1 << 16  # 64 KiB reads instead of 4 KiB for files of hundreds of MB
    return response
