import datetime as dt

import pytest
import time_machine

from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.imports import services
from apps.imports.models import ImportBatch, ImportStatus, Phase
from apps.imports.services import import_apply, import_confirm
from apps.jobs.models import Job, JobStatus
from apps.metadata.services import metadata_schema_save
from apps.orders.models import Order, OrderEvent
from apps.orders.services import order_upsert
from apps.products.models import Product, Sku
from tests.customers.factories import CustomerFactory
from tests.imports.helpers import issues, rejected_text, worker_dies_on_second_batch
from tests.orders.factories import OrderFactory
from tests.products.factories import ProductFactory, SkuFactory
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = (
    "source_id,name,email,phone,birthdate,city,country,metadata.tier\n"
    "c-1,Ann Lee,ann@example.com,+48 600,1990-05-01,Warsaw,PL,Gold\n"
    "c-2,Bob Ray,bob@example,+48 601,,Krakow,PL,Silver\n"
    "c-3,Cid Moe,cid@example.com,,1985-01-31,Gdansk,PL,\n"
)


# --- customers --------------------------------------------------------------------------------


def test_valid_rows_are_applied_and_invalid_ones_reported(imported, project):
    imp = imported(CUSTOMERS)
    assert imp.status == ImportStatus.DONE
    assert imp.result_counts == {"total": 3, "new": 2, "updated": 0, "unchanged": 0, "invalid": 1}
    assert issues(imp, Phase.APPLY) == [(3, "email", "“bob@example” is not a valid email address")]
    ann = Customer.objects.get(project=project, source_id="c-1")
    assert (ann.name, ann.email, ann.phone, ann.birthdate) == (
        "Ann Lee",
        "ann@example.com",
        "+48 600",
        dt.date(1990, 5, 1),
    )
    assert (ann.address_city, ann.address_country, ann.metadata) == (
        "Warsaw",
        "PL",
        {"tier": "Gold"},
    )
    assert ann.public_id.startswith("cust_") and len(ann.public_id) == 29
    assert Customer.objects.get(source_id="c-3").metadata == {}
    assert not Customer.objects.filter(source_id="c-2").exists()
    assert "c-2,Bob Ray,bob@example" in rejected_text(imp)


def test_dry_run_writes_nothing_and_counts_like_the_import(checked, project):
    CustomerFactory(project=project, source_id="c-1", name="Old name", email="ann@example.com")
    imp = checked(CUSTOMERS)
    assert imp.status == ImportStatus.VALIDATED
    assert imp.dry_run_counts == {"total": 3, "new": 1, "updated": 1, "unchanged": 0, "invalid": 1}
    assert Customer.objects.get(source_id="c-1").name == "Old name"
    assert Customer.objects.count() == 1


def test_reimporting_the_same_file_writes_nothing(imported, checked, apply, project):
    # given a first import
    with time_machine.travel("2026-01-01 10:00:00Z", tick=False):
        imported(CUSTOMERS)
    before = dict(Customer.objects.values_list("source_id", "updated_at"))
    # when the same file comes again, later
    with time_machine.travel("2026-02-01 10:00:00Z", tick=False):
        second = checked(CUSTOMERS)
        assert second.dry_run_counts == {
            "total": 3,
            "new": 0,
            "updated": 0,
            "unchanged": 2,
            "invalid": 1,
        }
        second = apply(second)
    # then nothing was written
    assert second.result_counts["unchanged"] == 2
    assert second.result_counts["new"] == second.result_counts["updated"] == 0
    assert dict(Customer.objects.values_list("source_id", "updated_at")) == before


def test_updates_change_only_the_columns_in_the_file(imported, project):
    # given a customer with a full profile and metadata
    customer = CustomerFactory(
        project=project,
        source_id="c-1",
        name="Ann",
        phone="+48 600",
        address_city="Warsaw",
        metadata={"tier": "Gold", "source": "crm"},
    )
    # when a file with only email and one metadata key arrives
    with time_machine.travel("2030-01-01 00:00:00Z", tick=False):
        imp = imported("source_id,email,metadata.tier\nc-1,ANN@example.com,Silver\n")
    # then only those change; source_id, public id and the other fields stay
    assert imp.result_counts["updated"] == 1
    customer.refresh_from_db()
    assert customer.email == "ann@example.com"
    assert (customer.name, customer.phone, customer.address_city) == ("Ann", "+48 600", "Warsaw")
    assert customer.metadata == {"tier": "Silver", "source": "crm"}
    assert customer.updated_at == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def test_an_empty_cell_clears_its_field_or_metadata_key(imported, project):
    CustomerFactory(
        project=project, source_id="c-1", phone="+48", metadata={"tier": "Gold", "x": 1}
    )
    imported("source_id,phone,metadata.tier\nc-1,,\n")
    customer = Customer.objects.get(source_id="c-1")
    assert customer.phone == ""
    assert customer.metadata == {"x": 1}


