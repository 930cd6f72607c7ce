from django.db.models import QuerySet

from apps.jobs.models import Job
from apps.jobs.selectors import job_list

from .services import JOB_TYPE_PREFIX


def export_job_list(*, project) -> QuerySet[Job]:
    """The project's export jobs, newest first."""
    return job_list(project=project).filter(type__startswith=JOB_TYPE_PREFIX)
