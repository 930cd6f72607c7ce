from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.projects.permissions import member_required

from . import services
from .models import Job
from .selectors import job_list

PAGE_SIZE = 25


@member_required()
def jobs(request):
    page = paginate(job_list(project=request.project), request.GET.get("page"), PAGE_SIZE)
    context = {"page": page, "polling": any(not job.is_finished for job in page)}
    return render_page_or_partial(request, "jobs/job_list.html", context, partial="results")


@member_required()
@require_POST
def ping(request):
    job = services.ping_start(project=request.project, created_by=request.user)
    messages.success(request, f"Ping job {job.public_id} enqueued.")
    # htmx follows the redirect with HX-Request set, so it gets the results partial.
    return redirect("jobs:list")


@member_required()
def job_detail(request, job_id: str):
    job = get_for_project_or_404(Job, request.project, public_id=job_id)
    return render_page_or_partial(request, "jobs/job_detail.html", {"job": job}, partial="job")
