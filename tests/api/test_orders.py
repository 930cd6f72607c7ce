"""Orders through /v1: create (an upsert), get, update with its status event, list, the import
of historical orders as an async action, the orders export; garbage refused, other projects'
orders invisible."""

import pytest

from apps.customers.models import Customer
from apps.jobs.models import Job
from apps.orders.models import Order, OrderEvent
from apps.redemptions.models import Redemption
from tests.customers.factories import CustomerFactory
from tests.orders.factories import OrderFactory, OrderItemFactory
from tests.products.factories import ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def put(client, path, body):
    return client.put(path, body, content_type="application/json")


def test_create_returns_the_calculated_order_with_items_and_customer(api_client):
    project = api_client.project
    lamp = ProductFactory(project=project, source_id="lamp", name="Lamp", price=1000)
    red = SkuFactory(product=lamp, source_id="lamp-red", sku="Red", price=1200)
    response = post(
        api_client,
        "/v1/orders",
        {
            "source_id": "o-1",
            "status": "PAID",
            "discount_amount": 200,
            "items": [
                {"product_id": lamp.public_id, "quantity": 2},
                {"sku_id": red.public_id, "related_object": "sku", "quantity": 1, "price": 1200},
                {"source_id": "lamp", "quantity": 1, "metadata": None},
            ],
            "customer": {"source_id": "ann", "name": "Ann"},
            "metadata": {"channel": "web"},
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"].startswith("ord_") and body["object"] == "order"
    assert (body["source_id"], body["status"]) == ("o-1", "PAID")
    assert body["amount"] == 2000 + 1200 + 1000
    assert (body["discount_amount"], body["total_amount"]) == (200, 4000)
    first, second, third = body["items"]
    assert first["object"] == "order_item" and first["related_object"] == "product"
    assert (first["product_id"], first["amount"], first["price"]) == (lamp.public_id, 2000, 1000)
    assert first["product"]["source_id"] == "lamp"
    assert (second["sku_id"], second["sku"]["sku"], second["product_id"]) == (
        red.public_id,
        "Red",
        lamp.public_id,
    )
    assert third["product_id"] == lamp.public_id
    ann = Customer.objects.get(project=project, source_id="ann")
    assert body["customer_id"] == ann.public_id
    assert body["customer"] == {"id": ann.public_id, "object": "customer"}
    assert body["referrer"] is None and body["redemptions"] == {}
    assert body["metadata"] == {"channel": "web"}
    assert set(OrderEvent.objects.values_list("type", flat=True)) == {
        "order.created",
        "order.paid",
    }


def test_create_upserts_by_source_id_and_id(api_client):
    first = post(api_client, "/v1/orders", {"source_id": "o-1", "amount": 1000}).json()
    again = post(api_client, "/v1/orders", {"source_id": "o-1", "amount": 1500}).json()
    assert again["id"] == first["id"] and again["amount"] == 1500
    by_id = post(api_client, "/v1/orders", {"id": first["id"], "status": "CANCELED"}).json()
    assert (by_id["status"], by_id["amount"]) == ("CANCELED", 1500)
    assert Order.objects.count() == 1
    missing = post(api_client, "/v1/orders", {"id": "ord_nope", "amount": 1})
    assert missing.status_code == 404 and missing.json()["key"] == "not_found"


def test_referrer_id_names_the_referrer(api_client):
    referrer = CustomerFactory(project=api_client.project)
    body = post(api_client, "/v1/orders", {"amount": 100, "referrer_id": referrer.public_id})
    assert body.json()["referrer"] == {"id": referrer.public_id, "object": "customer"}


@pytest.mark.parametrize(
    "body, detail",
    [
        ({"amount": "100"}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 100, "status": "SHIPPED"}, "status"),
        ({"amount": 100, "status": 3}, "status"),
        ({"items": "lamp"}, "items"),
        ({"items": [{"quantity": "2", "price": 100}]}, "quantity"),
        ({"items": [{"quantity": 1, "price": 1.5}]}, "price"),
        ({"items": [["x"]]}, "items[0]"),
        ({"items": [{"quantity": 1, "price": 1, "related_object": "box"}]}, "related_object"),
        ({"amount": 100, "created_at": "yesterday"}, "created_at"),
        ({"amount": 100, "created_at": "2024-13-45T00:00:00Z"}, "created_at"),
        ({"amount": 100, "source_id": ["a"]}, "source_id"),
        ({"amount": 100, "discount_amount": 500}, "discount"),
        ({"amount": 100, "customer": "ann"}, "customer"),
        ({"amount": 100, "metadata": "x"}, "metadata"),
    ],
)
def test_garbage_orders_are_a_400(api_client, body, detail):
    response = post(api_client, "/v1/orders", body)
    assert response.status_code == 400, response.content
    error = response.json()
    assert detail in error["message"] + error["details"]
    assert not Order.objects.exists()


def test_get_by_id_or_source_id_shows_its_redemptions(api_client):
    order = OrderFactory(customer__project=api_client.project, source_id="o-7")
    OrderItemFactory(order=order)
    parent = Redemption.objects.create(
        project=api_client.project,
        order=order,
        result="SUCCESS",
        status="SUCCEEDED",
        related_object_type="redemption",
        channel_type="API",
    )
    child = Redemption.objects.create(
        project=api_client.project,
        order=order,
        parent=parent,
        result="SUCCESS",
        status="SUCCEEDED",
        related_object_type="voucher",
        channel_type="API",
    )
    for ref in (order.public_id, "o-7"):
        body = api_client.get(f"/v1/orders/{ref}").json()
        assert body["id"] == order.public_id and len(body["items"]) == 1
        entry = body["redemptions"][parent.public_id]
        assert entry["related_object_type"] == "redemption"
        assert entry["related_object_id"] == parent.public_id
        assert entry["stacked"] == [child.public_id]
    assert list(body["redemptions"]) == [parent.public_id]


def test_update_changes_the_given_fields_and_records_the_status_change(api_client):
    order = OrderFactory(customer__project=api_client.project, status="CREATED", amount=500)
    response = put(
        api_client,
        f"/v1/orders/{order.source_id}",
        {"status": "PAID", "source_id": "renamed", "metadata": {"gift": True}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["amount"], body["source_id"]) == ("PAID", 500, order.source_id)
    assert body["metadata"] == {"gift": True}
    assert list(OrderEvent.objects.filter(order=order).values_list("type", flat=True)) == [
        "order.paid"
    ]
    bad = put(api_client, f"/v1/orders/{order.public_id}", {"status": "LOST"})
    assert bad.status_code == 400 and bad.json()["key"] == "invalid_order"
    assert put(api_client, "/v1/orders/ord_nope", {"status": "PAID"}).status_code == 404


def test_list_pages_newest_first_in_few_queries(api_client, django_assert_max_num_queries):
    for n in range(3):
        OrderItemFactory(order=OrderFactory(customer__project=api_client.project, amount=n))
    OrderFactory()  # another project's
    with django_assert_max_num_queries(8):
        body = api_client.get("/v1/orders?limit=2").json()
    assert body["object"] == "list" and body["data_ref"] == "orders" and body["total"] == 3
    assert [o["amount"] for o in body["orders"]] == [2, 1]
    oldest = api_client.get("/v1/orders?limit=1&order=created_at").json()["orders"]
    assert oldest[0]["amount"] == 0
    assert api_client.get("/v1/orders?order=amount").json()["key"] == "invalid_query_params"
    assert api_client.get("/v1/orders?page=0").status_code == 400


def test_import_upserts_historical_orders_in_a_job(api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api_client,
            "/v1/orders/import",
            [
                {
                    "source_id": "h-1",
                    "amount": 1000,
                    "status": "PAID",
                    "customer": {"source_id": "a"},
                },
                {"source_id": "h-2", "amount": "lots"},
            ],
        )
    assert response.status_code == 202, response.content
    action = api_client.get(f"/v1/async-actions/{response.json()['async_action_id']}").json()
    assert (action["type"], action["status"]) == ("ORDERS.IMPORT", "DONE")
    assert (action["result"]["imported"], action["result"]["failed"]) == (1, 1)
    assert "amount" in action["result"]["results"][1]["error"]
    order = Order.objects.get(project=api_client.project)
    assert order.source_id == "h-1" and order.imported
    assert set(OrderEvent.objects.values_list("imported", flat=True)) == {True}
    assert Customer.objects.get(project=api_client.project).orders_total_amount == 1000


@pytest.mark.parametrize("body", [{"source_id": "x"}, [], [1], "orders"])
def test_import_refuses_a_malformed_body(api_client, body):
    response = post(api_client, "/v1/orders/import", body)
    assert response.status_code == 400, response.content
    assert not Job.objects.exists()


def test_orders_export_is_an_export_of_orders(api_client):
    response = post(
        api_client,
        "/v1/orders/export",
        {"parameters": {"fields": ["id", "status"], "order": "-created_at"}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["object"], body["exported_object"], body["status"]) == (
        "export",
        "order",
        "SCHEDULED",
    )
    assert body["parameters"]["fields"] == ["id", "status"]
    bad = post(api_client, "/v1/orders/export", {"parameters": {"fields": ["nope"]}})
    assert bad.status_code == 400 and bad.json()["key"] == "invalid_export_fields"


def test_another_projects_key_sees_none_of_it(api_client, other_client):
    order = OrderFactory(customer__project=api_client.project, source_id="mine")
    for ref in (order.public_id, "mine"):
        assert other_client.get(f"/v1/orders/{ref}").status_code == 404
        assert put(other_client, f"/v1/orders/{ref}", {"status": "PAID"}).status_code == 404
    assert other_client.get("/v1/orders").json()["total"] == 0
    # naming another project's order by id in a create is a 404, not an update
    assert post(other_client, "/v1/orders", {"id": order.public_id}).status_code == 404
    # the same source_id is another order in another project
    theirs = post(other_client, "/v1/orders", {"source_id": "mine", "amount": 1}).json()
    assert theirs["id"] != order.public_id
    order.refresh_from_db()
    assert order.amount == 10000
