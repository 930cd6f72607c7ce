"""Writes for products, SKUs and collections."""

from typing import Any

from django.db import IntegrityError, transaction

from apps.core.conditions import FilterError
from apps.core.errors import ApplicationError
from apps.jobs.models import Job
from apps.jobs.services import job_create, job_fail, job_finish, job_progress, job_start
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


def _text(value: Any, field: str, *, key: str, limit: int = 255) -> str:
    """A text field: a string (or nothing), stripped; anything else is refused by name."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError(f"{field} must be text", key=key, details=field)
    value = value.strip()
    if len(value) > limit:
        raise ApplicationError(f"{field} has at most {limit} characters", key=key, details=field)
    return value


def _label(value: Any, field: str, *, key: str) -> str:
    """A name: text, stripped and cut at 255 characters (what the forms allow)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError(f"{field} must be text", key=key, details=field)
    return value.strip()[:255]


def _source_id(value: Any, *, key: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 255:
        raise ApplicationError(
            "source_id must be text of at most 255 characters", key=key, details="source_id"
        )
    return value


def clean_product_data(*, project, data: dict) -> dict:
    """Validate the writable product fields present in `data` (partial updates stay partial)."""
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = _label(data["name"], "name", key="invalid_product")
    if "price" in data:
        cleaned["price"] = _price(data["price"])
    if "attributes" in data:
        attributes = data["attributes"] or []
        if not isinstance(attributes, list) or not all(isinstance(a, str) for a in attributes):
            raise ApplicationError("attributes must be a list of names", key="invalid_product")
        cleaned["attributes"] = attributes
    if "image_url" in data:
        cleaned["image_url"] = _text(
            data["image_url"], "image_url", key="invalid_product", limit=2048
        )
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
        except ApplicationError as exc:
            if exc.key != "duplicate_found":
                raise
            # created at the same moment by another request: update that one
            existing = Product.objects.get(project=project, source_id=source_id)
    return product_update(product=existing, data=data), False


def product_save(*, project, data: dict) -> tuple[Product, bool]:
    """Voucherify's Create Product, which upserts: an `id` names the product to update (a 404
    when the project has none), a `source_id` already in use updates that product, anything
    else creates one. Returns (product, created)."""
    public_id = data.get("id")
    fields = {k: v for k, v in data.items() if k not in ("id", "source_id", "object")}
    source_id = _source_id(data.get("source_id"), key="invalid_product")
    if public_id is not None:
        if not isinstance(public_id, str):
            raise ApplicationError("id must be text", key="invalid_product", details="id")
        product = Product.objects.filter(project=project, public_id=public_id).first()
        if product is None:
            raise _missing("product", public_id)
        if source_id is not None and source_id != product.source_id:
            raise ApplicationError(
                "A product's source_id cannot be changed.",
                key="invalid_product",
                details="source_id",
            )
        return product_update(product=product, data=fields), False
    if source_id is None:
        return product_create(project=project, data=fields), True
    return product_upsert(project=project, source_id=source_id, data=fields)


def _missing(what: str, value: str) -> ApplicationError:
    return ApplicationError(
        "Resource not found",
        key="not_found",
        code=404,
        details=f"Cannot find {what} with id {value}",
        extra={"resource_id": value, "resource_type": what},
    )


def product_delete(*, product: Product) -> None:
    """Remove the product and its SKUs (orders keep their lines, without the link)."""
    product.delete()


def clean_sku_data(*, project, data: dict) -> dict:
    cleaned: dict[str, Any] = {}
    if "sku" in data:
        cleaned["sku"] = _label(data["sku"], "sku", key="invalid_sku")
    if "price" in data:
        cleaned["price"] = _price(data["price"])
    if "attributes" in data:
        attributes = data["attributes"] or {}
        if not isinstance(attributes, dict):
            raise ApplicationError("SKU attributes must be an object", key="invalid_sku")
        cleaned["attributes"] = attributes
    if "image_url" in data:
        cleaned["image_url"] = _text(data["image_url"], "image_url", key="invalid_sku", limit=2048)
    if "currency" in data:
        _sku_currency(project, data["currency"])
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


def _sku_currency(project, value: Any) -> None:
    """Prices are in the project's currency; a SKU cannot name another one."""
    if not isinstance(value, str) or value.strip().upper() != project.currency.upper():
        raise ApplicationError(
            f"SKU prices are in the project's currency ({project.currency}).",
            key="invalid_sku",
            details="currency",
        )


def sku_save(*, product: Product, data: dict) -> tuple[Sku, bool]:
    """Voucherify's Create SKU, which upserts: an `id` or a `source_id` of an existing SKU of
    `product` updates it; a SKU of another product is refused (SKU source ids are unique in the
    whole catalog); otherwise a new SKU of `product`. Returns (sku, created)."""
    public_id = data.get("id")
    fields = {k: v for k, v in data.items() if k not in ("id", "source_id", "object")}
    source_id = _source_id(data.get("source_id"), key="invalid_sku")
    existing = None
    if public_id is not None:
        if not isinstance(public_id, str):
            raise ApplicationError("id must be text", key="invalid_sku", details="id")
        existing = Sku.objects.filter(project=product.project, public_id=public_id).first()
        if existing is None:
            raise _missing("sku", public_id)
    elif source_id is not None:
        existing = Sku.objects.filter(project=product.project, source_id=source_id).first()
    if existing is None:
        return sku_create(product=product, data=fields, source_id=source_id), True
    if existing.product_id != product.pk:
        raise ApplicationError(
            f"SKU {existing.source_id or existing.public_id} belongs to another product.",
            key="duplicate_found",
            code=409,
            details="source_id" if public_id is None else "id",
        )
    if source_id is not None and source_id != existing.source_id:
        raise ApplicationError(
            "A SKU's source_id cannot be changed.", key="invalid_sku", details="source_id"
        )
    return sku_update(sku=existing, data=fields), False


def sku_delete(*, sku: Sku) -> None:
    sku.delete()


# --- bulk updates (async actions) ------------------------------------------------------------

BULK_UPDATE_JOB = "PRODUCTS.BULK_UPDATE"
METADATA_UPDATE_JOB = "PRODUCTS.METADATA_UPDATE"
MAX_BULK_RECORDS = 10_000


def _bulk_source_ids(values: Any, where: str) -> list[str]:
    if not isinstance(values, list) or not values:
        raise ApplicationError(f"{where} must be a non-empty list", details=where)
    if len(values) > MAX_BULK_RECORDS:
        raise ApplicationError(
            f"{where} has at most {MAX_BULK_RECORDS} entries (got {len(values)})", details=where
        )
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value or len(value) > 255:
            raise ApplicationError(
                f"{where}[{index}] must be a source_id (text of 1 to 255 characters)",
                details=f"{where}[{index}]",
            )
    return values


def products_bulk_update_start(*, project, updates: list, created_by=None) -> Job:
    """Voucherify's Update Products in Bulk: each entry (`source_id` plus product fields) is
    upserted by a Celery job; the request is checked for shape here, each product's fields when
    the job applies them (a bad entry fails alone and is reported in the job's result)."""
    from .tasks import products_bulk_update_task

    if not isinstance(updates, list) or not all(isinstance(u, dict) for u in updates):
        raise ApplicationError("The body must be a list of product objects.")
    _bulk_source_ids([u.get("source_id") for u in updates], "source_id")
    with transaction.atomic():
        job = job_create(
            project=project,
            type=BULK_UPDATE_JOB,
            created_by=created_by,
            total=len(updates),
            params={"updates": updates},
        )
        products_bulk_update_task.delay_on_commit(job.pk)
    return job


def products_metadata_update_start(
    *, project, source_ids: list, metadata: dict, created_by=None
) -> Job:
    """Voucherify's Update Products' Metadata in Bulk: `metadata` merged into the metadata of
    each product named in `source_ids` (a product that does not exist is created), by a job."""
    from .tasks import products_bulk_update_task

    _bulk_source_ids(source_ids, "source_ids")
    if not isinstance(metadata, dict) or not metadata:
        raise ApplicationError("metadata must be a non-empty object", details="metadata")
    with transaction.atomic():
        job = job_create(
            project=project,
            type=METADATA_UPDATE_JOB,
            created_by=created_by,
            total=len(source_ids),
            params={"source_ids": source_ids, "metadata": metadata},
        )
        products_bulk_update_task.delay_on_commit(job.pk)
    return job


def products_bulk_update_run(*, job_id: int) -> None:
    """Apply a bulk update or metadata job, each product in its own transaction; the result
    lists every source_id with `found` (it existed) and `updated` (written), and the error of
    each one refused. A finished job is left alone (a redelivered task)."""
    job = Job.objects.select_related("project").filter(pk=job_id).first()
    if job is None or not job_start(job_id=job.pk):
        return
    try:
        results = _bulk_apply(job)
    except Exception:
        job_fail(job_id=job.pk, error="The update stopped because of an unexpected error.")
        raise
    failed = sum(1 for result in results if not result["updated"])
    updated = len(results) - failed
    job_finish(
        job_id=job.pk,
        result={
            "message": f"{updated} product(s) updated, {failed} failed.",
            "updated": updated,
            "failed": failed,
            "results": results,
        },
    )


def _bulk_apply(job: Job) -> list[dict]:
    project = job.project
    if job.type == METADATA_UPDATE_JOB:
        metadata = job.params.get("metadata") or {}
        entries = [(source_id, None) for source_id in job.params.get("source_ids", [])]
    else:
        metadata = None
        entries = [(u.get("source_id"), u) for u in job.params.get("updates", [])]
    results = []
    for done, (source_id, update) in enumerate(entries, start=1):
        existing = Product.objects.filter(project=project, source_id=source_id).first()
        result = {"source_id": source_id, "found": existing is not None, "updated": True}
        try:
            if update is None:
                merged = {**(existing.metadata if existing else {}), **metadata}
                product_upsert(project=project, source_id=source_id, data={"metadata": merged})
            else:
                fields = {k: v for k, v in update.items() if k not in ("id", "source_id")}
                product_upsert(project=project, source_id=source_id, data=fields)
        except ApplicationError as exc:
            result.update(updated=False, error=exc.message)
        results.append(result)
        if done % 100 == 0:
            job_progress(job_id=job.pk, processed=done)
    return results


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
