"""Validation, redemption, rollback and session locks: gather a snapshot, ask the engine, persist.

Locks, always in this order, so two requests never wait on each other in a circle:
    customer row → vouchers (primary-key order) → campaigns (primary-key order, only when a rule
    counts campaign redemptions or a budget) → the order row (order_upsert).
Counters and balances change by conditional UPDATEs under those locks; a rollback flips the
redemption's status with `WHERE status = 'SUCCEEDED'`, which makes it exactly-once.
"""

import datetime as dt
import hashlib
import secrets
from contextlib import nullcontext
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.campaigns.models import TransactionType, Voucher, VoucherTransaction
from apps.core import events
from apps.core.errors import ApplicationError
from apps.core.hooks import customers_changed
from apps.core.prepared import prepared_statements
from apps.core.rows import insert_with
from apps.customers.models import Customer
from apps.customers.services import customer_resolve
from apps.engine.validation import APPLICABLE, Outcome, Result, validate
from apps.orders.models import Order, OrderItem
from apps.orders.services import order_item, order_upsert

from . import reads
from .models import (
    ChannelType,
    Redemption,
    RedemptionRollback,
    RelatedObjectType,
    Status,
    ValidationSession,
)
from .models import Result as Outcomes
from .snapshot import Ref, Snapshot, load, parse_redeemables

TTL_UNITS = {
    "DAYS": dt.timedelta(days=1),
    "HOURS": dt.timedelta(hours=1),
    "MINUTES": dt.timedelta(minutes=1),
    "SECONDS": dt.timedelta(seconds=1),
    "MILLISECONDS": dt.timedelta(milliseconds=1),
}
ROLLBACK_WINDOW = dt.timedelta(days=92)  # Voucherify: rollbacks only within 3 months


def tracking_id_for(customer: Customer | None, given: str | None) -> str:
    """The request's tracking id, or one derived from the customer's source_id (stable for the
    same customer), or a random one for an anonymous cart."""
    if given:
        return str(given)[:100]
    if customer is not None and customer.source_id:
        digest = hashlib.sha256(f"{customer.project_id}:{customer.source_id}".encode()).hexdigest()
        return f"track_{digest[:32]}"
    return f"track_{secrets.token_urlsafe(18)}"


@dataclass
class Session:
    key: str
    ttl: int
    ttl_unit: str

    @property
    def expires_in(self) -> dt.timedelta:
        return self.ttl * TTL_UNITS[self.ttl_unit]

    def as_dict(self) -> dict:
        return {"key": self.key, "type": "LOCK", "ttl": self.ttl, "ttl_unit": self.ttl_unit}


def parse_session(raw) -> Session | None:
    if not raw:
        return None
    if not isinstance(raw, dict) or raw.get("type", "LOCK") != "LOCK":
        raise ApplicationError("session.type must be LOCK.", details="session.type")
    key = raw.get("key") or f"ssn_{secrets.token_urlsafe(24)}"
    ttl = raw.get("ttl") if raw.get("ttl") is not None else 7
    unit = raw.get("ttl_unit") or "DAYS"
    if not isinstance(key, str) or len(key) > 100:
        raise ApplicationError("session.key must be text of at most 100 characters.")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1 or unit not in TTL_UNITS:
        raise ApplicationError(
            f"session.ttl must be a whole number ≥ 1 and ttl_unit one of {', '.join(TTL_UNITS)}.",
            details="session.ttl",
        )
    return Session(key, ttl, unit)


@dataclass
class Validation:
    id: str
    outcome: Outcome
    snapshot: Snapshot
    customer: Customer | None
    tracking_id: str
    session: Session | None = None

    @property
    def valid(self) -> bool:
        return self.outcome.valid


def _customer(project, payload: dict, *, lock: bool = False) -> tuple[Customer | None, bool]:
    """The request's customer, upserted, and whether this request created or changed it (then
    its segments are judged live rather than read from the membership table, which is brought
    up to date only after commit)."""
    raw = payload.get("customer")
    if not raw:
        return None, False
    if isinstance(raw, dict) and not set(raw) - {"id", "source_id", "object"}:
        # The common checkout: a reference only. One indexed read, no schema, no write.
        customer = None
        if isinstance(raw.get("id"), str) and raw["id"]:
            customer = reads.customer(project, public_id=raw["id"], lock=lock)
        elif isinstance(raw.get("source_id"), str) and raw["source_id"]:
            customer = reads.customer(project, source_id=raw["source_id"], lock=lock)
        if customer is not None:
            return customer, False
    customer = customer_resolve(project=project, payload=raw)
    if lock and customer is not None:
        customer = reads.customer(project, pk=customer.pk, lock=True)
    return customer, True


