"""Domain events -> webhook deliveries. Runs after the event's transaction commits: one cached
look-up says whether any webhook of the project listens; only then is the payload built."""

from dataclasses import replace

from django.apps import apps
from django.core.cache import cache

from apps.core.events import Event
from apps.projects.models import Project

from . import payloads
from .models import Webhook

CACHE_SECONDS = 60


def _cache_key(project_id: int) -> str:
    return f"webhooks:listening:{project_id}"


def forget(project_id: int) -> None:
    """Call after any change to a project's webhooks."""
    cache.delete(_cache_key(project_id))


def listening(project_id: int) -> list[tuple[int, list[str]]]:
    key = _cache_key(project_id)
    found = cache.get(key)
    if found is None:
        found = list(
            Webhook.objects.filter(project_id=project_id, active=True).values_list("pk", "events")
        )
        cache.set(key, found, CACHE_SECONDS)
    return found


BULK_CHUNK = 1000


def on_event(event: Event) -> None:
    from .services import deliveries_create

    ids = [pk for pk, events in listening(event.project_id) if not events or event.type in events]
    if not ids:
        return
    project = Project.objects.get(pk=event.project_id)
    webhooks = list(Webhook.objects.filter(pk__in=ids, active=True))
    kind = str(event.type)
    if not event.is_bulk:
        deliveries_create(
            project=project, webhooks=webhooks, event_type=kind, data=payloads.data(event)
        )
        return
    # one event per object of a bulk change, loaded a chunk at a time
    model = apps.get_model(event.model)
    for start in range(0, len(event.ids), BULK_CHUNK):
        chunk = event.ids[start : start + BULK_CHUNK]
        for obj in model._default_manager.filter(project_id=event.project_id, pk__in=chunk):
            single = replace(event, object=obj, ids=(), model="")
            deliveries_create(
                project=project, webhooks=webhooks, event_type=kind, data=payloads.data(single)
            )
