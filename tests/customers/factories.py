import factory

from apps.customers.models import Customer, CustomEvent
from tests.projects.factories import ProjectFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    project = factory.SubFactory(ProjectFactory)
    source_id = factory.Sequence(lambda n: f"cust-src-{n}")
    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda o: f"{o.source_id}@example.com")
    address_city = factory.Faker("city")
    address_country = "Poland"


class CustomEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomEvent

    project = factory.SelfAttribute("customer.project")
    customer = factory.SubFactory(CustomerFactory)
    name = "signed_up"
