from django.apps import AppConfig


class RedemptionsConfig(AppConfig):
    name = "apps.redemptions"

    def ready(self) -> None:
        from apps.campaigns.hooks import register_codes_cleanup

        from .models import Redemption, ValidationSession

        redemptions = Redemption._meta.db_table
        sessions = ValidationSession._meta.db_table

        def forget_codes(cursor, codes_sql: str, params: list) -> None:
            # Redemptions stay (history); they lose the link to the deleted code, keep `code`.
            cursor.execute(
                f"UPDATE {redemptions} SET voucher_id = NULL WHERE voucher_id IN ({codes_sql})",  # noqa: S608
                params,
            )
            cursor.execute(f"DELETE FROM {sessions} WHERE voucher_id IN ({codes_sql})", params)  # noqa: S608

        register_codes_cleanup(forget_codes)