@prepared_statements()
def validation_check(*, project, payload: dict, now: dt.datetime | None = None) -> Validation:
    """Stackable validation. Side effects: the customer upsert, and with `session.type: LOCK`
    one reserved use of each applicable code until the session expires."""
    now = now or timezone.now()
    if not isinstance(payload, dict):
        raise ApplicationError("The request must be a JSON object.")
    refs = parse_redeemables(payload.get("redeemables"))
    session = parse_session(payload.get("session"))
    customer, fresh = _customer(project, payload)
    metadata = payload.get("metadata") or {}
    # a session reserves uses: its codes are read under row locks, in a transaction
    locking = session is not None
    with transaction.atomic() if locking else nullcontext():
        snap = load(
            project=project,
            refs=refs,
            order_payload=payload.get("order") or {},
            customer=customer,
            customer_fresh=fresh,
            metadata=metadata,
            now=now,
            session_key=session.key if locking else "",
            lock=locking,
        )
        outcome = validate(snap.request)
        if locking and outcome.valid:
            _lock_session(project, snap, outcome, session, customer, now)
    return Validation(
        id=f"valid_{secrets.token_hex(12)}",
        outcome=outcome,
        snapshot=snap,
        customer=customer,
        tracking_id=tracking_id_for(customer, payload.get("tracking_id")),
        session=session,
    )


def _lock_session(project, snap: Snapshot, outcome: Outcome, session, customer, now) -> None:
    """Reserve one use of each applicable code (under the voucher locks load() took): the
    engine already counted other sessions' locks, so live locks never exceed the quantity."""
    vouchers = [_ref_of(snap, result).voucher for result in outcome.of(APPLICABLE)]
    vouchers = [voucher for voucher in vouchers if voucher is not None]
    if not vouchers:
        return
    ValidationSession.objects.filter(
        voucher__in=vouchers, key=session.key, released_at__isnull=True
    ).update(released_at=now)
    ValidationSession.objects.bulk_create(
        ValidationSession(
            project=project,
            key=session.key,
            voucher=voucher,
            customer=customer,
            expires_at=now + session.expires_in,
            created_at=now,
        )
        for voucher in vouchers
    )


def session_release(*, project, code: str, key: str, now: dt.datetime | None = None) -> int:
    """DELETE /v1/vouchers/{code}/sessions/{key}: free the use a session reserved."""
    now = now or timezone.now()
    code_key = code if project.codes_case_sensitive else code.upper()
    released = ValidationSession.objects.filter(
        Q(voucher__code_key=code_key) | Q(voucher__public_id=code),
        project=project,
        key=key,
        released_at__isnull=True,
    ).update(released_at=now)
    if not released:
        raise ApplicationError(
            f"Cannot find session {key} on voucher {code}", key="not_found", code=404
        )
    return released


def sessions_expire(*, now: dt.datetime | None = None) -> int:
    """Mark expired locks released (they already stopped counting when they expired)."""
    now = now or timezone.now()
    return ValidationSession.objects.filter(released_at__isnull=True, expires_at__lte=now).update(
        released_at=F("expires_at")
    )


def _ref_of(snap: Snapshot, result: Result) -> Ref:
    return snap.refs[result.redeemable.requested_position]


# -- redemption --------------------------------------------------------------------------------


@dataclass
class Redeemed:
    parent: Redemption
    children: list[Redemption]
    outcome: Outcome
    order: Order | None
    tracking_id: str
    error: ApplicationError | None = None

    @property
    def inapplicable(self) -> list[Result]:
        return self.outcome.of("INAPPLICABLE")

    @property
    def skipped(self) -> list[Result]:
        return self.outcome.of("SKIPPED")


class _Refused(Exception):
    """A conditional update found the limit reached after all: undo and record a failure."""

    def __init__(self, key: str, message: str, details: str):
        self.key, self.message, self.details = key, message, details


