from django.db.models import QuerySet

from .models import Job


def job_list(*, project) -> QuerySet[Job]:
    return Job.objects.filter(project=project).select_related("created_by")
