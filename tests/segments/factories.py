import factory
from django.utils import timezone

from apps.segments.models import Segment, SegmentMember, SegmentSize, SegmentType
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory


class SegmentFactory(factory.django.DjangoModelFactory):
    """A static segment; pass type/filter for a filter segment (then compute it with
    services.segment_recompute)."""

    class Meta:
        model = Segment

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    type = SegmentType.STATIC


class SegmentMemberFactory(factory.django.DjangoModelFactory):
    """A membership row only: the segment's `size` is not updated (use the services for that)."""

    class Meta:
        model = SegmentMember

    segment = factory.SubFactory(SegmentFactory)
    customer = factory.SubFactory(
        CustomerFactory, project=factory.SelfAttribute("..segment.project")
    )
    created_at = factory.LazyFunction(timezone.now)


class SegmentSizeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SegmentSize

    segment = factory.SubFactory(SegmentFactory)
    day = factory.LazyFunction(lambda: timezone.now().date())
    size = 0
