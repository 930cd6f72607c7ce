"""Request bodies as plain data: JSON parsed, explicit nulls treated as absent.

The official SDK builds request models with `from_dict` and sends `null` for every nullable field
it was not given; Voucherify treats those as absent, and so do we: `without_nulls` drops them at
every depth before a service sees the payload.
"""

import json

from apps.core.errors import ApplicationError

MAX_BODY = 1_000_000  # bytes; a checkout body is a few kilobytes


def without_nulls(value):
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value if item is not None]
    return value


def json_body(request) -> dict:
    """The request's JSON object, or ApplicationError(invalid_payload) saying why not."""
    if len(request.body) > MAX_BODY:
        raise ApplicationError("The request body is too large.", key="invalid_payload")
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApplicationError(
            "The request body is not valid JSON.", key="invalid_payload", details=str(exc)
        ) from exc
    if not isinstance(data, dict):
        raise ApplicationError("The request body must be a JSON object.", key="invalid_payload")
    # a JSON null is always the bytes `null`: a body without them has nothing to drop
    return without_nulls(data) if b"null" in request.body else data


def json_list(request, *, max_body: int = MAX_BODY) -> list:
    """A JSON array body (bulk and import requests), explicit nulls dropped as in `json_body`."""
    if len(request.body) > max_body:
        raise ApplicationError("The request body is too large.", key="invalid_payload")
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApplicationError(
            "The request body is not valid JSON.", key="invalid_payload", details=str(exc)
        ) from exc
    if not isinstance(data, list):
        raise ApplicationError("The request body must be a JSON array.", key="invalid_payload")
    return without_nulls(data)


def csv_upload(request):
    """The CSV of an import: the multipart form field `file`."""
    upload = request.FILES.get("file")
    if upload is None:
        raise ApplicationError(
            "Send the CSV as multipart form-data in a field named file.",
            key="invalid_payload",
            details="file",
        )
    return upload
