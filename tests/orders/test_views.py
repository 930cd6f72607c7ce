"""Orders in the dashboard: list with filters, detail, status changes."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.orders.models import Order, OrderEvent
from apps.orders.selectors import order_list
from apps.orders.services import order_upsert
from apps.projects.models import Role
from tests.customers.factories import CustomerFactory
from tests.orders.factories import OrderFactory, OrderItemFactory
from tests.products.factories import ProductFactory
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _ids(response) -> list[str]:
    return [o.source_id for o in response.context["page"]]


# --- list -----------------------------------------------------------------------------------


def test_list_works(owner_client, project):
    OrderFactory(customer__project=project, source_id="o-1", amount=12345, total_amount=12345)
    OrderFactory(customer__project=ProjectFactory(), source_id="theirs")
    response = owner_client.get(reverse("orders:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert _ids(response) == ["o-1"]
    assert "$123.45" in html
    assert "theirs" not in html


def test_list_requires_login(client):
    response = client.get(reverse("orders:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "PAID"}, ["paid-big"]),
        ({"status": "CANCELED"}, ["canceled-old"]),
        ({"customer": "ann-1"}, ["paid-big", "created-small"]),
        ({"customer": "ANN@example.com"}, ["paid-big", "created-small"]),
        ({"amount_min": "50", "amount_max": "200.00"}, ["paid-big"]),
        ({"amount_max": "49.99"}, ["created-small", "canceled-old"]),
        ({"created_after": "2024-03-01"}, ["paid-big", "created-small"]),
        ({"created_before": "2024-02-29"}, ["canceled-old"]),
        ({"created_after": "2024-03-10", "created_before": "2024-03-10"}, ["created-small"]),
    ],
)
def test_list_filters(owner_client, project, params, expected):
    # given
    ann = CustomerFactory(project=project, source_id="ann-1", email="ann@example.com")
    bob = CustomerFactory(project=project, source_id="bob-1")
    when = dt.datetime(2024, 3, 15, 12, tzinfo=dt.UTC)
    OrderFactory(customer=ann, source_id="paid-big", status="PAID", amount=10000, created_at=when)
    OrderFactory(
        customer=ann,
        source_id="created-small",
        status="CREATED",
        amount=500,
        created_at=dt.datetime(2024, 3, 10, 23, tzinfo=dt.UTC),
    )
    OrderFactory(
        customer=bob,
        source_id="canceled-old",
        status="CANCELED",
        amount=4999,
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    # when
    response = owner_client.get(reverse("orders:list"), params)
    # then
    assert _ids(response) == expected


def test_list_shows_filter_errors(owner_client, project):
    OrderFactory(customer__project=project)
    response = owner_client.get(reverse("orders:list"), {"amount_min": "lots", "status": "NOPE"})
    html = response.content.decode()
    assert _ids(response) == []
    assert "is not an amount" in html
    assert "Select a valid choice" in html


def test_list_returns_partial_for_htmx(owner_client, project):
    OrderFactory(customer__project=project, source_id="o-1")
    response = owner_client.get(reverse("orders:list"), {"status": "PAID"}, **HTMX)
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="order-results"' in html
    assert "o-1" in html


def test_list_queries_do_not_grow_with_rows(owner_client, project, django_assert_max_num_queries):
    for _ in range(30):
        OrderFactory(customer=CustomerFactory(project=project))
    with django_assert_max_num_queries(5):
        response = owner_client.get(reverse("orders:list"))
    assert len(response.context["page"]) == 25
    assert response.context["page"].has_next


def test_list_links_customers_by_public_id(owner_client, project):
    order = OrderFactory(customer__project=project)
    html = owner_client.get(reverse("orders:list")).content.decode()
    assert f'href="/customers/{order.customer.public_id}/"' in html


def test_order_list_selector_returns_queryset_and_filterset(project):
    mine = OrderFactory(customer__project=project, status="PAID")
    OrderFactory(customer__project=project, status="CREATED")
    queryset, filterset = order_list(project=project, filters={"status": "PAID"})
    assert list(queryset) == [mine]
    assert filterset.is_valid()
    everything, _ = order_list(project=project, filters=None)
    assert everything.count() == 2


# --- detail ---------------------------------------------------------------------------------


def _order_with_items(project) -> Order:
    ProductFactory(project=project, source_id="lamp", name="Lamp")
    order, _ = order_upsert(
        project=project,
        payload={
            "source_id": "web-1",
            "status": "CREATED",
            "customer": {"source_id": "ann", "name": "Ann Lee", "email": "ann@example.com"},
            "discount_amount": 500,
            "metadata": {"channel": "web"},
            "items": [
                {"source_id": "lamp", "quantity": 2, "price": 2500, "discount_amount": 1000},
                {"source_id": "unknown-thing", "quantity": 1, "price": 999},
            ],
        },
    )
    return order


def test_detail_works(owner_client, project, django_assert_max_num_queries):
    order = _order_with_items(project)
    url = reverse("orders:detail", args=[order.public_id])
    with django_assert_max_num_queries(7):
        response = owner_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    # items: name, quantity, price, amount, discount
    assert "Lamp" in html and "unknown-thing" in html
    assert "$25.00" in html and "$50.00" in html and "\u2212$10.00" in html
    # totals: 5999 amount, 500 order discount, 1000 items discount, 1500 total discount
    totals = html[html.index('id="order-totals"') :]
    for text in ("$59.99", "$5.00", "$10.00", "$15.00", "$44.99"):
        assert text in totals
    assert f'href="/customers/{order.customer.public_id}/"' in html
    assert "Ann Lee" in html
    assert "order.created" in html
    assert "&quot;web&quot;" in html


def test_detail_404s_for_another_projects_order(owner_client):
    theirs = OrderFactory(customer__project=ProjectFactory())
    assert owner_client.get(reverse("orders:detail", args=[theirs.public_id])).status_code == 404


def test_detail_requires_login(client, project):
    order = OrderFactory(customer__project=project)
    assert client.get(reverse("orders:detail", args=[order.public_id])).status_code == 302


def test_detail_hides_the_status_form_from_viewers(member_client, project):
    order = OrderFactory(customer__project=project)
    html = member_client(Role.VIEWER).get(reverse("orders:detail", args=[order.public_id]))
    assert "Change status" not in html.content.decode()


def test_detail_returns_the_status_partial_for_htmx(owner_client, project):
    order = OrderFactory(customer__project=project)
    html = owner_client.get(reverse("orders:detail", args=[order.public_id]), **HTMX)
    html = html.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="order-status"')


# --- status ---------------------------------------------------------------------------------


def test_status_change_records_an_event_and_refreshes_the_customer(member_client, project):
    order = _order_with_items(project)
    client = member_client(Role.MARKETER)
    response = client.post(reverse("orders:status", args=[order.public_id]), {"status": "PAID"})
    order.refresh_from_db()
    order.customer.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[order.public_id])
    assert order.status == "PAID"
    assert OrderEvent.objects.filter(order=order, type="order.paid").count() == 1
    assert order.customer.orders_total_count == 1


def test_status_change_over_htmx_returns_the_status_partial(owner_client, project):
    order = OrderFactory(customer__project=project, status="PAID")
    response = owner_client.post(
        reverse("orders:status", args=[order.public_id]), {"status": "FULFILLED"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "order.fulfilled" in html
    assert "Order status changed to fulfilled." in html  # the flash, swapped out of band


def test_status_change_to_the_same_status_does_nothing(owner_client, project):
    order = OrderFactory(customer__project=project, status="PAID")
    owner_client.post(reverse("orders:status", args=[order.public_id]), {"status": "PAID"})
    assert not OrderEvent.objects.filter(order=order).exists()


def test_status_change_shows_form_errors(owner_client, project):
    order = OrderFactory(customer__project=project, status="PAID")
    response = owner_client.post(
        reverse("orders:status", args=[order.public_id]), {"status": "LOST"}
    )
    order.refresh_from_db()
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert order.status == "PAID"


def test_viewers_cannot_change_the_status(member_client, project):
    order = OrderFactory(customer__project=project, status="PAID")
    client = member_client(Role.VIEWER)
    response = client.post(reverse("orders:status", args=[order.public_id]), {"status": "CANCELED"})
    order.refresh_from_db()
    assert response.status_code == 403
    assert order.status == "PAID"


def test_status_404s_for_another_projects_order(owner_client):
    theirs = OrderFactory(customer__project=ProjectFactory(), status="PAID")
    url = reverse("orders:status", args=[theirs.public_id])
    assert owner_client.post(url, {"status": "CANCELED"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "PAID"


def test_status_is_post_only(owner_client, project):
    order = OrderFactory(customer__project=project)
    assert owner_client.get(reverse("orders:status", args=[order.public_id])).status_code == 405


def test_items_of_the_factory_render(owner_client, project):
    item = OrderItemFactory(order__customer__project=project, name="Widget", quantity=3)
    html = owner_client.get(reverse("orders:detail", args=[item.order.public_id])).content
    assert b"Widget" in html
