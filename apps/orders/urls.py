from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("", views.orders, name="list"),
    path("<str:order_id>/", views.order_detail, name="detail"),
    path("<str:order_id>/status/", views.order_status, name="status"),
]