def test_an_id_column_must_match_the_source_id(checked, project):
    # given customers exported earlier (public ids in an `id` column)
    ann = CustomerFactory(project=project, source_id="c-1")
    bob = CustomerFactory(project=project, source_id="c-2")
    nameless = CustomerFactory(project=project, source_id=None)
    # when
    imp = checked(
        f"id,source_id,name\n{ann.public_id},c-1,Ann\n{bob.public_id},c-9,Bob\n"
        f"{nameless.public_id},c-7,Nobody\ncust_doesnotexist,c-8,Ghost\n"
    )
    # then a source_id that would change is refused
    assert issues(imp) == [
        (3, "source_id", f"{bob.public_id} has “c-2”; a source_id cannot be changed once set"),
        (
            4,
            "source_id",
            f"{nameless.public_id} has no source_id; a source_id cannot be changed once set",
        ),
        (5, "id", "no customer with id cust_doesnotexist in this project"),
    ]
    assert imp.dry_run_counts["updated"] == 1


def test_source_ids_are_per_project(imported, project):
    other = CustomerFactory(source_id="c-1", name="Other project")
    imported("source_id,name\nc-1,Mine\n")
    other.refresh_from_db()
    assert other.name == "Other project"
    assert Customer.objects.get(project=project).name == "Mine"


def test_big_files_are_checked_by_a_bulk_task(
    upload, django_capture_on_commit_callbacks, monkeypatch
):
    # given a file above the inline limit
    monkeypatch.setattr(services, "INLINE_DRY_RUN_MAX_LINES", 2)
    imp = upload(CUSTOMERS)
    services.import_set_mapping(imp=imp, mapping=imp.mapping)
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        imp = services.import_start_dry_run(imp=imp)
    # then a job was enqueued, and it does the dry run when the task runs
    assert imp.status == ImportStatus.VALIDATING
    job = imp.dry_run_job
    assert (job.type, job.status, job.total) == (
        "CUSTOMERS_IMPORT_CSV_DRY_RUN",
        JobStatus.ENQUEUED,
        3,
    )
    for callback in callbacks:
        callback()
    imp.refresh_from_db()
    job.refresh_from_db()
    assert imp.status == ImportStatus.VALIDATED
    assert (job.status, job.processed, job.result["invalid"]) == (JobStatus.DONE, 3, 1)


def test_import_runs_as_a_bulk_job(checked, django_capture_on_commit_callbacks):
    imp = checked(CUSTOMERS)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        imp = import_confirm(imp=imp)
    assert imp.status == ImportStatus.IMPORTING
    assert not Customer.objects.exists()  # nothing before the task runs
    for callback in callbacks:
        callback()
    imp.refresh_from_db()
    job = Job.objects.get(pk=imp.job_id)
    assert (job.type, job.status, job.progress) == ("CUSTOMERS_IMPORT_CSV", JobStatus.DONE, 100)
    assert job.result == imp.result_counts
    assert Customer.objects.count() == 2


def test_confirming_twice_or_with_no_valid_rows_is_refused(checked, apply):
    imp = apply(checked(CUSTOMERS))
    with pytest.raises(ApplicationError, match="not waiting for confirmation"):
        import_confirm(imp=imp)
    nothing = checked("source_id,email\nc-1,bad\n")
    with pytest.raises(ApplicationError, match="No row of this file is valid"):
        import_confirm(imp=nothing)


