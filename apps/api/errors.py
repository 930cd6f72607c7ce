from django.http import JsonResponse

from apps.core.errors import ApplicationError


def error_response(request, error: ApplicationError) -> JsonResponse:
    """Voucherify's error object, used for every API error (401, 404, 400, ...)."""
    request_id = getattr(request, "request_id", "")
    return JsonResponse(error.as_dict(request_id=request_id), status=error.code)
