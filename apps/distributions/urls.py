from django.urls import path

from . import views

app_name = "distributions"

urlpatterns = [
    path("", views.distributions, name="list"),
    path("new/", views.distribution_create, name="create"),
    path("preview/", views.distribution_preview, name="preview"),
    path("test-send/", views.distribution_test_send, name="test_send"),
    path("segment-size/", views.segment_size, name="segment_size"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("<str:distribution_id>/", views.distribution_detail, name="detail"),
    path("<str:distribution_id>/edit/", views.distribution_edit, name="edit"),
    path("<str:distribution_id>/send/", views.distribution_send, name="send"),
    path("<str:distribution_id>/unschedule/", views.distribution_unschedule, name="unschedule"),
    path("<str:distribution_id>/toggle/", views.distribution_toggle, name="toggle"),
    path("<str:distribution_id>/delete/", views.distribution_delete, name="delete"),
    path(
        "<str:distribution_id>/deliveries/<int:message_id>/retry/",
        views.delivery_retry,
        name="delivery_retry",
    ),
]
