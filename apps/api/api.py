"""The Voucherify-compatible API at /v1: django-ninja for routing and the OpenAPI document, our
services for everything else. Every error, whatever raised it, is Voucherify's error object
`{code, key, message, details, request_id}` as JSON; nothing here renders HTML.
"""

import functools
import logging

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader

from apps.core.errors import ApplicationError
from apps.projects.models import ApiKeyKind

from .auth import authenticate
from .errors import error_response

log = logging.getLogger(__name__)


class ServerKey(APIKeyHeader):
    """`X-App-Id` + `X-App-Token`; the request carries the resolved key as `request.api`."""

    param_name = "X-App-Token"

    def __call__(self, request):
        request.api = authenticate(request, kind=ApiKeyKind.SERVER)
        return request.api

    def authenticate(self, request, key):  # pragma: no cover - __call__ does the work
        return None


api = NinjaAPI(
    title="Voucherify-compatible API",
    version="v2018-08-01",
    description="A self-hosted, Voucherify-compatible promotion API. Amounts are integer minor "
    "units; errors are `{code, key, message, details, request_id}`.",
    urls_namespace="api-v1",
    docs_url="/docs",
    auth=ServerKey(),
)


@api.exception_handler(ApplicationError)
def application_error(request, exc: ApplicationError):
    return error_response(request, exc)


@api.exception_handler(NinjaValidationError)
def invalid_input(request, exc: NinjaValidationError):
    details = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', []))}: {error.get('msg', '')}"
        for error in exc.errors
    )
    return error_response(
        request, ApplicationError("Invalid payload", key="invalid_payload", details=details)
    )


@api.exception_handler(AuthenticationError)
def unauthorized(request, exc):
    return error_response(request, ApplicationError("Unauthorized", key="unauthorized", code=401))


@api.exception_handler(Http404)
def not_found(request, exc):
    return error_response(
        request, ApplicationError("Resource not found", key="not_found", code=404, details=str(exc))
    )


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    key = {400: "invalid_payload", 404: "not_found", 405: "method_not_allowed"}.get(
        exc.status_code, "error"
    )
    return error_response(request, ApplicationError(str(exc), key=key, code=exc.status_code))


@api.exception_handler(Exception)
def server_error(request, exc: Exception):
    log.exception("API error on %s %s", request.method, request.path)
    return error_response(
        request,
        ApplicationError(
            "Internal server error", key="internal_error", code=500, details=type(exc).__name__
        ),
    )


from .endpoints import (  # noqa: E402 -- routers register on the api above
    async_actions,
    campaigns,
    categories,
    checkout,
    customers,
    events,
    exports,
    loyalties,
    metadata_schemas,
    orders,
    products,
    promotions,
    publications,
    rules,
    segments,
    vouchers,
)

for module in (
    checkout,
    customers,
    events,
    metadata_schemas,
    segments,
    products,
    orders,
    exports,
    campaigns,
    vouchers,
    promotions,
    categories,
    rules,
    publications,
    loyalties,
    async_actions,
):
    api.add_router("", module.router)


def _root(request, *args, **kwargs):
    """/v1/ itself is no endpoint: a JSON 404 like every other unknown path."""
    return not_found(request, Http404("Use an endpoint under /v1/, e.g. POST /v1/validations."))


def urls():
    """The API's URL patterns. Keys authenticate API calls, never the session: every view is
    exempt from the dashboard's login requirement."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        view = pattern.callback if pattern.name != "api-root" else _root

        @functools.wraps(view)
        def exempt(request, *args, view=view, **kwargs):
            return view(request, *args, **kwargs)

        exempt.login_required = False
        exempt.csrf_exempt = True
        pattern.callback = exempt
    return patterns, app_name, namespace
