"""Products, SKUs and product collections (reference §3.7): create (an upsert, as Voucherify's
is), get, update, delete, list, CSV imports and bulk updates as async actions, collections and
the products in them. Parse, call the products services, serialize."""

from datetime import UTC, datetime

from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Status

from apps.core.errors import ApplicationError
from apps.imports.models import ImportKind
from apps.imports.services import import_unattended
from apps.products import selectors, services
from apps.products.models import CollectionItem, Product, ProductCollection, Sku

from .. import lookups
from ..listing import check_paging, envelope, invalid_query, ordering, page_of
from ..payload import csv_upload, json_body, json_list
from ..shapes import products as shapes
from .async_actions import accepted

router = Router(tags=["products"])

PRODUCT_ORDER = {"created_at": "created_at", "updated_at": "updated_at"}
MAX_BULK_BODY = 10 * 1024 * 1024  # Voucherify: a bulk update carries up to 10 MB


def aware(moment: datetime | None) -> datetime | None:
    """Query timestamps without a zone are UTC (the SDK sends them so)."""
    if moment is not None and timezone.is_naive(moment):
        return moment.replace(tzinfo=UTC)
    return moment


def _fields(body: dict) -> dict:
    """The writable fields of a product or SKU body (ids are path or upsert keys)."""
    return {k: v for k, v in body.items() if k not in ("id", "source_id", "object")}


def _product(request, product_id: str) -> Product:
    queryset = shapes.with_skus(Product.objects.select_related("project"))
    return lookups.product(request.api.project, product_id, queryset)


def _product_body(request, product: Product) -> dict:
    product = _product(request, product.public_id)  # SKUs and timestamps as stored
    return shapes.product(product, currency=request.api.project.currency)


def _sku_body(request, sku: Sku) -> dict:
    return shapes.sku(sku, currency=request.api.project.currency)


# -- literal paths first: Django matches in order ------------------------------------------------


@router.post("/products/importCSV", summary="Import Products using CSV", response={202: dict})
def products_import_csv(request):
    imp = import_unattended(
        project=request.api.project, kind=ImportKind.PRODUCTS, upload=csv_upload(request)
    )
    return Status(202, accepted(imp.job))


@router.post("/products/bulk/async", summary="Update Products in Bulk", response={202: dict})
def products_bulk_update(request):
    job = services.products_bulk_update_start(
        project=request.api.project, updates=json_list(request, max_body=MAX_BULK_BODY)
    )
    return Status(202, accepted(job))


@router.post(
    "/products/metadata/async", summary="Update Products' Metadata in Bulk", response={202: dict}
)
def products_metadata_update(request):
    body = json_body(request)
    job = services.products_metadata_update_start(
        project=request.api.project,
        source_ids=body.get("source_ids"),
        metadata=body.get("metadata"),
    )
    return Status(202, accepted(job))


@router.post("/skus/importCSV", summary="Import SKUs using CSV", response={202: dict})
def skus_import_csv(request):
    imp = import_unattended(
        project=request.api.project, kind=ImportKind.SKUS, upload=csv_upload(request)
    )
    return Status(202, accepted(imp.job))


@router.get("/skus/{sku_id}", summary="Get SKU")
def skus_get(request, sku_id: str):
    sku = lookups.sku(request.api.project, sku_id, Sku.objects.select_related("product"))
    return _sku_body(request, sku)


# -- products ---------------------------------------------------------------------------------


@router.post("/products", summary="Create Product")
def products_create(request):
    product, _ = services.product_save(project=request.api.project, data=json_body(request))
    return _product_body(request, product)


@router.get("/products", summary="List Products")
def products_list(
    request,
    limit: int = 10,
    page: int = 1,
    order: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
):
    start_date, end_date = aware(start_date), aware(end_date)
    if start_date and end_date and start_date > end_date:
        raise invalid_query("start_date must not be after end_date.")
    products = Product.objects.filter(project=request.api.project)
    if start_date:
        products = products.filter(created_at__gte=start_date)
    if end_date:
        products = products.filter(created_at__lte=end_date)
    currency = request.api.project.currency
    return page_of(
        shapes.with_skus(products),
        data_ref="products",
        shape=lambda p: shapes.product(p, currency=currency),
        limit=limit,
        page=page,
        order_by=ordering(order, PRODUCT_ORDER, "-created_at"),
    )


@router.get("/products/{product_id}", summary="Get Product")
def products_get(request, product_id: str):
    return shapes.product(_product(request, product_id), currency=request.api.project.currency)


@router.put("/products/{product_id}", summary="Update Product")
def products_update(request, product_id: str):
    product = _product(request, product_id)
    product = services.product_update(product=product, data=_fields(json_body(request)))
    return _product_body(request, product)


@router.delete("/products/{product_id}", summary="Delete Product", response={204: None})
def products_delete(request, product_id: str, force: bool = False):
    """`force` is accepted for compatibility: there is no bin, a product is always removed
    for good (with its SKUs)."""
    services.product_delete(product=_product(request, product_id))
    return HttpResponse(status=204)


# -- SKUs ------------------------------------------------------------------------------------


def _product_sku(request, product: Product, sku_id: str) -> Sku:
    return lookups.sku(
        request.api.project, sku_id, Sku.objects.filter(product=product).select_related("product")
    )


