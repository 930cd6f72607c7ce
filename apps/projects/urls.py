from django.urls import path

from . import views

app_name = "projects"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/new/", views.project_create, name="create"),
    path("projects/<str:project_id>/switch/", views.project_switch, name="switch"),
    path("settings/", views.settings_general, name="settings"),
    path("settings/members/", views.members, name="members"),
    path("settings/members/<str:member_id>/role/", views.member_role, name="member_role"),
    path("settings/members/<str:member_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "settings/invitations/<str:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path(
        "settings/api-keys/<str:key_id>/regenerate/",
        views.api_key_regenerate,
        name="api_key_regenerate",
    ),
    path("settings/api-keys/<str:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
