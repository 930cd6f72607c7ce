"""Product collections: services, membership in SQL, and the builder's rows <-> filter JSON."""

import pytest

from apps.core.errors import ApplicationError
from apps.metadata.models import Resource
from apps.metadata.services import metadata_schema_save
from apps.products import services
from apps.products.collections import (
    OTHER_METADATA,
    Builder,
    FilterRow,
    describe_filter,
    filter_to_rows,
    product_filter_fields,
    rows_to_filter,
)
from apps.products.models import CollectionItem, CollectionType, ProductCollection
from apps.products.selectors import collection_products, collection_skus, product_collections
from tests.products.factories import ProductCollectionFactory, ProductFactory, SkuFactory
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db

PRICE_OVER_20 = {"junction": "and", "price": {"conditions": {"$more_than": [2000]}}}


def test_static_collection_holds_the_chosen_products_and_skus(project):
    # given
    shirt, mug, _other = (ProductFactory(project=project) for _ in range(3))
    sku = SkuFactory(product=mug)
    # when
    collection = services.collection_create(
        project=project, name=" Summer ", type="STATIC", products=[shirt], skus=[sku]
    )
    # then
    assert collection.name == "Summer"
    assert collection.filter is None
    assert list(collection_products(collection)) == [shirt]
    assert list(collection_skus(collection)) == [sku]


def test_auto_update_membership_follows_the_products(project, django_assert_num_queries):
    # given
    collection = services.collection_create(
        project=project, name="Premium", type="AUTO_UPDATE", filter=PRICE_OVER_20
    )
    cheap = ProductFactory(project=project, price=1000)
    dear = ProductFactory(project=project, price=5000)
    ProductFactory(project=ProjectFactory(), price=9000)  # another project's
    # then: computed in one SQL query (plus the metadata schema lookup), never a Python loop
    with django_assert_num_queries(2):
        assert list(collection_products(collection)) == [dear]
    # when a product changes, membership follows without touching the collection
    cheap.price = 2500
    cheap.save()
    assert set(collection_products(collection)) == {cheap, dear}
    # and the membership is a queryset the caller can filter further
    assert collection_products(collection).filter(price__lt=3000).get() == cheap


def test_auto_update_uses_the_metadata_schema_types(project):
    metadata_schema_save(
        project=project,
        resource=Resource.PRODUCT,
        properties={"weight": {"type": "number"}},
        allow_defined_only=False,
    )
    heavy = ProductFactory(project=project, metadata={"weight": 12})
    ProductFactory(project=project, metadata={"weight": 3})
    ProductFactory(project=project, metadata={"weight": "heavy"})
    filter_json = {"metadata.weight": {"conditions": {"$more_than_equal": [10]}}}
    collection = services.collection_create(
        project=project, name="Heavy", type="AUTO_UPDATE", filter=filter_json
    )
    assert list(collection_products(collection)) == [heavy]
    # a text comparison on a number key is refused with the field and operator named
    with pytest.raises(ApplicationError, match=r"metadata.weight \$contains: not valid"):
        services.collection_update(
            collection=collection,
            filter={"metadata.weight": {"conditions": {"$contains": ["1"]}}},
        )


@pytest.mark.parametrize(
    ("filter_json", "message"),
    [
        (None, "needs a filter object"),
        ({"colour": {"conditions": {"$is": "red"}}}, "colour: unknown field"),
        ({"price": {"conditions": {"$more_than": ["cheap"]}}}, "expects a number"),
        ({"metadata.a__b": {"conditions": {"$is": "x"}}}, 'cannot contain "__"'),
    ],
)
def test_an_invalid_filter_is_refused(project, filter_json, message):
    with pytest.raises(ApplicationError, match=message) as info:
        services.collection_create(
            project=project, name="Bad", type="AUTO_UPDATE", filter=filter_json
        )
    assert info.value.details == "filter"
    assert not ProductCollection.objects.filter(project=project).exists()


