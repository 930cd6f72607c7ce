"""apps.core.memo.Expiring: entries expire, and the map empties itself at its limit."""

from types import SimpleNamespace

from apps.core import memo


def test_entries_expire_and_the_map_never_outgrows_its_limit(monkeypatch):
    now = SimpleNamespace(value=100.0)
    monkeypatch.setattr(memo, "time", SimpleNamespace(monotonic=lambda: now.value))
    kept = memo.Expiring(limit=2)
    assert kept.put("a", [], 5) == [] and kept.get("a") == []  # falsy values are kept too
    now.value += 5
    assert kept.get("a", "gone") == "gone"
    kept.put("b", 2, 60)
    kept.put("c", 3, 60)  # the third entry: the map starts again
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (None, None, 3)
    kept.pop("c")
    assert kept.get("c") is None
