import pytest

from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.orders.models import Order, OrderEvent
from apps.orders.services import customers_refresh_order_summary, order_set_status, order_upsert
from apps.products.models import Product
from tests.customers.factories import CustomerFactory
from tests.orders.factories import OrderFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def payload(**extra):
    return {
        "source_id": "order-1",
        "status": "CREATED",
        "customer": {"source_id": "buyer-1", "name": "Bob"},
        "items": [
            {"product": {"source_id": "p1", "name": "Mug", "price": 1500}, "quantity": 2},
            {"source_id": "p2", "quantity": 1, "price": 1000, "discount_amount": 200},
        ],
        **extra,
    }


def test_create_computes_amounts_and_upserts_customer_not_products(project):
    order, created = order_upsert(project=project, payload=payload(discount_amount=300))
    assert created
    assert (
        order.amount,
        order.items_discount_amount,
        order.total_discount_amount,
        order.total_amount,
    ) == (
        4000,
        200,
        500,
        3500,
    )
    assert order.customer.source_id == "buyer-1"
    assert list(order.items.values_list("name", "quantity", "amount")) == [
        ("Mug", 2, 3000),
        ("", 1, 1000),
    ]
    assert not Product.objects.exists()  # no override: products are not stored
    assert list(OrderEvent.objects.values_list("type", flat=True)) == ["order.created"]


def test_override_stores_and_updates_the_product(project):
    existing = ProductFactory(project=project, source_id="p1", name="Old", price=100)
    data = payload()
    data["items"][0]["product"]["override"] = True
    order, _ = order_upsert(project=project, payload=data)
    existing.refresh_from_db()
    assert (existing.name, existing.price) == ("Mug", 1500)
    assert order.items.first().product == existing


def test_upsert_by_source_id_and_status_events_and_summary(project):
    order, _ = order_upsert(project=project, payload=payload())
    customer = order.customer
    customer.refresh_from_db()
    assert customer.orders_total_count == 0  # CREATED does not count
    order, created = order_upsert(
        project=project, payload={"source_id": "order-1", "status": "PAID"}
    )
    assert not created
    customer.refresh_from_db()
    # amount 4000 minus the item discount of 200
    assert (customer.orders_total_count, customer.orders_total_amount) == (1, 3800)
    assert customer.orders_last_order_amount == 3800
    order_set_status(order=order, status="CANCELED")
    customer.refresh_from_db()
    assert customer.orders_total_count == 0
    assert list(OrderEvent.objects.order_by("id").values_list("type", flat=True)) == [
        "order.created",
        "order.paid",
        "order.canceled",
    ]
    assert Order.objects.count() == 1


def test_summary_average_and_last(project):
    customer = CustomerFactory(project=project)
    OrderFactory(customer=customer, total_amount=1000, status="PAID")
    OrderFactory(customer=customer, total_amount=2001, status="FULFILLED")
    OrderFactory(customer=customer, total_amount=99999, status="CANCELED")
    customers_refresh_order_summary(customer_ids=[customer.pk])
    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.orders_total_amount, customer.orders_total_count) == (3001, 2)
    assert customer.orders_average_amount in (1500, 1501)
    assert customer.orders_last_order_amount == 2001


def test_imported_orders_are_marked_historical(project):
    order, _ = order_upsert(project=project, payload=payload(status="PAID"), imported=True)
    assert order.imported
    assert set(OrderEvent.objects.values_list("imported", flat=True)) == {True}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"status": "SHIPPED"}, "status must be one of"),
        ({"amount": -5}, "amount cannot be negative"),
        ({"amount": 10.5}, "amount must be an integer"),
        ({"items": [{"quantity": 0}]}, "items[0].quantity"),
        ({"items": [{"quantity": 1}] * 501}, "at most 500 items"),
        ({"amount": 100, "discount_amount": 200, "items": None}, "exceed the amount"),
        ({"created_at": "yesterday"}, "created_at must be"),
    ],
)
def test_bad_orders_are_refused_and_nothing_is_saved(project, bad, message):
    data = {**payload(), **bad}
    if data.get("items") is None:
        data.pop("items")
    with pytest.raises(ApplicationError) as info:
        order_upsert(project=project, payload=data)
    assert message in info.value.message
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_items_resolve_their_products_in_a_bounded_number_of_queries(
    project, django_assert_max_num_queries
):
    from tests.products.factories import SkuFactory

    products = ProductFactory.create_batch(30, project=project)
    sku = SkuFactory(product=products[0], source_id="sku-x", price=777)
    items = [{"product_id": p.public_id, "quantity": 1} for p in products]
    items += [{"source_id": p.source_id, "quantity": 2} for p in products]
    items.append({"sku": {"source_id": "sku-x"}, "quantity": 1})
    with django_assert_max_num_queries(25):
        order, _ = order_upsert(project=project, payload={"source_id": "big", "items": items})
    assert order.items.count() == 61
    assert order.amount == 30 * 1999 + 30 * 2 * 1999 + 777
    last = order.items.order_by("position").last()
    assert (last.sku, last.product) == (sku, products[0])
