"""Reads for products, SKUs and collections."""

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from apps.core.conditions import FilterError

from .collections import product_filter_fields, product_filter_q
from .filters import ProductFilter
from .models import CollectionItem, CollectionType, Product, ProductCollection, Sku


def product_list(*, project, filters=None) -> tuple[QuerySet[Product], ProductFilter]:
    """Products of the project, filtered by the list page's FilterSet (newest first).

    Returns the queryset and the bound FilterSet (its form renders the filter bar).
    """
    sku_count = (
        Sku.objects.filter(product=OuterRef("pk"))
        .order_by()
        .values("product")
        .annotate(n=Count("id"))
        .values("n")
    )
    base = (
        Product.objects.filter(project=project)
        .annotate(sku_count=Coalesce(Subquery(sku_count), 0))
        .order_by("-created_at", "-id")
    )
    filterset = ProductFilter(filters or {}, queryset=base, project=project)
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    return queryset, filterset


def product_detail_queryset(*, project) -> QuerySet[Product]:
    return (
        Product.objects.filter(project=project)
        .select_related("project")
        .prefetch_related(Prefetch("skus", queryset=Sku.objects.order_by("created_at", "id")))
    )


def collection_list(*, project) -> QuerySet[ProductCollection]:
    """Collections by name, with the number of chosen items of static ones (one query)."""
    return ProductCollection.objects.filter(project=project).annotate(item_count=Count("items"))


def collection_products(collection: ProductCollection) -> QuerySet[Product]:
    """The products of a collection, newest first: the chosen ones (STATIC) or those matching
    the filter, computed in SQL (AUTO_UPDATE). An invalid stored filter matches nothing."""
    products = Product.objects.filter(project_id=collection.project_id).order_by(
        "-created_at", "-id"
    )
    if collection.type == CollectionType.STATIC:
        chosen = CollectionItem.objects.filter(collection=collection, product__isnull=False)
        return products.filter(pk__in=chosen.values("product_id"))
    try:
        return products.filter(
            product_filter_q(project=collection.project, filter_json=collection.filter)
        )
    except FilterError:
        return products.none()


def collection_skus(collection: ProductCollection) -> QuerySet[Sku]:
    """The SKUs chosen into a STATIC collection (AUTO_UPDATE filters match products only)."""
    chosen = CollectionItem.objects.filter(collection=collection, sku__isnull=False)
    return (
        Sku.objects.filter(project_id=collection.project_id, pk__in=chosen.values("sku_id"))
        .select_related("product")
        .order_by("product__name", "sku", "id")
    )


def product_collections(product: Product) -> list[ProductCollection]:
    """The collections `product` belongs to: static ones that chose it or one of its SKUs, and
    auto-update ones whose filter matches it — all auto-update filters in one query."""
    collections = list(ProductCollection.objects.filter(project_id=product.project_id))
    chosen = set(
        CollectionItem.objects.filter(collection__in=[c.pk for c in collections])
        .filter(Q(product=product) | Q(sku__product=product))
        .values_list("collection_id", flat=True)
    )
    fields = product_filter_fields(product.project)
    checks = {}
    for collection in collections:
        if collection.type != CollectionType.AUTO_UPDATE:
            continue
        try:
            q = product_filter_q(
                project=product.project, filter_json=collection.filter, fields=fields
            )
        except FilterError:
            continue
        checks[f"in_{collection.pk}"] = ExpressionWrapper(q, output_field=BooleanField())
    matched = set()
    if checks:
        row = Product.objects.filter(pk=product.pk).values(**checks).first() or {}
        matched = {int(name[3:]) for name, value in row.items() if value}
    return [c for c in collections if c.pk in chosen or c.pk in matched]
