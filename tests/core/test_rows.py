"""apps.core.rows: hand-written reads and inserts give what the ORM gives."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.models import PUBLIC_ID_LENGTH
from apps.core.rows import Columns, attach, insert, insert_with
from apps.orders.models import OrderEvent, OrderItem
from apps.products.models import Product
from tests.orders.factories import OrderFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [1, 3])  # one row: VALUES; several: UNNEST on PostgreSQL
def test_insert_writes_what_bulk_create_would_and_sets_each_rows_key(project, count):
    order = OrderFactory(project=project)
    product = ProductFactory(project=project)
    items = [
        OrderItem(
            order=order,
            position=n,
            product=product if n % 2 == 0 else None,
            name=f"line {n}",
            quantity=n + 1,
            price=100 * (n + 1),
            amount=100 * (n + 1) ** 2,
            metadata={"n": n, "note": 'naïve, "quoted"'},
        )
        for n in range(count)
    ]
    assert insert(items) is items
    assert all(item.pk and not item._state.adding for item in items)
    for item in items:  # every key points at the row written from that instance
        stored = OrderItem.objects.get(pk=item.pk)
        assert (stored.position, stored.name, stored.quantity, stored.amount) == (
            item.position,
            item.name,
            item.quantity,
            item.amount,
        )
        assert stored.product_id == item.product_id
        assert stored.metadata == item.metadata


@pytest.mark.parametrize("count", [1, 2])
def test_insert_fills_defaults_and_auto_now_fields(project, count):
    order = OrderFactory(project=project)
    moment = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    events = insert(
        [
            OrderEvent(project=project, order=order, type=f"order.{n}", created_at=moment)
            for n in range(count)
        ]
    )
    for n, event in enumerate(events):
        stored = OrderEvent.objects.get(pk=event.pk)
        assert stored.type == f"order.{n}"
        assert stored.created_at == moment  # microseconds and zone kept
        assert stored.updated_at == event.updated_at and stored.imported is False


def test_insert_prepares_values_that_are_not_plain_json_as_bulk_create_would(project):
    order = OrderFactory(project=project)
    items = [OrderItem(order=order, position=n, quantity=True) for n in range(2)]
    insert(items)  # a bool where an int goes: the field's own preparation makes it 1
    assert {i.quantity for i in OrderItem.objects.filter(pk__in=[i.pk for i in items])} == {1}


def test_columns_build_partial_models_with_the_orms_conversions(project):
    product = ProductFactory(project=project, metadata={"brand": "Acme"}, price=1299)
    part = Columns(Product, "p", ("id", "public_id", "price", "metadata"))
    sql = f"SELECT {part.sql} FROM products_product p WHERE p.id = %s"  # noqa: S608 -- our names
    with connection.cursor() as cursor:
        cursor.execute(sql, [product.pk])
        built = part.build(cursor.fetchone())
    assert isinstance(built, Product) and built.pk == product.pk
    assert built.metadata == {"brand": "Acme"} and built.price == 1299
    assert len(built.public_id) == len("prod_") + PUBLIC_ID_LENGTH
    assert part.build((None, None, None, None)) is None  # a missing LEFT JOIN
    assert not built._state.adding and built._state.db == "default"
    assert (
        built.get_deferred_fields()
        == Product.objects.only("id", "public_id", "price", "metadata")
        .get(pk=product.pk)
        .get_deferred_fields()
    )
    assert built.name == product.name  # a column not loaded is read on first use, as deferred


def test_columns_build_matches_from_db_field_for_field_and_keeps_foreign_keys_lazy(project):
    order = OrderFactory(project=project)
    item = insert([OrderItem(order=order, position=0, name="x", quantity=2, price=5)])[0]
    part = Columns(OrderItem, "i")
    sql = f"SELECT {part.sql} FROM orders_orderitem i WHERE i.id = %s"  # noqa: S608 -- our names
    with connection.cursor() as cursor:
        cursor.execute(sql, [item.pk])
        built = part.build(cursor.fetchone())
    loaded = OrderItem.objects.get(pk=item.pk)
    assert part.plain  # no init signal, no descriptor that does more than store the value
    fields = {f.attname for f in OrderItem._meta.concrete_fields}
    assert {k: v for k, v in vars(built).items() if k in fields} == {
        k: v for k, v in vars(loaded).items() if k in fields
    }
    assert built.order == order  # the relation loads from its id, as on an ORM instance


def test_columns_build_goes_through_init_when_a_model_has_init_receivers(project):
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Product)
    try:
        part = Columns(Product, "p", ("id", "price"))
        built = part.build((7, 100))
    finally:
        post_init.disconnect(receiver, sender=Product)
    assert not part.plain and seen == [built] and built.price == 100


@pytest.mark.parametrize("quantity", [3, True])  # True is not plain JSON for an int column
def test_insert_with_writes_a_parent_and_its_children_and_links_them(project, quantity):
    from apps.orders.models import Order

    order = Order(project=project, amount=600, total_amount=600, metadata={"n": 1})
    items = [
        OrderItem(order=order, position=n, name=f"line {n}", quantity=quantity, price=100)
        for n in range(3)
    ]
    events = [OrderEvent(project=project, order=order, type="order.created")]
    with CaptureQueriesContext(connection) as queries:
        insert_with(order, (items, "order"), (events, "order"), ([], "order"))
    # on PostgreSQL one statement when every value is plain JSON, else one per model
    one_statement = connection.vendor == "postgresql" and quantity is not True
    assert len(queries) == (1 if one_statement else 3)

    assert order.pk and not order._state.adding
    assert Order.objects.get(pk=order.pk).metadata == {"n": 1}
    for item in items:  # each key is the row written from that instance, in input order
        assert item.order_id == order.pk and item.order is order and not item._state.adding
        stored = OrderItem.objects.get(pk=item.pk)
        assert (stored.order_id, stored.name, stored.position) == (
            order.pk,
            item.name,
            item.position,
        )
    assert OrderEvent.objects.get(pk=events[0].pk).order_id == order.pk
    assert OrderItem.objects.filter(order=order).count() == 3


def test_insert_with_and_no_children_inserts_the_parent(project):
    from apps.orders.models import Order

    order = Order(project=project)
    insert_with(order, ([], "order"))
    assert Order.objects.filter(pk=order.pk).exists()


def test_attach_gives_a_built_instance_its_related_object_without_a_query(
    project, django_assert_num_queries
):
    order = OrderFactory(project=project)
    item = insert([OrderItem(order=order, position=0, name="x", quantity=1, price=5)])[0]
    part = Columns(OrderItem, "i")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {part.sql} FROM orders_orderitem i WHERE i.id = %s", [item.pk])  # noqa: S608
        built = part.build(cursor.fetchone())
    attach(built, "order", order)
    attach(built, "product", None)
    with django_assert_num_queries(0):
        assert built.order is order and built.product is None
    assert built.order_id == order.pk


def test_choices_members_go_in_as_plain_json_values(project):
    from django.db import models

    from apps.orders.models import Order

    class Related(models.TextChoices):
        SKU = "sku"

    class Units(models.IntegerChoices):
        TWO = 2

    order = Order(project=project)
    items = [OrderItem(order=order, related_object=Related.SKU, quantity=Units.TWO)]
    with CaptureQueriesContext(connection) as queries:
        insert_with(order, (items, "order"))
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    stored = OrderItem.objects.get(pk=items[0].pk)
    assert (stored.related_object, stored.quantity) == ("sku", 2)