@prepared_statements()
def redemption_redeem(
    *,
    project,
    payload: dict,
    now: dt.datetime | None = None,
    channel_type: str = ChannelType.API,
    channel_id: str = "",
) -> Redeemed:
    """Redeem every redeemable in one transaction (application mode ALL), or only the
    applicable ones (PARTIAL). A refused attempt is recorded as a FAILURE redemption and
    returned with `error` set; nothing else changes."""
    now = now or timezone.now()
    if not isinstance(payload, dict):
        raise ApplicationError("The request must be a JSON object.")
    refs = parse_redeemables(payload.get("redeemables"))
    session = parse_session(payload.get("session"))
    metadata = payload.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ApplicationError("metadata must be an object.", details="metadata")
    channel = {"channel_type": channel_type, "channel_id": channel_id[:64]}
    try:
        with transaction.atomic():
            # The customer row is locked first (then codes, then campaigns): their limits are
            # read and spent under these locks.
            customer, fresh = _customer(project, payload, lock=True)
            tracking_id = tracking_id_for(customer, payload.get("tracking_id"))
            snap = load(
                project=project,
                refs=refs,
                order_payload=payload.get("order") or {},
                customer=customer,
                customer_fresh=fresh,
                metadata=metadata,
                now=now,
                session_key=session.key if session else "",
                lock=True,
            )
            outcome = validate(snap.request)
            if outcome.valid:
                return _persist_success(
                    project, payload, snap, outcome, customer, tracking_id, session, now, channel
                )
            # refused by the engine: recorded in the same transaction
            return _persist_failure(project, snap, outcome, customer, tracking_id, now, channel)
    except _Refused as refused:
        # a limit was reached between reading and spending: the writes are undone, the
        # attempt is recorded on its own
        outcome = validate(snap.request)
        error = ApplicationError(refused.message, key=refused.key, details=refused.details)
        if customer is not None:  # created in the undone transaction? then it is gone
            customer = reads.customer(project, pk=customer.pk)
        with transaction.atomic():
            return _persist_failure(
                project, snap, outcome, customer, tracking_id, now, channel, error
            )


def _first_error(outcome: Outcome) -> ApplicationError:
    failed = [r for r in outcome.results if r.status != APPLICABLE]
    result = next((r for r in failed if r.status == "INAPPLICABLE"), failed[0] if failed else None)
    if result is None:
        return ApplicationError("Nothing to redeem.", key="invalid_payload")
    body = result.error()
    return ApplicationError(
        result.message,
        key=result.key,
        code=body["code"],
        details=result.explanation,
        extra={
            "resource_id": result.redeemable.id,
            "resource_type": result.redeemable.object,
            **({"error": body["error"]} if "error" in body else {}),
        },
    )


def _result_details(result: Result) -> dict:
    body = {
        "status": result.status,
        "discount": result.discount,
        "order_discount": result.applied.order_amount,
        "items": {str(i): v for i, v in result.applied.items.items()},
        "added": {str(i): v for i, v in result.added.items()},
        "credits": result.credits,
        "points": result.points,
        "categories": [c.id for c in result.redeemable.categories],
    }
    if result.status != APPLICABLE:
        body["key"], body["message"] = result.key, result.message
        body["explanation"] = result.explanation
        body["failures"] = [failure.as_dict() for failure in result.failures]
    return body


