"""Writes for products, SKUs and collections."""

from typing import Any

from django.db import IntegrityError, transaction

from apps.core.errors import ApplicationError
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

from .models import Product, Sku


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