def test_names_are_unique_per_project(project):
    services.collection_create(project=project, name="Sale", type="STATIC")
    with pytest.raises(ApplicationError, match="already exists") as info:
        services.collection_create(project=project, name="Sale", type="STATIC")
    assert (info.value.key, info.value.details) == ("duplicate_found", "name")
    # the same name in another project is fine
    services.collection_create(project=ProjectFactory(), name="Sale", type="STATIC")


def test_create_validates_name_and_type(project):
    with pytest.raises(ApplicationError, match="needs a name"):
        services.collection_create(project=project, name="  ", type="STATIC")
    with pytest.raises(ApplicationError, match="type must be one of"):
        services.collection_create(project=project, name="X", type="DYNAMIC")
    with pytest.raises(ApplicationError, match="not a list"):
        services.collection_create(
            project=project,
            name="X",
            type="AUTO_UPDATE",
            filter=PRICE_OVER_20,
            products=[ProductFactory(project=project)],
        )


def test_set_items_replaces_the_items(project):
    # given
    a, b, c = (ProductFactory(project=project) for _ in range(3))
    sku_a, sku_b = SkuFactory(product=a), SkuFactory(product=b)
    collection = services.collection_create(
        project=project, name="S", type="STATIC", products=[a, b], skus=[sku_a]
    )
    # when
    services.collection_set_items(collection=collection, products=[b, c], skus=[sku_b])
    # then
    assert set(collection_products(collection)) == {b, c}
    assert list(collection_skus(collection)) == [sku_b]
    assert CollectionItem.objects.filter(collection=collection).count() == 3


def test_set_items_refuses_other_projects_and_auto_collections(project):
    collection = ProductCollectionFactory(project=project, type=CollectionType.STATIC)
    foreign = ProductFactory(project=ProjectFactory())
    with pytest.raises(ApplicationError, match="another project"):
        services.collection_set_items(collection=collection, products=[foreign])
    assert not collection.items.exists()
    auto = services.collection_create(
        project=project, name="Auto", type="AUTO_UPDATE", filter=PRICE_OVER_20
    )
    with pytest.raises(ApplicationError, match="Only static"):
        services.collection_set_items(collection=auto, products=[ProductFactory(project=project)])


def test_update_renames_and_keeps_the_type(project):
    static = services.collection_create(project=project, name="Old", type="STATIC")
    services.collection_update(collection=static, name="New")
    static.refresh_from_db()
    assert (static.name, static.type) == ("New", "STATIC")
    with pytest.raises(ApplicationError, match="Only auto-update collections have a filter"):
        services.collection_update(collection=static, filter=PRICE_OVER_20)
    services.collection_create(project=project, name="Taken", type="STATIC")
    with pytest.raises(ApplicationError, match="already exists"):
        services.collection_update(collection=static, name="Taken")


def test_delete_removes_the_collection_not_the_products(project):
    product = ProductFactory(project=project)
    collection = services.collection_create(
        project=project, name="S", type="STATIC", products=[product]
    )
    services.collection_delete(collection=collection)
    assert not ProductCollection.objects.filter(pk=collection.pk).exists()
    product.refresh_from_db()


def test_an_invalid_stored_filter_matches_nothing(project):
    ProductFactory(project=project)
    broken = ProductCollectionFactory(
        project=project, type="AUTO_UPDATE", filter={"nope": {"conditions": {"$is": "x"}}}
    )
    assert list(collection_products(broken)) == []


def test_product_collections_lists_static_and_matching_auto_collections(
    project, django_assert_max_num_queries
):
    # given
    product = ProductFactory(project=project, price=5000, name="Lamp")
    sku = SkuFactory(product=product)
    by_product = services.collection_create(
        project=project, name="A by product", type="STATIC", products=[product]
    )
    by_sku = services.collection_create(project=project, name="B by SKU", type="STATIC", skus=[sku])
    services.collection_create(project=project, name="C empty", type="STATIC")
    matching = [
        services.collection_create(
            project=project, name=f"D premium {i}", type="AUTO_UPDATE", filter=PRICE_OVER_20
        )
        for i in range(5)
    ]
    services.collection_create(
        project=project,
        name="E mugs",
        type="AUTO_UPDATE",
        filter={"name": {"conditions": {"$contains": ["mug"]}}},
    )
    # then: a fixed number of queries, however many auto-update collections exist
    with django_assert_max_num_queries(4):
        found = product_collections(product)
    assert found == [by_product, by_sku, *matching]


