"""API authentication: request headers → the project and the kind of key, or a 401 error.

Server keys: `X-App-Id` + `X-App-Token`. Client-side keys: `X-Client-Application-Id` +
`X-Client-Token`, and the request's `Origin` must be one the project (or the key) allows.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings

from apps.core.errors import ApplicationError
from apps.core.memo import Expiring
from apps.projects.models import ApiKey, ApiKeyKind, Project
from apps.projects.origins import origin_allowed
from apps.projects.services import api_key_touch, api_key_verify

HEADERS = {
    ApiKeyKind.SERVER: ("X-App-Id", "X-App-Token"),
    ApiKeyKind.CLIENT: ("X-Client-Application-Id", "X-Client-Token"),
}


@dataclass(frozen=True)
class ApiContext:
    project: Project
    api_key: ApiKey
    kind: str


def unauthorized(message: str, details: str = "") -> ApplicationError:
    return ApplicationError(message, key="unauthorized", code=401, details=details)


# Verified keys, per process, for API_KEY_CACHE_SECONDS: a checkout sends many requests with
# one key, and looking it up costs more than the rest of a cheap request. A revoked or changed
# key (or its project's settings) takes effect within that many seconds in every process.
_verified = Expiring()


def _verify(app_id: str, token: str, kind: str) -> ApiKey | None:
    seconds = getattr(settings, "API_KEY_CACHE_SECONDS", 0)
    if seconds <= 0:
        return api_key_verify(app_id=app_id, token=token, kind=kind)
    # the cache holds a digest of the token, never the token
    entry = (kind, app_id, hashlib.sha256(token.encode()).hexdigest())
    cached = _verified.get(entry)
    if cached is not None:
        return cached
    api_key = api_key_verify(app_id=app_id, token=token, kind=kind)
    if api_key is not None:
        _verified.put(entry, api_key, seconds)
    return api_key


def authenticate(request, *, kind: str = ApiKeyKind.SERVER) -> ApiContext:
    """Resolve the key in the request's headers; raise ApplicationError(401) with the reason."""
    id_header, token_header = HEADERS[ApiKeyKind(kind)]
    app_id = request.headers.get(id_header, "").strip()
    token = request.headers.get(token_header, "").strip()
    if not app_id or not token:
        missing = [
            name for name, value in ((id_header, app_id), (token_header, token)) if not value
        ]
        raise unauthorized("Unauthorized", details=f"Missing header(s): {', '.join(missing)}.")
    api_key = _verify(app_id, token, kind)
    if api_key is None:
        raise unauthorized(
            "Unauthorized", details=f"The {id_header} / {token_header} pair is invalid or revoked."
        )
    if kind == ApiKeyKind.CLIENT:
        origin = request.headers.get("Origin")
        allowed = [*api_key.project.allowed_origins, *api_key.allowed_origins]
        if not origin_allowed(origin, allowed):
            shown = origin or "(no Origin header)"
            raise unauthorized(
                "Unauthorized",
                details=f"Origin {shown} is not allowed for this project's client-side keys.",
            )
    api_key_touch(api_key=api_key)
    return ApiContext(project=api_key.project, api_key=api_key, kind=kind)
