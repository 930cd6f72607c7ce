"""Products and SKUs in the dashboard."""

import pytest
from django.urls import reverse

from apps.metadata.models import Resource
from apps.metadata.services import metadata_schema_save
from apps.products import services
from apps.products.models import Product, Sku
from apps.projects.models import Role
from tests.products.factories import ProductFactory, SkuFactory
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _names(response) -> list[str]:
    return [p.name for p in response.context["page"]]


# --- list -----------------------------------------------------------------------------------


def test_list_works(owner_client, project):
    ProductFactory(project=project, name="Lamp", price=1250)
    ProductFactory(project=ProjectFactory(), name="Not mine")
    response = owner_client.get(reverse("products:list"))
    assert response.status_code == 200
    assert _names(response) == ["Lamp"]
    assert "$12.50" in response.content.decode()
    assert "Not mine" not in response.content.decode()


def test_list_requires_login(client):
    response = client.get(reverse("products:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_list_searches_name_and_source_id(owner_client, project):
    ProductFactory(project=project, name="Red Lamp", source_id="lamp-1")
    ProductFactory(project=project, name="Mug", source_id="mug-1")
    by_name = owner_client.get(reverse("products:list"), {"q": "lamp"})
    by_source = owner_client.get(reverse("products:list"), {"q": "mug-1"})
    partial_source = owner_client.get(reverse("products:list"), {"q": "mug-"})
    assert _names(by_name) == ["Red Lamp"]
    assert _names(by_source) == ["Mug"]
    assert _names(partial_source) == []  # source ids match exactly


def test_list_filters_price_range_in_major_units(owner_client, project):
    for name, price in (("Cheap", 999), ("Mid", 2000), ("Dear", 5000), ("Free", None)):
        ProductFactory(project=project, name=name, price=price)
    response = owner_client.get(reverse("products:list"), {"price_min": "10", "price_max": "50.00"})
    assert _names(response) == ["Dear", "Mid"]


def test_list_shows_filter_errors_instead_of_results(owner_client, project):
    ProductFactory(project=project)
    response = owner_client.get(reverse("products:list"), {"price_min": "ten"})
    assert response.status_code == 200
    assert _names(response) == []
    assert "is not an amount" in response.content.decode()


def test_list_returns_partial_for_htmx(owner_client, project):
    ProductFactory(project=project, name="Lamp")
    response = owner_client.get(reverse("products:list"), {"q": "lamp"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="product-results"' in html
    assert "Lamp" in html


def test_list_paginates_without_counting(owner_client, project, django_assert_max_num_queries):
    # given 30 products with SKUs
    for i in range(30):
        SkuFactory(product=ProductFactory(project=project, name=f"P{i:02}"))
    # when / then: the query count does not grow with the rows
    with django_assert_max_num_queries(5):
        first = owner_client.get(reverse("products:list"), {"q": "P"})
    second = owner_client.get(reverse("products:list"), {"q": "P", "page": 2})
    assert len(first.context["page"]) == 25
    assert first.context["page"].has_next
    assert len(second.context["page"]) == 5
    assert "q=P&amp;page=2" in first.content.decode()
    assert [p.sku_count for p in second.context["page"]] == [1] * 5


# --- detail ---------------------------------------------------------------------------------


def test_detail_works(owner_client, project):
    product = ProductFactory(
        project=project, name="Lamp", attributes=["color"], metadata={"brand": "Acme", "eco": True}
    )
    SkuFactory(product=product, sku="Lamp red", attributes={"color": "red"}, price=2500)
    response = owner_client.get(reverse("products:detail", args=[product.public_id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Lamp red" in html
    assert "color: red" in html
    assert "$25.00" in html
    assert "&quot;Acme&quot;" in html and "true" in html  # metadata shown as JSON values


def test_detail_lists_the_collections_it_belongs_to(owner_client, project):
    product = ProductFactory(project=project, price=5000)
    services.collection_create(project=project, name="Chosen", type="STATIC", products=[product])
    services.collection_create(
        project=project,
        name="Premium",
        type="AUTO_UPDATE",
        filter={"price": {"conditions": {"$more_than": [2000]}}},
    )
    services.collection_create(
        project=project,
        name="Budget",
        type="AUTO_UPDATE",
        filter={"price": {"conditions": {"$less_than": [2000]}}},
    )
    response = owner_client.get(reverse("products:detail", args=[product.public_id]))
    assert [c.name for c in response.context["collections"]] == ["Chosen", "Premium"]


def test_detail_queries_do_not_grow_with_skus_or_collections(
    owner_client, project, django_assert_max_num_queries
):
    product = ProductFactory(project=project, price=5000)
    skus = [SkuFactory(product=product) for _ in range(10)]
    for i in range(5):
        services.collection_create(
            project=project, name=f"S{i}", type="STATIC", products=[product], skus=skus[:i]
        )
        services.collection_create(
            project=project,
            name=f"A{i}",
            type="AUTO_UPDATE",
            filter={"price": {"conditions": {"$more_than": [i]}}},
        )
    with django_assert_max_num_queries(10):
        response = owner_client.get(reverse("products:detail", args=[product.public_id]))
    assert len(response.context["collections"]) == 10


def test_detail_404s_for_another_projects_product(owner_client):
    other = ProductFactory(project=ProjectFactory())
    response = owner_client.get(reverse("products:detail", args=[other.public_id]))
    assert response.status_code == 404


def test_detail_requires_login(client, project):
    product = ProductFactory(project=project)
    response = client.get(reverse("products:detail", args=[product.public_id]))
    assert response.status_code == 302


# --- create / edit / delete -----------------------------------------------------------------


def test_create_works(owner_client, project):
    response = owner_client.post(
        reverse("products:create"),
        {
            "name": "Desk",
            "source_id": "desk-1",
            "price": "1,299.50",
            "attributes": "color, size, color",
            "image_url": "https://img.example.com/desk.png",
            "metadata": '{"brand": "Acme"}',
        },
    )
    product = Product.objects.get(project=project, source_id="desk-1")
    assert response.status_code == 302
    assert response["Location"] == reverse("products:detail", args=[product.public_id])
    assert (product.name, product.price) == ("Desk", 129950)
    assert product.attributes == ["color", "size"]
    assert product.metadata == {"brand": "Acme"}


def test_create_uses_the_projects_currency(member_client):
    project = ProjectFactory(currency="JPY")
    client = member_client(Role.MARKETER, project=project)
    ok = client.post(reverse("products:create"), {"name": "Tea", "price": "500"})
    bad = client.post(reverse("products:create"), {"name": "Tea", "price": "500.5"})
    assert ok.status_code == 302
    assert Product.objects.get(project=project).price == 500
    assert "JPY amounts have no decimal places" in bad.content.decode()


def test_create_shows_form_errors(owner_client, project):
    ProductFactory(project=project, source_id="taken")
    metadata_schema_save(
        project=project,
        resource=Resource.PRODUCT,
        properties={"weight": {"type": "number"}},
        allow_defined_only=False,
    )
    response = owner_client.post(
        reverse("products:create"),
        {"name": "", "source_id": "taken", "price": "-1", "metadata": '{"weight": "heavy"}'},
    )
    form = response.context["form"]
    assert response.status_code == 200
    assert "name" in form.errors
    assert "already exists" in form.errors["source_id"][0]
    assert "cannot be negative" in form.errors["price"][0]
    assert form.errors["metadata"][0].startswith("metadata.weight: must be a number")
    assert Product.objects.filter(project=project).count() == 1


@pytest.mark.parametrize(
    ("metadata", "message"),
    [("{not json", "Not valid JSON (line 1, column 2)"), ("[1, 2]", "Enter a JSON object")],
)
def test_create_checks_metadata_json(owner_client, metadata, message):
    response = owner_client.post(reverse("products:create"), {"name": "X", "metadata": metadata})
    assert message in response.context["form"].errors["metadata"][0]


def test_viewers_cannot_create(member_client, project):
    client = member_client(Role.VIEWER)
    assert client.get(reverse("products:create")).status_code == 403
    assert client.post(reverse("products:create"), {"name": "X"}).status_code == 403
    assert not Product.objects.exists()


def test_edit_works_and_keeps_the_source_id(owner_client, project):
    product = ProductFactory(project=project, source_id="lamp", price=1000, name="Lamp")
    url = reverse("products:edit", args=[product.public_id])
    form_page = owner_client.get(url)
    assert 'value="10.00"' in form_page.content.decode()
    response = owner_client.post(
        url, {"name": "Lamp XL", "source_id": "changed", "price": "", "metadata": ""}
    )
    product.refresh_from_db()
    assert response.status_code == 302
    assert (product.name, product.source_id, product.price) == ("Lamp XL", "lamp", None)


def test_edit_404s_for_another_projects_product(owner_client):
    other = ProductFactory(project=ProjectFactory(), name="Theirs")
    response = owner_client.post(reverse("products:edit", args=[other.public_id]), {"name": "Hi"})
    other.refresh_from_db()
    assert response.status_code == 404
    assert other.name == "Theirs"


def test_delete_asks_then_deletes(owner_client, project):
    product = ProductFactory(project=project, name="Lamp")
    url = reverse("products:delete", args=[product.public_id])
    confirm = owner_client.get(url)
    assert "Delete the product “Lamp”?" in confirm.content.decode()
    assert Product.objects.filter(pk=product.pk).exists()
    response = owner_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("products:list")
    assert not Product.objects.filter(pk=product.pk).exists()


def test_delete_via_htmx_redirects_the_client(owner_client, project):
    product = ProductFactory(project=project)
    response = owner_client.post(reverse("products:delete", args=[product.public_id]), **HTMX)
    assert response["HX-Redirect"] == reverse("products:list")


# --- SKUs -----------------------------------------------------------------------------------


def test_sku_create_works(owner_client, project):
    product = ProductFactory(project=project, attributes=["color", "size"])
    response = owner_client.post(
        reverse("products:sku_create", args=[product.public_id]),
        {
            "sku": "Red M",
            "source_id": "lamp-red-m",
            "price": "19.99",
            "attributes": '{"color": "red", "size": "M"}',
        },
    )
    sku = Sku.objects.get(product=product)
    assert response.status_code == 302
    assert (sku.sku, sku.source_id, sku.price) == ("Red M", "lamp-red-m", 1999)
    assert sku.attributes == {"color": "red", "size": "M"}
    assert sku.project == project


def test_sku_create_shows_form_errors(owner_client, project):
    product = ProductFactory(project=project, attributes=["color"])
    SkuFactory(product=product, source_id="taken")
    url = reverse("products:sku_create", args=[product.public_id])
    bad_json = owner_client.post(url, {"sku": "A", "attributes": '["red"]'})
    unknown = owner_client.post(url, {"sku": "A", "attributes": '{"weight": 1}'})
    taken = owner_client.post(url, {"sku": "A", "source_id": "taken"})
    assert "Enter a JSON object" in bad_json.context["form"].errors["attributes"][0]
    assert (
        "“weight” is not an attribute of this product"
        in (unknown.context["form"].errors["attributes"][0])
    )
    assert "already exists" in taken.context["form"].errors["source_id"][0]
    assert Sku.objects.filter(product=product).count() == 1


def test_sku_edit_works(owner_client, project):
    sku = SkuFactory(product=ProductFactory(project=project), price=100, source_id="s1")
    url = reverse("products:sku_edit", args=[sku.product.public_id, sku.public_id])
    response = owner_client.post(url, {"sku": "Renamed", "price": "2.00", "metadata": '{"a": 1}'})
    sku.refresh_from_db()
    assert response.status_code == 302
    assert (sku.sku, sku.price, sku.metadata, sku.source_id) == ("Renamed", 200, {"a": 1}, "s1")


def test_sku_urls_need_the_skus_own_product(owner_client, project):
    sku = SkuFactory(product=ProductFactory(project=project))
    elsewhere = ProductFactory(project=project)
    url = reverse("products:sku_edit", args=[elsewhere.public_id, sku.public_id])
    assert owner_client.get(url).status_code == 404


def test_sku_404s_for_another_project(owner_client):
    sku = SkuFactory(product=ProductFactory(project=ProjectFactory()))
    url = reverse("products:sku_delete", args=[sku.product.public_id, sku.public_id])
    assert owner_client.post(url).status_code == 404
    assert Sku.objects.filter(pk=sku.pk).exists()


def test_sku_delete_works(owner_client, project):
    sku = SkuFactory(product=ProductFactory(project=project))
    url = reverse("products:sku_delete", args=[sku.product.public_id, sku.public_id])
    assert "Delete the SKU" in owner_client.get(url).content.decode()
    response = owner_client.post(url)
    assert response["Location"] == reverse("products:detail", args=[sku.product.public_id])
    assert not Sku.objects.filter(pk=sku.pk).exists()
