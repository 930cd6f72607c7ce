"""Vouchers (reference §3.1): generate, create with code, get, update, delete, enable, disable,
balance, transactions, import, release session.

`{code}` is a code (case-folded unless the project's codes are case-sensitive) or a `v_` id;
codes are percent-decoded by Django before routing, so `%`, spaces and non-ASCII characters
work. A code cannot contain `/` (services refuse it), as it would split the path.
"""

from datetime import UTC, datetime

from django.db import transaction
from django.http import HttpResponse
from ninja import Router, Status

from apps.campaigns import services
from apps.campaigns.models import (
    Campaign,
    Category,
    TransactionType,
    Voucher,
    VoucherTransaction,
    VoucherType,
)
from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.imports.models import ImportKind
from apps.imports.services import import_unattended
from apps.imports.services.vouchers import vouchers_import_json
from apps.redemptions.services import session_release
from apps.rules.models import ValidationRule
from apps.rules.services import assignment_create

from .. import lookups
from ..listing import check_paging, invalid_query, ordering, page_of
from ..payload import csv_upload, json_body, json_list
from ..serializers import iso
from ..shapes.campaigns import voucher, with_voucher_relations
from .async_actions import accepted

router = Router(tags=["vouchers"])

VOUCHER_ORDER = {"created_at": "created_at", "updated_at": "updated_at", "code": "code"}
ADDITIONS = (TransactionType.CREDITS_ADDITION, TransactionType.POINTS_ADDITION)
REMOVALS = (TransactionType.CREDITS_REMOVAL, TransactionType.POINTS_REMOVAL)


# -- helpers the campaigns router shares ----------------------------------------------------------


def invalid(message: str, details: str) -> ApplicationError:
    return ApplicationError(message, key="invalid_payload", details=details)


def rules_of(request, payload: dict) -> list[ValidationRule]:
    """The validation rules a create body names (`validation_rules: [val_id]`), each of the
    caller's project, or 404."""
    ids = payload.get("validation_rules") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid("validation_rules must list rule ids.", "validation_rules")
    project = request.api.project
    return [lookups.by_id(ValidationRule, project, i, "validation_rule") for i in ids]


def assign(rules: list[ValidationRule], target) -> None:
    for rule in rules:
        assignment_create(rule=rule, target=target)


def created_voucher(request, *, payload: dict, campaign: Campaign | None, code: str | None):
    """voucher_create with the body's validation rules assigned, in one transaction."""
    rules = rules_of(request, payload)
    with transaction.atomic():
        created = services.voucher_create(
            project=request.api.project, payload=payload, campaign=campaign, code=code
        )
        assign(rules, created)
    return voucher(_voucher_by_pk(created.pk), request)


def _voucher(request, code: str) -> Voucher:
    return lookups.voucher(request.api.project, code)


def _voucher_by_pk(pk: int) -> Voucher:
    return with_voucher_relations(Voucher.objects.all()).get(pk=pk)


def _body_campaign(request, payload: dict) -> Campaign | None:
    ref = payload.get("campaign_id") or payload.get("campaign")
    if ref is None:
        return None
    if not isinstance(ref, str):
        raise invalid("campaign must be a campaign's name or id.", "campaign")
    return lookups.campaign(request.api.project, ref)


# -- collection -----------------------------------------------------------------------------------


@router.post("/vouchers", summary="Generate Random Code")
def vouchers_generate(request):
    """A voucher with a code drawn from `code_config` (or the campaign's), unless the body
    names its `code`; standalone, or in `campaign`/`campaign_id`."""
    payload = json_body(request)
    code = payload.get("code")
    if code is not None and not isinstance(code, str):
        raise invalid("code must be a string.", "code")
    return created_voucher(
        request, payload=payload, campaign=_body_campaign(request, payload), code=code
    )


def _moments(request, field: str) -> dict:
    """`created_at[before]` / `created_at[after]` query parameters as ORM filters."""
    filters = {}
    for bound, lookup in (("before", "lt"), ("after", "gt")):
        raw = request.GET.get(f"{field}[{bound}]")
        if raw is None:
            continue
        try:
            moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise invalid_query(f"{field}[{bound}] must be an ISO 8601 date.") from None
        filters[f"{field}__{lookup}"] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return filters


