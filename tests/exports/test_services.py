import csv
import io
import os
from datetime import UTC, datetime

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from apps.core.csv import safe_cell
from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.exports import services
from apps.exports.services import KINDS, export_run, export_start, export_write
from apps.exports.sql import MajorUnits, SafeText
from apps.exports.tasks import export_run_task
from apps.jobs.models import JobStatus
from apps.metadata.services import metadata_schema_save
from tests.customers.factories import CustomerFactory
from tests.exports.conftest import as_dicts, read_export
from tests.jobs.factories import JobFactory
from tests.orders.factories import OrderFactory, OrderItemFactory
from tests.products.factories import ProductFactory
from tests.projects.factories import ProjectFactory
from voucherify_clone.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_a_filtered_export_contains_only_matching_rows_of_the_project(project, run_export):
    # given customers in two countries, and a Polish customer of another project
    CustomerFactory(project=project, source_id="pl-1", address_country="Poland")
    CustomerFactory(project=project, source_id="pl-2", address_country="Poland")
    CustomerFactory(project=project, source_id="uk-1", address_country="UK")
    CustomerFactory(source_id="other-pl", address_country="Poland")
    # when exporting with the list page's filter
    job = run_export(project, "customers", "country=poland&page=3")
    # then only this project's Polish customers are in the file
    assert job.status == JobStatus.DONE, job.error
    rows = as_dicts(read_export(job))
    assert sorted(row["source_id"] for row in rows) == ["pl-1", "pl-2"]
    assert (job.total, job.processed, job.result["rows"]) == (2, 2, 2)
    assert job.params == {"kind": "customers", "filters": "country=poland"}


def test_an_unfiltered_export_contains_every_row_of_the_project_only(project, run_export):
    CustomerFactory.create_batch(3, project=project)
    CustomerFactory(source_id="someone-else")
    job = run_export(project)
    rows = as_dicts(read_export(job))
    assert len(rows) == 3
    assert "someone-else" not in {row["source_id"] for row in rows}


def test_customer_columns(project, run_export, time_machine):
    # given
    time_machine.move_to(datetime(2026, 3, 1, 10, 5, 7, 123000, tzinfo=UTC), tick=False)
    customer = CustomerFactory(
        project=project,
        source_id="c-1",
        name="Zofia Nowak",
        email="zofia@example.com",
        phone="48 600 100 200",
        birthdate="1990-05-17",
        address_line_1="Prosta 1",
        address_city="Warsaw",
        address_postal_code="00-001",
        description="Likes coffee",
        orders_total_amount=1250,
        orders_total_count=2,
        orders_average_amount=625,
        orders_last_order_amount=5,
        orders_last_order_date=datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC),
    )
    CustomerFactory(project=project, source_id="c-2", orders_last_order_amount=None)
    # when
    job = run_export(project, "customers", "q=c-1")
    # then
    rows = read_export(job)
    assert rows[0] == [
        "id",
        "source_id",
        "name",
        "email",
        "phone",
        "birthdate",
        "address_line_1",
        "address_line_2",
        "address_city",
        "address_state",
        "address_postal_code",
        "address_country",
        "description",
        "created_at",
        "updated_at",
        "orders_total_amount (USD)",
        "orders_total_count",
        "orders_average_amount (USD)",
        "orders_last_order_amount (USD)",
        "orders_last_order_date",
    ]
    assert rows[1] == [
        customer.public_id,
        "c-1",
        "Zofia Nowak",
        "zofia@example.com",
        "48 600 100 200",
        "1990-05-17",
        "Prosta 1",
        "",
        "Warsaw",
        "",
        "00-001",
        "Poland",
        "Likes coffee",
        "2026-03-01T10:05:07.123Z",
        "2026-03-01T10:05:07.123Z",
        "12.50",
        "2",
        "6.25",
        "0.05",
        "2026-02-28T23:59:59.000Z",
    ]
    assert job.result["filename"] == "customers-20260301-1005.csv"


def test_amounts_follow_the_project_currency(run_export):
    project = ProjectFactory(currency="JPY")
    CustomerFactory(project=project, orders_total_amount=1250)
    rows = as_dicts(read_export(run_export(project)))
    assert rows[0]["orders_total_amount (JPY)"] == "1250"