def _persist_success(project, payload, snap, outcome, customer, tracking_id, session, now, channel):
    applicable = outcome.of(APPLICABLE)
    # 1. counters and balances: conditional updates under the locks load() took
    for result in sorted(applicable, key=lambda r: (_ref_of(snap, r).voucher or Voucher()).pk or 0):
        voucher = _ref_of(snap, result).voucher
        if voucher is not None:
            _spend(voucher, result, now)
    # 2. the order, with this request's discounts; the customer's redemption counters go into
    # the same UPDATE as its order summary
    counters = None
    if customer is not None:
        counters = (
            customer.pk,
            {
                "redemptions_total_redeemed": len(applicable),
                "redemptions_total_succeeded": len(applicable),
                "gift_redeemed_amount": sum(r.credits for r in applicable),
                "loyalty_redeemed_points": sum(r.points for r in applicable),
            },
        )
    order = _save_order(project, payload, snap, outcome, customer, now, counters)
    # 3. the redemption rows
    parent = Redemption(
        project=project,
        result=Outcomes.SUCCESS,
        status=Status.SUCCEEDED,
        related_object_type=RelatedObjectType.REDEMPTION,
        customer=customer,
        tracking_id=tracking_id,
        order=order,
        amount=sum(r.discount for r in applicable),
        gift_amount=sum(r.credits for r in applicable),
        loyalty_points=sum(r.points for r in applicable),
        order_amount=outcome.totals.amount,
        metadata=snap.request.metadata,
        session_key=session.key if session else "",
        created_at=now,
        **channel,
    )
    children = [
        _child(project, parent, snap, result, customer, tracking_id, order, now, channel)
        for result in applicable
    ]
    insert_with(parent, (children, "parent"))
    if session is not None:
        ValidationSession.objects.filter(
            voucher_id__in=[c.voucher_id for c in children if c.voucher_id],
            key=session.key,
            released_at__isnull=True,
        ).update(released_at=now)
    if customer is not None:
        if payload.get("tracking_id"):
            # Anonymous checkouts under this tracking id now belong to the customer.
            Redemption.objects.filter(
                project=project, tracking_id=tracking_id, customer__isnull=True
            ).update(customer=customer)
        if order.customer_id != customer.pk:
            # (the order's write already re-evaluates its customer's segments after commit)
            customers_changed(project.pk, [customer.pk], summary_only=True)
    events.emit(project.pk, "redemption.succeeded", parent)
    return Redeemed(
        parent=parent,
        children=children,
        outcome=outcome,
        order=order,
        tracking_id=tracking_id,
    )


