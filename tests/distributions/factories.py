import factory

from apps.distributions import triggers
from apps.distributions.models import Channel, Distribution, Kind, Status
from tests.projects.factories import ProjectFactory


class DistributionFactory(factory.django.DjangoModelFactory):
    """A manual email draft to all customers (no code). Use the services for real set-ups;
    this is for pages and access tests."""

    class Meta:
        model = Distribution
        skip_postgeneration_save = True

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Distribution {n}")
    kind = Kind.MANUAL
    status = Status.DRAFT
    channel = Channel.EMAIL
    audience = "all"
    subject = "Hi {{ customer.name }}"
    body_text = "Your code: {{ voucher.code }}"

    @factory.post_generation
    def forget(obj, create, extracted, **kwargs):
        triggers.forget(obj.project_id)
