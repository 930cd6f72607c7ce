"""The import loads the dry run's validated batches instead of parsing the file again, and parses
whenever those cannot be trusted."""

import pytest

from apps.customers.models import Customer
from apps.imports import services
from apps.imports.models import ImportBatch, ImportStatus, Phase
from apps.imports.services import import_apply, import_confirm, staged
from apps.metadata.services import metadata_schema_save
from tests.customers.factories import CustomerFactory
from tests.imports.helpers import as_upload, issues, rejected_text, worker_dies_on_second_batch

pytestmark = pytest.mark.django_db

CUSTOMERS = (
    "source_id,name,email,metadata.tier\n"
    "c-1,Ann Lee,ann@example.com,Gold\n"
    "c-2,Bob Ray,bob@example,Silver\n"
    "c-3,Cid Moe,cid@example.com,\n"
    "c-1,Ann Again,ann2@example.com,Gold\n"
)


@pytest.fixture
def no_parsing(monkeypatch):
    """`no_parsing()`: from now on, fail if anything parses the file (after the dry run: the
    import must use the staged batches)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the file was parsed again")
        yield  # pragma: no cover

    return lambda: monkeypatch.setattr(staged, "parsed_batches", refuse)


@pytest.fixture
def parses(monkeypatch):
    """Count the batches parsed from the file (instead of read from the staged file)."""
    real = staged.parsed_batches
    seen: list[int] = []

    def counting(*args, **kwargs):
        for batch in real(*args, **kwargs):
            seen.append(batch.number)
            yield batch

    monkeypatch.setattr(staged, "parsed_batches", counting)
    return seen


def test_the_dry_run_keeps_its_batches_beside_the_upload(checked, media_root, project):
    imp = checked(CUSTOMERS)
    assert imp.staged_file.name == f"imports/{project.public_id}/{imp.public_id}/staged.bin"
    assert (media_root / imp.staged_file.name).stat().st_size == imp.staged_info["size"]
    assert imp.staged_info["batches"] == 1


def test_the_import_uses_the_dry_runs_batches(checked, apply, no_parsing, project, media_root):
    # given a checked file and a customer that changed since the dry run
    CustomerFactory(
        project=project, source_id="c-3", name="Cid Moe", email="cid@example.com", metadata={}
    )
    imp = checked(CUSTOMERS)
    assert imp.dry_run_counts == {"total": 4, "new": 1, "updated": 0, "unchanged": 1, "invalid": 2}
    Customer.objects.filter(source_id="c-3").update(metadata={"tier": "x"})
    # when it is imported (parsing would fail the test)
    no_parsing()
    imp = apply(imp)
    # then the rows are written, the counts decided at import time, the issues and the rejected
    # rows are those of the parse, and the staged file is gone
    assert imp.status == ImportStatus.DONE
    assert imp.result_counts == {"total": 4, "new": 1, "updated": 1, "unchanged": 0, "invalid": 2}
    ann = Customer.objects.get(project=project, source_id="c-1")
    assert (ann.name, ann.email, ann.metadata) == ("Ann Lee", "ann@example.com", {"tier": "Gold"})
    assert Customer.objects.get(source_id="c-3").metadata == {}
    assert [(line, column) for line, column, _ in issues(imp, Phase.APPLY)] == [
        (3, "email"),
        (5, "source_id"),
    ]
    assert "bob@example" in rejected_text(imp)
    assert not imp.staged_file
    assert not list((media_root / "imports").rglob("staged*"))


def test_reimporting_the_same_file_from_staged_batches_changes_nothing(
    checked, apply, no_parsing, project
):
    apply(checked(CUSTOMERS))
    imp = checked(CUSTOMERS)
    no_parsing()
    imp = apply(imp)
    assert imp.result_counts == {"total": 4, "new": 0, "updated": 0, "unchanged": 2, "invalid": 2}


def test_without_a_dry_run_the_import_parses(project, parses, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        imp = services.import_unattended(
            project=project, kind="customers", upload=as_upload(CUSTOMERS)
        )
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    assert imp.result_counts["new"] == 2
    assert parses == [1]


def test_a_lost_staged_file_means_parsing(checked, apply, parses, media_root):
    imp = checked(CUSTOMERS)
    parses.clear()  # the dry run's parse
    (media_root / imp.staged_file.name).unlink()
    imp = apply(imp)
    assert imp.result_counts == {"total": 4, "new": 2, "updated": 0, "unchanged": 0, "invalid": 2}
    assert parses == [1]


def test_a_schema_changed_after_the_dry_run_means_parsing(checked, apply, parses, project):
    # given a dry run under a schema that allows any tier
    imp = checked(CUSTOMERS)
    parses.clear()
    # when the schema changes before the import
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"tier": {"type": "number"}},
        allow_defined_only=False,
    )
    imp = apply(imp)
    # then the rows are checked again, under the new schema
    assert parses == [1]
    assert not Customer.objects.filter(source_id="c-1").exists()
    assert (2, "metadata.tier") in [(line, column) for line, column, _ in issues(imp, Phase.APPLY)]


def test_a_new_mapping_drops_the_staged_batches(checked, media_root):
    imp = checked("source_id,Notes\nc-1,hello\n")
    name = imp.staged_file.name
    imp = services.import_set_mapping(imp=imp, mapping=["source_id", "description"])
    assert not imp.staged_file
    assert not (media_root / name).exists()


def test_a_damaged_staged_file_is_parsed_from_the_damaged_batch_on(
    checked, apply, parses, media_root, monkeypatch, project
):
    # given a 5-row file checked in batches of 2, whose staged file is cut inside batch 2
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    rows = "".join(f"c-{i},Name {i}\n" for i in range(5))
    imp = checked("source_id,name\n" + rows)
    assert imp.staged_info["batches"] == 3
    path = media_root / imp.staged_file.name
    data = path.read_bytes()
    second = data.index(b'"number":2')
    path.write_bytes(data[:second] + b"#" + data[second + 1 :])  # same size, unreadable
    parses.clear()
    # when it is imported
    imp = apply(imp)
    # then batch 1 came from the staged file and batches 2 and 3 from the parse
    assert parses == [2, 3]
    assert imp.result_counts == {"total": 5, "new": 5, "updated": 0, "unchanged": 0, "invalid": 0}
    assert Customer.objects.filter(project=project).count() == 5


def test_a_redelivered_task_skips_committed_staged_batches(checked, monkeypatch, project):
    # given a 5-row file checked and imported in batches of 2, and a worker that dies after the
    # first batch
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    rows = "".join(f"c-{i},Name {i}\n" for i in range(5))
    imp = checked("source_id,name\n" + rows)
    import_confirm(imp=imp)  # the on-commit task is not run here
    with worker_dies_on_second_batch():
        import_apply(import_id=imp.pk)
    assert list(ImportBatch.objects.values_list("number", flat=True)) == [1]
    # when the task is delivered again, from the staged batches
    monkeypatch.setattr(staged, "parsed_batches", None)  # calling it would fail
    import_apply(import_id=imp.pk)
    # then it continues after batch 1
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    assert imp.result_counts == {"total": 5, "new": 5, "updated": 0, "unchanged": 0, "invalid": 0}
    assert list(ImportBatch.objects.values_list("number", flat=True)) == [1, 2, 3]
    assert Customer.objects.filter(project=project).count() == 5
