"""Gift card credits and loyalty card points: adjustments with a reason, and the ledger.

The balance changes by one conditional UPDATE (`balance + amount >= 0`), and the ledger entry
records the balance that UPDATE returned, in the same transaction: the ledger always sums to
the balance and concurrent adjustments never overdraw a card.
"""

# ruff: noqa: S608 -- table names come from model meta; every value is a bound parameter.

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.core.errors import ApplicationError

from ..models import TransactionType, Voucher, VoucherTransaction, VoucherType

MAX_ADJUSTMENT = 10**12


def card_adjust(
    *, voucher: Voucher, amount: int, reason: str = "", source_id: str = "", created_by=None
) -> VoucherTransaction:
    """Add (positive) or remove (negative) gift credits or loyalty points."""
    if voucher.type not in (VoucherType.GIFT_VOUCHER, VoucherType.LOYALTY_CARD):
        raise ApplicationError(
            "Only gift cards and loyalty cards have a balance.", key="invalid_voucher"
        )
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise ApplicationError(
            "Enter a whole, non-zero amount.", key="invalid_amount", details="amount"
        )
    if abs(amount) > MAX_ADJUSTMENT:
        raise ApplicationError("That amount is too large.", key="invalid_amount", details="amount")
    gift = voucher.type == VoucherType.GIFT_VOUCHER
    balance, lifetime = (
        ("gift_balance", "gift_amount") if gift else ("loyalty_balance", "loyalty_points")
    )
    if amount > 0:
        kind = TransactionType.CREDITS_ADDITION if gift else TransactionType.POINTS_ADDITION
    else:
        kind = TransactionType.CREDITS_REMOVAL if gift else TransactionType.POINTS_REMOVAL
    now = timezone.now()
    table = Voucher._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {balance} = COALESCE({balance}, 0) + %s, "
            f"{lifetime} = COALESCE({lifetime}, 0) + %s, updated_at = %s "
            f"WHERE id = %s AND COALESCE({balance}, 0) + %s >= 0 RETURNING {balance}, {lifetime}",
            [amount, max(amount, 0), now, voucher.pk, amount],
        )
        row = cursor.fetchone()
        if row is None:
            current = Voucher.objects.filter(pk=voucher.pk).values_list(balance, flat=True).first()
            unit = "credits" if gift else "points"
            raise ApplicationError(
                f"The card holds {current or 0} {unit}; removing {-amount} would make the "
                "balance negative.",
                key="not_enough_balance" if gift else "not_enough_points",
                details="amount",
            )
        entry = VoucherTransaction.objects.create(
            project_id=voucher.project_id,
            voucher=voucher,
            type=kind,
            amount=amount,
            balance_after=row[0],
            reason=reason.strip()[:500],
            source_id=source_id.strip()[:255],
            created_by=created_by,
            created_at=now,
        )
    setattr(voucher, balance, row[0])
    setattr(voucher, lifetime, row[1])
    voucher.updated_at = now
    return entry


def ledger_totals(*, vouchers) -> dict[str, int]:
    """The ledger of `vouchers` (a queryset), summed per transaction type: one query."""
    rows = (
        VoucherTransaction.objects.filter(voucher__in=vouchers)
        .order_by()
        .values("type")
        .annotate(total=Sum("amount"))
    )
    return {row["type"]: row["total"] or 0 for row in rows}