def _ids(request) -> list[str]:
    """`ids` repeated, or as the SDK sends a list (its text form: `['v_1', 'v_2']`)."""
    values = []
    for raw in request.GET.getlist("ids") + request.GET.getlist("ids[]"):
        for part in raw.strip("[]").split(","):
            part = part.strip().strip("'\"")
            if part:
                values.append(part)
    return values


@router.get("/vouchers", summary="List Vouchers")
def vouchers_list(
    request,
    limit: int = 10,
    page: int = 1,
    campaign: str | None = None,
    campaign_id: str | None = None,
    category: str | None = None,
    customer: str | None = None,
    code: str | None = None,
    order: str | None = None,
):
    """Newest first. Filters: campaign (name) or campaign_id, category (name or id), customer
    (the holder: id or source_id), code, ids, created_at/updated_at [before]/[after]. A filter
    naming nothing of the project gives an empty list."""
    project = request.api.project
    vouchers = Voucher.objects.filter(project=project)
    if campaign_id is not None or campaign is not None:
        ref = campaign_id if campaign_id is not None else campaign
        found = Campaign.objects.filter(project=project, public_id=ref).first()
        found = found or Campaign.objects.filter(project=project, name=ref).first()
        vouchers = vouchers.filter(campaign=found) if found else vouchers.none()
    if category is not None:
        found = Category.objects.filter(project=project, public_id=category).first()
        found = found or Category.objects.filter(project=project, name=category).first()
        vouchers = vouchers.filter(category=found) if found else vouchers.none()
    if customer is not None:
        holder = Customer.objects.filter(project=project, public_id=customer).first()
        holder = holder or Customer.objects.filter(project=project, source_id=customer).first()
        vouchers = vouchers.filter(holder=holder) if holder else vouchers.none()
    if code is not None:
        vouchers = vouchers.filter(code_key=code if project.codes_case_sensitive else code.upper())
    ids = _ids(request)
    if ids:
        vouchers = vouchers.filter(public_id__in=ids)
    vouchers = vouchers.filter(**_moments(request, "created_at"), **_moments(request, "updated_at"))
    return page_of(
        with_voucher_relations(vouchers),
        data_ref="vouchers",
        shape=lambda v: voucher(v, request),
        limit=limit,
        page=page,
        order_by=ordering(order, VOUCHER_ORDER, "-created_at"),
    )


@router.post("/vouchers/importCSV", summary="Import Vouchers using CSV", response={202: dict})
def vouchers_import_csv(request):
    """The CSV's columns are the dashboard import's (code, campaign, type, discount_type, …,
    metadata.<key>); rows that fail are counted in the async action's result."""
    imp = import_unattended(
        project=request.api.project, kind=ImportKind.VOUCHERS, upload=csv_upload(request)
    )
    return Status(202, accepted(imp.job))


@router.post("/vouchers/import", summary="Import Vouchers", response={202: dict})
def vouchers_import(request):
    job = vouchers_import_json(project=request.api.project, items=json_list(request))
    return Status(202, accepted(job))


# -- one voucher ----------------------------------------------------------------------------------


def _balance(v: Voucher, amount: int) -> dict:
    gift = v.type == VoucherType.GIFT_VOUCHER
    return {
        "amount": amount,
        "total": (v.gift_amount if gift else v.loyalty_points) or 0,
        "balance": (v.gift_balance if gift else v.loyalty_balance) or 0,
        "type": "gift_voucher" if gift else "loyalty_card",
        "operation_type": "MANUAL",
        "object": "balance",
        "related_object": {"type": "voucher", "id": v.public_id},
    }


@router.post("/vouchers/{code}/balance", summary="Adjust Voucher Balance")
def vouchers_balance(request, code: str):
    """Add (positive `amount`) or remove (negative) gift credits or loyalty points; a card
    never goes below zero."""
    target = _voucher(request, code)
    payload = json_body(request)
    texts = {}
    for field in ("reason", "source_id"):
        value = payload.get(field, "")
        if not isinstance(value, str):
            raise invalid(f"{field} must be a string.", field)
        texts[field] = value
    entry = services.card_adjust(voucher=target, amount=payload.get("amount"), **texts)
    return _balance(target, entry.amount)


