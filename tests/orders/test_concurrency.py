import pytest

from apps.customers.models import Customer
from apps.customers.services import customer_upsert
from apps.orders.models import Order, OrderEvent
from apps.orders.services import order_upsert
from tests.concurrency import requires_postgres, run_concurrently
from tests.projects.factories import ProjectFactory

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db(transaction=True)]


def test_concurrent_customer_upserts_make_one_customer():
    project = ProjectFactory()
    results = run_concurrently(
        *[
            lambda i=i: customer_upsert(project=project, source_id="same", data={"name": f"N{i}"})
            for i in range(6)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(created for _, created in results) == 1
    assert Customer.objects.filter(project=project, source_id="same").count() == 1


def test_concurrent_order_upserts_make_one_order_and_a_consistent_summary():
    project = ProjectFactory()

    def pay(i):
        return order_upsert(
            project=project,
            payload={
                "source_id": "ord-race",
                "status": "PAID",
                "amount": 5000,
                "customer": {"source_id": "buyer"},
            },
        )

    results = run_concurrently(*[lambda i=i: pay(i) for i in range(5)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(created for _, created in results) == 1
    assert Order.objects.filter(project=project).count() == 1
    assert OrderEvent.objects.filter(type="order.created").count() == 1
    assert OrderEvent.objects.filter(type="order.paid").count() == 1
    customer = Customer.objects.get(project=project, source_id="buyer")
    assert (customer.orders_total_count, customer.orders_total_amount) == (1, 5000)
