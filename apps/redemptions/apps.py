from django.apps import AppConfig


class RedemptionsConfig(AppConfig):
    name = "apps.redemptions"
