from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "apps.segments"

    def ready(self):
        from apps.core.hooks import on_customers_bulk_changed, on_customers_changed

        from .tasks import segments_evaluate_customers_task, segments_recompute_project_task

        on_customers_changed(segments_evaluate_customers_task.delay)
        on_customers_bulk_changed(segments_recompute_project_task.delay)