def _count_failed(customer, count: int) -> None:
    """Add a refused attempt to the customer's redemption summary by one atomic UPDATE (written
    out: the ORM compiled it on every redemption for more than it costs to run). Successful ones
    are counted with the order summary (`summary_add`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Customer._meta.db_table} SET "  # noqa: S608 -- names from model meta
            "redemptions_total_redeemed = redemptions_total_redeemed + %(count)s, "
            "redemptions_total_failed = redemptions_total_failed + %(count)s "
            "WHERE id = %(pk)s",
            {"count": count, "pk": customer.pk},
        )


def _spend(voucher: Voucher, result: Result, now) -> None:
    """One use, the credits and the points, by one conditional UPDATE."""
    table = Voucher._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET redeemed_quantity = redeemed_quantity + 1, "  # noqa: S608
            "gift_balance = CASE WHEN %(credits)s > 0 "
            "  THEN gift_balance - %(credits)s ELSE gift_balance END, "
            "loyalty_balance = CASE WHEN %(points)s > 0 "
            "  THEN loyalty_balance - %(points)s ELSE loyalty_balance END, "
            "updated_at = %(now)s "
            "WHERE id = %(pk)s "
            "AND (redemption_quantity IS NULL "
            "  OR redeemed_quantity + %(held)s < redemption_quantity) "
            "AND (%(credits)s = 0 OR gift_balance >= %(credits)s) "
            "AND (%(points)s = 0 OR loyalty_balance >= %(points)s) "
            "RETURNING gift_balance, loyalty_balance",
            {
                "credits": result.credits,
                "points": result.points,
                "now": now,
                "pk": voucher.pk,
                "held": result.redeemable.held_by_others,
            },
        )
        row = cursor.fetchone()
    if row is None:
        raise _Refused("quantity_exceeded", "quantity exceeded", f"{voucher.code} is used up")
    entries = []
    if result.credits:
        entries.append((TransactionType.CREDITS_REDEMPTION, -result.credits, row[0]))
    if result.points:
        entries.append((TransactionType.POINTS_REDEMPTION, -result.points, row[1]))
    if not entries:
        return
    VoucherTransaction.objects.bulk_create(
        VoucherTransaction(
            project_id=voucher.project_id,
            voucher=voucher,
            type=kind,
            amount=amount,
            balance_after=balance,
            reason="redemption",
            created_at=now,
        )
        for kind, amount, balance in entries
    )


def _save_order(project, payload, snap, outcome, customer, now, counters=None) -> Order:
    """Upsert the order with this request's discounts on it, from the snapshot's items (no
    second lookup of products); items marked `override` go through order_upsert's own
    resolution, which writes their products."""
    order_payload = dict(payload.get("order") or {})
    order_payload.setdefault("status", "PAID")
    totals = outcome.totals
    order_payload["discount_amount"] = snap.order.discount_amount + totals.applied_discount_amount
    order_payload["amount"] = totals.amount  # with any free units a UNIT discount added
    raw_items = order_payload.get("items") or []
    overrides = any(
        isinstance(raw, dict)
        and any(isinstance(raw.get(k), dict) and raw[k].get("override") for k in ("product", "sku"))
        for raw in raw_items
    )
    items = None if overrides else _discounted_items(project, snap, outcome)
    # inside the redemption's transaction, which any error aborts whole: no savepoint needed
    order, _ = order_upsert(
        project=project,
        payload=order_payload,
        now=now,
        customer=customer,
        items=items,
        savepoint=False,
        summary_add=counters,
    )
    if overrides:
        changed = []
        for item in order.items.all():
            discount = totals.items.get(item.position, 0)
            if discount:
                item.discount_amount += discount
                changed.append(item)
        OrderItem.objects.bulk_update(changed, ["discount_amount"])
        order.items_discount_amount += sum(totals.items.values())
        order.total_discount_amount = order.discount_amount + order.items_discount_amount
        order.total_amount = max(0, order.amount - order.total_discount_amount)
        order.save(
            update_fields=[
                "items_discount_amount",
                "total_discount_amount",
                "total_amount",
                "updated_at",
            ]
        )
    return order


def _discounted_items(project, snap, outcome) -> list[OrderItem]:
    """The order's items as the engine left them: discounts on, free units added."""
    preview = snap.order.preview_items
    items, added = [], []
    for index, engine_item in enumerate(outcome.items):
        discount = outcome.totals.items.get(index, 0)
        if index < len(preview):
            base = preview[index]
            item = order_item(
                base.product,
                base.sku,
                position=index,
                related_object=base.related_object,
                source_id=base.source_id,
                name=base.name,
                quantity=engine_item.quantity,
                price=base.price,
                amount=engine_item.amount,
                discount_amount=base.discount_amount + discount,
                metadata=base.metadata,
            )
        else:  # a free unit line the engine added
            item = OrderItem(
                position=index,
                related_object="sku" if engine_item.sku_id else "product",
                name=engine_item.product_id or engine_item.sku_id,
                quantity=engine_item.quantity,
                price=engine_item.price,
                amount=engine_item.amount,
                discount_amount=discount,
            )
            added.append(item)
        items.append(item)
    if added:
        _attach_products(project, added)
    return items


def _attach_products(project, added_items) -> None:
    from apps.products.models import Product, Sku

    refs = {item.name for item in added_items}
    products = {p.public_id: p for p in Product.objects.filter(project=project, public_id__in=refs)}
    skus = {s.public_id: s for s in Sku.objects.filter(project=project, public_id__in=refs)}
    for item in added_items:
        item.product = products.get(item.name)
        item.sku = skus.get(item.name)
        if item.sku is not None:
            item.product_id = item.sku.product_id
        target = item.sku or item.product
        if target is not None:
            item.name = getattr(target, "name", "") or getattr(target, "sku", "") or item.name
            item.source_id = target.source_id or ""


def _child(project, parent, snap, result, customer, tracking_id, order, now, channel, **extra):
    ref = _ref_of(snap, result)
    voucher, tier = ref.voucher, ref.tier
    campaign_id = voucher.campaign_id if voucher else tier.campaign_id if tier else None
    return Redemption(
        project=project,
        parent=parent,
        result=extra.get("outcome_result", Outcomes.SUCCESS),
        status=extra.get("status", Status.SUCCEEDED),
        related_object_type=(
            RelatedObjectType.PROMOTION_TIER
            if ref.object == "promotion_tier"
            else RelatedObjectType.VOUCHER
        ),
        voucher=voucher,
        tier=tier,
        campaign_id=campaign_id,
        code=voucher.code if voucher else ("" if tier else ref.id[:100]),
        customer=customer,
        tracking_id=tracking_id,
        order=order,
        amount=result.discount,
        gift_amount=result.credits,
        loyalty_points=result.points,
        order_amount=snap.request.cart.amount,
        failure_code=extra.get("failure_code", ""),
        failure_message=extra.get("failure_message", "")[:500],
        details=_result_details(result),
        metadata=snap.request.metadata,
        created_at=now,
        **channel,
    )