def test_a_redelivered_task_resumes_without_applying_twice(checked, monkeypatch, project):
    # given a 5-row file imported in batches of 2, and a worker that dies after the first batch
    rows = "".join(f"c-{i},Name {i}\n" for i in range(5))
    imp = checked("source_id,name\n" + rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "BATCH_SIZE", 2)
        import_confirm(imp=imp)  # the on-commit task is not run here
    with worker_dies_on_second_batch():
        import_apply(import_id=imp.pk)
    assert Customer.objects.count() == 2
    assert list(ImportBatch.objects.values_list("number", flat=True)) == [1]
    # when the task is delivered again
    import_apply(import_id=imp.pk)
    # then it continues after batch 1, and a third delivery does nothing
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    assert imp.result_counts == {"total": 5, "new": 5, "updated": 0, "unchanged": 0, "invalid": 0}
    assert list(ImportBatch.objects.values_list("number", flat=True)) == [1, 2, 3]
    import_apply(import_id=imp.pk)
    assert Customer.objects.filter(project=project).count() == 5


# --- products and SKUs ------------------------------------------------------------------------


def test_products_prices_in_major_units(imported, project):
    project.currency = "USD"
    project.save()
    imp = imported(
        "source_id,name,price,image_url,attributes,metadata.brand\n"
        'p-1,Shoe,12.50,https://img.example/shoe.png,"color,size",Acme\n'
        "p-2,Sock,-1,,,\n"
        "p-3,Hat,9.999,,,\n"
        "p-4,Cap,abc,ftp://x,,\n"
        'p-5,Bag,,,"[""material""]",\n',
        kind="products",
    )
    assert issues(imp, Phase.APPLY) == [
        (3, "price", "The amount cannot be negative."),
        (4, "price", "USD amounts have at most 2 decimal places; “9.999” has more."),
        (5, "price", "“abc” is not an amount; use digits like 12.50."),
        (5, "image_url", "“ftp://x” is not an http(s) URL"),
    ]
    shoe = Product.objects.get(source_id="p-1")
    assert (shoe.price, shoe.attributes, shoe.metadata) == (
        1250,
        ["color", "size"],
        {"brand": "Acme"},
    )
    assert shoe.public_id.startswith("prod_")
    bag = Product.objects.get(source_id="p-5")
    assert (bag.price, bag.attributes) == (None, ["material"])


def test_prices_follow_the_project_currency(imported, project):
    project.currency = "JPY"
    project.save()
    imp = imported("source_id,price\np-1,1200\np-2,12.5\n", kind="products")
    assert Product.objects.get(source_id="p-1").price == 1200
    assert issues(imp, Phase.APPLY) == [
        (3, "price", "JPY amounts have no decimal places; “12.5” has more.")
    ]


def test_product_metadata_schema(checked, project):
    metadata_schema_save(
        project=project,
        resource="product",
        properties={"weight": {"type": "number", "min": 0}},
        allow_defined_only=True,
    )
    imp = checked(
        "source_id,metadata.weight,metadata.color\np-1,1.5,\np-2,-3,\np-3,,red\n", kind="products"
    )
    assert issues(imp) == [
        (3, "metadata.weight", "must be at least 0 (got -3)"),
        (4, "metadata.color", "is not defined in the metadata schema"),
    ]


def test_skus_need_their_product_and_never_move(imported, project):
    # given two products, and a SKU of the first
    shoe = ProductFactory(project=project, source_id="shoe")
    ProductFactory(project=project, source_id="hat")
    SkuFactory(product=shoe, source_id="shoe-red")
    # when
    imp = imported(
        "source_id,product_source_id,sku,price,attributes\n"
        's-1,shoe,Shoe 42,19.99,"{""size"": 42}"\n'
        "s-2,nope,Ghost,1,\n"
        "shoe-red,hat,Moved,1,\n"
        "s-3,hat,Bad attrs,1,[1]\n",
        kind="skus",
    )
    # then
    assert issues(imp, Phase.APPLY) == [
        (3, "product_source_id", "no product with source_id “nope”; import products first"),
        (
            4,
            "product_source_id",
            "SKU “shoe-red” belongs to product “shoe”; it cannot move to another product",
        ),
        (5, "attributes", 'must be a JSON object, e.g. {"color": "red"}'),
    ]
    sku = Sku.objects.get(source_id="s-1")
    assert (sku.product_id, sku.sku, sku.price, sku.attributes) == (
        shoe.pk,
        "Shoe 42",
        1999,
        {"size": 42},
    )
    assert sku.public_id.startswith("sku_")


