"""apps.core.rows: hand-written reads and inserts give what the ORM gives."""

import pytest
from django.db import connection

from apps.core.models import PUBLIC_ID_LENGTH
from apps.core.rows import Columns, insert
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


def test_insert_fills_defaults_and_auto_now_fields(project):
    order = OrderFactory(project=project)
    (event,) = insert([OrderEvent(project=project, order=order, type="order.paid")])
    stored = OrderEvent.objects.get(pk=event.pk)
    assert stored.updated_at is not None and stored.imported is False
    assert stored.created_at == event.created_at


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
