"""Path parameters -> one object of the calling project, or a 404 `not_found`.

Voucherify accepts an id or a natural key in many paths: a customer's id or source_id, a
campaign's id or name, a voucher's id or code, a product's or SKU's id or source_id, an order's
id or source_id. An object of another project is indistinguishable from one that does not exist.
"""

from django.db.models import QuerySet

from apps.campaigns.models import Campaign, Voucher
from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.orders.models import Order
from apps.products.models import Product, Sku


def not_found(what: str, value: str) -> ApplicationError:
    return ApplicationError(
        "Resource not found",
        key="not_found",
        code=404,
        details=f"Cannot find {what} with id {value}",
    )


def _one(queryset: QuerySet, project, what: str, value: str, *lookups: str):
    """The first of `lookups` (field names) that matches `value`; the id prefix decides first."""
    queryset = queryset.filter(project=project)
    for field in lookups:
        found = queryset.filter(**{field: value}).first()
        if found is not None:
            return found
    raise not_found(what, value)


def _order(value: str, prefix: str, natural: str) -> tuple[str, str]:
    return ("public_id", natural) if value.startswith(prefix) else (natural, "public_id")


def customer(project, value: str, queryset: QuerySet | None = None) -> Customer:
    queryset = Customer.objects.all() if queryset is None else queryset
    return _one(queryset, project, "customer", value, *_order(value, "cust_", "source_id"))


def campaign(project, value: str, queryset: QuerySet | None = None) -> Campaign:
    queryset = Campaign.objects.all() if queryset is None else queryset
    return _one(queryset, project, "campaign", value, *_order(value, "camp_", "name"))


def voucher(project, value: str, queryset: QuerySet | None = None) -> Voucher:
    """By code (case-folded unless the project's codes are case-sensitive) or by `v_` id; a code
    wins over an id, as a code may itself look like an id."""
    queryset = Voucher.objects.all() if queryset is None else queryset
    key = value if project.codes_case_sensitive else value.upper()
    found = queryset.filter(project=project, code_key=key).first()
    if found is None and value.startswith("v_"):
        found = queryset.filter(project=project, public_id=value).first()
    if found is None:
        raise not_found("voucher", value)
    return found


def product(project, value: str, queryset: QuerySet | None = None) -> Product:
    queryset = Product.objects.all() if queryset is None else queryset
    return _one(queryset, project, "product", value, *_order(value, "prod_", "source_id"))


def sku(project, value: str, queryset: QuerySet | None = None) -> Sku:
    queryset = Sku.objects.all() if queryset is None else queryset
    return _one(queryset, project, "sku", value, *_order(value, "sku_", "source_id"))


def order(project, value: str, queryset: QuerySet | None = None) -> Order:
    queryset = Order.objects.all() if queryset is None else queryset
    return _one(queryset, project, "order", value, *_order(value, "ord_", "source_id"))


def by_id(model_or_queryset, project, value: str, what: str):
    """An object with only a public id (segment, rule, tier, ...)."""
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, QuerySet)
        else model_or_queryset._default_manager.all()
    )
    return _one(queryset, project, what, value, "public_id")