# --- orders -----------------------------------------------------------------------------------

ORDERS = (
    "source_id,status,amount,discount_amount,customer_source_id,created_at,metadata.channel\n"
    "o-1,PAID,120.00,20,c-1,2024-03-01T10:00:00Z,web\n"
    "o-2,fulfilled,30.50,,c-1,2024-03-02,\n"
    "o-3,CREATED,10,,c-2,,shop\n"
    "o-4,LOST,10,,c-2,,\n"
    "o-5,PAID,10,15,c-2,yesterday,\n"
)


def test_orders_are_imported_as_history(imported, project):
    # given
    ann = CustomerFactory(project=project, source_id="c-1")
    # when
    imp = imported(ORDERS, kind="orders")
    # then
    assert imp.result_counts == {"total": 5, "new": 3, "updated": 0, "unchanged": 0, "invalid": 2}
    assert issues(imp, Phase.APPLY) == [
        (5, "status", "must be one of CREATED, PAID, CANCELED, FULFILLED"),
        (6, "discount_amount", "is more than the amount"),
        (6, "created_at", "“yesterday” is not a date; use 2024-01-31 or 2024-01-31T12:00:00Z"),
    ]
    orders = {o.source_id: o for o in Order.objects.filter(project=project)}
    assert all(order.imported for order in orders.values())
    paid = orders["o-1"]
    assert (paid.amount, paid.discount_amount, paid.total_amount) == (12000, 2000, 10000)
    assert paid.created_at == dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)
    assert paid.metadata == {"channel": "web"}
    assert orders["o-2"].created_at == dt.datetime(2024, 3, 2, tzinfo=dt.UTC)
    # every event is marked imported (nothing downstream reacts to history)
    events = OrderEvent.objects.filter(project=project)
    assert events.count() == 5  # 3 x order.created + order.paid + order.fulfilled
    assert not events.filter(imported=False).exists()
    # the new customer c-2 was created; summaries count PAID and FULFILLED orders
    ann.refresh_from_db()
    assert (ann.orders_total_count, ann.orders_total_amount) == (2, 10000 + 3050)
    assert ann.orders_last_order_date == dt.datetime(2024, 3, 2, tzinfo=dt.UTC)
    assert Customer.objects.get(project=project, source_id="c-2").orders_total_count == 0


def test_reimporting_orders_changes_nothing(imported, project):
    imported(ORDERS, kind="orders")
    stamps = dict(Order.objects.values_list("source_id", "updated_at"))
    events = OrderEvent.objects.count()
    again = imported(ORDERS, kind="orders")
    assert again.result_counts == {"total": 5, "new": 0, "updated": 0, "unchanged": 3, "invalid": 2}
    assert dict(Order.objects.values_list("source_id", "updated_at")) == stamps
    assert OrderEvent.objects.count() == events


def test_order_updates_are_imported_events(imported, project):
    # given an existing live order
    customer = CustomerFactory(project=project, source_id="c-1")
    order = OrderFactory(project=project, customer=customer, source_id="o-1", status="CREATED")
    order.metadata = {"keep": True}
    order.save()
    # when history says it was paid
    imp = imported(
        "source_id,status,amount,customer_source_id,metadata.channel\no-1,PAID,50,c-1,web\n",
        kind="orders",
    )
    # then
    assert imp.result_counts["updated"] == 1
    order.refresh_from_db()
    assert (order.status, order.amount, order.imported) == ("PAID", 5000, False)
    assert order.metadata == {"keep": True, "channel": "web"}
    event = OrderEvent.objects.get(order=order)
    assert (event.type, event.imported) == ("order.paid", True)
    customer.refresh_from_db()
    assert customer.orders_total_count == 1


def test_order_items_errors_come_from_order_upsert(checked, project):
    imp = checked(
        "source_id,status,items,customer_source_id\n"
        'o-1,PAID,"[{""source_id"": ""p"", ""quantity"": 0}]",c-1\n'
        'o-2,PAID,"[{""source_id"": ""p"", ""quantity"": 2, ""price"": 500}]",c-1\n'
        "o-3,PAID,not json,c-1\n",
        kind="orders",
    )
    assert issues(imp) == [
        (2, "items[0].quantity", "items[0].quantity must be a whole number of at least 1"),
        (4, "items", "must be a JSON list of order items"),
    ]
    assert imp.dry_run_counts["new"] == 1
    assert not Order.objects.exists()  # the dry run rolled its writes back
    assert not Customer.objects.exists()


