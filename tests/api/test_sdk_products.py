"""The official `voucherify` SDK (PyPI, unchanged) drives the products, SKUs and product
collections endpoints on a live server; its strict response models are the contract."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.products.models import Product
from tests.products.factories import ProductFactory, SkuFactory
from tests.projects.factories import ProjectFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    return ProjectFactory(name="SDK shop", currency="USD")


def test_products_and_skus_through_the_sdk(sdk, shop):
    api = voucherify.ProductsApi(sdk(shop))
    created = api.create_product(
        voucherify.ProductsCreateRequestBody(
            source_id="tee", name="Tee", price=1999, attributes=["size"], metadata={"x": 1}
        )
    )
    assert isinstance(created, voucherify.ProductsCreateResponseBody)
    assert created.id.startswith("prod_") and created.price == 1999 and created.skus.total == 0
    updated = api.update_product("tee", voucherify.ProductsUpdateRequestBody(price=2099))
    assert updated.price == 2099 and updated.name == "Tee"

    sku = api.create_sku(
        created.id,
        voucherify.ProductsSkusCreateRequestBody(
            source_id="tee-s", sku="Small", price=1899, attributes={"size": "S"}, currency="USD"
        ),
    )
    assert sku.product_id == created.id and sku.currency == "USD"
    assert api.get_sku("tee-s").id == sku.id
    changed = api.update_sku("tee", sku.id, voucherify.ProductsSkusUpdateRequestBody(price=1799))
    assert changed.price == 1799
    fetched = api.get_product(created.id)
    assert fetched.skus.data[0].id == sku.id and fetched.skus.total == 1
    skus = api.list_skus_in_product("tee", limit=10, page=1)
    assert skus.data_ref == "skus" and [s.id for s in skus.skus] == [sku.id]

    listed = api.list_products(
        limit=5,
        page=1,
        order=voucherify.ParameterOrder.MINUS_CREATED_AT,
        start_date=datetime.now(UTC) - timedelta(hours=1),
        end_date=datetime.now(UTC) + timedelta(hours=1),
    )
    assert listed.total == 1 and listed.products[0].skus.data[0].sku == "Small"

    api.delete_sku("tee", sku.id, force=True)
    api.delete_product(created.id, force=False)
    with pytest.raises(voucherify.ApiException) as missing:
        api.get_product(created.id)
    assert missing.value.status == 404


def test_bulk_updates_through_the_sdk(sdk, shop):
    client = sdk(shop)
    api = voucherify.ProductsApi(client)
    ProductFactory(project=shop, source_id="a", price=100)
    bulk = api.update_products_in_bulk(
        [
            voucherify.ProductsUpdateInBulkRequestBody(source_id="a", price=150),
            voucherify.ProductsUpdateInBulkRequestBody(source_id="b", name="B"),
        ]
    )
    action = voucherify.AsyncActionsApi(client).get_async_action(bulk.async_action_id)
    assert action.status == "DONE" and action.result["updated"] == 2
    metadata = api.update_products_metadata_in_bulk(
        voucherify.ProductsMetadataUpdateInBulkRequestBody(
            source_ids=["a", "b"], metadata={"tier": "gold"}
        )
    )
    assert metadata.async_action_id.startswith("aa_")
    stored = dict(Product.objects.filter(project=shop).values_list("source_id", "metadata"))
    assert stored == {"a": {"tier": "gold"}, "b": {"tier": "gold"}}


def test_csv_imports_through_the_sdk(sdk, shop, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    api = voucherify.ProductsApi(sdk(shop))
    products = tmp_path / "products.csv"
    products.write_text("source_id,name,price\nlamp,Lamp,12.50\n")
    assert api.import_products_using_csv(file=str(products)).async_action_id
    skus = tmp_path / "skus.csv"
    skus.write_text("source_id,product_source_id,sku\nlamp-red,lamp,Red\n")
    assert api.import_skus_using_csv(file=str(skus)).async_action_id
    assert Product.objects.get(project=shop).skus.get().sku == "Red"


def test_product_collections_through_the_sdk(sdk, shop):
    api = voucherify.ProductCollectionsApi(sdk(shop))
    lamp = ProductFactory(project=shop, name="Lamp", price=5000)
    red = SkuFactory(product=lamp, sku="Red")
    ProductFactory(project=shop, name="Pen", price=100)
    static = api.create_product_collection(
        voucherify.ProductCollectionsCreateRequestBody.from_dict(
            {
                "type": "STATIC",
                "name": "Picks",
                "products": [
                    {"id": lamp.public_id, "object": "product"},
                    {"id": red.public_id, "product_id": lamp.public_id, "object": "sku"},
                ],
            }
        )
    )
    assert static.type == "STATIC" and static.object == "products_collection"
    assert [p.object for p in static.products] == ["product", "sku"]
    auto = api.create_product_collection(
        voucherify.ProductCollectionsCreateRequestBody.from_dict(
            {
                "type": "AUTO_UPDATE",
                "name": "Dear",
                "filter": {"junction": "and", "price": {"conditions": {"$more_than": [1000]}}},
            }
        )
    )
    assert api.get_product_collection(auto.id).filter["junction"] == "and"
    listed = api.list_product_collections(limit=10, page=1)
    assert listed.total == 2 and {c.name for c in listed.data} == {"Picks", "Dear"}
    members = api.list_products_in_collection(static.id, limit=10, page=1)
    assert members.total == 2
    assert members.data[1].product.id == lamp.public_id and members.data[1].sku == "Red"
    assert [p.name for p in api.list_products_in_collection(auto.id).data] == ["Lamp"]
    api.delete_product_collection(static.id)
    with pytest.raises(voucherify.ApiException) as missing:
        api.get_product_collection(static.id)
    assert missing.value.status == 404
