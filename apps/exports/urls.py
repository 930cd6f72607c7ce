from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("", views.export_list, name="list"),
    path("start/", views.export_start, name="start"),
    path("<str:job_id>/", views.export_detail, name="detail"),
    path("<str:job_id>/download/", views.export_download, name="download"),
]
