"""CORS for the client-side API: browsers on an allowed origin may call /client/v1.

A preflight (OPTIONS) carries no key, so it cannot tell which project it is for: it is answered
for origins that some project or client key allows (the list is cached for a minute). The real
request is then checked against its own project's origins by the key's authentication, and only
a request that passed that check reads its answer (or an error, from an origin that some
project allows).
"""

from django.core.cache import cache
from django.http import HttpResponse

from apps.projects.models import ApiKey, ApiKeyKind, Project
from apps.projects.origins import origin_allowed

PREFIX = "/client/"
ALLOW_HEADERS = (
    "Content-Type, X-Client-Application-Id, X-Client-Token, X-Voucherify-Channel, "
    "X-Voucherify-API-Version"
)
EXPOSE_HEADERS = (
    "X-Request-Id, X-Rate-Limit-Limit, X-Rate-Limit-Remaining, X-Rate-Limit-Retry, "
    "X-Rate-Limit-Type, Retry-After"
)
MAX_AGE = "600"
CACHE_KEY = "api:client-origins"


def known_origins() -> list[str]:
    origins = cache.get(CACHE_KEY)
    if origins is None:
        found = set()
        for values in Project.objects.values_list("allowed_origins", flat=True):
            found.update(values or [])
        keys = ApiKey.objects.filter(kind=ApiKeyKind.CLIENT, revoked_at__isnull=True)
        for values in keys.values_list("allowed_origins", flat=True):
            found.update(values or [])
        origins = sorted(found)
        cache.set(CACHE_KEY, origins, 60)
    return origins


class ClientCorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            if origin and origin_allowed(origin, known_origins()):
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
                response["Access-Control-Max-Age"] = MAX_AGE
            response["Vary"] = "Origin"
            return response
        response = self.get_response(request)
        # a request that passed its key's origin check may read the answer; so may a refused
        # one from an origin some project allows (it only reads the error)
        if origin and (
            getattr(request, "api", None) is not None or origin_allowed(origin, known_origins())
        ):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        response["Vary"] = "Origin"
        return response
