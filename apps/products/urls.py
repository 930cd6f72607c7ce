from django.urls import path

from . import views

app_name = "products"

urlpatterns = [
    path("", views.products, name="list"),
    path("new/", views.product_create, name="create"),
    # collections come before <product_id>/ so "collections" is never read as a product id
    path("collections/", views.collections, name="collection_list"),
    path("collections/new/", views.collection_create, name="collection_create"),
    path("collections/preview/", views.collection_preview, name="collection_preview"),
    path("collections/<str:collection_id>/", views.collection_detail, name="collection_detail"),
    path("collections/<str:collection_id>/edit/", views.collection_edit, name="collection_edit"),
    path(
        "collections/<str:collection_id>/delete/",
        views.collection_delete,
        name="collection_delete",
    ),
    path("<str:product_id>/", views.product_detail, name="detail"),
    path("<str:product_id>/edit/", views.product_edit, name="edit"),
    path("<str:product_id>/delete/", views.product_delete, name="delete"),
    path("<str:product_id>/skus/new/", views.sku_create, name="sku_create"),
    path("<str:product_id>/skus/<str:sku_id>/edit/", views.sku_edit, name="sku_edit"),
    path("<str:product_id>/skus/<str:sku_id>/delete/", views.sku_delete, name="sku_delete"),
]
