import re

import pytest
from playwright.sync_api import Page, expect

from apps.products.models import CollectionItem, CollectionType, Product, ProductCollection, Sku
from apps.projects.models import Role
from tests.products.factories import ProductFactory, SkuFactory
from tests.projects.factories import MembershipFactory, ProjectFactory


@pytest.fixture
def shop(transactional_db):
    """The "Alpha Shop" project (USD) that the tests' marketer works in."""
    return ProjectFactory(name="Alpha Shop", currency="USD")


@pytest.fixture
def marketer(shop):
    return MembershipFactory(project=shop, role=Role.MARKETER).user


def _mark_page(page: Page) -> None:
    """Tag the current document; a full page load loses the tag, an htmx swap keeps it."""
    page.evaluate("window.__noFullReload = true")


def _still_same_page(page: Page) -> bool:
    return page.evaluate("window.__noFullReload === true")


def _swapping_definition(page: Page, action) -> None:
    """Run `action` (which triggers an htmx POST that replaces #collection-definition) and wait
    until the new definition is in the page and settled, so the next input is not typed into
    the old, about-to-vanish element."""
    page.evaluate("document.querySelector('#collection-definition').__stale = true")
    action()
    page.wait_for_function(
        "() => { const el = document.querySelector('#collection-definition');"
        " return el && !el.__stale && !el.classList.contains('htmx-settling')"
        " && !document.querySelector('.htmx-swapping, .htmx-settling'); }"
    )


# --- products ------------------------------------------------------------------------------


def test_marketer_creates_product_adds_sku_and_edits_it(page: Page, log_in, shop, marketer):
    log_in(marketer)
    page.goto("/products/")
    page.get_by_role("link", name="New product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New product")

    # A price with three decimals is not a USD amount: the form comes back, nothing is saved.
    page.get_by_label("Name", exact=True).fill("Blue Mug")
    page.get_by_label("Source id").fill("mug-1")
    page.get_by_label("Price (USD)").fill("12.345")
    page.get_by_label("Attributes").fill("color, size")
    page.get_by_role("button", name="Create product").click()

    expect(page.locator(".invalid-feedback")).to_have_text(
        "USD amounts have at most 2 decimal places; “12.345” has more."
    )
    expect(page.get_by_label("Price (USD)")).to_have_value("12.345")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Blue Mug")
    assert not Product.objects.exists()

    page.get_by_label("Price (USD)").fill("12.50")
    page.get_by_role("button", name="Create product").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Blue Mug")
    product = Product.objects.get()
    assert (product.price, product.source_id, product.attributes) == (
        1250,
        "mug-1",
        ["color", "size"],
    )
    assert product.project == shop
    expect(page).to_have_url(re.compile(rf"/products/{product.public_id}/$"))
    expect(page.locator("dt:has-text('Price') + dd")).to_have_text("$12.50")
    expect(page.locator("#messages")).to_contain_text("Product “Blue Mug” created.")
    expect(page.locator("#product-skus tbody")).to_contain_text("No SKUs.")

    # A SKU from the product page.
    page.get_by_role("link", name="Add SKU").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New SKU of Blue Mug")
    page.get_by_label("SKU name").fill("Blue Mug Large")
    page.get_by_label("Source id").fill("mug-1-l")
    page.get_by_label("Price (USD)").fill("14")
    page.get_by_label("Attributes").fill('{"color": "blue", "size": "L"}')
    page.get_by_role("button", name="Add SKU").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Blue Mug")
    sku = Sku.objects.get()
    assert (sku.product_id, sku.sku, sku.price, sku.attributes) == (
        product.pk,
        "Blue Mug Large",
        1400,
        {"color": "blue", "size": "L"},
    )
    row = page.locator(f"#sku-{sku.public_id}-row")
    expect(row).to_contain_text("Blue Mug Large")
    expect(row).to_contain_text("mug-1-l")
    expect(row).to_contain_text("color: blue")
    expect(row.locator("td.text-end").first).to_have_text("$14.00")

    # Edit the product: the source id is fixed, the price shows in major units.
    # (the name is matched at the end: the icon's glyph is part of the accessible name)
    page.get_by_role("link", name=re.compile(r"Edit$")).click()
    expect(page.get_by_label("Source id")).to_be_disabled()
    expect(page.get_by_label("Source id")).to_have_value("mug-1")
    expect(page.get_by_label("Price (USD)")).to_have_value("12.50")
    page.get_by_label("Name", exact=True).fill("Blue Mug XL")
    page.get_by_label("Price (USD)").fill("1,234.5")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Blue Mug XL")
    expect(page.locator("dt:has-text('Price') + dd")).to_have_text("$1,234.50")
    product.refresh_from_db()
    assert (product.name, product.price, product.source_id) == ("Blue Mug XL", 123450, "mug-1")

    page.get_by_role("link", name="Products", exact=True).first.click()
    list_row = page.locator(f"#product-{product.public_id}-row")
    expect(list_row).to_contain_text("Blue Mug XL")
    expect(list_row.locator("td").nth(2)).to_have_text("$1,234.50")
    expect(list_row.locator("td").nth(3)).to_have_text("1")


