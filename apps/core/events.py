"""Domain events: what happened to which object, for the apps that react (project webhooks,
automatic distributions) without the apps that write knowing them.

Services call `emit(project_id, "order.paid", order)` inside their transaction; subscribers
(registered in their AppConfig.ready with `subscribe`) run after the transaction commits, and only
if it commits. A subscriber must be quick (look up who listens, enqueue a task) and must not raise:
an error there is logged, never shown to the caller whose write has already committed.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction

from .memo import Expiring

log = logging.getLogger(__name__)

# Voucherify's webhook event names (reference §3.13 and the webhooks guide)
EVENT_TYPES = (
    "voucher.created",
    "voucher.updated",
    "voucher.deleted",
    "voucher.published",
    "campaign.created",
    "campaign.updated",
    "campaign.deleted",
    "campaign.enabled",
    "campaign.disabled",
    "redemption.succeeded",
    "redemption.failed",
    "redemption.rollback.succeeded",
    "publication.succeeded",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.segment.entered",
    "customer.segment.left",
    "order.created",
    "order.paid",
    "order.canceled",
    "order.fulfilled",
    "customer.custom_event",
)


@dataclass(frozen=True)
class Event:
    """One event about `object`, or, from bulk work (a segment recompute that moves 100,000
    customers), one event per id in `ids` (primary keys of `model`, an "app_label.Model" label)
    with `object` None: subscribers load them in chunks."""

    project_id: int
    type: str
    object: Any  # the model instance the event is about (None for a bulk event)
    related: dict = field(default_factory=dict)  # e.g. {"segment": segment, "customer": c}
    ids: tuple = ()
    model: str = ""

    @property
    def is_bulk(self) -> bool:
        return self.object is None


_subscribers: list[Callable[[Event], None]] = []


def subscribe(callback: Callable[[Event], None]) -> None:
    if callback not in _subscribers:
        _subscribers.append(callback)


def _deliver(event: Event) -> None:
    for callback in _subscribers:
        try:
            callback(event)
        except Exception:
            log.exception("event subscriber %s failed on %s", callback.__qualname__, event.type)


def emit(project_id: int, type: str, obj, **related) -> None:
    """Announce `type` about `obj` once the current transaction commits."""
    if not _subscribers:
        return
    event = Event(project_id=project_id, type=type, object=obj, related=related)
    transaction.on_commit(lambda: _deliver(event))


def emit_many(project_id: int, type: str, model: str, ids, **related) -> None:
    """Announce `type` about many objects at once (by primary key) after the commit."""
    ids = tuple(ids)
    if not _subscribers or not ids:
        return
    event = Event(
        project_id=project_id, type=type, object=None, related=related, ids=ids, model=model
    )
    transaction.on_commit(lambda: _deliver(event))


class Listeners:
    """Who in a project listens to events (webhooks, automatic distributions), cached per
    project: a subscriber asks on every event, and most projects have no listener at all.
    `load(project_id)` reads the rows; call `forget(project_id)` after changing them (the cache
    also expires after `seconds`).

    Each process also keeps the answer for `LOCAL_SECONDS`, so that a busy checkout does not
    ask the cache (Redis in production) several times per redemption. A change therefore
    reaches every process within `seconds + LOCAL_SECONDS` (`reach`), and within
    `LOCAL_SECONDS` after `forget`."""

    LOCAL_SECONDS = 1.0
    instances: list["Listeners"] = []

    def __init__(self, name: str, load: Callable[[int], list], seconds: int = 60):
        self.name, self.load, self.seconds = name, load, seconds
        self.reach = seconds + self.LOCAL_SECONDS
        self._local = Expiring()
        Listeners.instances.append(self)

    @classmethod
    def clear_local(cls) -> None:
        """Drop every process-local answer (tests start from a clean slate with this)."""
        for listeners in cls.instances:
            listeners._local.clear()

    def _key(self, project_id: int) -> str:
        return f"events:listeners:{self.name}:{project_id}"

    def __call__(self, project_id: int) -> list:
        kept = self._local.get(project_id)
        if kept is not None:
            return kept
        found = cache.get(self._key(project_id))
        if found is None:
            found = self.load(project_id)
            cache.set(self._key(project_id), found, self.seconds)
        return self._local.put(project_id, found, self.LOCAL_SECONDS)

    def forget(self, project_id: int) -> None:
        self._local.pop(project_id)
        cache.delete(self._key(project_id))