def _persist_failure(project, snap, outcome, customer, tracking_id, now, channel, error=None):
    """Record a refused attempt (in the caller's transaction)."""
    error = error or _first_error(outcome)
    parent = Redemption(
        project=project,
        result=Outcomes.FAILURE,
        status=Status.FAILED,
        related_object_type=RelatedObjectType.REDEMPTION,
        customer=customer,
        tracking_id=tracking_id,
        order_amount=snap.request.cart.amount,
        failure_code=error.key,
        failure_message=error.message[:500],
        details={"explanation": error.details},
        metadata=snap.request.metadata,
        created_at=now,
        **channel,
    )
    children = [
        _child(
            project,
            parent,
            snap,
            result,
            customer,
            tracking_id,
            None,
            now,
            channel,
            outcome_result=Outcomes.FAILURE,
            status=Status.FAILED,
            failure_code=result.key or error.key,
            failure_message=result.message or error.message,
        )
        for result in outcome.results
    ]
    insert_with(parent, (children, "parent"))
    if customer is not None:
        _count_failed(customer, len(children))
    events.emit(project.pk, "redemption.failed", parent)
    return Redeemed(
        parent=parent,
        children=children,
        outcome=outcome,
        order=None,
        tracking_id=tracking_id,
        error=error,
    )


# -- rollback ----------------------------------------------------------------------------------


@dataclass
class RolledBack:
    parent: RedemptionRollback
    rollbacks: list[RedemptionRollback]
    order: Order | None


def redemption_rollback(
    *,
    redemption: Redemption,
    reason: str = "",
    whole_stack: bool = True,
    now: dt.datetime | None = None,
    channel_type: str = ChannelType.API,
    channel_id: str = "",
    user=None,
    tracking_id: str = "",
    metadata: dict | None = None,
) -> RolledBack:
    """Undo a successful redemption: uses, gift credits, loyalty points and budgets come back,
    exactly once. `whole_stack=False` is POST /redemptions/{id}/rollback, which refuses
    redemptions that are part of a stack."""
    now = now or timezone.now()
    parent = redemption if redemption.parent_id is None else redemption.parent
    if redemption.parent_id is not None:
        siblings = Redemption.objects.filter(parent_id=redemption.parent_id).count()
        if siblings > 1:
            raise ApplicationError(
                "This redemption is part of a stack: roll back its parent "
                f"{parent.public_id} instead.",
                key="invalid_redemption_parent" if whole_stack else "invalid_redemption",
            )
    elif not whole_stack and parent.children.count() > 1:
        raise ApplicationError(
            "This is a stacked redemption: use POST /v1/redemptions/{id}/rollbacks.",
            key="invalid_redemption",
        )
    if parent.result != Outcomes.SUCCESS:
        raise ApplicationError(
            "A failed redemption cannot be rolled back.", key="invalid_redemption"
        )
    if parent.created_at < now - ROLLBACK_WINDOW:
        raise ApplicationError(
            "Redemptions can be rolled back within 3 months only.", key="invalid_redemption"
        )
    reason = (reason or "").strip()[:500]
    channel = {"channel_type": channel_type, "channel_id": channel_id[:64]}
    with transaction.atomic():
        flipped = Redemption.objects.filter(pk=parent.pk, status=Status.SUCCEEDED).update(
            status=Status.ROLLED_BACK, updated_at=now
        )
        if not flipped:
            raise ApplicationError(
                f"{parent.public_id} is already rolled back.",
                key="already_rolled_back",
                details=parent.public_id,
            )
        children = list(
            Redemption.objects.filter(parent=parent, status=Status.SUCCEEDED)
            .select_related("voucher")
            .order_by("voucher_id", "pk")
        )
        Redemption.objects.filter(pk__in=[c.pk for c in children]).update(
            status=Status.ROLLED_BACK, updated_at=now
        )
        if parent.customer_id:
            Customer.objects.filter(pk=parent.customer_id).update(
                redemptions_total_rolled_back=F("redemptions_total_rolled_back") + len(children),
                redemptions_total_rollback_succeeded=F("redemptions_total_rollback_succeeded")
                + len(children),
                gift_redeemed_amount=F("gift_redeemed_amount") - parent.gift_amount,
                loyalty_redeemed_points=F("loyalty_redeemed_points") - parent.loyalty_points,
            )
        for child in children:
            if child.voucher_id:
                _give_back(child, now)
        order = _unapply_order(parent, children, now)
        rollback = RedemptionRollback.objects.create(
            project_id=parent.project_id,
            redemption=parent,
            result=Outcomes.SUCCESS,
            status="SUCCEEDED",
            reason=reason,
            customer_id=parent.customer_id,
            tracking_id=tracking_id or parent.tracking_id,
            amount=parent.amount,
            gift_amount=parent.gift_amount,
            loyalty_points=parent.loyalty_points,
            metadata=metadata or {},
            created_by=user,
            created_at=now,
            **channel,
        )
        rollbacks = RedemptionRollback.objects.bulk_create(
            RedemptionRollback(
                project_id=parent.project_id,
                redemption=child,
                parent=rollback,
                result=Outcomes.SUCCESS,
                status="SUCCEEDED",
                reason=reason,
                customer_id=child.customer_id,
                tracking_id=rollback.tracking_id,
                amount=child.amount,
                gift_amount=child.gift_amount,
                loyalty_points=child.loyalty_points,
                metadata=metadata or {},
                created_by=user,
                created_at=now,
                **channel,
            )
            for child in children
        )
        if parent.customer_id:
            customers_changed(parent.project_id, [parent.customer_id], summary_only=True)
        events.emit(parent.project_id, "redemption.rollback.succeeded", rollback)
    return RolledBack(parent=rollback, rollbacks=rollbacks, order=order)


