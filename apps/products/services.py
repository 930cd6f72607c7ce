"""Writes for products, SKUs and collections."""

from typing import Any

from django.db import IntegrityError, transaction

from apps.core.conditions import FilterError
from apps.core.errors import ApplicationError
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

from .collections import product_filter_q
from .models import CollectionItem, CollectionType, Product, ProductCollection, Sku


def _price(value: Any, field: str = "price") -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApplicationError(
            f"{field} must be an integer number of minor units (e.g. 1999 for 19.99)",
            key="invalid_product",
            details=field,
        )
    if value < 0:
        raise ApplicationError(f"{field} cannot be negative", key="invalid_product", details=field)
    return value


def clean_product_data(*, project, data: dict) -> dict:
    """Validate the writable product fields present in `data` (partial updates stay partial)."""
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = (data["name"] or "").strip()[:255]
    if "price" in data:
        cleaned["price"] = _price(data["price"])
    if "attributes" in data:
        attributes = data["attributes"] or []
        if not isinstance(attributes, list) or not all(isinstance(a, str) for a in attributes):
            raise ApplicationError("attributes must be a list of names", key="invalid_product")
        cleaned["attributes"] = attributes
    if "image_url" in data:
        cleaned["image_url"] = (data["image_url"] or "").strip()
    if "metadata" in data:
        schema = schema_for(project=project, resource=Resource.PRODUCT)
        cleaned["metadata"] = schema.check(data["metadata"])
    return cleaned


def product_create(*, project, data: dict, source_id: str | None = None) -> Product:
    cleaned = clean_product_data(project=project, data=data)
    try:
        with transaction.atomic():
            return Product.objects.create(project=project, source_id=source_id or None, **cleaned)
    except IntegrityError as exc:
        raise ApplicationError(
            f"A product with source_id “{source_id}” already exists.",
            key="duplicate_found",
            code=409,
        ) from exc


def product_update(*, product: Product, data: dict) -> Product:
    cleaned = clean_product_data(project=product.project, data=data)
    for field, value in cleaned.items():
        setattr(product, field, value)
    product.save()
    return product


def product_upsert(*, project, source_id: str, data: dict) -> tuple[Product, bool]:
    existing = Product.objects.filter(project=project, source_id=source_id).first()
    if existing is None:
        try:
            return product_create(project=project, data=data, source_id=source_id), True
        except ApplicationError:
            existing = Product.objects.get(project=project, source_id=source_id)
    return product_update(product=existing, data=data), False


def product_delete(*, product: Product) -> None:
    product.delete()


def clean_sku_data(*, project, data: dict) -> dict:
    cleaned: dict[str, Any] = {}
    if "sku" in data:
        cleaned["sku"] = (data["sku"] or "").strip()[:255]
    if "price" in data:
        cleaned["price"] = _price(data["price"])
    if "attributes" in data:
        attributes = data["attributes"] or {}
        if not isinstance(attributes, dict):
            raise ApplicationError("SKU attributes must be an object", key="invalid_sku")
        cleaned["attributes"] = attributes
    if "image_url" in data:
        cleaned["image_url"] = (data["image_url"] or "").strip()
    if "metadata" in data:
        cleaned["metadata"] = schema_for(project=project, resource=Resource.SKU).check(
            data["metadata"]
        )
    return cleaned


def sku_create(*, product: Product, data: dict, source_id: str | None = None) -> Sku:
    cleaned = clean_sku_data(project=product.project, data=data)
    try:
        with transaction.atomic():
            return Sku.objects.create(
                project=product.project, product=product, source_id=source_id or None, **cleaned
            )
    except IntegrityError as exc:
        raise ApplicationError(
            f"A SKU with source_id “{source_id}” already exists.", key="duplicate_found", code=409
        ) from exc


def sku_update(*, sku: Sku, data: dict) -> Sku:
    for field, value in clean_sku_data(project=sku.project, data=data).items():
        setattr(sku, field, value)
    sku.save()
    return sku


def sku_upsert(*, product: Product, source_id: str, data: dict) -> tuple[Sku, bool]:
    existing = Sku.objects.filter(project=product.project, source_id=source_id).first()
    if existing is None:
        return sku_create(product=product, data=data, source_id=source_id), True
    return sku_update(sku=existing, data=data), False


def sku_delete(*, sku: Sku) -> None:
    sku.delete()


# --- collections ----------------------------------------------------------------------------

_UNSET: Any = object()


