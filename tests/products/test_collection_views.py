"""The collection pages and the AUTO_UPDATE builder (rows via htmx, live count, JSON mode)."""

import json
from html import unescape

import pytest
from django.urls import reverse

from apps.products import services
from apps.products.models import CollectionType, ProductCollection
from apps.projects.models import Role
from tests.products.factories import ProductCollectionFactory, ProductFactory, SkuFactory
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
CREATE = "products:collection_create"


def row(i: int, field: str, op: str, value: str = "", key: str = "") -> dict:
    data = {f"rows-{i}-field": field, f"rows-{i}-op": op, f"rows-{i}-value": value}
    if key:
        data[f"rows-{i}-key"] = key
    return data


def auto(name="Premium", junction="and", **rows) -> dict:
    return {"name": name, "type": "AUTO_UPDATE", "mode": "builder", "junction": junction, **rows}


# --- list and detail ------------------------------------------------------------------------


def test_list_works(owner_client, project, django_assert_max_num_queries):
    product = ProductFactory(project=project)
    services.collection_create(project=project, name="Picked", type="STATIC", products=[product])
    services.collection_create(
        project=project,
        name="Premium",
        type="AUTO_UPDATE",
        filter={"price": {"conditions": {"$more_than": [2000]}}},
    )
    ProductCollectionFactory(project=ProjectFactory(), name="Theirs")
    with django_assert_max_num_queries(6):
        response = owner_client.get(reverse("products:collection_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 chosen item" in html
    assert "Price is more than $20.00" in html
    assert "Theirs" not in html


def test_list_requires_login(client):
    assert client.get(reverse("products:collection_list")).status_code == 302


def test_detail_shows_the_matching_products(owner_client, project):
    ProductFactory(project=project, name="Cheap", price=100)
    ProductFactory(project=project, name="Dear", price=9000)
    collection = services.collection_create(
        project=project,
        name="Premium",
        type="AUTO_UPDATE",
        filter={"price": {"conditions": {"$more_than": [2000]}}},
    )
    response = owner_client.get(reverse("products:collection_detail", args=[collection.public_id]))
    assert response.status_code == 200
    assert [p.name for p in response.context["page"]] == ["Dear"]
    assert "Price is more than $20.00" in response.content.decode()


def test_detail_shows_static_products_and_skus(owner_client, project):
    lamp = ProductFactory(project=project, name="Lamp")
    sku = SkuFactory(product=ProductFactory(project=project, name="Mug"), sku="Mug blue")
    collection = services.collection_create(
        project=project, name="Picked", type="STATIC", products=[lamp], skus=[sku]
    )
    response = owner_client.get(reverse("products:collection_detail", args=[collection.public_id]))
    assert [p.name for p in response.context["page"]] == ["Lamp"]
    assert "Mug blue" in response.content.decode()


def test_detail_warns_about_a_broken_filter(owner_client, project):
    collection = ProductCollectionFactory(
        project=project, type="AUTO_UPDATE", filter={"gone": {"conditions": {"$is": "x"}}}
    )
    response = owner_client.get(reverse("products:collection_detail", args=[collection.public_id]))
    assert "This filter no longer works: gone: unknown field" in response.content.decode()


def test_detail_returns_partial_for_htmx(owner_client, project):
    collection = ProductCollectionFactory(project=project)
    url = reverse("products:collection_detail", args=[collection.public_id])
    html = owner_client.get(url, **HTMX).content.decode()
    assert "<html" not in html
    assert 'id="collection-products"' in html


def test_detail_404s_for_another_project(owner_client):
    theirs = ProductCollectionFactory(project=ProjectFactory())
    url = reverse("products:collection_detail", args=[theirs.public_id])
    assert owner_client.get(url).status_code == 404


# --- create ---------------------------------------------------------------------------------


def test_create_page_starts_with_one_empty_condition(owner_client):
    response = owner_client.get(reverse(CREATE))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="rows-0-field"' in html and 'name="rows-1-field"' not in html
    assert 'hx-get="/products/collections/preview/"' in html


def test_create_auto_update_from_rows(owner_client, project):
    data = auto(**row(0, "price", "$more_than", "20.00"), **row(1, "name", "$contains", "lamp"))
    response = owner_client.post(reverse(CREATE), {**data, "_action": "save"})
    collection = ProductCollection.objects.get(project=project, name="Premium")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "products:collection_detail", args=[collection.public_id]
    )
    assert collection.type == CollectionType.AUTO_UPDATE
    assert collection.filter == {
        "junction": "and",
        "price": {"conditions": {"$more_than": [2000]}},
        "name": {"conditions": {"$contains": ["lamp"]}},
    }


def test_create_auto_update_from_json(owner_client, project):
    filter_json = {"junction": "or", "metadata.color": {"conditions": {"$in": ["red", "blue"]}}}
    response = owner_client.post(
        reverse(CREATE),
        {
            "name": "Colourful",
            "type": "AUTO_UPDATE",
            "mode": "json",
            "filter_json": json.dumps(filter_json),
        },
    )
    assert response.status_code == 302
    assert ProductCollection.objects.get(project=project).filter == filter_json


def test_create_static_from_ids_and_source_ids(owner_client, project):
    lamp = ProductFactory(project=project, source_id="lamp")
    mug = ProductFactory(project=project)
    sku = SkuFactory(product=mug, source_id="mug-blue")
    response = owner_client.post(
        reverse(CREATE),
        {"name": "Picked", "type": "STATIC", "items": f"lamp\n{mug.public_id}\n\nmug-blue\nlamp"},
    )
    collection = ProductCollection.objects.get(project=project)
    assert response.status_code == 302
    assert set(collection.items.values_list("product_id", "sku_id")) == {
        (lamp.pk, None),
        (mug.pk, None),
        (None, sku.pk),
    }


def test_create_static_names_unknown_items(owner_client, project):
    theirs = ProductFactory(project=ProjectFactory())
    response = owner_client.post(
        reverse(CREATE),
        {"name": "Picked", "type": "STATIC", "items": f"nope\n{theirs.public_id}"},
    )
    errors = response.context["form"].errors["items"]
    assert response.status_code == 200
    assert errors == [f"No product or SKU with these ids: nope, {theirs.public_id}"]
    assert not ProductCollection.objects.exists()


def test_create_shows_a_clear_error_for_a_taken_name(owner_client, project):
    ProductCollectionFactory(project=project, name="Summer")
    response = owner_client.post(reverse(CREATE), {"name": "Summer", "type": "STATIC"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [
        "A collection named “Summer” already exists."
    ]


def test_create_shows_row_errors(owner_client, project):
    data = auto(**row(0, "price", "$more_than", "cheap"), **row(1, "name", "$is", ""))
    response = owner_client.post(reverse(CREATE), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Fix the highlighted conditions." in html
    assert "“cheap” is not an amount" in html
    assert "Name is: enter a value" in html
    assert 'value="cheap"' in html  # what was typed stays
    assert not ProductCollection.objects.exists()


def test_create_shows_json_errors(owner_client):
    bad_syntax = owner_client.post(
        reverse(CREATE), {"name": "X", "type": "AUTO_UPDATE", "mode": "json", "filter_json": "{"}
    )
    bad_field = owner_client.post(
        reverse(CREATE),
        {
            "name": "X",
            "type": "AUTO_UPDATE",
            "mode": "json",
            "filter_json": '{"stock": {"conditions": {"$is": 1}}}',
        },
    )
    assert "Not valid JSON" in bad_syntax.content.decode()
    assert "stock: unknown field" in bad_field.content.decode()
    assert not ProductCollection.objects.exists()


def test_viewers_cannot_create(member_client):
    client = member_client(Role.VIEWER)
    assert client.get(reverse(CREATE)).status_code == 403
    assert client.post(reverse(CREATE), {"name": "X", "type": "STATIC"}).status_code == 403
    assert not ProductCollection.objects.exists()


# --- the builder over htmx ------------------------------------------------------------------


def test_add_row_returns_the_builder_partial_with_one_more_row(owner_client):
    data = auto(**row(0, "price", "$more_than", "20"), _action="add")
    response = owner_client.post(reverse(CREATE), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="collection-definition">')
    assert 'name="rows-1-field"' in html
    assert 'name="rows-0-value" value="20"' in html
    assert not ProductCollection.objects.exists()


def test_remove_row_drops_that_row(owner_client):
    rows = {
        **row(0, "name", "$is", "a"),
        **row(1, "name", "$is", "b"),
        **row(2, "name", "$is", "c"),
    }
    html = owner_client.post(reverse(CREATE), auto(**rows, _action="remove-1"), **HTMX).content
    html = html.decode()
    assert 'name="rows-0-value" value="a"' in html
    assert 'name="rows-1-value" value="c"' in html
    assert 'value="b"' not in html and "rows-2-field" not in html


def test_changing_the_field_offers_that_types_operators(owner_client):
    # given a row that was "name contains"; the marketer picks "price"
    data = auto(**row(0, "price", "$contains", "10"), _action="refresh")
    html = owner_client.post(reverse(CREATE), data, **HTMX).content.decode()
    operators = html[
        html.index('name="rows-0-op"') : html.index("</select>", html.index('name="rows-0-op"'))
    ]
    assert '<option value="$is" selected>' in operators
    assert '"$more_than"' in operators and '"$contains"' not in operators
    assert 'inputmode="decimal"' in html


def test_other_metadata_key_shows_a_key_input(owner_client):
    data = auto(**row(0, "metadata.*", "$is", "red", key="color"), _action="refresh")
    html = owner_client.post(reverse(CREATE), data, **HTMX).content.decode()
    assert 'name="rows-0-key" value="color"' in html


def test_type_switch_shows_the_static_items(owner_client):
    response = owner_client.post(
        reverse(CREATE), {"name": "", "type": "STATIC", "_action": "refresh"}, **HTMX
    )
    html = response.content.decode()
    assert 'name="items"' in html and "rows-0-field" not in html


def test_switching_to_json_and_back_keeps_the_conditions(owner_client):
    data = auto(junction="or", **row(0, "price", "$less_than", "5"), _action="mode-json")
    html = owner_client.post(reverse(CREATE), data, **HTMX).content.decode()
    start = html.index(">", html.index('<textarea class="form-control font-monospace')) + 1
    text = unescape(html[start : html.index("</textarea>")])
    assert json.loads(text) == {"junction": "or", "price": {"conditions": {"$less_than": [500]}}}
    back = owner_client.post(
        reverse(CREATE),
        {
            "name": "",
            "type": "AUTO_UPDATE",
            "mode": "json",
            "filter_json": text,
            "_action": "mode-builder",
        },
        **HTMX,
    )
    html = back.content.decode()
    assert '<input type="hidden" name="mode" value="builder">' in html
    assert '<option value="or" selected>' in html
    assert 'name="rows-0-value" value="5.00"' in html
    assert "rows-1-field" not in html


def test_a_nested_filter_stays_in_json_mode(owner_client):
    nested = {
        "g": {
            "junction": "or",
            "name": {"conditions": {"$is": "a"}},
            "price": {"conditions": {"$is": 1}},
        }
    }
    response = owner_client.post(
        reverse(CREATE),
        {
            "name": "",
            "type": "AUTO_UPDATE",
            "mode": "json",
            "filter_json": json.dumps(nested),
            "_action": "mode-builder",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert '<input type="hidden" name="mode" value="json">' in html
    assert "cannot be shown as conditions" in html


# --- the live count -------------------------------------------------------------------------


def test_preview_counts_matching_products(owner_client, project, django_assert_max_num_queries):
    for price in (100, 2500, 9000):
        ProductFactory(project=project, price=price, name=f"P{price}")
    ProductFactory(project=ProjectFactory(), price=9999)
    params = auto(**row(0, "price", "$more_than", "20"))
    with django_assert_max_num_queries(7):
        response = owner_client.get(reverse("products:collection_preview"), params, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert response.context["count"] == 2
    assert "<strong>2</strong> products match now." in html


def test_preview_ignores_rows_without_a_value_yet(owner_client, project):
    ProductFactory(project=project, price=100, name="Lamp")
    params = auto(**row(0, "name", "$contains", "lam"), **row(1, "price", "$more_than", ""))
    response = owner_client.get(reverse("products:collection_preview"), params)
    assert "<strong>1</strong> product matches now." in response.content.decode()


def test_preview_explains_an_invalid_value(owner_client):
    params = auto(**row(0, "price", "$more_than", "abc"))
    response = owner_client.get(reverse("products:collection_preview"), params)
    assert "Price is more than: “abc” is not an amount" in response.content.decode()


def test_preview_reads_json_mode(owner_client, project):
    ProductFactory(project=project, metadata={"color": "red"})
    ProductFactory(project=project, metadata={"color": "blue"})
    filter_json = json.dumps({"metadata.color": {"conditions": {"$is": "red"}}})
    response = owner_client.get(
        reverse("products:collection_preview"), {"mode": "json", "filter_json": filter_json}
    )
    assert response.context["count"] == 1


def test_viewers_may_preview(member_client, project):
    ProductFactory(project=project, name="Lamp")
    client = member_client(Role.VIEWER)
    response = client.get(reverse("products:collection_preview"), auto())
    assert response.context["count"] == 1


# --- edit and delete ------------------------------------------------------------------------


def test_edit_shows_the_saved_filter_as_rows(owner_client, project):
    collection = services.collection_create(
        project=project,
        name="Premium",
        type="AUTO_UPDATE",
        filter={"price": {"conditions": {"$more_than": [2000]}}},
    )
    response = owner_client.get(reverse("products:collection_edit", args=[collection.public_id]))
    html = response.content.decode()
    assert 'name="rows-0-value" value="20.00"' in html
    assert "disabled" in html  # the type cannot change


def test_edit_saves_the_new_filter_and_name(owner_client, project):
    collection = services.collection_create(
        project=project, name="Premium", type="AUTO_UPDATE", filter={"junction": "and"}
    )
    url = reverse("products:collection_edit", args=[collection.public_id])
    data = auto(name="Luxury", **row(0, "price", "$more_than_equal", "100"), type="STATIC")
    response = owner_client.post(url, data)
    collection.refresh_from_db()
    assert response.status_code == 302
    assert collection.name == "Luxury"
    assert collection.type == "AUTO_UPDATE"
    assert collection.filter["price"] == {"conditions": {"$more_than_equal": [10000]}}


def test_edit_replaces_static_items(owner_client, project):
    a, b = ProductFactory(project=project), ProductFactory(project=project)
    collection = services.collection_create(
        project=project, name="Picked", type="STATIC", products=[a]
    )
    url = reverse("products:collection_edit", args=[collection.public_id])
    assert a.public_id in owner_client.get(url).content.decode()
    owner_client.post(url, {"name": "Picked", "items": b.public_id})
    assert list(collection.items.values_list("product_id", flat=True)) == [b.pk]


def test_edit_404s_for_another_project(owner_client):
    theirs = ProductCollectionFactory(project=ProjectFactory(), name="Theirs")
    url = reverse("products:collection_edit", args=[theirs.public_id])
    assert owner_client.post(url, {"name": "Mine"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_delete_asks_then_deletes(owner_client, project):
    collection = ProductCollectionFactory(project=project, name="Old")
    url = reverse("products:collection_delete", args=[collection.public_id])
    assert "Delete the collection “Old”?" in owner_client.get(url).content.decode()
    response = owner_client.post(url)
    assert response["Location"] == reverse("products:collection_list")
    assert not ProductCollection.objects.filter(pk=collection.pk).exists()
