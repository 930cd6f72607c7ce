import json

from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from apps.core.conditions import FilterError, compile_filter
from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.projects.models import Role
from apps.projects.permissions import member_required

from . import services
from .collections import (
    OPERATOR_LABELS,
    VALUELESS,
    describe_filter,
    field_choices,
    field_type,
    operator_choices,
    product_filter_fields,
)
from .forms import CollectionForm, ProductForm, SkuForm, filter_definition
from .models import CollectionType, Product, ProductCollection, Sku
from .selectors import (
    collection_list,
    collection_products,
    collection_skus,
    product_collections,
    product_detail_queryset,
    product_list,
)

PAGE_SIZE = 25
PREVIEW_LIMIT = 10_000


def metadata_rows(metadata: dict) -> list[tuple[str, str]]:
    """Metadata as (key, JSON text) pairs, so `true` and `"true"` look different."""
    return [(key, json.dumps(value, ensure_ascii=False)) for key, value in (metadata or {}).items()]


def _redirect(request, url: str):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _error_to_form(form, exc: ApplicationError, fields: dict[str, str]) -> None:
    """Show a service error next to the field it is about (`exc.details`), else on top."""
    details = exc.details.split(",")[0].strip()
    target = fields.get(details) or fields.get(details.split(".")[0])
    form.add_error(target, exc.message)


# --- products -------------------------------------------------------------------------------


@member_required()
@require_GET
def products(request):
    queryset, filterset = product_list(project=request.project, filters=request.GET)
    page = paginate(queryset, request.GET.get("page"), PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "filter": filterset, "query": query.urlencode()}
    return render_page_or_partial(request, "products/product_list.html", context, partial="results")


@member_required()
def product_detail(request, product_id: str):
    product = get_for_project_or_404(
        product_detail_queryset(project=request.project), request.project, public_id=product_id
    )
    if request.method != "GET":  # after the lookup: another project's id is a 404 first
        return HttpResponseNotAllowed(["GET"])
    context = {
        "product": product,
        "collections": product_collections(product),
        "metadata_rows": metadata_rows(product.metadata),
    }
    return render(request, "products/product_detail.html", context)


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def product_create(request):
    form = ProductForm(request.POST or None, project=request.project)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(
                project=request.project,
                data=form.service_data(),
                source_id=form.cleaned_data["source_id"],
            )
        except ApplicationError as exc:
            _error_to_form(form, exc, {"metadata": "metadata", "price": "price"})
        else:
            messages.success(request, f"Product “{product}” created.")
            return _redirect(request, reverse("products:detail", args=[product.public_id]))
    return render(request, "products/product_form.html", {"form": form, "product": None})


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def product_edit(request, product_id: str):
    product = get_for_project_or_404(Product, request.project, public_id=product_id)
    form = ProductForm(request.POST or None, project=request.project, product=product)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(product=product, data=form.service_data())
        except ApplicationError as exc:
            _error_to_form(form, exc, {"metadata": "metadata", "price": "price"})
        else:
            messages.success(request, f"Product “{product}” saved.")
            return _redirect(request, reverse("products:detail", args=[product.public_id]))
    return render(request, "products/product_form.html", {"form": form, "product": product})


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def product_delete(request, product_id: str):
    product = get_for_project_or_404(Product, request.project, public_id=product_id)
    return _confirm_delete(
        request,
        product,
        kind="Product",
        delete=lambda: services.product_delete(product=product),
        cancel_url=reverse("products:detail", args=[product.public_id]),
        done_url=reverse("products:list"),
        consequence="Its SKUs are deleted too, and it leaves every collection.",
    )


def _confirm_delete(request, obj, *, kind, delete, cancel_url, done_url, consequence):
    """GET asks for confirmation (saying what else goes); POST deletes through the service."""
    if request.method == "POST":
        delete()
        messages.success(request, f"{kind} “{obj}” deleted.")
        return _redirect(request, done_url)
    context = {
        "object": obj,
        "kind": kind if kind == "SKU" else kind.lower(),
        "cancel_url": cancel_url,
        "consequence": consequence,
    }
    return render(request, "products/confirm_delete.html", context)


