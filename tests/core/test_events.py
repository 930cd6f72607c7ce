"""apps.core.events.Listeners: answers cached in the shared cache and, for a second, in the
process; forget() reaches this process at once."""

from types import SimpleNamespace

import pytest
from django.core.cache import cache

from apps.core import events, memo


@pytest.fixture
def clock(monkeypatch):
    now = SimpleNamespace(value=500.0)
    monkeypatch.setattr(memo, "time", SimpleNamespace(monotonic=lambda: now.value))
    return now


def test_listeners_load_once_then_answer_from_the_process_then_the_shared_cache(clock):
    stored = {7: ["hook-a"]}
    loads = []

    def load(project_id):
        loads.append(project_id)
        return list(stored[project_id])

    listening = events.Listeners("test-hooks", load, seconds=60)
    assert listening(7) == ["hook-a"] and loads == [7]

    stored[7] = ["hook-a", "hook-b"]  # changed by another process, which forgot its own copy
    cache.delete(listening._key(7))
    clock.value += 0.5
    assert listening(7) == ["hook-a"]  # this process keeps its answer for LOCAL_SECONDS
    clock.value += events.Listeners.LOCAL_SECONDS
    assert listening(7) == ["hook-a", "hook-b"] and loads == [7, 7]

    cache.delete(listening._key(7))
    stored[7] = []
    listening.forget(7)  # a change in this process is seen at once
    assert listening(7) == [] and loads == [7, 7, 7]