def test_search_filters_products_without_reload_and_pushes_url(
    page: Page, log_in, shop, marketer, live_server
):
    ProductFactory(project=shop, name="Red Shirt", price=1000)
    ProductFactory(project=shop, name="Blue Shirt", price=2500)
    ProductFactory(project=shop, name="Green Hat", price=5000, source_id="hat-7")
    ProductFactory(name="Shirt of another project", price=2500)

    log_in(marketer)
    page.goto("/products/")
    rows = page.locator("#product-results tbody tr")
    expect(rows).to_have_count(3)
    _mark_page(page)

    page.get_by_label("Search").fill("shirt")
    expect(rows).to_have_count(2)
    expect(rows).to_contain_text(["Blue Shirt", "Red Shirt"], ignore_case=False)
    expect(page).to_have_url(re.compile(r"[?&]q=shirt(&|$)"))

    page.get_by_label("Price from (USD)").fill("20.00")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Blue Shirt")
    expect(rows.first).to_contain_text("$25.00")
    expect(page).to_have_url(re.compile(r"price_min=20\.00"))

    # source id matches exactly, not by substring
    page.get_by_label("Price from (USD)").fill("")
    page.get_by_label("Search").fill("hat-7")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Green Hat")
    page.get_by_label("Search").fill("hat-")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("No products match these filters.")

    # a bad bound says so instead of showing everything
    page.get_by_label("Price up to (USD)").fill("abc")
    expect(page.locator("#product-results [role=alert]")).to_contain_text("is not an amount")
    assert _still_same_page(page), "filtering reloaded the whole page instead of an htmx swap"

    # The pushed URL is bookmarkable: a fresh load shows the same result.
    page.goto(f"{live_server.url}/products/?q=shirt&price_min=20.00")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Blue Shirt")
    expect(page.get_by_label("Search")).to_have_value("shirt")
    expect(page.get_by_label("Price from (USD)")).to_have_value("20.00")


def test_viewer_sees_products_but_no_write_buttons(page: Page, log_in, shop):
    viewer = MembershipFactory(project=shop, role=Role.VIEWER).user
    product = ProductFactory(project=shop, name="Blue Mug", price=1250)
    SkuFactory(product=product, sku="Large", price=None)

    log_in(viewer)
    page.goto("/products/")
    expect(page.locator(f"#product-{product.public_id}-row")).to_contain_text("$12.50")
    expect(page.get_by_role("link", name="New product")).to_have_count(0)
    expect(page.get_by_role("button", name="Export CSV")).to_have_count(0)

    page.get_by_role("link", name="Blue Mug").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Blue Mug")
    # a SKU without a price of its own shows the product's price
    expect(page.locator("#product-skus tbody tr").first).to_contain_text("$12.50")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("link", name="Add SKU")).to_have_count(0)
    response = page.goto(f"/products/{product.public_id}/edit/")
    assert response.status == 403


# --- collections ---------------------------------------------------------------------------


