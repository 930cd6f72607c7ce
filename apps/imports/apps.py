from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "apps.imports"