def _collection_name(name: Any) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ApplicationError(
            "A collection needs a name.", key="invalid_product_collection", details="name"
        )
    if len(name) > 255:
        raise ApplicationError(
            "A collection name has at most 255 characters.",
            key="invalid_product_collection",
            details="name",
        )
    return name


def _collection_filter(project, filter: Any) -> dict:
    if not isinstance(filter, dict):
        raise ApplicationError(
            "An auto-update collection needs a filter object.",
            key="invalid_product_collection",
            details="filter",
        )
    try:
        product_filter_q(project=project, filter_json=filter)
    except FilterError as exc:
        raise ApplicationError(
            f"Invalid filter: {exc.message}", key="invalid_product_collection", details="filter"
        ) from exc
    return filter


def _save_collection(collection: ProductCollection) -> ProductCollection:
    try:
        with transaction.atomic():
            collection.save()
    except IntegrityError as exc:
        raise ApplicationError(
            f"A collection named “{collection.name}” already exists.",
            key="duplicate_found",
            code=409,
            details="name",
        ) from exc
    return collection


def collection_create(
    *,
    project,
    name: str,
    type: str,
    filter: dict | None = None,
    products=(),
    skus=(),
) -> ProductCollection:
    """A STATIC collection (chosen products/SKUs) or an AUTO_UPDATE one (a filter over product
    fields, matched in SQL whenever it is read)."""
    if type not in CollectionType.values:
        raise ApplicationError(
            f"type must be one of {', '.join(CollectionType.values)}",
            key="invalid_product_collection",
            details="type",
        )
    if type == CollectionType.AUTO_UPDATE:
        filter = _collection_filter(project, filter)
        if products or skus:
            raise ApplicationError(
                "An auto-update collection takes its products from the filter, not a list.",
                key="invalid_product_collection",
                details="products",
            )
    else:
        filter = None
    with transaction.atomic():
        collection = _save_collection(
            ProductCollection(
                project=project, name=_collection_name(name), type=type, filter=filter
            )
        )
        if type == CollectionType.STATIC:
            collection_set_items(collection=collection, products=products, skus=skus)
    return collection


def collection_update(
    *,
    collection: ProductCollection,
    name: str | None = None,
    filter: Any = _UNSET,
    products=None,
    skus=None,
) -> ProductCollection:
    """Rename a collection, replace an AUTO_UPDATE collection's filter, or replace a STATIC
    collection's items (when `products` or `skus` is given). The type never changes."""
    if name is not None:
        collection.name = _collection_name(name)
    if filter is not _UNSET:
        if collection.type != CollectionType.AUTO_UPDATE:
            raise ApplicationError(
                "Only auto-update collections have a filter.",
                key="invalid_product_collection",
                details="filter",
            )
        collection.filter = _collection_filter(collection.project, filter)
    with transaction.atomic():
        _save_collection(collection)
        if products is not None or skus is not None:
            collection_set_items(collection=collection, products=products or (), skus=skus or ())
    return collection


def collection_delete(*, collection: ProductCollection) -> None:
    collection.delete()


def collection_set_items(*, collection: ProductCollection, products=(), skus=()) -> None:
    """Make a STATIC collection hold exactly these products and SKUs (of its project)."""
    if collection.type != CollectionType.STATIC:
        raise ApplicationError(
            "Only static collections hold a chosen list of products.",
            key="invalid_product_collection",
            details="products",
        )
    product_ids = {p.pk for p in products}
    sku_ids = {s.pk for s in skus}
    foreign = [o for o in (*products, *skus) if o.project_id != collection.project_id]
    if foreign:
        raise ApplicationError(
            f"{foreign[0].public_id} belongs to another project.",
            key="not_found",
            code=404,
            details="products",
        )
    with transaction.atomic():
        items = CollectionItem.objects.filter(collection=collection)
        items.exclude(product_id__in=product_ids).filter(product__isnull=False).delete()
        items.exclude(sku_id__in=sku_ids).filter(sku__isnull=False).delete()
        have_products = set(
            items.filter(product__isnull=False).values_list("product_id", flat=True)
        )
        have_skus = set(items.filter(sku__isnull=False).values_list("sku_id", flat=True))
        CollectionItem.objects.bulk_create(
            [
                CollectionItem(collection=collection, product_id=pk)
                for pk in product_ids - have_products
            ]
            + [CollectionItem(collection=collection, sku_id=pk) for pk in sku_ids - have_skus],
            ignore_conflicts=True,
        )
