import factory

from apps.products.models import Product, ProductCollection, Sku
from tests.projects.factories import ProjectFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    project = factory.SubFactory(ProjectFactory)
    source_id = factory.Sequence(lambda n: f"prod-src-{n}")
    name = factory.Faker("word")
    price = 1999


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    project = factory.SelfAttribute("product.project")
    source_id = factory.Sequence(lambda n: f"sku-src-{n}")
    sku = factory.Faker("word")
    price = 2499


class ProductCollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductCollection

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Collection {n}")
    type = "STATIC"
