"""Who uses a segment: validation rules, distributions and others register a check here (in
their AppConfig.ready()), and segment_delete refuses while any check names a user.

    register_segment_usage(lambda segment: [f"validation rule {r.name}" for r in ...])
"""

from collections.abc import Callable

_checks: list[Callable] = []


def register_segment_usage(check: Callable) -> None:
    """`check(segment) -> list[str]`: descriptions of what uses the segment (empty: nothing)."""
    if check not in _checks:
        _checks.append(check)


def segment_usages(segment) -> list[str]:
    return [usage for check in _checks for usage in check(segment)]
