from django.urls import path

from . import views

app_name = "jobs"

urlpatterns = [
    path("", views.jobs, name="list"),
    path("ping/", views.ping, name="ping"),
    path("<str:job_id>/", views.job_detail, name="detail"),
]
