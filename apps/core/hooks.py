"""Customer-change notifications that point upwards without importing upwards.

Lower apps (customers, orders, imports) call `customers_changed(project_id, ids)` after they
write; higher apps (segments now, distributions later) subscribe in their AppConfig.ready().
Subscribers run after the transaction commits, and only if it commits.
"""

from collections.abc import Callable, Iterable

from django.db import transaction

_subscribers: list[Callable[..., None]] = []
_bulk_subscribers: list[Callable[[int], None]] = []


def on_customers_changed(callback: Callable[..., None]) -> None:
    """`callback(project_id, customer_ids, summary_only=…)` runs after each commit that
    changed customers."""
    if callback not in _subscribers:
        _subscribers.append(callback)


def customers_changed(
    project_id: int, customer_ids: Iterable[int | None], *, summary_only: bool = False
) -> None:
    """These customers changed. `summary_only`: only their order and redemption summaries did
    (an order or a redemption was written), which lets a subscriber skip work that depends on
    nothing else."""
    ids = sorted({pk for pk in customer_ids if pk is not None})
    if not ids:
        return
    for callback in _subscribers:
        transaction.on_commit(
            lambda callback=callback: callback(project_id, ids, summary_only=summary_only)
        )


def on_customers_bulk_changed(callback: Callable[[int], None]) -> None:
    if callback not in _bulk_subscribers:
        _bulk_subscribers.append(callback)


def customers_bulk_changed(project_id: int) -> None:
    """Many customers of a project changed at once (an import): subscribers recompute in bulk."""
    for callback in _bulk_subscribers:
        transaction.on_commit(lambda callback=callback: callback(project_id))
