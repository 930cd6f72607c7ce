import factory

from apps.orders.models import Order, OrderItem
from tests.customers.factories import CustomerFactory


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    project = factory.SelfAttribute("customer.project")
    source_id = factory.Sequence(lambda n: f"ord-src-{n}")
    status = "PAID"
    amount = 10000
    total_amount = 10000


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    quantity = 1
    price = 10000
    amount = 10000
