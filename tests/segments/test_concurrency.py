import pytest

from apps.segments.models import Segment, SegmentEvent, SegmentMember
from apps.segments.services import segment_recompute, segments_evaluate_customers
from tests.concurrency import requires_postgres, run_concurrently
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db(transaction=True)]


def test_recompute_and_reevaluation_at_once_never_double_an_event():
    project = ProjectFactory()
    customers = [CustomerFactory(project=project, address_city="Berlin") for _ in range(30)]
    ids = [c.pk for c in customers]
    segment = Segment.objects.create(
        project=project,
        name="Berlin",
        type="auto-update",
        filter={"address.city": {"conditions": {"$is": "Berlin"}}},
    )
    results = run_concurrently(
        lambda: segment_recompute(segment_id=segment.pk),
        lambda: segments_evaluate_customers(project_id=project.pk, customer_ids=ids),
        lambda: segments_evaluate_customers(project_id=project.pk, customer_ids=ids[:10]),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert SegmentMember.objects.filter(segment=segment).count() == 30
    assert SegmentEvent.objects.filter(segment=segment).count() == 30
    segment.refresh_from_db()
    assert segment.size == 30