def _transaction(entry: VoucherTransaction, v: Voucher) -> dict:
    gift = v.type == VoucherType.GIFT_VOUCHER
    if entry.type in ADDITIONS or entry.type in REMOVALS:
        source = "voucherify-web-ui" if entry.created_by_id else "API"
    else:
        source = None
    balance = {
        "type": "gift_voucher" if gift else "loyalty_card",
        "object": "balance",
        "balance": entry.balance_after,
        "operation_type": "MANUAL" if source else "AUTOMATIC",
        "related_object": {"id": v.public_id, "type": "voucher"},
    }
    balance["amount" if gift else "points"] = entry.amount
    return {
        "id": entry.public_id,
        "source_id": entry.source_id or None,
        "voucher_id": v.public_id,
        "campaign_id": v.campaign.public_id if v.campaign_id else None,
        "source": source,
        "reason": entry.reason or None,
        "related_transaction_id": None,
        "created_at": iso(entry.created_at),
        "type": entry.type,
        "details": {"balance": balance},
    }


def transactions_page(entries, *, limit: int, order: str, starting_after_id: str | None) -> dict:
    """A page of ledger entries, newest first (`order=id` for oldest first), continued after
    `starting_after_id`, in Voucherify's cursor envelope (`has_more`, `more_starting_after`)."""
    check_paging(limit, 1)
    if order not in ("id", "-id"):
        raise invalid_query("order must be id or -id.")
    if starting_after_id is not None:
        after = entries.filter(public_id=starting_after_id).values_list("pk", flat=True).first()
        if after is None:
            raise invalid_query(f"starting_after_id {starting_after_id} is no transaction here.")
        entries = entries.filter(pk__lt=after) if order == "-id" else entries.filter(pk__gt=after)
    entries = entries.select_related("voucher__campaign").order_by(order.replace("id", "pk"))
    rows = list(entries[: limit + 1])
    data = [_transaction(entry, entry.voucher) for entry in rows[:limit]]
    body = {"object": "list", "data_ref": "data", "data": data, "has_more": len(rows) > limit}
    if body["has_more"]:
        body["more_starting_after"] = data[-1]["id"]
    return body


@router.get("/vouchers/{code}/transactions", summary="List Voucher Transactions")
def vouchers_transactions(
    request,
    code: str,
    limit: int = 10,
    order: str = "-id",
    starting_after_id: str | None = None,
):
    """The card's ledger; page on with the last id seen as `starting_after_id`."""
    entries = VoucherTransaction.objects.filter(voucher=_voucher(request, code))
    return transactions_page(entries, limit=limit, order=order, starting_after_id=starting_after_id)


@router.delete(
    "/vouchers/{code}/sessions/{session_key}",
    summary="Release Validation Session",
    response={204: None},
)
def vouchers_release_session(request, code: str, session_key: str):
    target = _voucher(request, code)
    session_release(project=request.api.project, code=target.code, key=session_key)
    return HttpResponse(status=204)


@router.post("/vouchers/{code}/enable", summary="Enable Voucher")
def vouchers_enable(request, code: str):
    target = services.voucher_set_active(voucher=_voucher(request, code), active=True)
    return voucher(_voucher_by_pk(target.pk), request)


@router.post("/vouchers/{code}/disable", summary="Disable Voucher")
def vouchers_disable(request, code: str):
    target = services.voucher_set_active(voucher=_voucher(request, code), active=False)
    return voucher(_voucher_by_pk(target.pk), request)


@router.get("/vouchers/{code}", summary="Get Voucher")
def vouchers_get(request, code: str):
    return voucher(_voucher_by_pk(_voucher(request, code).pk), request)


@router.post("/vouchers/{code}", summary="Create Voucher")
def vouchers_create(request, code: str):
    payload = json_body(request)
    return created_voucher(
        request, payload=payload, campaign=_body_campaign(request, payload), code=code
    )


@router.put("/vouchers/{code}", summary="Update Voucher")
def vouchers_update(request, code: str):
    target = _voucher(request, code)
    services.voucher_update(voucher=target, payload=json_body(request))
    return voucher(_voucher_by_pk(target.pk), request)


@router.delete("/vouchers/{code}", summary="Delete Voucher", response={204: None})
def vouchers_delete(request, code: str, force: bool = False):
    """Deletes the voucher for good (there is no bin: `force` changes nothing)."""
    services.voucher_delete(voucher=_voucher(request, code))
    return HttpResponse(status=204)
