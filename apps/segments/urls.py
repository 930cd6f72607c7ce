from django.urls import path

from . import builder_views, views

app_name = "segments"

urlpatterns = [
    path("", views.segments, name="list"),
    path("new/", builder_views.segment_form, name="create"),
    path("preview/", builder_views.segment_preview, name="preview"),
    path("recompute-time-based/", views.segments_recompute_time_based, name="recompute_time_based"),
    path("<str:segment_id>/", views.segment_detail, name="detail"),
    path("<str:segment_id>/edit/", builder_views.segment_form, name="edit"),
    path("<str:segment_id>/delete/", views.segment_delete, name="delete"),
    path("<str:segment_id>/recompute/", views.segment_recompute, name="recompute"),
    path("<str:segment_id>/members/", views.segment_members, name="members"),
    path("<str:segment_id>/members/add/", views.segment_members_add, name="members_add"),
    path("<str:segment_id>/members/remove/", views.segment_members_remove, name="members_remove"),
    path("<str:segment_id>/export/", views.segment_export, name="export"),
]
