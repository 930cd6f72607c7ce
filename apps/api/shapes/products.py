"""Products, SKUs and product collections (reference §3.7) in Voucherify's shapes.

`product(p)` lists the product's SKUs: pass products whose `skus` are prefetched
(`with_skus(queryset)`) so a page of products costs one extra query, not one per product.
"""

from django.db.models import Prefetch, QuerySet

from apps.products.models import CollectionType, Product, ProductCollection, Sku

from ..serializers import iso


def with_skus(queryset: QuerySet) -> QuerySet:
    return queryset.prefetch_related(
        Prefetch("skus", queryset=Sku.objects.order_by("created_at", "id"))
    )


def _product_fields(p: Product) -> dict:
    return {
        "id": p.public_id,
        "source_id": p.source_id,
        "name": p.name or None,
        "price": p.price,
        "attributes": list(p.attributes or []),
        "metadata": p.metadata or {},
        "image_url": p.image_url or None,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "object": "product",
    }


def product(p: Product, *, currency: str | None = None) -> dict:
    """The product with its SKUs (`{object: "list", data_ref: "data", data, total}`)."""
    skus = list(p.skus.all())
    currency = currency or p.project.currency
    return {
        **_product_fields(p),
        "skus": {
            "object": "list",
            "data_ref": "data",
            "data": [sku(s, product_id=p.public_id, currency=currency) for s in skus],
            "total": len(skus),
        },
    }


def sku(s: Sku, *, currency: str, product_id: str | None = None) -> dict:
    """A SKU; its prices are in the project's `currency`."""
    return {
        "id": s.public_id,
        "source_id": s.source_id,
        "product_id": product_id or s.product.public_id,
        "sku": s.sku or None,
        "price": s.price,
        "currency": currency,
        "attributes": s.attributes or {},
        "image_url": s.image_url or None,
        "metadata": s.metadata or {},
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
        "object": "sku",
    }


def collection_item_product(p: Product) -> dict:
    """A product in a collection's product list: without its SKUs."""
    return _product_fields(p)


def collection_item_sku(s: Sku, *, currency: str) -> dict:
    """A SKU in a collection's product list, with its product (without SKUs). The SDK reads
    products and SKUs of this list with one model, whose `attributes` is a list of names: a
    SKU's attribute values (an object) would not parse there, so they are left out."""
    return {
        **sku(s, currency=currency),
        "attributes": None,
        "product": _product_fields(s.product),
    }


def collection(c: ProductCollection) -> dict:
    """A collection: the chosen products and SKUs of a STATIC one (pass collections with
    `items__product` and `items__sku__product` prefetched), the filter of an AUTO_UPDATE one."""
    body = {
        "id": c.public_id,
        "name": c.name,
        "type": c.type,
        "created_at": iso(c.created_at),
        "object": "products_collection",
    }
    if c.type == CollectionType.AUTO_UPDATE:
        body["filter"] = c.filter or {}
    else:
        items = sorted(c.items.all(), key=lambda item: item.pk)
        body["products"] = [
            {"id": item.sku.public_id, "product_id": item.sku.product.public_id, "object": "sku"}
            if item.sku_id
            else {"id": item.product.public_id, "object": "product"}
            for item in items
        ]
    return body
