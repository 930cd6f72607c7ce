"""Webhook signatures: `X-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`.

Each `v1` is HMAC-SHA256 over `"<t>.<raw body>"` with one of the webhook's secrets (two while a
rotation is in progress). A receiver recomputes the HMAC with its secret, compares in constant
time, and rejects a timestamp older than five minutes, so a captured request cannot be replayed.
"""

import hashlib
import hmac
import time

HEADER = "X-Signature"
TOLERANCE_SECONDS = 300


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: list[str], timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={timestamp}"] + [f"v1={_mac(secret, timestamp, body)}" for secret in secrets]
    return ",".join(parts)


def verify(
    header: str,
    body: bytes,
    secret: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver runs: is `header` a fresh signature of `body` with `secret`?"""
    timestamp, macs = None, []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            macs.append(value)
    if timestamp is None or not macs:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, mac) for mac in macs)
