"""Products, SKUs and product collections through /v1: Voucherify's shapes and upserts, bulk
updates as async actions, JSON errors for garbage, other projects' objects invisible."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.jobs.models import Job, JobStatus
from apps.products.models import Product, ProductCollection, Sku
from tests.products.factories import ProductCollectionFactory, ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def put(client, path, body):
    return client.put(path, body, content_type="application/json")


# -- products ---------------------------------------------------------------------------------


def test_create_returns_the_product_and_upserts_by_source_id(api_client):
    created = post(
        api_client,
        "/v1/products",
        {
            "source_id": "lamp",
            "name": "Lamp",
            "price": 1250,
            "attributes": ["color"],
            "metadata": {"brand": "Acme"},
            "image_url": None,
        },
    )
    assert created.status_code == 200, created.content
    body = created.json()
    assert body["id"].startswith("prod_") and body["object"] == "product"
    assert (body["source_id"], body["name"], body["price"]) == ("lamp", "Lamp", 1250)
    assert body["attributes"] == ["color"] and body["metadata"] == {"brand": "Acme"}
    assert body["skus"] == {"object": "list", "data_ref": "data", "data": [], "total": 0}
    assert body["created_at"].endswith("Z")

    again = post(api_client, "/v1/products", {"source_id": "lamp", "price": 1500}).json()
    assert again["id"] == body["id"] and again["price"] == 1500 and again["name"] == "Lamp"
    by_id = post(api_client, "/v1/products", {"id": body["id"], "name": "Desk lamp"}).json()
    assert by_id["name"] == "Desk lamp"
    assert Product.objects.filter(project=api_client.project).count() == 1


def test_create_with_an_unknown_id_is_a_404(api_client):
    response = post(api_client, "/v1/products", {"id": "prod_nope", "name": "x"})
    assert response.status_code == 404
    assert response.json()["key"] == "not_found"


@pytest.mark.parametrize(
    "body, detail",
    [
        ({"name": 5}, "name"),
        ({"name": "x", "price": "12.50"}, "price"),
        ({"name": "x", "price": -1}, "price"),
        ({"name": "x", "attributes": "color"}, "attributes"),
        ({"name": "x", "metadata": ["a"]}, "metadata"),
        ({"name": "x", "source_id": {"a": 1}}, "source_id"),
        ({"name": "x", "image_url": 7}, "image_url"),
    ],
)
def test_garbage_product_fields_are_a_400(api_client, body, detail):
    response = post(api_client, "/v1/products", body)
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["key"] in ("invalid_product", "metadata_validation_failed")
    assert detail in error["message"] + error["details"]
    assert not Product.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(api_client):
    assert post(api_client, "/v1/products", [1, 2]).json()["key"] == "invalid_payload"
    bad_json = api_client.post("/v1/products", "{nope", content_type="application/json")
    assert bad_json.status_code == 400 and bad_json.json()["key"] == "invalid_payload"


def test_get_by_id_or_source_id_lists_the_skus(api_client):
    product = ProductFactory(project=api_client.project, source_id="tee")
    SkuFactory(product=product, source_id="tee-s", price=900, attributes={"size": "S"})
    for ref in (product.public_id, "tee"):
        body = api_client.get(f"/v1/products/{ref}").json()
        assert body["id"] == product.public_id
        [sku] = body["skus"]["data"]
        assert sku["source_id"] == "tee-s" and sku["product_id"] == product.public_id
        assert (sku["price"], sku["currency"], sku["attributes"]) == (900, "USD", {"size": "S"})
        assert body["skus"]["total"] == 1


def test_update_changes_only_the_given_fields(api_client):
    product = ProductFactory(project=api_client.project, name="Mug", price=500)
    response = put(api_client, f"/v1/products/{product.public_id}", {"price": 650})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["price"]) == ("Mug", 650)
    bad = put(api_client, f"/v1/products/{product.public_id}", {"price": 6.5})
    assert bad.status_code == 400 and bad.json()["key"] == "invalid_product"


def test_delete_removes_the_product_and_its_skus(api_client):
    product = ProductFactory(project=api_client.project)
    SkuFactory(product=product)
    response = api_client.delete(f"/v1/products/{product.source_id}?force=true")
    assert response.status_code == 204 and response.content == b""
    assert not Product.objects.exists() and not Sku.objects.exists()
    assert api_client.delete(f"/v1/products/{product.public_id}").status_code == 404


def test_list_pages_orders_and_filters_by_date(api_client, django_assert_max_num_queries):
    for n in range(3):
        SkuFactory(product=ProductFactory(project=api_client.project, name=f"p{n}"))
    ProductFactory(name="someone else's")
    with django_assert_max_num_queries(6):
        body = api_client.get("/v1/products?limit=2&order=created_at").json()
    assert body["object"] == "list" and body["data_ref"] == "products"
    assert [p["name"] for p in body["products"]] == ["p0", "p1"] and body["total"] == 3
    assert all(p["skus"]["total"] == 1 for p in body["products"])
    page2 = api_client.get("/v1/products?limit=2&page=2&order=created_at").json()
    assert [p["name"] for p in page2["products"]] == ["p2"]
    future = api_client.get("/v1/products?start_date=2999-01-01T00:00:00.000000").json()
    assert future["total"] == 0
    assert api_client.get("/v1/products?order=price").json()["key"] == "invalid_query_params"
    assert api_client.get("/v1/products?limit=0").status_code == 400
    assert api_client.get("/v1/products?limit=abc").status_code == 400


# -- SKUs -------------------------------------------------------------------------------------


def test_create_sku_upserts_and_get_sku_finds_it(api_client):
    product = ProductFactory(project=api_client.project, source_id="tee")
    created = post(
        api_client,
        "/v1/products/tee/skus",
        {"source_id": "tee-m", "sku": "Tee M", "price": 1999, "attributes": {"size": "M"}},
    )
    assert created.status_code == 200, created.content
    sku = created.json()
    assert sku["id"].startswith("sku_") and sku["object"] == "sku"
    assert sku["product_id"] == product.public_id and sku["currency"] == "USD"
    again = post(api_client, "/v1/products/tee/skus", {"source_id": "tee-m", "price": 2099})
    assert again.json()["id"] == sku["id"] and again.json()["price"] == 2099
    for ref in (sku["id"], "tee-m"):
        assert api_client.get(f"/v1/skus/{ref}").json()["sku"] == "Tee M"


def test_sku_of_another_product_or_currency_is_refused(api_client):
    ProductFactory(project=api_client.project, source_id="tee")
    SkuFactory(product=ProductFactory(project=api_client.project), source_id="taken")
    taken = post(api_client, "/v1/products/tee/skus", {"source_id": "taken", "sku": "x"})
    assert taken.status_code == 409 and taken.json()["key"] == "duplicate_found"
    euros = post(api_client, "/v1/products/tee/skus", {"sku": "x", "currency": "EUR"})
    assert euros.status_code == 400 and euros.json()["details"] == "currency"
    ok = post(api_client, "/v1/products/tee/skus", {"sku": "x", "currency": "usd"})
    assert ok.status_code == 200
    garbage = post(api_client, "/v1/products/tee/skus", {"sku": ["x"], "attributes": "big"})
    assert garbage.status_code == 400 and garbage.json()["key"] == "invalid_sku"


def test_update_list_and_delete_skus(api_client):
    product = ProductFactory(project=api_client.project, source_id="tee")
    sku = SkuFactory(product=product, source_id="tee-s", price=100)
    SkuFactory(product=product, source_id="tee-l")
    alien = SkuFactory(product=ProductFactory(project=api_client.project), source_id="alien")
    updated = put(api_client, "/v1/products/tee/skus/tee-s", {"price": 150, "sku": "Small"})
    assert (updated.json()["price"], updated.json()["sku"]) == (150, "Small")
    listed = api_client.get("/v1/products/tee/skus").json()
    assert listed["data_ref"] == "skus" and listed["total"] == 2
    assert [s["source_id"] for s in listed["skus"]] == ["tee-s", "tee-l"]
    # a SKU of another product is not found under this one
    assert put(api_client, "/v1/products/tee/skus/alien", {"price": 1}).status_code == 404
    assert api_client.delete(f"/v1/products/tee/skus/{sku.public_id}").status_code == 204
    assert not Sku.objects.filter(pk=sku.pk).exists() and Sku.objects.filter(pk=alien.pk).exists()


# -- bulk and imports -------------------------------------------------------------------------


def test_bulk_update_upserts_each_product_in_a_job(api_client, django_capture_on_commit_callbacks):
    ProductFactory(project=api_client.project, source_id="a", name="A", price=100)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api_client,
            "/v1/products/bulk/async",
            [
                {"source_id": "a", "price": 200},
                {"source_id": "b", "name": "B", "metadata": None},
                {"source_id": "c", "price": "free"},
            ],
        )
    assert response.status_code == 202, response.content
    action = api_client.get(f"/v1/async-actions/{response.json()['async_action_id']}").json()
    assert action["status"] == "DONE" and action["type"] == "PRODUCTS.BULK_UPDATE"
    results = {r["source_id"]: r for r in action["result"]["results"]}
    assert (results["a"]["found"], results["a"]["updated"]) == (True, True)
    assert (results["b"]["found"], results["b"]["updated"]) == (False, True)
    assert results["c"]["updated"] is False and "price" in results["c"]["error"]
    prices = dict(Product.objects.values_list("source_id", "price"))
    assert prices == {"a": 200, "b": None}


@pytest.mark.parametrize(
    "body", [{"source_id": "a"}, [], ["a"], [{"name": "no source id"}], [{"source_id": 5}]]
)
def test_bulk_update_refuses_a_malformed_body(api_client, body):
    response = post(api_client, "/v1/products/bulk/async", body)
    assert response.status_code == 400, response.content
    assert not Job.objects.exists()


def test_metadata_update_merges_into_each_product(api_client, django_capture_on_commit_callbacks):
    ProductFactory(project=api_client.project, source_id="a", metadata={"keep": 1, "tier": "x"})
    other = ProductFactory(source_id="a", metadata={})  # another project's product "a"
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api_client,
            "/v1/products/metadata/async",
            {"source_ids": ["a", "new"], "metadata": {"tier": "gold"}},
        )
    assert response.status_code == 202
    assert Job.objects.get().status == JobStatus.DONE
    mine = dict(
        Product.objects.filter(project=api_client.project).values_list("source_id", "metadata")
    )
    assert mine == {"a": {"keep": 1, "tier": "gold"}, "new": {"tier": "gold"}}
    other.refresh_from_db()
    assert other.metadata == {}
    bad = post(api_client, "/v1/products/metadata/async", {"source_ids": "a", "metadata": {}})
    assert bad.status_code == 400


def test_product_csv_import_answers_an_async_action(
    api_client, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    upload = SimpleUploadedFile("p.csv", b"source_id,name,price\nlamp,Lamp,12.50\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/v1/products/importCSV", {"file": upload})
    assert response.status_code == 202, response.content
    action = api_client.get(f"/v1/async-actions/{response.json()['async_action_id']}").json()
    assert (action["type"], action["status"]) == ("PRODUCTS.IMPORT_CSV", "DONE")
    assert Product.objects.get(project=api_client.project).price == 1250


def test_sku_csv_import_answers_an_async_action(
    api_client, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    ProductFactory(project=api_client.project, source_id="lamp")
    skus = SimpleUploadedFile("s.csv", b"source_id,product_source_id,sku\nlamp-1,lamp,Red\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/v1/skus/importCSV", {"file": skus})
    assert response.status_code == 202, response.content
    assert Sku.objects.get(project=api_client.project).sku == "Red"


def test_csv_imports_need_a_file(api_client):
    for path in ("/v1/products/importCSV", "/v1/skus/importCSV"):
        missing = api_client.post(path, {})
        assert missing.status_code == 400 and missing.json()["details"] == "file"


# -- collections ------------------------------------------------------------------------------


def test_static_collection_holds_products_and_skus(api_client):
    project = api_client.project
    lamp = ProductFactory(project=project, source_id="lamp")
    tee = ProductFactory(project=project, source_id="tee")
    small = SkuFactory(product=tee, source_id="tee-s")
    created = post(
        api_client,
        "/v1/product-collections",
        {
            "type": "STATIC",
            "name": "Picks",
            "products": [
                {"id": lamp.public_id, "object": "product"},
                {"id": "tee-s", "product_id": tee.public_id, "object": "sku"},
            ],
        },
    )
    assert created.status_code == 200, created.content
    body = created.json()
    assert body["id"].startswith("pc_") and body["object"] == "products_collection"
    assert body["products"] == [
        {"id": lamp.public_id, "object": "product"},
        {"id": small.public_id, "product_id": tee.public_id, "object": "sku"},
    ]
    listed = api_client.get(f"/v1/product-collections/{body['id']}/products").json()
    assert listed["total"] == 2
    assert [(i["object"], i["id"]) for i in listed["data"]] == [
        ("product", lamp.public_id),
        ("sku", small.public_id),
    ]
    assert listed["data"][1]["product"]["id"] == tee.public_id
    page2 = api_client.get(f"/v1/product-collections/{body['id']}/products?limit=1&page=2")
    assert [i["id"] for i in page2.json()["data"]] == [small.public_id]


def test_auto_update_collection_matches_its_filter(api_client):
    project = api_client.project
    ProductFactory(project=project, name="cheap", price=500)
    ProductFactory(project=project, name="dear", price=5000, metadata={"line": "pro"})
    created = post(
        api_client,
        "/v1/product-collections",
        {
            "type": "AUTO_UPDATE",
            "name": "Pro",
            "filter": {
                "junction": "AND",
                "price": {"conditions": {"$more_than": [1000]}},
                "metadata.line": {"conditions": {"$is": "pro"}},
            },
        },
    )
    assert created.status_code == 200, created.content
    assert created.json()["filter"]["price"] == {"conditions": {"$more_than": [1000]}}
    items = api_client.get(f"/v1/product-collections/{created.json()['id']}/products").json()
    assert [i["name"] for i in items["data"]] == ["dear"]


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"type": "AUTO_UPDATE", "name": "x", "filter": {"skus": {"conditions": {"$is": "a"}}}},
            "skus",
        ),
        (
            {"type": "AUTO_UPDATE", "name": "x", "filter": {"name": {"conditions": {"$bogus": 1}}}},
            "$bogus",
        ),
        ({"type": "AUTO_UPDATE", "name": "x", "filter": "price > 1"}, "filter"),
        ({"type": "SOMETIMES", "name": "x"}, "type"),
        ({"type": "STATIC", "name": 5}, "name"),
        ({"type": "STATIC", "name": "x", "products": "all"}, "products"),
        ({"type": "STATIC", "name": "x", "products": [{"id": 1}]}, "products[0]"),
        ({"type": "STATIC", "name": "x", "products": [{"id": "a", "object": "x"}]}, "object"),
    ],
)
def test_collections_refuse_what_cannot_be_expressed(api_client, body, message):
    response = post(api_client, "/v1/product-collections", body)
    assert response.status_code == 400, response.content
    error = response.json()
    assert message in error["message"] + error["details"]
    assert not ProductCollection.objects.exists()


def test_list_get_and_delete_collections(api_client):
    first = ProductCollectionFactory(project=api_client.project, name="A")
    ProductCollectionFactory(project=api_client.project, name="B")
    listed = api_client.get("/v1/product-collections").json()
    assert listed["data_ref"] == "data" and listed["total"] == 2
    assert api_client.get(f"/v1/product-collections/{first.public_id}").json()["name"] == "A"
    assert api_client.delete(f"/v1/product-collections/{first.public_id}").status_code == 204
    assert api_client.get(f"/v1/product-collections/{first.public_id}").status_code == 404


# -- tenants ----------------------------------------------------------------------------------


def test_another_projects_key_sees_none_of_it(api_client, other_client):
    product = ProductFactory(project=api_client.project, source_id="lamp")
    sku = SkuFactory(product=product, source_id="lamp-red")
    collection = ProductCollectionFactory(project=api_client.project)
    for path in (
        f"/v1/products/{product.public_id}",
        "/v1/products/lamp",
        f"/v1/skus/{sku.public_id}",
        "/v1/products/lamp/skus",
        f"/v1/product-collections/{collection.public_id}",
        f"/v1/product-collections/{collection.public_id}/products",
    ):
        response = other_client.get(path)
        assert response.status_code == 404, path
        assert response.json()["key"] == "not_found"
    assert other_client.delete(f"/v1/products/{product.public_id}").status_code == 404
    assert (
        other_client.put(
            f"/v1/products/lamp/skus/{sku.public_id}", {}, content_type="application/json"
        ).status_code
        == 404
    )
    assert other_client.get("/v1/products").json()["total"] == 0
    assert other_client.get("/v1/product-collections").json()["total"] == 0
    # upsert by the same source_id makes the other project its own product
    other = post(other_client, "/v1/products", {"source_id": "lamp", "name": "Theirs"}).json()
    assert other["id"] != product.public_id
    # and a collection cannot pick another project's product
    refused = post(
        other_client,
        "/v1/product-collections",
        {"type": "STATIC", "name": "x", "products": [{"id": product.public_id}]},
    )
    assert refused.status_code == 404


def test_garbage_query_parameters_and_bodies_are_a_400(api_client):
    product = ProductFactory(project=api_client.project, source_id="lamp")
    collection = ProductCollectionFactory(project=api_client.project)
    assert api_client.delete("/v1/products/lamp?force=maybe").status_code == 400
    assert put(api_client, "/v1/products/lamp", ["price", 1]).status_code == 400
    assert put(api_client, "/v1/products/lamp/skus/x", "nope").status_code in (400, 404)
    garbage = api_client.get(
        f"/v1/product-collections/{collection.public_id}/products?starting_after=soon"
    )
    assert garbage.status_code == 400 and garbage.json()["key"] == "invalid_payload"
    assert api_client.get("/v1/product-collections?limit=101").status_code == 400
    product.refresh_from_db()
    assert Product.objects.filter(pk=product.pk).exists()
