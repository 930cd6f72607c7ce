from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"

    def ready(self):
        from apps.core import events

        from . import dispatch

        events.subscribe(dispatch.on_event)
