"""Domain events -> webhook deliveries. Runs after the event's transaction commits: one cached
look-up says whether any webhook of the project listens; only then is the payload built."""

from dataclasses import replace

from django.apps import apps

from apps.core.events import Event, Listeners
from apps.projects.models import Project

from . import payloads
from .models import Webhook

listening = Listeners(
    "webhooks",
    lambda project_id: list(
        Webhook.objects.filter(project_id=project_id, active=True).values_list("pk", "events")
    ),
)
forget = listening.forget  # call after any change to a project's webhooks


BULK_CHUNK = 1000


def on_event(event: Event) -> None:
    from .services import deliveries_create, deliveries_create_many

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
    # one event per object of a bulk change, loaded and written a chunk at a time
    model = apps.get_model(event.model)
    for start in range(0, len(event.ids), BULK_CHUNK):
        chunk = event.ids[start : start + BULK_CHUNK]
        objects = model._default_manager.filter(project_id=event.project_id, pk__in=chunk)
        datas = [
            payloads.data(replace(event, object=obj, ids=(), model=""))
            for obj in payloads.with_relations(objects)
        ]
        deliveries_create_many(project=project, webhooks=webhooks, event_type=kind, datas=datas)