@router.get("/products/{product_id}/skus", summary="List SKUs in Product")
def products_skus_list(
    request,
    product_id: str,
    limit: int = 10,
    page: int = 1,
    order: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
):
    product = _product(request, product_id)
    start_date, end_date = aware(start_date), aware(end_date)
    skus = Sku.objects.filter(product=product).select_related("product")
    if start_date:
        skus = skus.filter(created_at__gte=start_date)
    if end_date:
        skus = skus.filter(created_at__lte=end_date)
    return page_of(
        skus,
        data_ref="skus",
        shape=lambda s: _sku_body(request, s),
        limit=limit,
        page=page,
        order_by=ordering(order, PRODUCT_ORDER, "created_at"),
    )


@router.post("/products/{product_id}/skus", summary="Create SKU")
def products_skus_create(request, product_id: str):
    product = _product(request, product_id)
    sku, _ = services.sku_save(product=product, data=json_body(request))
    sku.product = product
    return _sku_body(request, sku)


@router.put("/products/{product_id}/skus/{sku_id}", summary="Update SKU")
def products_skus_update(request, product_id: str, sku_id: str):
    sku = _product_sku(request, _product(request, product_id), sku_id)
    sku = services.sku_update(sku=sku, data=_fields(json_body(request)))
    return _sku_body(request, sku)


@router.delete("/products/{product_id}/skus/{sku_id}", summary="Delete SKU", response={204: None})
def products_skus_delete(request, product_id: str, sku_id: str, force: bool = False):
    """`force` is accepted for compatibility: a SKU is always removed for good."""
    services.sku_delete(sku=_product_sku(request, _product(request, product_id), sku_id))
    return HttpResponse(status=204)


# -- product collections ------------------------------------------------------------------------

COLLECTION_ITEMS = Prefetch(
    "items",
    queryset=CollectionItem.objects.select_related("product", "sku__product").order_by("pk"),
)


def _collection(request, collection_id: str) -> ProductCollection:
    queryset = ProductCollection.objects.select_related("project").prefetch_related(
        COLLECTION_ITEMS
    )
    return lookups.by_id(queryset, request.api.project, collection_id, "product collection")


def _collection_members(request, entries) -> tuple[list[Product], list[Sku]]:
    """The `products` of a create body: `{id, object: product|sku}` each, by id or source_id."""
    if entries is None:
        return [], []
    if not isinstance(entries, list):
        raise ApplicationError("products must be a list", details="products")
    products, skus = [], []
    project = request.api.project
    for index, entry in enumerate(entries):
        where = f"products[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ApplicationError(
                f'{where} must be an object with an "id" and an "object"', details=where
            )
        kind = entry.get("object", "product")
        if kind == "product":
            products.append(lookups.product(project, entry["id"]))
        elif kind == "sku":
            skus.append(lookups.sku(project, entry["id"]))
        else:
            raise ApplicationError(
                f"{where}.object must be product or sku", details=f"{where}.object"
            )
    return products, skus


@router.post("/product-collections", summary="Create Product Collection")
def collections_create(request):
    body = json_body(request)
    products, skus = _collection_members(request, body.get("products"))
    collection = services.collection_create(
        project=request.api.project,
        name=body.get("name"),
        type=body.get("type"),
        filter=body.get("filter"),
        products=products,
        skus=skus,
    )
    return shapes.collection(_collection(request, collection.public_id))


@router.get("/product-collections", summary="List Product Collections")
def collections_list(request, limit: int = 10, page: int = 1, order: str | None = None):
    collections = ProductCollection.objects.filter(project=request.api.project).prefetch_related(
        COLLECTION_ITEMS
    )
    return page_of(
        collections,
        data_ref="data",
        shape=shapes.collection,
        limit=limit,
        page=page,
        order_by=ordering(order, {"created_at": "created_at", "name": "name"}, "-created_at"),
    )


@router.get("/product-collections/{collection_id}", summary="Get Product Collection")
def collections_get(request, collection_id: str):
    return shapes.collection(_collection(request, collection_id))


@router.delete(
    "/product-collections/{collection_id}",
    summary="Delete Product Collection",
    response={204: None},
)
def collections_delete(request, collection_id: str):
    services.collection_delete(collection=_collection(request, collection_id))
    return HttpResponse(status=204)


@router.get("/product-collections/{collection_id}/products", summary="List Products in Collection")
def collections_products(
    request,
    collection_id: str,
    limit: int = 10,
    page: int = 1,
    order: str | None = None,
    starting_after: datetime | None = None,
):
    """The products of the collection (chosen, or matching its filter), then its chosen SKUs,
    newest first; `starting_after` keeps those created before that moment."""
    check_paging(limit, page)
    collection = _collection(request, collection_id)
    direction = ordering(order, {"created_at": "created_at"}, "-created_at")
    products = selectors.collection_products(collection).order_by(direction, "pk")
    skus = selectors.collection_skus(collection).order_by(direction, "pk")
    starting_after = aware(starting_after)
    if starting_after:
        products = products.filter(created_at__lt=starting_after)
        skus = skus.filter(created_at__lt=starting_after)
    product_total, sku_total = products.count(), skus.count()
    start, stop = (page - 1) * limit, page * limit
    rows = [shapes.collection_item_product(p) for p in products[start:stop]]
    if len(rows) < limit:
        first_sku = max(0, start - product_total)
        currency = request.api.project.currency
        rows += [
            shapes.collection_item_sku(s, currency=currency)
            for s in skus[first_sku : first_sku + limit - len(rows)]
        ]
    return envelope("data", rows, product_total + sku_total)
