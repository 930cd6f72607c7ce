from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.webhooks, name="list"),
    path("<str:webhook_id>/", views.webhook_detail, name="detail"),
    path("<str:webhook_id>/test/", views.webhook_test, name="test"),
    path("<str:webhook_id>/rotate/", views.webhook_rotate, name="rotate"),
    path("<str:webhook_id>/toggle/", views.webhook_toggle, name="toggle"),
    path("<str:webhook_id>/delete/", views.webhook_delete, name="delete"),
    path(
        "<str:webhook_id>/deliveries/<int:delivery_id>/retry/",
        views.delivery_retry,
        name="delivery_retry",
    ),
]
