import pytest
import tablib

from apps.customers.models import Customer
from apps.imports.columns import columns, default_mapping, default_target, mapping_errors
from apps.imports.models import ImportKind
from apps.imports.resources import (
    RESOURCES,
    CustomerResource,
    MoneyWidget,
    ProductResource,
    SkuResource,
)
from apps.metadata.services import metadata_schema_save
from apps.products.models import Product
from tests.customers.factories import CustomerFactory
from tests.products.factories import ProductFactory
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def dataset(text: str) -> tablib.Dataset:
    return tablib.Dataset().load(text, format="csv")


def test_money_widget_parses_major_units():
    widget = MoneyWidget("USD")
    assert widget.clean("12.50") == 1250
    assert widget.clean("1,234.5") == 123450
    assert widget.clean("  ") is None
    assert widget.render(1250) == "12.50"
    for bad, message in (
        ("-1", "cannot be negative"),
        ("1.005", "at most 2 decimal places"),
        ("12,50 zł", "is not an amount"),
    ):
        with pytest.raises(ValueError, match=message):
            widget.clean(bad)
    assert MoneyWidget("JPY").clean("1200") == 1200


def test_customer_resource_dry_run_uses_the_customer_rules(project):
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"tier": {"type": "string", "allowed": ["Gold"]}},
        allow_defined_only=False,
    )
    CustomerFactory(project=project, source_id="c-1", name="Old")
    data = dataset(
        "source_id,name,email,birthdate,metadata.tier\n"
        "c-1,Ann,ANN@example.com,1990-01-02,Gold\n"
        "c-2,Bob,nope,,\n"
        "c-3,Cid,,31.12.1990,Bronze\n"
        "c-4,Dee,dee@example.com,,\n"
    )
    result = CustomerResource(project=project).import_data(data, dry_run=True)
    assert result.totals["update"] == 1
    assert result.totals["new"] == 1
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert invalid == {
        2: {"email": ["“nope” is not a valid email address"]},
        3: {
            "birthdate": ["“31.12.1990” is not a date; use YYYY-MM-DD"],
            "metadata.tier": ["must be one of Gold (got 'Bronze')"],
        },
    }
    assert Customer.objects.get(source_id="c-1").name == "Old"  # dry run
    assert not Customer.objects.filter(source_id="c-4").exists()


def test_product_resource_money_and_project_scope(project):
    other = ProductFactory(project=ProjectFactory(), source_id="p-1", price=1)
    data = dataset("source_id,name,price\np-1,Shoe,12.50\np-2,Sock,-3\n")
    result = ProductResource(project=project).import_data(data, dry_run=False)
    assert result.totals["new"] == 1
    assert [row.number for row in result.invalid_rows] == [2]
    assert "cannot be negative" in str(result.invalid_rows[0].error_dict["price"])
    mine = Product.objects.get(project=project, source_id="p-1")
    assert mine.price == 1250
    other.refresh_from_db()
    assert other.price == 1


def test_sku_resource_finds_products_only_in_its_project(project):
    ProductFactory(project=ProjectFactory(), source_id="shoe")
    ProductFactory(project=project, source_id="hat")
    data = dataset("source_id,product_source_id,sku,price\ns-1,shoe,Red,1\ns-2,hat,Blue,2.5\n")
    result = SkuResource(project=project).import_data(data, dry_run=True)
    assert (result.totals["new"], result.totals["error"]) == (1, 1)
    assert str(result.rows[0].errors[0].error) == "Product matching query does not exist."


def test_resources_and_the_mapping_catalog_agree():
    for kind, resource in RESOURCES.items():
        fields = {
            field.column_name for field in resource(project=ProjectFactory()).get_import_fields()
        }
        known = {column.name for column in columns(kind)} - {"id", "items"}
        assert fields == known, kind


@pytest.mark.parametrize(
    ("kind", "header", "target"),
    [
        ("customers", "Source ID", "source_id"),
        ("customers", "E-mail", "email"),
        ("customers", "Postal Code", "address_postal_code"),
        ("customers", "zip", "address_postal_code"),
        ("customers", "address.city", "address_city"),
        ("customers", "Birthday", "birthdate"),
        ("customers", "created_at", ""),
        ("customers", "metadata.Loyalty Tier", "metadata.Loyalty_Tier"),
        ("customers", "Shoe size", "metadata.Shoe_size"),
        ("products", "Price", "price"),
        ("skus", "product", "product_source_id"),
        ("orders", "customer", "customer_source_id"),
        ("orders", "created_at", "created_at"),
    ],
)
def test_default_targets(kind, header, target):
    assert default_target(kind, header) == target


def test_repeated_columns_keep_the_first_and_ignore_the_rest():
    assert default_mapping(ImportKind.CUSTOMERS, ["source_id", "email", "Email"]) == [
        "source_id",
        "email",
        "",
    ]


def test_bad_metadata_keys_are_mapping_errors():
    errors = mapping_errors("customers", ["source_id", "x"], ["source_id", 'metadata.a"b'])
    assert errors == [
        'Column “x”: “a"b” cannot be a metadata key (1-100 characters, no quotes or backslashes).'
    ]
    assert mapping_errors("customers", ["source_id", "x"], ["source_id", "price"]) == [
        "Column “x”: “price” is not a field of customers."
    ]