def test_auto_update_collection_counts_matches_live(page: Page, log_in, shop, marketer):
    ProductFactory(project=shop, name="Ten", price=1000)
    twenty_five = ProductFactory(project=shop, name="Twenty-five", price=2500)
    fifty = ProductFactory(project=shop, name="Fifty", price=5000)
    ProductFactory(name="Elsewhere", price=9900)  # another project's product never counts

    log_in(marketer)
    page.goto("/products/collections/")
    page.get_by_role("link", name="New collection").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New product collection")
    expect(page.get_by_label("Auto-update")).to_be_checked()
    count = page.get_by_test_id("collection-count")
    # one empty condition: it is skipped in the preview, so every product counts
    expect(count).to_have_text("3 products match now.")
    _mark_page(page)

    page.get_by_label("Name").fill("Premium")
    field = page.get_by_label("Condition 1: field")
    operator = page.get_by_label("Condition 1: operator")
    _swapping_definition(page, lambda: field.select_option("price"))
    expect(field).to_have_value("price")
    expect(operator.locator("option[value='$more_than']")).to_have_count(1)
    _swapping_definition(page, lambda: operator.select_option("$more_than"))
    expect(operator).to_have_value("$more_than")
    value = page.get_by_label("Condition 1: value")
    expect(value).to_have_attribute("placeholder", "e.g. 20.00 (USD)")

    value.fill("20.00")
    expect(count).to_have_text("2 products match now.")
    expect(page.locator("#collection-preview")).to_contain_text("Twenty-five")
    expect(page.locator("#collection-preview")).to_contain_text("Fifty")

    value.fill("30")
    expect(count).to_have_text("1 product matches now.")
    expect(page.locator("#collection-preview")).not_to_contain_text("Twenty-five")

    value.fill("12.345")  # a bad amount: the preview says what is wrong instead of a count
    expect(page.locator("#collection-preview")).to_contain_text("decimal places")
    expect(count).to_have_count(0)
    value.fill("30.00")
    expect(count).to_have_text("1 product matches now.")
    assert _still_same_page(page), "the builder reloaded the whole page instead of htmx swaps"

    page.get_by_role("button", name="Create collection").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Premium")
    collection = ProductCollection.objects.get()
    assert collection.type == CollectionType.AUTO_UPDATE
    assert collection.project == shop
    assert collection.filter == {
        "junction": "and",
        "price": {"conditions": {"$more_than": [3000]}},
    }
    expect(page).to_have_url(re.compile(rf"/products/collections/{collection.public_id}/$"))
    expect(page.locator("#messages")).to_contain_text("Collection “Premium” created.")
    expect(page.get_by_text("Products where:")).to_be_visible()
    rows = page.locator("#collection-products tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Fifty")
    expect(rows.first).to_contain_text("$50.00")

    # auto-update: a product priced over $30 later joins by itself
    twenty_five.price = 3001
    twenty_five.save(update_fields=["price"])
    page.reload()
    expect(rows).to_have_count(2)
    expect(page.locator("#collection-products")).to_contain_text("Twenty-five")
    expect(page.locator("#collection-products")).to_contain_text(fifty.name)


def test_static_collection_with_chosen_products(page: Page, log_in, shop, marketer):
    mug = ProductFactory(project=shop, name="Blue Mug", price=1250, source_id="mug-1")
    hat = ProductFactory(project=shop, name="Green Hat", price=5000)
    ProductFactory(project=shop, name="Not chosen", price=700)
    large = SkuFactory(product=hat, sku="Hat Large", source_id="hat-l", price=5500)

    log_in(marketer)
    page.goto("/products/collections/new/")
    page.get_by_label("Name").fill("Staff picks")
    _swapping_definition(page, lambda: page.get_by_label("Static").check())
    items = page.get_by_label("Products and SKUs")
    expect(items).to_be_visible()
    expect(page.get_by_label("Condition 1: field")).to_have_count(0)

    # an unknown id is an error on the field and saves nothing
    items.fill(f"mug-1\n{hat.public_id}\nnope-404")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#collection-definition .invalid-feedback")).to_have_text(
        "No product or SKU with these ids: nope-404"
    )
    expect(page.get_by_label("Static")).to_be_checked()
    assert not ProductCollection.objects.exists()

    # by source id, public id, and a SKU by its source id
    page.get_by_label("Products and SKUs").fill(f"mug-1\n{hat.public_id}\nhat-l")
    page.get_by_role("button", name="Create collection").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Staff picks")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Static")
    collection = ProductCollection.objects.get()
    assert collection.type == CollectionType.STATIC
    chosen = set(CollectionItem.objects.filter(collection=collection).values_list("product", "sku"))
    assert chosen == {(mug.pk, None), (hat.pk, None), (None, large.pk)}
    products = page.locator("#collection-products tbody tr")
    expect(products).to_have_count(2)
    expect(page.locator("#collection-products")).to_contain_text("Blue Mug")
    expect(page.locator("#collection-products")).to_contain_text("Green Hat")
    expect(page.locator("#collection-products")).not_to_contain_text("Not chosen")
    skus = page.locator(".card", has=page.locator(".card-header", has_text="SKUs"))
    expect(skus.locator("tbody tr")).to_have_count(1)
    expect(skus.locator("tbody tr").first).to_contain_text("Hat Large")
    expect(skus.locator("tbody tr").first).to_contain_text("$55.00")

    # the product page lists the collection it is in
    page.get_by_role("link", name="Blue Mug").click()
    expect(page.get_by_role("link", name="Staff picks")).to_be_visible()
