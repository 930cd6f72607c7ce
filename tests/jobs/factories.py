import factory

from apps.jobs.models import Job, JobStatus
from tests.projects.factories import ProjectFactory


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    project = factory.SubFactory(ProjectFactory)
    type = "ping"
    status = JobStatus.DONE
    total = 5
    processed = 5
