"""An HTTP POST with the same hand-over hook as mail.py: everything but the body's last byte
is written, the delivery is recorded, then the last byte goes out. A server acts on a request
only once its whole body (Content-Length) has arrived."""

import http.client
import json
import urllib.parse

from .errors import DeliveryError, HandoverRefused

MAX_RESPONSE = 2000


def post(
    url: str,
    body: bytes,
    headers: dict,
    *,
    handover=None,
    timeout: float = 10.0,
) -> tuple[int, str]:
    """(status, response text); raises DeliveryError for transport failures and answers that
    mean "not delivered" (5xx and 429 are transient, other 4xx permanent)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"Not an http(s) URL: {url}", permanent=True)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if not body:
        raise ValueError("an empty body cannot be handed over")
    connection = cls(parts.hostname, parts.port, timeout=timeout)
    try:
        try:
            connection.putrequest("POST", path)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                connection.putheader(name, value)
            connection.endheaders()
            connection.send(body[:-1])
            if handover is not None and not handover():
                raise HandoverRefused()
            connection.send(body[-1:])
            response = connection.getresponse()
            text = response.read(MAX_RESPONSE).decode(errors="replace")
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}"[:500], connection=True) from exc
    finally:
        connection.close()
    status = response.status
    if 200 <= status < 300:
        return status, text
    reason = f"HTTP {status}: {text[:300]}".strip()
    raise DeliveryError(reason, permanent=400 <= status < 500 and status not in (408, 429))


def post_json(url: str, payload: dict, *, headers: dict | None = None, handover=None, timeout=10.0):
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    return post(
        url,
        body,
        {"Content-Type": "application/json", **(headers or {})},
        handover=handover,
        timeout=timeout,
    )