# --- the builder's rows ---------------------------------------------------------------------


def test_rows_become_filter_json_with_money_in_minor_units(project):
    fields = product_filter_fields(project)
    builder = Builder(
        junction="or",
        rows=[
            FilterRow("price", "$more_than", "20.50"),
            FilterRow("name", "$in", "Mug, Lamp ,"),
            FilterRow("price", "$less_than", "5"),
            FilterRow(OTHER_METADATA, "$has_value", "", key="brand"),
        ],
    )
    filter_json = rows_to_filter(builder, fields=fields, currency="USD")
    assert filter_json == {
        "junction": "or",
        "price": {"conditions": {"$more_than": [2050]}},
        "name": {"conditions": {"$in": ["Mug", "Lamp"]}},
        # a field used twice goes into its own group, so "or" still means or
        "group_3": {"junction": "and", "price": {"conditions": {"$less_than": [500]}}},
        "metadata.brand": {"conditions": {"$has_value": []}},
    }
    assert filter_to_rows(filter_json, fields=fields, currency="USD") == Builder(
        junction="or",
        rows=[
            FilterRow("price", "$more_than", "20.50"),
            FilterRow("name", "$in", "Mug, Lamp"),
            FilterRow("price", "$less_than", "5.00"),
            FilterRow(OTHER_METADATA, "$has_value", "", key="brand"),
        ],
    )


def test_invalid_rows_get_their_own_error(project):
    fields = product_filter_fields(project)
    builder = Builder(
        rows=[
            FilterRow("price", "$more_than", "12.345"),
            FilterRow("name", "$is", ""),
            FilterRow("created_at", "$after", "someday"),
            FilterRow(OTHER_METADATA, "$is", "x", key=""),
            FilterRow("name", "$is", "ok"),
        ]
    )
    with pytest.raises(Exception, match="Fix the highlighted conditions"):
        rows_to_filter(builder, fields=fields, currency="USD")
    errors = [row.error for row in builder.rows]
    assert "at most 2 decimal places" in errors[0]
    assert errors[1] == "Name is: enter a value"
    assert "expects a date and time" in errors[2]
    assert "metadata key is 1 to 100" in errors[3]
    assert errors[4] == ""


@pytest.mark.parametrize(
    "filter_json",
    [
        {"junction": "or", "price": {"conditions": {"$more_than": [1], "$less_than": [9]}}},
        {
            "g": {
                "junction": "or",
                "name": {"conditions": {"$is": "a"}},
                "price": {"conditions": {}},
            }
        },
        {"name": {"conditions": {"$is": [{"id": "x"}]}}},
        {"price": {"conditions": {"$is": [20.5]}}},
        {"price": {"conditions": {"$is": ["2000"]}}},
        {"nope": {"conditions": {"$is": "x"}}},
        {"junction": "xor"},
        ["not", "an", "object"],
    ],
)
def test_filters_that_are_not_flat_rows_stay_json(project, filter_json):
    fields = product_filter_fields(project)
    assert filter_to_rows(filter_json, fields=fields, currency="USD") is None
    assert describe_filter(filter_json, fields=fields, currency="USD") == "Custom filter (JSON)"


def test_describe_filter_reads_like_a_sentence(project):
    fields = product_filter_fields(project)
    filter_json = {
        "junction": "and",
        "price": {"conditions": {"$more_than": [2000]}},
        "name": {"conditions": {"$contains": ["shirt"]}},
        "metadata.color": {"conditions": {"$is_unknown": []}},
    }
    assert describe_filter(filter_json, fields=fields, currency="EUR") == (
        "Price is more than €20.00 and Name contains shirt and metadata.color is unknown"
    )
    assert describe_filter({"junction": "and"}, fields=fields, currency="EUR") == "All products"
