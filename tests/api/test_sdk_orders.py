"""The official `voucherify` SDK (PyPI, unchanged) drives the orders endpoints on a live server;
its strict response models are the contract."""

import pytest

from apps.orders.models import Order
from tests.products.factories import ProductFactory, SkuFactory
from tests.projects.factories import ProjectFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)


def test_orders_through_the_sdk(sdk):
    shop = ProjectFactory(name="SDK shop", currency="USD")
    lamp = ProductFactory(project=shop, source_id="lamp", price=1000)
    red = SkuFactory(product=lamp, source_id="lamp-red", price=1200)
    api = voucherify.OrdersApi(sdk(shop))
    created = api.create_order(
        voucherify.OrdersCreateRequestBody.from_dict(
            {
                "source_id": "o-1",
                "status": "CREATED",
                "items": [
                    {"product_id": lamp.public_id, "quantity": 2},
                    {"sku_id": red.public_id, "related_object": "sku", "quantity": 1},
                ],
                "customer": {"source_id": "ann", "email": "ann@example.com"},
                "metadata": {"channel": "web"},
            }
        )
    )
    assert isinstance(created, voucherify.OrdersCreateResponseBody)
    assert created.id.startswith("ord_") and created.status == "CREATED"
    assert created.amount == 3200 and created.total_amount == 3200
    assert [i.related_object for i in created.items] == ["product", "sku"]
    assert created.items[1].sku.id == red.public_id and created.customer.object == "customer"

    paid = api.update_order("o-1", voucherify.OrdersUpdateRequestBody(status="PAID"))
    assert paid.status == "PAID" and paid.id == created.id
    assert api.get_order(created.id).customer_id == created.customer_id

    listed = api.list_orders(limit=10, page=1, order=voucherify.ParameterOrderListOrders.CREATED_AT)
    assert listed.total == 1 and listed.orders[0].id == created.id

    imported = api.import_orders(
        [
            voucherify.OrdersImportCreateRequestBodyItem.from_dict(
                {"source_id": "h-1", "amount": 500, "status": "FULFILLED"}
            )
        ]
    )
    assert imported.async_action_id.startswith("aa_")
    assert Order.objects.get(project=shop, source_id="h-1").imported

    export = api.create_order_export(
        voucherify.OrdersExportCreateRequestBody.from_dict(
            {"parameters": {"fields": ["id", "amount"], "order": "-created_at"}}
        )
    )
    assert export.status == "SCHEDULED" and export.exported_object == "order"
    assert export.parameters.fields == ["id", "amount"]

    with pytest.raises(voucherify.ApiException) as refused:
        api.create_order(voucherify.OrdersCreateRequestBody(amount=100, discount_amount=500))
    assert refused.value.status == 400 and "invalid_order" in refused.value.body
