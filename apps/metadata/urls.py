from django.urls import path

from . import views

app_name = "metadata"

urlpatterns = [
    path("", views.schema_list, name="list"),
    path("<str:resource>/", views.schema_edit, name="edit"),
]
