import pytest

from apps.core.pagination import paginate
from apps.jobs.models import Job
from tests.jobs.factories import JobFactory


@pytest.mark.django_db
def test_paginate_without_counting(project, django_assert_num_queries):
    JobFactory.create_batch(5, project=project)
    queryset = Job.objects.filter(project=project).order_by("pk")
    with django_assert_num_queries(1):
        first = paginate(queryset, "1", per_page=2)
    assert [j.pk for j in first] == [j.pk for j in queryset[:2]]
    assert (first.has_next, first.has_previous) == (True, False)
    last = paginate(queryset, 3, per_page=2)
    assert (len(last), last.has_next, last.has_previous) == (1, False, True)
    assert paginate(queryset, "junk", per_page=2).number == 1
    assert paginate(queryset, "-4", per_page=2).number == 1
    assert len(paginate(queryset, 99, per_page=2)) == 0
