"""django-import-export resources: the importable columns of each model, keyed by `source_id`.

They define the columns (the mapping page's known fields come from `apps.imports.columns`, and a
test keeps the two in step), the money widget (major units in, minor units out, through
`apps.core.money.parse_money`) that the streaming importer reuses for every price cell, and a
small-file path: `CustomerResource(project=p).import_data(dataset, dry_run=True)` validates
with the same `clean_customer_data` rules as the dashboard import. Big files never go through
`import_data` (one query and one save per row); they use `apps.imports.services`.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from apps.core.errors import ApplicationError
from apps.core.money import MoneyParseError, format_plain, parse_money
from apps.customers.models import PROFILE_FIELDS, Customer
from apps.customers.services import clean_customer_data
from apps.metadata.models import Resource
from apps.metadata.services import schema_for
from apps.orders.models import Order
from apps.products.models import Product, Sku

from .columns import METADATA_PREFIX


class MoneyWidget(widgets.Widget):
    """ "12.50" → 1250 in the project's currency; raises ValueError on bad input."""

    def __init__(self, currency: str | None = None, *, allow_negative: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.currency = currency or settings.DEFAULT_CURRENCY
        self.allow_negative = allow_negative

    def clean(self, value, row=None, **kwargs) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return parse_money(value, self.currency, allow_negative=self.allow_negative)
        except MoneyParseError as exc:
            raise ValueError(str(exc)) from None

    def render(self, value, obj=None, **kwargs) -> str:
        return "" if value is None else format_plain(value, self.currency)


class ProjectModelResource(resources.ModelResource):
    """A resource bound to one project: lookups and new rows stay inside it."""

    def __init__(self, *, project, **kwargs):
        super().__init__(**kwargs)
        self.project = project
        for field in self.fields.values():
            if isinstance(field.widget, MoneyWidget):
                field.widget.currency = project.currency

    def get_queryset(self):
        return self._meta.model._default_manager.filter(project=self.project)

    def init_instance(self, row=None):
        return self._meta.model(project=self.project)

    def metadata_from_row(self, row) -> dict:
        return {
            key[len(METADATA_PREFIX) :]: value
            for key, value in row.items()
            if key.startswith(METADATA_PREFIX) and value not in (None, "")
        }


class CustomerResource(ProjectModelResource):
    class Meta:
        model = Customer
        import_id_fields = ("source_id",)
        fields = ("source_id", *[f for f in PROFILE_FIELDS if f != "metadata"])
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def import_instance(self, instance, row, **kwargs):
        """Apply the row through `clean_customer_data`, the rules every customer write uses."""
        data = {name: row[name] for name in self.fields if name in row and name != "source_id"}
        metadata = self.metadata_from_row(row)
        if metadata:
            data["metadata"] = {**instance.metadata, **metadata}
        schema = schema_for(project=self.project, resource=Resource.CUSTOMER)
        cleaned, errors = clean_customer_data(data, schema=schema)
        if errors:
            raise ValidationError({field: [message] for field, message in errors.items()})
        instance.source_id = str(row.get("source_id") or "").strip() or None
        for name, value in cleaned.items():
            setattr(instance, name, value)


class ProductResource(ProjectModelResource):
    price = fields.Field(attribute="price", column_name="price", widget=MoneyWidget())

    class Meta:
        model = Product
        import_id_fields = ("source_id",)
        fields = ("source_id", "name", "price", "image_url", "attributes")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True


class ProjectForeignKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key by `source_id`, looked up only inside the resource's project."""

    def __init__(self, model, field="source_id", **kwargs):
        super().__init__(model, field=field, **kwargs)
        self.project = None

    def get_queryset(self, value, row, *args, **kwargs):
        return self.model.objects.filter(project=self.project)


class SkuResource(ProjectModelResource):
    product_source_id = fields.Field(
        attribute="product",
        column_name="product_source_id",
        widget=ProjectForeignKeyWidget(Product),
    )
    price = fields.Field(attribute="price", column_name="price", widget=MoneyWidget())
    attributes = fields.Field(
        attribute="attributes", column_name="attributes", widget=widgets.JSONWidget()
    )

    class Meta:
        model = Sku
        import_id_fields = ("source_id",)
        fields = ("source_id", "product_source_id", "sku", "price", "image_url", "attributes")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def __init__(self, *, project, **kwargs):
        super().__init__(project=project, **kwargs)
        self.fields["product_source_id"].widget.project = project


class OrderResource(ProjectModelResource):
    """Order columns (amounts in major units). Orders are written only by `order_upsert`
    (events, customer summaries, `imported=True`), so saving through this resource refuses."""

    amount = fields.Field(attribute="amount", column_name="amount", widget=MoneyWidget())
    discount_amount = fields.Field(
        attribute="discount_amount", column_name="discount_amount", widget=MoneyWidget()
    )
    customer_source_id = fields.Field(
        attribute="customer",
        column_name="customer_source_id",
        widget=ProjectForeignKeyWidget(Customer),
    )
    created_at = fields.Field(
        attribute="created_at", column_name="created_at", widget=widgets.DateTimeWidget()
    )

    class Meta:
        model = Order
        import_id_fields = ("source_id",)
        fields = (
            "source_id",
            "status",
            "amount",
            "discount_amount",
            "customer_source_id",
            "created_at",
        )
        skip_unchanged = True
        report_skipped = True

    def __init__(self, *, project, **kwargs):
        super().__init__(project=project, **kwargs)
        self.fields["customer_source_id"].widget.project = project

    def save_instance(self, instance, is_create, row, **kwargs):
        raise ApplicationError(
            "Orders are imported through apps.imports.services (order_upsert, imported=True)."
        )


RESOURCES = {
    "customers": CustomerResource,
    "products": ProductResource,
    "skus": SkuResource,
    "orders": OrderResource,
}