@pytest.mark.parametrize(
    ("cents", "exponent", "expected"),
    [
        (1250, 2, "12.50"),
        (5, 2, "0.05"),
        (0, 2, "0.00"),
        (-1250, 2, "-12.50"),
        (-5, 2, "-0.05"),
        (123456789012345, 2, "1234567890123.45"),
        (1250, 0, "1250"),
        (1, 3, "0.001"),
        (None, 2, None),
    ],
)
def test_major_units_in_sql(project, cents, exponent, expected):
    customer = CustomerFactory(project=project, orders_last_order_amount=cents)
    value = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(major=MajorUnits("orders_last_order_amount", exponent=exponent))
        .values_list("major", flat=True)
        .get()
    )
    assert value == expected


def test_formula_cells_are_escaped(project, run_export):
    CustomerFactory(
        project=project,
        source_id="=1+1",
        name='=HYPERLINK("http://evil.example","x")',
        email="+48@example.com",
        phone="-1",
        description="@SUM(A1)",
        address_line_1="\tTab",
        address_line_2="\rReturn",
        address_city="Kraków = fine",
        metadata={"note": "=cmd|' /C calc'!A0", "plain": "ok"},
    )
    row = as_dicts(read_export(run_export(project)))[0]
    assert row["source_id"] == "'=1+1"
    assert row["name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["email"] == "'+48@example.com"
    assert row["phone"] == "'-1"
    assert row["description"] == "'@SUM(A1)"
    assert row["address_line_1"] == "'\tTab"
    assert row["address_line_2"] == "'\rReturn"
    assert row["address_city"] == "Kraków = fine"
    assert row["metadata.note"] == "'=cmd|' /C calc'!A0"
    assert row["metadata.plain"] == "ok"


def test_one_column_per_metadata_key_of_the_exported_rows_and_the_schema(project, run_export):
    # given metadata of several types, a schema key nobody uses yet, and another project's key
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"loyalty_id": {"type": "string", "optional": True}},
        allow_defined_only=False,
    )
    CustomerFactory(
        project=project,
        source_id="a",
        metadata={"tier": "Gold", "visits": 5, "ratio": 0.5, "vip": True, "tags": ["x", "y"]},
    )
    CustomerFactory(project=project, source_id="b", metadata={"region": "EU", "vip": False})
    CustomerFactory(project=project, source_id="c", metadata={"only_on_c": 1}, name="Excluded")
    CustomerFactory(source_id="z", metadata={"secret_key_of_b": 1})
    # when exporting a filtered list that leaves out customer c
    job = run_export(project, "customers", "metadata_key=vip")
    # then
    rows = read_export(job)
    assert [name for name in rows[0] if name.startswith("metadata.")] == [
        "metadata.loyalty_id",
        "metadata.ratio",
        "metadata.region",
        "metadata.tags",
        "metadata.tier",
        "metadata.vip",
        "metadata.visits",
    ]
    by_source = {row["source_id"]: row for row in as_dicts(rows)}
    assert set(by_source) == {"a", "b"}
    a, b = by_source["a"], by_source["b"]
    assert (a["metadata.tier"], a["metadata.visits"], a["metadata.ratio"]) == ("Gold", "5", "0.5")
    assert (a["metadata.vip"], b["metadata.vip"]) == ("true", "false")
    assert a["metadata.tags"].replace(" ", "") == '["x","y"]'
    assert (a["metadata.region"], a["metadata.loyalty_id"], b["metadata.region"]) == ("", "", "EU")


