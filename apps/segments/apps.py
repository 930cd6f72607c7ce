from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "apps.segments"

    def ready(self):
        from apps.core.hooks import on_customers_bulk_changed, on_customers_changed

        from .services import customers_changed_listener
        from .tasks import segments_recompute_project_task

        on_customers_changed(customers_changed_listener)
        on_customers_bulk_changed(segments_recompute_project_task.delay)
