"""Walks the URL conf so access tests cover every dashboard URL, including ones added later."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    kwargs: tuple[str, ...]
    callback: object

    @property
    def is_public(self) -> bool:
        return getattr(self.callback, "login_required", True) is False

    @property
    def roles(self) -> dict | None:
        return getattr(self.callback, "member_required", None)


def iter_routes(patterns=None, namespace: str = "", parent_kwargs: tuple[str, ...] = ()):
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        kwargs = parent_kwargs + tuple(getattr(entry.pattern, "converters", {}).keys())
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from iter_routes(entry.url_patterns, full_ns, kwargs)
        elif isinstance(entry, URLPattern):
            if not entry.name:
                raise AssertionError(f"URL {entry.pattern} has no name; every URL needs one")
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(name=name, kwargs=kwargs, callback=entry.callback)


API_NAMESPACE = "api-"  # the /v1 API authenticates keys, not sessions: tests/api/test_access.py


def all_routes() -> list[Route]:
    """Every dashboard URL."""
    return [route for route in iter_routes() if not route.name.startswith(API_NAMESPACE)]


def api_routes() -> list[Route]:
    return [route for route in iter_routes() if route.name.startswith(API_NAMESPACE)]
