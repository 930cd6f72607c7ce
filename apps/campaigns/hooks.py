"""Rows of higher apps that point at vouchers without a database constraint (rule assignments,
redemptions, session locks) register here how to let go of a campaign's codes, so that
campaign_delete can remove a million codes with one statement and still leave nothing dangling.

    register_codes_cleanup(lambda cursor, voucher_ids_sql, params: cursor.execute(...))

`voucher_ids_sql` is a sub-select of the ids of the codes being deleted, with `params`.
"""

from collections.abc import Callable

_cleanups: list[Callable] = []


def register_codes_cleanup(cleanup: Callable) -> None:
    if cleanup not in _cleanups:
        _cleanups.append(cleanup)


def codes_cleanups() -> list[Callable]:
    return list(_cleanups)
