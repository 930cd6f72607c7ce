"""PostgreSQL only: the import outside a test transaction, as a worker runs it, with parallel
writer connections, COPY staging and two deliveries of the same task at once."""

import pytest

from apps.customers.models import Customer
from apps.imports import services
from apps.imports.models import ImportBatch, ImportStatus
from apps.imports.services import import_apply, import_confirm
from tests.concurrency import requires_postgres, run_concurrently
from tests.customers.factories import CustomerFactory
from tests.imports.helpers import issues
from tests.projects.factories import ProjectFactory

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db(transaction=True)]

ROWS = 23


def customers_csv() -> str:
    rows = [f'c-{i},Name {i},user{i}@example.com,"tab\there",{i}' for i in range(ROWS)]
    rows[5] = "c-5,Name 5,not-an-email,x,5"
    return "source_id,name,email,description,metadata.score\n" + "\n".join(rows) + "\n"


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 4)


def test_parallel_writers_apply_every_batch_once(
    small_batches, upload, django_capture_on_commit_callbacks, monkeypatch
):
    # given a project with a third of the file already there, with other values
    project = ProjectFactory()
    for i in range(0, ROWS, 3):
        CustomerFactory(project=project, source_id=f"c-{i}", name="Old")
    imp = upload(customers_csv(), project=project)
    services.import_set_mapping(imp=imp, mapping=imp.mapping)
    imp = services.import_start_dry_run(imp=imp)
    assert services._writer_threads(imp.line_count, 4) == 2  # not inside a transaction here
    assert imp.staged_info["batches"] == 6  # the import loads these COPY lines, never the CSV
    monkeypatch.setattr(services.staged, "parsed_batches", None)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        import_confirm(imp=imp)
    imp.refresh_from_db()
    # then
    assert imp.status == ImportStatus.DONE
    expected = {"total": ROWS, "new": 14, "updated": 8, "unchanged": 0, "invalid": 1}
    assert imp.dry_run_counts == expected
    assert imp.result_counts == expected
    assert sorted(ImportBatch.objects.filter(import_run=imp).values_list("number", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert issues(imp, "apply") == [(7, "email", "“not-an-email” is not a valid email address")]
    customer = Customer.objects.get(project=project, source_id="c-3")
    assert (customer.name, customer.description, customer.metadata) == (
        "Name 3",
        "tab\there",
        {"score": "3"},
    )
    assert Customer.objects.filter(project=project).count() == ROWS - 1


def test_two_deliveries_at_once_apply_once(
    small_batches, upload, django_capture_on_commit_callbacks
):
    # given a confirmed import whose task was delivered twice
    project = ProjectFactory()
    imp = upload(customers_csv(), project=project)
    services.import_set_mapping(imp=imp, mapping=imp.mapping)
    imp = services.import_start_dry_run(imp=imp)
    with django_capture_on_commit_callbacks(execute=False):
        import_confirm(imp=imp)
    # when both run at the same moment
    results = run_concurrently(
        lambda: import_apply(import_id=imp.pk), lambda: import_apply(import_id=imp.pk)
    )
    # then every batch was written once and the counts add up
    assert results == [None, None]
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    assert imp.result_counts == {
        "total": ROWS,
        "new": 22,
        "updated": 0,
        "unchanged": 0,
        "invalid": 1,
    }
    assert ImportBatch.objects.filter(import_run=imp).count() == 6
    assert Customer.objects.filter(project=project).count() == ROWS - 1
