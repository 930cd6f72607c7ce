import re

import pytest
from playwright.sync_api import Page, expect

from apps.customers.models import Customer
from apps.orders.models import Order, OrderEvent, OrderStatus
from apps.orders.services import order_upsert
from apps.projects.models import Role
from tests.products.factories import ProductFactory
from tests.projects.factories import MembershipFactory, ProjectFactory


@pytest.fixture
def shop(transactional_db):
    """ "Alpha Shop" (USD) with three orders made the way the API makes them:
    ord-1001 CREATED by Ann (two items, a discount), ord-1002 PAID and ord-1003 CREATED by Bob."""
    project = ProjectFactory(name="Alpha Shop", currency="USD")
    ProductFactory(project=project, name="Blue Mug", source_id="mug-1", price=1250)
    ProductFactory(project=project, name="Espresso Machine", source_id="esp-1", price=123456)
    order_upsert(
        project=project,
        payload={
            "source_id": "ord-1001",
            "status": "CREATED",
            "customer": {"source_id": "ann", "name": "Ann Archer", "email": "ann@example.com"},
            "discount_amount": 300,
            "items": [
                {"source_id": "mug-1", "related_object": "product", "quantity": 2},
                {"source_id": "esp-1", "related_object": "product", "quantity": 1},
            ],
        },
    )
    order_upsert(
        project=project,
        payload={
            "source_id": "ord-1002",
            "status": "PAID",
            "customer": {"source_id": "bob", "name": "Bob Brown"},
            "amount": 5000,
        },
    )
    order_upsert(
        project=project,
        payload={
            "source_id": "ord-1003",
            "status": "CREATED",
            "customer": {"source_id": "bob"},
            "amount": 700,
        },
    )
    return project


def test_filter_orders_change_status_and_refresh_customer_summary(page: Page, log_in, shop):
    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user
    ann = Customer.objects.get(project=shop, source_id="ann")
    assert (ann.orders_total_count, ann.orders_total_amount) == (0, 0)

    log_in(marketer)
    page.goto("/orders/")
    rows = page.locator("#order-results tbody tr")
    expect(rows).to_have_count(3)
    page.evaluate("window.__noFullReload = true")

    page.get_by_label("Status").select_option("PAID")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ord-1002")
    expect(rows.first).to_contain_text("Bob Brown")
    expect(rows.first).to_contain_text("$50.00")
    expect(page).to_have_url(re.compile(r"[?&]status=PAID(&|$)"))

    page.get_by_label("Status").select_option("CREATED")
    expect(rows).to_have_count(2)
    expect(page.locator("#order-results")).not_to_contain_text("ord-1002")
    expect(page.locator("#order-results")).to_contain_text("ord-1003")
    assert page.evaluate("window.__noFullReload === true"), "filtering reloaded the page"

    page.get_by_role("link", name="ord-1001").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Order ord-1001")
    items = page.locator(".card", has=page.locator(".card-header", has_text="Items"))
    item_rows = items.locator("tbody tr")
    expect(item_rows).to_have_count(2)
    expect(item_rows.nth(0).locator("td")).to_have_text(
        [re.compile("Blue Mug"), "2", "$12.50", "$25.00", "—"]
    )
    expect(item_rows.nth(1).locator("td")).to_have_text(
        [re.compile("Espresso Machine"), "1", "$1,234.56", "$1,234.56", "—"]
    )
    totals = page.locator("#order-totals dd")
    expect(totals).to_have_text(["$1,259.56", "$3.00", "$0.00", "$3.00", "$1,256.56"])
    expect(page.get_by_role("link", name="Ann Archer")).to_be_visible()

    status = page.locator("#order-status")
    history = status.get_by_role("list", name="Status history").locator("li")
    expect(status.locator(".card-header .badge")).to_have_text("Created")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("order.created")
    page.evaluate("window.__noFullReload = true")

    page.get_by_label("New status").select_option("PAID")
    status.get_by_role("button", name="Change status").click()

    expect(status.locator(".card-header .badge")).to_have_text("Paid")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("order.paid")  # newest first
    expect(history.nth(1)).to_contain_text("order.created")
    expect(page.get_by_label("New status")).to_have_value("PAID")
    expect(page.locator("#messages")).to_contain_text("Order status changed to paid.")
    assert page.evaluate("window.__noFullReload === true"), "the status change reloaded the page"
    order = Order.objects.get(project=shop, source_id="ord-1001")
    assert order.status == OrderStatus.PAID
    assert list(
        OrderEvent.objects.filter(order=order).order_by("id").values_list("type", flat=True)
    ) == ["order.created", "order.paid"]
    ann.refresh_from_db()
    assert (ann.orders_total_count, ann.orders_total_amount) == (1, 125656)
    assert ann.orders_last_order_amount == 125656

    # the same status again changes nothing and says so
    status.get_by_role("button", name="Change status").click()
    expect(page.locator("#messages")).to_contain_text("The order is already paid.")
    expect(history).to_have_count(2)
    assert OrderEvent.objects.filter(order=order).count() == 2

    # the list shows the new status
    page.goto("/orders/?status=PAID")
    expect(rows).to_have_count(2)
    expect(page.locator(f"#order-{order.public_id}-row .badge")).to_have_text("Paid")


def test_viewer_sees_order_without_status_form(page: Page, log_in, shop, live_server):
    viewer = MembershipFactory(project=shop, role=Role.VIEWER).user
    order = Order.objects.get(project=shop, source_id="ord-1002")

    log_in(viewer)
    page.goto(f"/orders/{order.public_id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Order ord-1002")
    status = page.locator("#order-status")
    expect(status.locator(".card-header .badge")).to_have_text("Paid")
    expect(status.get_by_role("list", name="Status history")).to_contain_text("order.paid")
    expect(page.get_by_role("button", name="Change status")).to_have_count(0)
    expect(page.get_by_label("New status")).to_have_count(0)
    expect(page.locator("#order-totals dd").last).to_have_text("$50.00")

    # and the server refuses the change itself, with a valid CSRF token and session
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"/orders/{order.public_id}/status/",
        form={"status": "CANCELED"},
        headers={"X-CSRFToken": csrf, "Referer": f"{live_server.url}/orders/"},
    )
    assert response.status == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    bob = Customer.objects.get(project=shop, source_id="bob")
    assert bob.orders_total_count == 1