def _give_back(child: Redemption, now) -> None:
    Voucher.objects.filter(pk=child.voucher_id, redeemed_quantity__gt=0).update(
        redeemed_quantity=F("redeemed_quantity") - 1,
        gift_balance=F("gift_balance") + child.gift_amount
        if child.gift_amount
        else F("gift_balance"),
        loyalty_balance=F("loyalty_balance") + child.loyalty_points
        if child.loyalty_points
        else F("loyalty_balance"),
        updated_at=now,
    )
    entries = []
    if child.gift_amount:
        entries.append((TransactionType.CREDITS_REFUND, child.gift_amount, "gift_balance"))
    if child.loyalty_points:
        entries.append((TransactionType.POINTS_REFUND, child.loyalty_points, "loyalty_balance"))
    if entries:
        balances = Voucher.objects.filter(pk=child.voucher_id).values(
            "gift_balance", "loyalty_balance"
        )[0]
        VoucherTransaction.objects.bulk_create(
            VoucherTransaction(
                project_id=child.project_id,
                voucher_id=child.voucher_id,
                type=kind,
                amount=amount,
                balance_after=balances[column] or 0,
                reason="redemption rollback",
                created_at=now,
            )
            for kind, amount, column in entries
        )


def _unapply_order(parent: Redemption, children: list[Redemption], now) -> Order | None:
    if parent.order_id is None:
        return None
    order = Order.objects.select_for_update().get(pk=parent.order_id)
    order_part = sum(int(c.details.get("order_discount", 0)) for c in children)
    per_item: dict[int, int] = {}
    for child in children:
        for position, value in (child.details.get("items") or {}).items():
            per_item[int(position)] = per_item.get(int(position), 0) + int(value)
    for item in order.items.filter(position__in=list(per_item)):
        item.discount_amount = max(0, item.discount_amount - per_item[item.position])
        item.save(update_fields=["discount_amount"])
    order.discount_amount = max(0, order.discount_amount - order_part)
    order.items_discount_amount = max(0, order.items_discount_amount - sum(per_item.values()))
    order.total_discount_amount = order.discount_amount + order.items_discount_amount
    order.total_amount = max(0, order.amount - order.total_discount_amount)
    order.save(
        update_fields=[
            "discount_amount",
            "items_discount_amount",
            "total_discount_amount",
            "total_amount",
            "updated_at",
        ]
    )
    return order