# --- SKUs -----------------------------------------------------------------------------------


def _get_sku(request, product_id: str, sku_id: str) -> Sku:
    queryset = Sku.objects.select_related("product", "project").filter(
        product__public_id=product_id
    )
    return get_for_project_or_404(queryset, request.project, public_id=sku_id)


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def sku_create(request, product_id: str):
    product = get_for_project_or_404(
        Product.objects.select_related("project"), request.project, public_id=product_id
    )
    form = SkuForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid():
        try:
            sku = services.sku_create(
                product=product, data=form.service_data(), source_id=form.cleaned_data["source_id"]
            )
        except ApplicationError as exc:
            _error_to_form(form, exc, {"metadata": "metadata", "price": "price"})
        else:
            messages.success(request, f"SKU “{sku}” added to {product}.")
            return _redirect(request, reverse("products:detail", args=[product.public_id]))
    return render(request, "products/sku_form.html", {"form": form, "product": product})


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def sku_edit(request, product_id: str, sku_id: str):
    sku = _get_sku(request, product_id, sku_id)
    form = SkuForm(request.POST or None, product=sku.product, sku=sku)
    if request.method == "POST" and form.is_valid():
        try:
            services.sku_update(sku=sku, data=form.service_data())
        except ApplicationError as exc:
            _error_to_form(form, exc, {"metadata": "metadata", "price": "price"})
        else:
            messages.success(request, f"SKU “{sku}” saved.")
            return _redirect(request, reverse("products:detail", args=[sku.product.public_id]))
    context = {"form": form, "product": sku.product, "sku": sku}
    return render(request, "products/sku_form.html", context)


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def sku_delete(request, product_id: str, sku_id: str):
    sku = _get_sku(request, product_id, sku_id)
    detail_url = reverse("products:detail", args=[sku.product.public_id])
    return _confirm_delete(
        request,
        sku,
        kind="SKU",
        delete=lambda: services.sku_delete(sku=sku),
        cancel_url=detail_url,
        done_url=detail_url,
        consequence="It leaves every collection; orders keep their copy of its name.",
    )


# --- collections ----------------------------------------------------------------------------


@member_required()
@require_GET
def collections(request):
    fields = product_filter_fields(request.project)
    rows = [
        (c, describe_filter(c.filter, fields=fields, currency=request.project.currency))
        if c.type == CollectionType.AUTO_UPDATE
        else (c, "")
        for c in collection_list(project=request.project)
    ]
    return render(request, "products/collection_list.html", {"rows": rows})


@member_required()
def collection_detail(request, collection_id: str):
    collection = get_for_project_or_404(
        ProductCollection.objects.select_related("project"),
        request.project,
        public_id=collection_id,
    )
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    fields = product_filter_fields(request.project)
    page = paginate(collection_products(collection), request.GET.get("page"), PAGE_SIZE)
    context = {
        "collection": collection,
        "page": page,
        "skus": collection_skus(collection)[:200]
        if collection.type == CollectionType.STATIC
        else [],
        "summary": describe_filter(
            collection.filter, fields=fields, currency=request.project.currency
        ),
        "filter_error": _filter_error(collection, fields),
        "filter_json": json.dumps(collection.filter, indent=2, ensure_ascii=False),
    }
    return render_page_or_partial(
        request, "products/collection_detail.html", context, partial="results"
    )


def _filter_error(collection: ProductCollection, fields) -> str:
    if collection.type != CollectionType.AUTO_UPDATE:
        return ""
    try:
        compile_filter(collection.filter, fields)
    except FilterError as exc:
        return exc.message
    return ""


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def collection_create(request):
    return _collection_form(request, None)


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def collection_edit(request, collection_id: str):
    collection = get_for_project_or_404(
        ProductCollection.objects.select_related("project"),
        request.project,
        public_id=collection_id,
    )
    return _collection_form(request, collection)


