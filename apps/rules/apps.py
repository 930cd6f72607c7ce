from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "apps.rules"

    def ready(self) -> None:
        from apps.campaigns.hooks import register_codes_cleanup
        from apps.segments.usage import register_segment_usage

        from .models import RuleAssignment
        from .selectors import rules_using_segment

        register_segment_usage(rules_using_segment)
        table = RuleAssignment._meta.db_table

        def forget_codes(cursor, codes_sql: str, params: list) -> None:
            cursor.execute(f"DELETE FROM {table} WHERE voucher_id IN ({codes_sql})", params)  # noqa: S608

        register_codes_cleanup(forget_codes)