def test_product_export(project, run_export):
    # given
    ProductFactory(
        project=project,
        source_id="mug",
        name="Mug",
        price=1999,
        attributes=["color"],
        image_url="https://img.example/mug.png",
        metadata={"brand": "Acme"},
    )
    ProductFactory(project=project, source_id="tea", name="Tea", price=None)
    ProductFactory(source_id="other", name="Mug of another project")
    # when
    job = run_export(project, "products", "q=mug")
    # then
    rows = read_export(job)
    assert rows[0] == [
        "id",
        "source_id",
        "name",
        "price (USD)",
        "attributes",
        "image_url",
        "created_at",
        "metadata.brand",
    ]
    (row,) = as_dicts(rows)
    assert (row["source_id"], row["price (USD)"], row["metadata.brand"]) == ("mug", "19.99", "Acme")
    assert row["attributes"].replace(" ", "") == '["color"]'
    assert row["image_url"] == "https://img.example/mug.png"


def test_order_export(project, run_export):
    # given
    customer = CustomerFactory(project=project, source_id="buyer")
    paid = OrderFactory(
        project=project,
        customer=customer,
        source_id="o-1",
        status="PAID",
        amount=10000,
        discount_amount=1050,
        total_amount=8950,
        metadata={"channel": "web"},
    )
    OrderItemFactory.create_batch(3, order=paid)
    OrderFactory(project=project, customer=None, source_id="o-2", status="PAID", amount=500)
    OrderFactory(project=project, customer=customer, source_id="o-3", status="CANCELED")
    OrderFactory(source_id="o-other", status="PAID")
    # when
    job = run_export(project, "orders", "status=PAID")
    # then
    rows = read_export(job)
    assert rows[0] == [
        "id",
        "source_id",
        "status",
        "amount (USD)",
        "discount_amount (USD)",
        "total_amount (USD)",
        "customer_source_id",
        "created_at",
        "items_count",
        "metadata.channel",
    ]
    by_source = {row["source_id"]: row for row in as_dicts(rows)}
    assert set(by_source) == {"o-1", "o-2"}
    assert by_source["o-1"] == {
        "id": paid.public_id,
        "source_id": "o-1",
        "status": "PAID",
        "amount (USD)": "100.00",
        "discount_amount (USD)": "10.50",
        "total_amount (USD)": "89.50",
        "customer_source_id": "buyer",
        "created_at": by_source["o-1"]["created_at"],
        "items_count": "3",
        "metadata.channel": "web",
    }
    assert (by_source["o-2"]["customer_source_id"], by_source["o-2"]["items_count"]) == ("", "0")


def test_a_redelivered_task_for_a_finished_job_does_nothing(project, run_export):
    # given a finished export
    CustomerFactory(project=project, source_id="first")
    job = run_export(project)
    before = read_export(job)
    finished_at = job.finished_at
    # when the task is delivered again after the data changed
    CustomerFactory(project=project, source_id="second")
    export_run(job_id=job.pk)
    # then neither the file nor the job changed
    job.refresh_from_db()
    assert read_export(job) == before
    assert (job.finished_at, job.processed) == (finished_at, 1)


def test_a_crashed_export_restarts_the_file_from_scratch(project, media_root):
    # given a job left IN_PROGRESS by a dead worker, with a half-written file in place
    CustomerFactory.create_batch(3, project=project)
    job = JobFactory(
        project=project,
        type="export.customers",
        status=JobStatus.IN_PROGRESS,
        total=3,
        processed=2,
        params={"kind": "customers", "filters": ""},
    )
    path = media_root / services.export_file_name(job)
    path.parent.mkdir(parents=True)
    path.write_text("id,source_id\ngarbage,\n")
    # when the task is delivered again
    export_run(job_id=job.pk)
    # then the file is complete and holds no trace of the first attempt
    job.refresh_from_db()
    rows = read_export(job)
    assert job.status == JobStatus.DONE and len(rows) == 4
    assert "garbage" not in path.read_text()
    assert os.listdir(path.parent) == [path.name]  # no leftover temporary files


def test_progress_is_reported_while_writing(project, monkeypatch):
    monkeypatch.setattr(services, "PROGRESS_EVERY", 2)
    CustomerFactory.create_batch(5, project=project)
    queryset, _ = services._filtered_queryset(KINDS["customers"], project, "")
    seen = []
    result = export_write(
        project=project,
        spec=KINDS["customers"],
        queryset=queryset,
        out=io.BytesIO(),
        on_progress=seen.append,
        method="python",
    )
    assert seen == [2, 4, 5]
    assert result["rows"] == 5


