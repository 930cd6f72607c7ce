"""Categories (reference §2, §3.1): the stacking groups of campaigns, vouchers and tiers."""

from django.http import HttpResponse
from ninja import Router

from apps.campaigns import services
from apps.campaigns.models import Category

from .. import lookups
from ..listing import envelope
from ..payload import json_body
from ..shapes.promotions import category

router = Router(tags=["categories"])


@router.get("/categories", summary="List Categories")
def categories_list(request):
    rows = Category.objects.filter(project=request.api.project).order_by("hierarchy", "name")
    data = [category(c) for c in rows]
    return envelope("data", data, len(data))


@router.post("/categories", summary="Create Category")
def categories_create(request):
    return category(
        services.category_create(project=request.api.project, payload=json_body(request))
    )


@router.get("/categories/{category_id}", summary="Get Category")
def categories_get(request, category_id: str):
    return category(lookups.by_id(Category, request.api.project, category_id, "category"))


@router.put("/categories/{category_id}", summary="Update Category")
def categories_update(request, category_id: str):
    found = lookups.by_id(Category, request.api.project, category_id, "category")
    return category(services.category_update(category=found, payload=json_body(request)))


@router.delete("/categories/{category_id}", summary="Delete Category")
def categories_delete(request, category_id: str):
    found = lookups.by_id(Category, request.api.project, category_id, "category")
    services.category_delete(category=found)
    return HttpResponse(status=204)
