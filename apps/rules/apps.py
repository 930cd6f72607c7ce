from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "apps.rules"

    def ready(self) -> None:
        from apps.segments.usage import register_segment_usage

        from .selectors import rules_using_segment

        register_segment_usage(rules_using_segment)