TRICKY_TEXT = [
    "=1+1",
    "+48 600",
    "-5",
    "@SUM(A1)",
    "\tTab",
    "\rCR",
    "\nLF",
    "a=b",
    " =leading space",
    "'already quoted",
    "",
    'comma, "quote"',
    "line\nbreak",
    "Zażółć gęślą jaźń",
]


@pytest.mark.parametrize("text", TRICKY_TEXT)
def test_safe_text_in_sql_escapes_like_safe_cell(project, text):
    customer = CustomerFactory(project=project, name=text)
    value = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(safe=SafeText("name"))
        .values_list("safe", flat=True)
        .get()
    )
    assert (value or "") == safe_cell(text)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_copy_and_the_python_writer_write_the_same_cells(project):
    # given rows full of escaping, quoting and NULL edge cases
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"k": {"type": "string"}},
        allow_defined_only=False,
    )
    for index, text in enumerate(TRICKY_TEXT):
        CustomerFactory(
            project=project,
            source_id=None if index == 0 else f"s{index}",
            name=text,
            description=text[::-1],
            birthdate="2000-02-29" if index % 2 else None,
            orders_last_order_amount=None if index % 3 else index * 101,
            metadata={"k": text, "n": index, "b": index % 2 == 0} if index % 4 else {},
        )
    queryset, _ = services._filtered_queryset(KINDS["customers"], project, "")
    files = {}
    for method in ("copy", "python"):
        out = io.BytesIO()
        export_write(
            project=project, spec=KINDS["customers"], queryset=queryset, out=out, method=method
        )
        files[method] = list(csv.reader(io.StringIO(out.getvalue().decode(), newline="")))
    # then both parse to the same cells
    assert len(files["copy"]) == len(TRICKY_TEXT) + 1
    assert files["copy"] == files["python"]


def test_an_export_that_cannot_write_its_file_fails_the_job(project, run_export, media_root):
    # given MEDIA_ROOT is a file, so the exports folder cannot be created
    media_root.parent.mkdir(exist_ok=True)
    media_root.write_text("not a folder")
    CustomerFactory(project=project)
    job = run_export(project)
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("The export failed")


def test_exports_work_with_storage_without_local_paths(project, run_export, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    CustomerFactory(project=project, source_id="in-memory")
    job = run_export(project)
    assert job.status == JobStatus.DONE, job.error
    assert as_dicts(read_export(job))[0]["source_id"] == "in-memory"
    assert default_storage.size(job.result["file"]) == job.result["size"]


def test_unknown_kinds_and_invalid_filters_are_refused(project):
    with pytest.raises(ApplicationError, match="Unknown export"):
        export_start(project=project, kind="rewards")
    with pytest.raises(ApplicationError, match="created_after"):
        export_start(project=project, kind="customers", filters="created_after=yesterday")
    with pytest.raises(ApplicationError, match="price_min"):
        export_start(project=project, kind="products", filters="price_min=12.345")
    assert not project.jobs_job_set.exists()


@pytest.mark.django_db(transaction=True)
def test_streaming_with_progress_outside_a_transaction(monkeypatch):
    """Autocommit, as in a worker: a server-side cursor (WITH HOLD on PostgreSQL) is read in
    chunks while job_progress commits UPDATEs between them."""
    monkeypatch.setattr(services, "CHUNK_SIZE", 2)
    monkeypatch.setattr(services, "PROGRESS_EVERY", 3)
    project = ProjectFactory()
    CustomerFactory.create_batch(7, project=project)
    job = JobFactory(
        project=project,
        type="export.customers",
        status=JobStatus.ENQUEUED,
        total=None,
        processed=0,
        params={"kind": "customers", "filters": ""},
    )
    export_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.total, job.processed) == (JobStatus.DONE, 7, 7), job.error
    assert len(read_export(job)) == 8


def test_the_task_is_routed_to_the_bulk_queue_and_acknowledged_late():
    route = celery_app.amqp.router.route({}, export_run_task.name, args=(1,), kwargs={})
    assert route["queue"].name == "bulk"
    assert export_run_task.acks_late