def _collection_form(request, collection: ProductCollection | None):
    project = request.project
    data = request.POST if request.method == "POST" else None
    initial = {}
    if collection is not None:
        initial = {
            "name": collection.name,
            "type": collection.type,
            "items": _item_refs(collection),
        }
    form = CollectionForm(data, project=project, collection=collection, initial=initial)
    definition = filter_definition(data, project=project, collection=collection)
    action = (data or {}).get("_action", "save")
    kind = collection.type if collection else (data or {}).get("type", CollectionType.AUTO_UPDATE)
    if data is not None and action == "save":
        saved = _save_collection(request, form, definition, collection, kind)
        if saved is not None:
            verb = "saved" if collection else "created"
            messages.success(request, f"Collection “{saved.name}” {verb}.")
            return _redirect(request, reverse("products:collection_detail", args=[saved.public_id]))
    context = _builder_context(request, form, definition, collection, kind)
    if request.htmx and data is not None and action != "save":
        return render(request, "products/collection_form.html#definition", context)
    return render(request, "products/collection_form.html", context)


def _save_collection(request, form, definition, collection, kind):
    auto = kind == CollectionType.AUTO_UPDATE
    if not form.is_valid() or (auto and definition.filter is None):
        return None
    data = form.cleaned_data
    products, skus = data["items"]
    try:
        if collection is None and auto:
            return services.collection_create(
                project=request.project, name=data["name"], type=kind, filter=definition.filter
            )
        if collection is None:
            return services.collection_create(
                project=request.project, name=data["name"], type=kind, products=products, skus=skus
            )
        if auto:
            return services.collection_update(
                collection=collection, name=data["name"], filter=definition.filter
            )
        return services.collection_update(
            collection=collection, name=data["name"], products=products, skus=skus
        )
    except ApplicationError as exc:
        if exc.details == "filter":
            definition.error = exc.message
        else:
            _error_to_form(form, exc, {"name": "name", "products": "items", "type": "type"})
    return None


def _item_refs(collection: ProductCollection) -> str:
    if collection.type != CollectionType.STATIC:
        return ""
    refs = list(collection.items.values_list("product__public_id", "sku__public_id"))
    return "\n".join(product or sku for product, sku in refs)


def _builder_context(request, form, definition, collection, kind) -> dict:
    fields = product_filter_fields(request.project)
    rows = [
        {
            "row": row,
            "operators": operator_choices(fields, row),
            "type": field_type(fields, row),
            "needs_value": row.operator not in VALUELESS,
        }
        for row in definition.builder.rows
    ]
    return {
        "form": form,
        "collection": collection,
        "kind": kind,
        "definition": definition,
        "rows": rows,
        "field_choices": field_choices(fields),
        "operator_labels": OPERATOR_LABELS,
    }


@member_required()
@require_GET
def collection_preview(request):
    """The live count for the builder: how many products the filter being edited matches."""
    definition = filter_definition(request.GET, project=request.project, preview=True)
    context = {"definition": definition, "limit": PREVIEW_LIMIT}
    if definition.filter is not None:
        collection = ProductCollection(
            project=request.project, type=CollectionType.AUTO_UPDATE, filter=definition.filter
        )
        matches = collection_products(collection)
        context["count"] = matches[: PREVIEW_LIMIT + 1].count()
        context["sample"] = list(matches[:5])
    return render(request, "products/partials/_collection_preview.html", context)


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def collection_delete(request, collection_id: str):
    collection = get_for_project_or_404(ProductCollection, request.project, public_id=collection_id)
    return _confirm_delete(
        request,
        collection,
        kind="Collection",
        delete=lambda: services.collection_delete(collection=collection),
        cancel_url=reverse("products:collection_detail", args=[collection.public_id]),
        done_url=reverse("products:collection_list"),
        consequence="The products themselves stay.",
    )
