"""The client-side API at /client/v1 (reference §4): what a storefront's browser may call with a
client key (`X-Client-Application-Id` + `X-Client-Token`) from an allowed origin.

Each client IP gets the project's `client_rate_limit` requests per `client_rate_window` seconds.
A browser must not learn which codes exist: an unknown code and a used-up, disabled or expired one
answer the same "not found", with no explanation, and each such failed look-up counts against the
IP's failed-code allowance (`apps.api.ratelimit`); once it is spent, validations and redemptions
from that IP are refused until the window ends.
"""

import time

from ninja import Router
from ninja.security import APIKeyHeader

from apps.core.errors import ApplicationError
from apps.engine.validation import INAPPLICABLE
from apps.projects.models import ApiKeyKind
from apps.redemptions import services
from apps.redemptions.models import ChannelType
from apps.redemptions.qualification import qualification_check

from .. import ratelimit, serializers
from ..auth import authenticate
from ..payload import json_body
from . import events, promotions

# failures that tell a code exists: a client key sees them as an unknown code
REVEALING = frozenset(
    {
        "not_found",
        "quantity_exceeded",
        "voucher_disabled",
        "voucher_expired",
        "voucher_not_active",
        "voucher_not_active_now",
    }
)


class ClientKey(APIKeyHeader):
    param_name = "X-Client-Token"

    def __call__(self, request):
        request.api = authenticate(request, kind=ApiKeyKind.CLIENT)
        now = time.time()
        usage = ratelimit.client(request.api.project, ratelimit.client_ip(request), now)
        request.rate_limit_headers = usage.headers(now)
        if usage.exceeded:
            raise ratelimit.too_many(usage, now, "Too many requests from this address.")
        return request.api

    def authenticate(self, request, key):  # pragma: no cover - __call__ does the work
        return None


router = Router(tags=["client-side"], auth=ClientKey())


def _unknown(entry_id: str, request_id: str) -> dict:
    return {
        "code": 404,
        "key": "not_found",
        "message": "Resource not found",
        "details": f"Cannot find voucher with id {entry_id}",
        "request_id": request_id,
        "resource_id": entry_id,
        "resource_type": "voucher",
    }


def _conceal(entries: list[dict], request_id: str) -> int:
    """Make revealing failures of codes look like unknown codes, in place; how many there were."""
    hidden = 0
    for entry in entries:
        error = (entry.get("result") or {}).get("error") or {}
        if entry.get("object") != "voucher" or error.get("key") not in REVEALING:
            continue
        hidden += 1
        for key in ("name", "campaign_id", "campaign_name", "order"):
            entry.pop(key, None)
        entry["result"] = {"error": _unknown(entry["id"], request_id)}
        entry["metadata"] = {}
        entry["categories"] = []
    return hidden


def _guessing_guard(request) -> str:
    """Refuse at once while this IP's failed-code allowance is spent; return the IP."""
    ip = ratelimit.client_ip(request)
    now = time.time()
    usage = ratelimit.failed_codes(request.api.project, ip, now)
    if usage.count >= usage.limit:
        blocked = ratelimit.Usage(usage.limit, usage.limit + 1, usage.resets_at, usage.kind)
        raise ratelimit.too_many(blocked, now, "Too many unknown codes from this address.")
    return ip


def _count_failures(request, ip: str, failures: int) -> None:
    if failures:
        ratelimit.failed_codes(request.api.project, ip, time.time(), add=failures)


@router.post("/validations", summary="Validate Stackable Discounts (client-side)")
def client_validations(request):
    ip = _guessing_guard(request)
    result = services.validation_check(project=request.api.project, payload=json_body(request))
    body = serializers.validation(result, request.request_id)
    failures = _conceal(body["redeemables"], request.request_id)
    _count_failures(request, ip, failures)
    return body


@router.post("/qualifications", summary="Check Eligibility (client-side)")
def client_qualifications(request):
    result = qualification_check(project=request.api.project, payload=json_body(request))
    return serializers.qualification(result)


@router.get("/promotions/tiers", summary="List Promotion Tiers (client-side)")
def client_tiers(request, limit: int = 10, page: int = 1, order: str | None = None):
    """The promotions a storefront may show: available tiers only (active, in their dates)."""
    return promotions.tiers_list(request, is_available=True, limit=limit, page=page, order=order)


@router.post("/events", summary="Track Custom Event (client-side)")
def client_events(request):
    return events.events_create(request)


@router.post("/redemptions", summary="Redeem Stackable Discounts (client-side)")
def client_redemptions(request):
    project = request.api.project
    if not project.client_redemptions_enabled:
        raise ApplicationError(
            "Redemptions with client-side keys are disabled for this project.",
            key="forbidden",
            code=403,
            details="Enable them in Project settings, or redeem from your server.",
        )
    ip = _guessing_guard(request)
    done = services.redemption_redeem(
        project=project,
        payload=json_body(request),
        channel_type=ChannelType.API,
        channel_id=request.api.api_key.public_id,
    )
    failed = [r for r in done.outcome.results if r.status == INAPPLICABLE]
    entries = [serializers.failed_entry(r, request.request_id) for r in failed]
    failures = _conceal(entries, request.request_id)
    _count_failures(request, ip, failures)
    if done.error is not None:
        error = done.error
        if failures and error.key in REVEALING:
            error = ApplicationError(
                "Resource not found",
                key="not_found",
                code=404,
                details=f"Cannot find voucher with id {error.extra.get('resource_id', '')}",
            )
        raise error
    return serializers.redeemed(done, request.request_id)
