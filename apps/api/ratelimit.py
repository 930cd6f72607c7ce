"""Rate limits for the API, counted in the `ratelimit` cache (Redis in production).

Fixed windows: the first request of a window creates its counter (`add`, with the window as its
time to live) and every request increments it (`incr`, atomic in Redis and in the local-memory
cache), so concurrent workers never lose a count. A window of `seconds` allows at most `limit`
requests; bursts across a window boundary can reach twice that, the usual price of fixed windows.

- server keys: `API_SERVER_RATE_LIMIT` requests per minute per key (settings);
- client keys: the project's `client_rate_limit` per `client_rate_window` seconds per client IP;
- failed code look-ups through a client key (unknown, used-up, expired codes) are counted on their
  own, `API_CLIENT_FAILED_CODE_LIMIT` per `API_CLIENT_FAILED_CODE_WINDOW` seconds per IP, and
  once spent every validation or redemption from that IP is refused until the window ends: code
  guessing from a browser slows to a crawl.
"""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

from apps.core.errors import ApplicationError

MESSAGE = "Too many requests hit the API too quickly."


@dataclass(frozen=True)
class Usage:
    limit: int
    count: int
    resets_at: float  # epoch seconds
    kind: str

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    def headers(self, now: float) -> dict[str, str]:
        headers = {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(max(0, self.limit - self.count)),
            "X-Rate-Limit-Retry": str(math.ceil(self.resets_at)),
            "X-Rate-Limit-Type": self.kind,
        }
        if self.exceeded:
            headers["Retry-After"] = str(max(1, math.ceil(self.resets_at - now)))
        return headers


def _cache():
    return caches[getattr(settings, "API_RATE_LIMIT_CACHE", "default")]


def _window(key: str, seconds: int, now: float) -> tuple[str, float]:
    start = int(now // seconds) * seconds
    return f"rl:{key}:{seconds}:{start}", start + seconds


def hit(
    key: str, *, limit: int, seconds: int, kind: str, now: float | None = None, amount: int = 1
) -> Usage:
    """Count `amount` requests against `key`'s current window."""
    now = time.time() if now is None else now
    name, resets_at = _window(key, seconds, now)
    cache = _cache()
    cache.add(name, 0, timeout=seconds + 1)
    try:
        count = cache.incr(name, amount)
    except ValueError:  # the counter expired between add and incr: this is a new window
        cache.add(name, amount, timeout=seconds + 1)
        count = amount
    return Usage(limit=limit, count=count, resets_at=resets_at, kind=kind)


def peek(key: str, *, limit: int, seconds: int, kind: str, now: float | None = None) -> Usage:
    """The current window's count without adding to it."""
    now = time.time() if now is None else now
    name, resets_at = _window(key, seconds, now)
    return Usage(limit=limit, count=_cache().get(name, 0), resets_at=resets_at, kind=kind)


def too_many(usage: Usage, now: float, details: str = "") -> ApplicationError:
    error = ApplicationError(MESSAGE, key="too_many_requests", code=429, details=details)
    error.headers = usage.headers(now)
    return error


def client_ip(request) -> str:
    """The caller's address; behind a trusted proxy, the last hop it appended to
    X-Forwarded-For (`API_TRUST_X_FORWARDED_FOR`, off by default: the header is easily forged)."""
    if getattr(settings, "API_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


# -- the API's limits --------------------------------------------------------------------------


def server_key(api_key, now: float) -> Usage:
    per_minute = settings.API_SERVER_RATE_LIMIT
    return hit(f"key:{api_key.app_id}", limit=per_minute, seconds=60, kind="api_calls", now=now)


def client(project, ip: str, now: float) -> Usage:
    return hit(
        f"client:{project.public_id}:{ip}",
        limit=project.client_rate_limit,
        seconds=project.client_rate_window,
        kind="client_api_calls",
        now=now,
    )


def _failed_codes_key(project, ip: str) -> str:
    return f"codes:{project.public_id}:{ip}"


def failed_codes(project, ip: str, now: float, *, add: int = 0) -> Usage:
    limit = settings.API_CLIENT_FAILED_CODE_LIMIT
    seconds = settings.API_CLIENT_FAILED_CODE_WINDOW
    key = _failed_codes_key(project, ip)
    if add <= 0:
        return peek(key, limit=limit, seconds=seconds, kind="failed_code_lookups", now=now)
    return hit(key, limit=limit, seconds=seconds, kind="failed_code_lookups", now=now, amount=add)
