from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("", views.import_list, name="list"),
    path("new/", views.import_new, name="new"),
    path("template/", views.import_template, name="template"),
    path("<str:import_id>/", views.import_detail, name="detail"),
    path("<str:import_id>/mapping/", views.import_mapping, name="mapping"),
    path("<str:import_id>/confirm/", views.import_confirm, name="confirm"),
    path("<str:import_id>/rejected.csv", views.import_rejected, name="rejected"),
]
