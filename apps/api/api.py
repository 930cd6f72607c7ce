"""The Voucherify-compatible API at /v1: django-ninja for routing and the OpenAPI document, our
services for everything else. Every error, whatever raised it, is Voucherify's error object
`{code, key, message, details, request_id}` as JSON; nothing here renders HTML.
"""

import functools
import logging
import time

from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.urls import re_path
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader

from apps.core.errors import ApplicationError
from apps.projects.models import ApiKeyKind

from . import ratelimit
from .auth import authenticate
from .errors import error_response
from .renderers import OrjsonRenderer

log = logging.getLogger(__name__)


class ServerKey(APIKeyHeader):
    """`X-App-Id` + `X-App-Token`; the request carries the resolved key as `request.api`."""

    param_name = "X-App-Token"

    def __call__(self, request):
        request.api = authenticate(request, kind=ApiKeyKind.SERVER)
        now = time.time()
        usage = ratelimit.server_key(request.api.api_key, now)
        request.rate_limit_headers = usage.headers(now)
        if usage.exceeded:
            raise ratelimit.too_many(usage, now, "This key's requests per minute are used up.")
        return request.api

    def authenticate(self, request, key):  # pragma: no cover - __call__ does the work
        return None


api = NinjaAPI(
    title="Voucherify-compatible API",
    version="v2018-08-01",
    description="A self-hosted, Voucherify-compatible promotion API. Amounts are integer minor "
    "units; errors are `{code, key, message, details, request_id}`.",
    urls_namespace="api-v1",
    # mounted at the site root: /v1/... for server keys, /client/v1/... for client-side keys
    docs_url="v1/docs",
    openapi_url="v1/openapi.json",
    auth=ServerKey(),
    renderer=OrjsonRenderer(),
)


@api.exception_handler(ApplicationError)
def application_error(request, exc: ApplicationError):
    response = error_response(request, exc)
    for name, value in getattr(exc, "headers", {}).items():
        response[name] = value
    return response


@api.exception_handler(NinjaValidationError)
def invalid_input(request, exc: NinjaValidationError):
    details = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', []))}: {error.get('msg', '')}"
        for error in exc.errors
    )
    return error_response(
        request, ApplicationError("Invalid payload", key="invalid_payload", details=details)
    )


@api.exception_handler(MultiPartParserError)
def bad_multipart(request, exc: MultiPartParserError):
    return error_response(
        request,
        ApplicationError(
            "The multipart body cannot be read.", key="invalid_payload", details=str(exc)
        ),
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
    client,
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

v1 = Router()
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
    v1.add_router("", module.router)
api.add_router("v1", v1)
api.add_router("client/v1", client.router)

JSON_BODY = {
    "required": False,
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}


def _document_json_bodies(router: Router) -> None:
    """Endpoints that read their JSON with `json_body` (Voucherify's payloads are too loose for
    typed schemas) still say in the OpenAPI document that they take a JSON object."""
    for path_view in router.path_operations.values():
        for operation in path_view.operations:
            if not {"POST", "PUT", "PATCH"} & set(operation.methods):
                continue
            sources = {
                getattr(model, "__ninja_param_source__", None)
                for model in operation.signature.models
            }
            if sources & {"body", "form", "file"}:
                continue
            extra = dict(operation.openapi_extra or {})
            extra.setdefault("requestBody", JSON_BODY)
            operation.openapi_extra = extra
    for _prefix, child, _tags in router._routers:
        _document_json_bodies(child)


_document_json_bodies(v1)
_document_json_bodies(client.router)


def _no_endpoint(request, *args, **kwargs):
    """Any other path under /v1/ or /client/v1/: a JSON 404."""
    return not_found(request, Http404(f"No endpoint at {request.path}."))


def _json_405(request, response):
    allowed = response.get("Allow", "")
    return error_response(
        request,
        ApplicationError(
            "Method not allowed",
            key="method_not_allowed",
            code=405,
            details=f"{request.method} is not allowed here; use {allowed}.",
        ),
    )


def urls():
    """The API's URL patterns, mounted at the site root after the dashboard's. Keys authenticate
    API calls, never the session: every view is exempt from the login requirement and CSRF, and
    answers with the rate-limit headers its authentication worked out."""
    patterns, app_name, namespace = api.urls
    # ninja's own root view ("") would shadow nothing (the dashboard's "/" comes first) but is
    # kept: the OpenAPI document reverses it for its path prefix
    patterns = [
        *patterns,
        re_path(r"^(client/)?v1/", _no_endpoint, name="v1-unknown"),
    ]
    for pattern in patterns:
        view = pattern.callback

        @functools.wraps(view)
        def exempt(request, *args, view=view, **kwargs):
            response = view(request, *args, **kwargs)
            if response.status_code == 405 and not response.get("Content-Type", "").startswith(
                "application/json"
            ):
                response = _json_405(request, response)
            for name, value in getattr(request, "rate_limit_headers", {}).items():
                response.setdefault(name, value)
            return response

        exempt.login_required = False
        exempt.csrf_exempt = True
        pattern.callback = exempt
    return patterns, app_name, namespace
