import logging

from django.http import JsonResponse

from apps.core.errors import ApplicationError

log = logging.getLogger(__name__)


def error_response(request, error: ApplicationError) -> JsonResponse:
    """Voucherify's error object, used for every API error (401, 404, 400, ...).

    A refusal (4xx) is logged here, once, with the key and the request id the client got, so
    that an integrator's `request_id` leads to its log line; 5xx are logged where they are
    caught, with their traceback."""
    request_id = getattr(request, "request_id", "")
    if error.code < 500:
        log.info(
            "%s %s %s %s %s: %s",
            request.method,
            request.path,
            error.code,
            error.key,
            request_id,
            error.message,
        )
    return JsonResponse(error.as_dict(request_id=request_id), status=error.code)