def test_uploads_are_stored_per_project_under_media_root(upload, project, media_root):
    imp = upload("source_id,name\nc-1,Ann\n", name="My customers (May).csv")
    assert imp.file.name == f"imports/{project.public_id}/{imp.public_id}/My_customers_May.csv"
    assert (media_root / imp.file.name).read_text() == "source_id,name\nc-1,Ann\n"
    assert imp.original_name == "My customers (May).csv"


def test_the_mapping_can_change_after_a_dry_run(checked, project):
    imp = checked("source_id,Notes\nc-1,hello\n")
    assert imp.mapping == ["source_id", "metadata.Notes"]
    services.import_set_mapping(imp=imp, mapping=["source_id", "description"])
    imp = services.import_start_dry_run(imp=imp)
    assert imp.status == ImportStatus.VALIDATED
    assert imp.dry_run_counts["new"] == 1


def test_set_based_orders_match_order_upsert(imported, project):
    """The import writes what order_upsert(imported=True) would, row by row, in another project."""
    # given the same history in two projects: one through the import, one through order_upsert
    other = ProjectFactory()
    first = (
        "source_id,status,amount,discount_amount,customer_source_id,created_at,metadata.channel\n"
        "o-1,CREATED,100,,c-1,2024-01-01T08:00:00Z,web\n"
        "o-2,PAID,50,5,c-2,2024-01-02T08:00:00Z,\n"
    )
    second = (
        "source_id,status,amount,discount_amount,customer_source_id,created_at,metadata.channel\n"
        "o-1,PAID,100,10,c-1,,shop\n"
        "o-2,PAID,60,5,c-1,,\n"
        "o-3,CANCELED,20,,c-3,2024-01-03T08:00:00Z,\n"
    )
    payloads = {
        "first": [
            {"source_id": "o-1", "status": "CREATED", "amount": 10000,
             "customer": {"source_id": "c-1"}, "created_at": "2024-01-01T08:00:00Z",
             "metadata": {"channel": "web"}},
            {"source_id": "o-2", "status": "PAID", "amount": 5000, "discount_amount": 500,
             "customer": {"source_id": "c-2"}, "created_at": "2024-01-02T08:00:00Z",
             "metadata": {}},
        ],
        "second": [
            {"source_id": "o-1", "status": "PAID", "amount": 10000, "discount_amount": 1000,
             "customer": {"source_id": "c-1"}, "metadata": {"channel": "shop"}},
            {"source_id": "o-2", "status": "PAID", "amount": 6000, "discount_amount": 500,
             "customer": {"source_id": "c-1"}, "metadata": {}},
            {"source_id": "o-3", "status": "CANCELED", "amount": 2000,
             "customer": {"source_id": "c-3"}, "created_at": "2024-01-03T08:00:00Z",
             "metadata": {}},
        ],
    }  # fmt: skip
    for step, data in (("first", first), ("second", second)):
        with time_machine.travel(f"2026-03-0{1 if step == 'first' else 2} 12:00:00Z", tick=False):
            imported(data, kind="orders")
            for payload in payloads[step]:
                order_upsert(project=other, payload=payload, imported=True)

    # then orders, events and customer summaries are the same
    def state(p):
        orders = list(
            Order.objects.filter(project=p)
            .order_by("source_id")
            .values_list(
                "source_id", "status", "amount", "discount_amount", "total_discount_amount",
                "total_amount", "customer__source_id", "metadata", "imported", "created_at",
                "updated_at",
            )
        )  # fmt: skip
        events = sorted(
            OrderEvent.objects.filter(project=p).values_list(
                "order__source_id", "type", "imported", "customer__source_id", "created_at"
            )
        )
        summaries = list(
            Customer.objects.filter(project=p)
            .order_by("source_id")
            .values_list(
                "source_id", "orders_total_amount", "orders_total_count",
                "orders_average_amount", "orders_last_order_amount", "orders_last_order_date",
            )
        )  # fmt: skip
        return orders, events, summaries

    assert state(project) == state(other)
    assert len(state(project)[1]) == 7
