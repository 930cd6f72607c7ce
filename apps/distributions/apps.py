from django.apps import AppConfig


class DistributionsConfig(AppConfig):
    name = "apps.distributions"

    def ready(self):
        from apps.campaigns.hooks import register_codes_cleanup
        from apps.core import events
        from apps.segments.usage import register_segment_usage

        from . import triggers
        from .models import Delivery, Distribution

        events.subscribe(triggers.on_event)

        def distributions_using_segment(segment) -> list[str]:
            return [
                f"distribution {name}"
                for name in Distribution.objects.filter(segment=segment).values_list(
                    "name", flat=True
                )
            ]

        register_segment_usage(distributions_using_segment)

        def forget_codes(cursor, voucher_ids_sql: str, params: list) -> None:
            cursor.execute(
                f"UPDATE {Delivery._meta.db_table} SET voucher_id = NULL "  # noqa: S608
                f"WHERE voucher_id IN ({voucher_ids_sql})",
                params,
            )

        register_codes_cleanup(forget_codes)
