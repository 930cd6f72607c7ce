from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.customers, name="list"),
    path("new/", views.customer_form, name="create"),
    path("<str:customer_id>/", views.customer_detail, name="detail"),
    path("<str:customer_id>/edit/", views.customer_form, name="edit"),
    path("<str:customer_id>/delete/", views.customer_delete, name="delete"),
    path("<str:customer_id>/erase/", views.customer_erase, name="erase"),
]
