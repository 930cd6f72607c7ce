import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voucherify_clone.settings")

app = Celery("voucherify_clone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
