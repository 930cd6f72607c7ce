"""Voucher imports: codes from a CSV, into campaigns (by name or id) or standalone.

The rules are those of `apps.campaigns.services.voucher_create`: the code (at most 100
characters, no spaces, unique in the project by `code_key`, so case-insensitive unless the
project says otherwise), the campaign's voucher template (type, discount, gift amount, points,
redemption limit, validity, category) with the row's columns replacing it, Voucherify's Discount
object checked by `clean_discount`, metadata by the voucher metadata schema, and an opening
ledger entry for gift and loyalty cards. An import never updates a voucher: a code that exists is
a row error.

`VoucherPlan.clean` reads a row's cells (no database); `check_batch` looks up existing codes,
campaigns and categories once per batch and turns each row into the columns of a new voucher.
`VoucherWriter` writes a batch set-based: on PostgreSQL a COPY into a temporary table and one
`INSERT … SELECT … ON CONFLICT DO NOTHING` that also writes the opening ledger entries; on SQLite
`bulk_create`. Codes created by someone else between the check and the insert are reported,
not overwritten.
"""

# ruff: noqa: S608 -- table and column names come from model meta; values are parameters.

import csv
import datetime as dt
import io
import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.campaigns.codes import code_key
from apps.campaigns.discounts import clean_discount
from apps.campaigns.models import (
    Campaign,
    CampaignType,
    Category,
    TransactionType,
    Voucher,
    VoucherTransaction,
    VoucherType,
)
from apps.core.errors import ApplicationError
from apps.core.filters import project_zone
from apps.core.ids import ordered_public_ids
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

from .. import parsing
from ..columns import default_target
from ..models import ImportKind
from .plans import Batch, Plan

MAX_CODE = 100
MAX_REF = 255
MAX_INFO = 5000
MAX_QUANTITY = 10_000_000
MAX_POINTS = 10**12
DISCOUNT_VALUES = ("amount_off", "percent_off", "fixed_amount")
DISCOUNT_COLUMNS = ("discount_type", "discount_effect", *DISCOUNT_VALUES, "amount_limit")
# A discount field named by clean_discount → the import column it comes from.
DISCOUNT_FIELD_COLUMNS = {"type": "discount_type", "effect": "discount_effect"}
TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0"}
STAGE = "imports_voucher_stage"
# The new voucher's columns, in the order of a finished row (then the opening ledger entry).
VOUCHER_FIELDS = (
    "public_id",
    "code",
    "code_key",
    "campaign",
    "category",
    "type",
    "discount",
    "gift_amount",
    "gift_balance",
    "gift_effect",
    "loyalty_points",
    "loyalty_balance",
    "redemption_quantity",
    "active",
    "start_date",
    "expiration_date",
    "validity_timeframe",
    "validity_day_of_week",
    "validity_hours",
    "metadata",
    "is_referral_code",
    "additional_info",
)
JSON_FIELDS = {
    "discount",
    "validity_timeframe",
    "validity_day_of_week",
    "validity_hours",
    "metadata",
}


@dataclass(frozen=True)
class CampaignInfo:
    """What a code of the campaign starts from (the campaign's voucher template)."""

    pk: int
    name: str
    campaign_type: str
    voucher_type: str
    discount: dict | None
    gift_amount: int | None
    gift_effect: str
    loyalty_points: int | None
    redemption_quantity: int | None
    start_date: dt.datetime | None
    expiration_date: dt.datetime | None
    validity_timeframe: Any
    validity_day_of_week: Any
    validity_hours: Any
    category_id: int | None
    is_referral: bool


CAMPAIGN_FIELDS = [
    "pk",
    "public_id",
    "name",
    "campaign_type",
    "voucher_type",
    "discount",
    "gift_amount",
    "gift_effect",
    "loyalty_points",
    "redemption_quantity",
    "start_date",
    "expiration_date",
    "validity_timeframe",
    "validity_day_of_week",
    "validity_hours",
    "category_id",
]


def _campaign_info(row: dict) -> CampaignInfo:
    return CampaignInfo(
        pk=row["pk"],
        name=row["name"],
        campaign_type=row["campaign_type"],
        voucher_type=row["voucher_type"],
        discount=row["discount"],
        gift_amount=row["gift_amount"],
        gift_effect=row["gift_effect"],
        loyalty_points=row["loyalty_points"],
        redemption_quantity=row["redemption_quantity"],
        start_date=row["start_date"],
        expiration_date=row["expiration_date"],
        validity_timeframe=row["validity_timeframe"],
        validity_day_of_week=row["validity_day_of_week"],
        validity_hours=row["validity_hours"],
        category_id=row["category_id"],
        is_referral=row["campaign_type"] == CampaignType.REFERRAL_PROGRAM,
    )


def _whole(text: str, low: int, high: int) -> int:
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"“{text[:40]}” is not a whole number") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(f"“{text[:40]}” is not a whole number")
    if not low <= value <= high:
        raise ValueError(f"must be from {low:,} to {high:,}")
    return int(value)


class VoucherPlan(Plan):
    kind = ImportKind.VOUCHERS
    model = Voucher
    resource = Resource.VOUCHER
    key_field = "code"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from ..resources import MoneyWidget

        # Every row is a new voucher: required metadata keys must be in the file.
        self.schema = schema_for(project=self.project, resource=self.resource)
        self.missing_required = ()
        self.money = MoneyWidget(self.project.currency)
        self.zone = project_zone(self.project)
        self.case_sensitive = self.project.codes_case_sensitive
        self.campaigns: dict[str, CampaignInfo | None] = {}
        self.categories: dict[str, int | None] = {}

    # -- one row, no database ----------------------------------------------------------------

    def cell(self, cells: list[str], target: str) -> str:
        index = self.targets.get(target)
        return cells[index].strip() if index is not None else ""

    def duplicate_problem(self, key: str, first_line: int) -> tuple[str, str]:
        note = "" if self.case_sensitive else " (codes ignore case in this project)"
        return (self.source_column, f"duplicate code “{key}”: line {first_line} has it too{note}")

    def clean(self, cells):
        problems: list[tuple[str, str]] = []
        code = cells[self.source_index].strip()
        if not code:
            problems.append((self.source_column, "is required"))
        elif len(code) > MAX_CODE:
            problems.append((self.source_column, f"is longer than {MAX_CODE} characters"))
        elif any(ch.isspace() for ch in code):
            problems.append((self.source_column, "must not contain spaces"))
        key = code_key(code, case_sensitive=self.case_sensitive) if not problems else ""
        row: dict[str, Any] = {"code": code, "code_key": key}
        for target in ("campaign", "category"):
            ref = self.cell(cells, target)
            if len(ref) > MAX_REF:
                problems.append((self.column(target), f"is longer than {MAX_REF} characters"))
            row[target] = ref
        kind = self.cell(cells, "type").upper()
        if kind and kind not in VoucherType.values:
            kinds = ", ".join(VoucherType.values)
            problems.append((self.column("type"), f"must be one of {kinds}"))
        row["type"] = kind
        row["discount"] = self._discount(cells, problems)
        row["gift_amount"] = self._money(cells, "gift_amount", problems, positive=True)
        row["loyalty_points"] = self._number(cells, "loyalty_points", 0, MAX_POINTS, problems)
        row["redemption_quantity"] = self._number(
            cells, "redemption_quantity", 1, MAX_QUANTITY, problems
        )
        row["active"] = self._active(cells, problems)
        row["start_date"] = self._moment(cells, "start_date", problems)
        row["expiration_date"] = self._moment(cells, "expiration_date", problems, end=True)
        info = self.cell(cells, "additional_info")
        if len(info) > MAX_INFO:
            problems.append(
                (self.column("additional_info"), f"is longer than {MAX_INFO} characters")
            )
        row["additional_info"] = info
        row["metadata"] = self.read_metadata(cells) if self.metadata_specs else {}
        problems.extend(self.metadata_problems(row["metadata"]))
        return (None if problems else row), problems, key

    def _money(self, cells, target: str, problems, *, positive: bool = False) -> int | None:
        text = self.cell(cells, target)
        if not text:
            return None
        try:
            value = self.money.clean(text)
        except ValueError as exc:
            problems.append((self.column(target), str(exc)))
            return None
        if positive and not value:
            problems.append((self.column(target), "must be more than 0"))
            return None
        return value

    def _number(self, cells, target: str, low: int, high: int, problems) -> int | None:
        text = self.cell(cells, target)
        if not text:
            return None
        try:
            return _whole(text, low, high)
        except ValueError as exc:
            problems.append((self.column(target), str(exc)))
            return None

    def _active(self, cells, problems) -> bool:
        text = self.cell(cells, "active").lower()
        if not text or text in TRUE:
            return True
        if text in FALSE:
            return False
        problems.append((self.column("active"), "must be true or false"))
        return True

    def _moment(self, cells, target: str, problems, *, end: bool = False) -> dt.datetime | None:
        text = self.cell(cells, target)
        if not text:
            return None
        value = None
        try:
            if len(text) == 10:
                day = parse_date(text)
                if day is not None:
                    # a date alone: the start of that day, or for an expiration its end
                    value = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
            else:
                value = parse_datetime(text if "T" in text else text.replace(" ", "T", 1))
        except ValueError:
            value = None
        if value is None:
            problems.append(
                (
                    self.column(target),
                    f"“{text[:40]}” is not a date; use 2026-01-31 or 2026-01-31T09:00:00Z",
                )
            )
            return None
        if timezone.is_naive(value):
            value = value.replace(tzinfo=self.zone)
        return value.astimezone(dt.UTC)

    def _discount(self, cells, problems) -> dict | None:
        """The row's Discount (None when its discount columns are empty)."""
        if not any(self.cell(cells, target) for target in DISCOUNT_COLUMNS):
            return None
        kind = self.cell(cells, "discount_type").upper()
        if not kind:
            given = [target for target in DISCOUNT_VALUES if self.cell(cells, target)]
            if len(given) != 1:
                problems.append(
                    (
                        self.column("discount_type"),
                        "is required (AMOUNT, PERCENT or FIXED) unless exactly one of "
                        "amount_off, percent_off and fixed_amount is filled",
                    )
                )
                return None
            kind = {"amount_off": "AMOUNT", "percent_off": "PERCENT"}.get(given[0], "FIXED")
        if kind == "UNIT":
            problems.append(
                (
                    self.column("discount_type"),
                    "UNIT discounts cannot be imported; create them in the dashboard or the API",
                )
            )
            return None
        before = len(problems)
        discount: dict[str, Any] = {"type": kind}
        effect = self.cell(cells, "discount_effect").upper()
        if effect:
            discount["effect"] = effect
        for target in ("amount_off", "amount_limit", "fixed_amount"):
            value = self._money(cells, target, problems)
            if value is not None:
                discount[target] = value
        percent = self.cell(cells, "percent_off").rstrip("%").strip()
        if percent:
            try:
                number = Decimal(percent)
                if not number.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                problems.append((self.column("percent_off"), f"“{percent[:40]}” is not a number"))
            else:
                integral = number == number.to_integral_value()
                discount["percent_off"] = int(number) if integral else float(number)
        if len(problems) > before:
            return None
        try:
            return clean_discount(discount)
        except ApplicationError as exc:
            field = (exc.details or "").removeprefix("discount.")
            target = DISCOUNT_FIELD_COLUMNS.get(field, field)
            if target not in DISCOUNT_COLUMNS:
                target = "discount_type"
            reason = exc.message.split(" ", 1)[1] if exc.message.startswith("discount.") else ""
            problems.append((self.column(target), reason.rstrip(".") or exc.message))
            return None

    # -- one batch, a few queries ------------------------------------------------------------

    def check_batch(self, batch: Batch) -> None:
        positions: dict[int, list[tuple[str, str]]] = {}
        self._check_existing(batch, positions)
        self._load_refs(batch)
        finished = []
        for index, row in enumerate(batch.rows):
            values, problems = self._finish(row)
            if problems:
                positions.setdefault(index, []).extend(problems)
            finished.append(values)
        batch.rows = finished
        batch.reject(positions)
        ids = ordered_public_ids("v", len(batch.rows))
        tx_ids = ordered_public_ids("vtx", len(batch.rows))
        batch.rows = [
            (public_id, *values, tx_id)
            for public_id, values, tx_id in zip(ids, batch.rows, tx_ids, strict=True)
        ]

    def _check_existing(self, batch: Batch, positions) -> None:
        """Codes the project has: refused, an import never changes a voucher."""
        existing: dict[str, str] = {}
        keys = batch.keys
        if connection.vendor == "postgresql":
            # one array parameter: building `IN (…)` with 20,000 placeholders costs more than
            # the index lookups themselves
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT code_key, code FROM {Voucher._meta.db_table} "
                    "WHERE project_id = %s AND code_key = ANY(%s)",
                    [self.project.pk, keys],
                )
                existing.update(cursor.fetchall())
        else:
            for start in range(0, len(keys), 5000):
                existing.update(
                    Voucher.objects.filter(
                        project=self.project, code_key__in=keys[start : start + 5000]
                    ).values_list("code_key", "code")
                )
        for index, key in enumerate(keys):
            if key in existing:
                stored = existing[key]
                was = f" as “{stored}”" if stored != batch.rows[index]["code"] else ""
                positions.setdefault(index, []).append(
                    (
                        self.source_column,
                        f"code exists in this project{was}; an import never updates vouchers",
                    )
                )

    def _load_refs(self, batch: Batch) -> None:
        """Campaigns and categories named in the batch, by id or by name (ids first)."""
        for target, cache, model in (
            ("campaign", self.campaigns, Campaign),
            ("category", self.categories, Category),
        ):
            refs = {row[target] for row in batch.rows if row[target]} - cache.keys()
            if not refs:
                continue
            fields = CAMPAIGN_FIELDS if model is Campaign else ["pk", "public_id", "name"]
            rows = model.objects.filter(
                Q(public_id__in=refs) | Q(name__in=refs), project=self.project
            ).values(*fields)
            by_id, by_name = {}, {}
            for found in rows:
                value = _campaign_info(found) if model is Campaign else found["pk"]
                by_id[found["public_id"]] = value
                by_name[found["name"]] = value
            for ref in refs:
                cache[ref] = by_id.get(ref, by_name.get(ref))

    def _finish(self, row: dict) -> tuple[tuple | None, list[tuple[str, str]]]:
        """The new voucher's columns (VOUCHER_FIELDS after public_id, then the opening ledger
        entry's type and amount), from the campaign's template and the row."""
        problems: list[tuple[str, str]] = []
        campaign = None
        if row["campaign"]:
            campaign = self.campaigns.get(row["campaign"])
            if campaign is None:
                problems.append(
                    (self.column("campaign"), f"no campaign “{row['campaign']}” in this project")
                )
                return None, problems
            if campaign.campaign_type == CampaignType.PROMOTION:
                problems.append(
                    (
                        self.column("campaign"),
                        f"“{campaign.name}” is a promotion: it has tiers, not codes",
                    )
                )
                return None, problems
        category_id = campaign.category_id if campaign else None
        if row["category"]:
            category_id = self.categories.get(row["category"])
            if category_id is None:
                problems.append(
                    (self.column("category"), f"no category “{row['category']}” in this project")
                )
        kind = row["type"] or (campaign.voucher_type if campaign else VoucherType.DISCOUNT_VOUCHER)
        if campaign and kind != campaign.voucher_type:
            problems.append(
                (
                    self.column("type"),
                    f"campaign “{campaign.name}” issues {campaign.voucher_type} vouchers, "
                    f"not {kind}",
                )
            )
            return None, problems
        discount = gift = points = None
        effect = ""
        gift_name, points_name = self.column("gift_amount"), self.column("loyalty_points")
        if kind == VoucherType.DISCOUNT_VOUCHER:
            discount = row["discount"] or (campaign.discount if campaign else None)
            if discount is None:
                problems.append(
                    (
                        self.column("discount_type"),
                        "a discount voucher needs a discount: fill discount_type and "
                        "amount_off, percent_off or fixed_amount",
                    )
                )
        elif row["discount"] is not None:
            problems.append((self.column("discount_type"), f"a {kind} has no discount"))
        if kind == VoucherType.GIFT_VOUCHER:
            gift = row["gift_amount"] or (campaign.gift_amount if campaign else None)
            effect = (campaign.gift_effect if campaign else "") or "APPLY_TO_ORDER"
            if not gift:
                problems.append((gift_name, "is required for a gift card"))
        elif row["gift_amount"] is not None:
            problems.append((gift_name, "only gift cards have an amount"))
        if kind == VoucherType.LOYALTY_CARD:
            points = row["loyalty_points"]
            if points is None:
                points = (campaign.loyalty_points if campaign else 0) or 0
        elif row["loyalty_points"] is not None:
            problems.append((points_name, "only loyalty cards have points"))
        start = row["start_date"] or (campaign.start_date if campaign else None)
        end = row["expiration_date"] or (campaign.expiration_date if campaign else None)
        if start and end and end <= start:
            problems.append((self.column("expiration_date"), "must be after the start date"))
        if problems:
            return None, problems
        quantity = row["redemption_quantity"]
        if quantity is None and campaign:
            quantity = campaign.redemption_quantity
        if gift:
            opening = (TransactionType.CREDITS_ADDITION, gift)
        elif points:
            opening = (TransactionType.POINTS_ADDITION, points)
        else:
            opening = (None, None)
        values = (
            row["code"],
            row["code_key"],
            campaign.pk if campaign else None,
            category_id,
            kind,
            discount,
            gift,
            gift,
            effect,
            points,
            points,
            quantity,
            row["active"],
            start,
            end,
            campaign.validity_timeframe if campaign else None,
            campaign.validity_day_of_week if campaign else None,
            campaign.validity_hours if campaign else None,
            row["metadata"],
            campaign.is_referral if campaign else False,
            row["additional_info"],
            *opening,
        )
        return values, []

    def make_writer(self):
        return VoucherWriter(project=self.project, code_column=self.source_column)


class VoucherWriter:
    """Inserts a checked batch of new vouchers (rows from `VoucherPlan.check_batch`)."""

    def __init__(self, *, project, code_column: str):
        self.project = project
        self.code_column = code_column
        self.postgres = connection.vendor == "postgresql"

    def encode(self, row):
        return row

    def dry_run(self, batch) -> tuple[dict, list]:
        # existing codes were refused by check_batch: every remaining row would be new
        return {"new": len(batch.rows), "updated": 0, "unchanged": 0}, []

    def apply(self, batch, *, now=None) -> tuple[dict, list]:
        """Write the batch. Runs inside the caller's transaction (one per batch)."""
        if not batch.rows:
            return {"new": 0, "updated": 0, "unchanged": 0}, []
        now = now or timezone.now()
        if self.postgres:
            added = self._insert_postgres(batch.rows, now)
        else:
            added = self._insert_portable(batch.rows, now)
        inserted = {public_id for public_id, _ in added}
        problems = [
            (line, self.code_column, "code exists in this project (added while importing)")
            for line, row in zip(batch.lines, batch.rows, strict=True)
            if row[0] not in inserted
        ]
        per_campaign = Counter(campaign_id for _, campaign_id in added if campaign_id)
        for campaign_id in sorted(per_campaign):  # in pk order: parallel batches never deadlock
            Campaign.objects.filter(pk=campaign_id).update(
                vouchers_count=F("vouchers_count") + per_campaign[campaign_id]
            )
        return {"new": len(added), "updated": 0, "unchanged": 0}, problems

    def _insert_postgres(self, rows, now) -> list[tuple[str, int | None]]:
        qn = connection.ops.quote_name
        meta = Voucher._meta
        columns = [meta.get_field(name).column for name in VOUCHER_FIELDS]
        json_at = [i for i, name in enumerate(VOUCHER_FIELDS) if name in JSON_FIELDS]
        voucher, ledger = qn(meta.db_table), qn(VoucherTransaction._meta.db_table)
        listed = ", ".join(qn(c) for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
            cursor.execute(
                f"CREATE TEMP TABLE {STAGE} AS SELECT {listed} FROM {voucher} WITH NO DATA"
            )
            cursor.execute(
                f"ALTER TABLE {STAGE} ADD COLUMN tx_type text, ADD COLUMN tx_amount bigint, "
                "ADD COLUMN tx_public_id text"
            )
            with cursor.cursor.copy(
                f"COPY {STAGE} ({listed}, tx_type, tx_amount, tx_public_id) FROM STDIN"
            ) as copy:
                for row in rows:
                    row = list(row)
                    for i in json_at:
                        if row[i] is not None:
                            row[i] = json.dumps(row[i], separators=(",", ":"))
                    copy.write_row(row)
            cursor.execute(
                f"WITH added AS (INSERT INTO {voucher} (project_id, created_at, updated_at, "
                f"redeemed_quantity, {listed}) "
                f"SELECT %s, %s, %s, 0, {', '.join('s.' + qn(c) for c in columns)} "
                f"FROM {STAGE} AS s ON CONFLICT DO NOTHING RETURNING id, public_id, campaign_id), "
                f"entries AS (INSERT INTO {ledger} (public_id, project_id, voucher_id, type, "
                "amount, balance_after, reason, source_id, created_at, updated_at) "
                "SELECT s.tx_public_id, %s, added.id, s.tx_type, s.tx_amount, s.tx_amount, "
                f"'Opening balance', '', %s, %s FROM added JOIN {STAGE} AS s "
                "ON s.public_id = added.public_id WHERE s.tx_type IS NOT NULL) "
                "SELECT public_id, campaign_id FROM added",
                [self.project.pk, now, now, self.project.pk, now, now],
            )
            added = cursor.fetchall()
            cursor.execute(f"DROP TABLE {STAGE}")
        return added

    def _insert_portable(self, rows, now) -> list[tuple[str, int | None]]:
        """SQLite: bulk_create skipping conflicts, then read back which rows are ours."""
        vouchers = []
        for row in rows:
            fields = dict(zip(VOUCHER_FIELDS, row, strict=False))
            fields["campaign_id"] = fields.pop("campaign")
            fields["category_id"] = fields.pop("category")
            vouchers.append(Voucher(project=self.project, created_at=now, updated_at=now, **fields))
        Voucher.objects.bulk_create(vouchers, ignore_conflicts=True, batch_size=1000)
        ids = [row[0] for row in rows]
        added = {
            public_id: (pk, campaign_id)
            for pk, public_id, campaign_id in Voucher.objects.filter(
                project=self.project, public_id__in=ids
            ).values_list("pk", "public_id", "campaign_id")
        }
        entries = [
            VoucherTransaction(
                public_id=row[-1],
                project=self.project,
                voucher_id=added[row[0]][0],
                type=row[-3],
                amount=row[-2],
                balance_after=row[-2],
                reason="Opening balance",
                created_at=now,
                updated_at=now,
            )
            for row in rows
            if row[0] in added and row[-3]
        ]
        VoucherTransaction.objects.bulk_create(entries, batch_size=1000)
        return [(public_id, campaign_id) for public_id, (_, campaign_id) in added.items()]


# -- the API's imports into one campaign, and JSON imports -------------------------------------

MAX_JSON_ITEMS = 5_000  # a JSON import is written in the request (a 1 MB body at most)
MAX_REPORTED_FAILURES = 1_000
JSON_JOB_TYPES = {False: "vouchers.import", True: "campaign.vouchers_import"}


def vouchers_csv_for_campaign(*, upload, campaign: Campaign) -> File:
    """The uploaded voucher CSV with every row put into `campaign`: a `campaign` column (the
    campaign's id) written first, and any campaign column of the file dropped. The result goes
    to `import_unattended` like any upload, so the rows follow the import's rules."""
    upload.seek(0)
    try:
        facts = parsing.inspect_csv(upload)
    except parsing.FileProblem as exc:
        raise ApplicationError(str(exc), key="invalid_payload", details="file") from None
    upload.seek(0)
    source = io.TextIOWrapper(upload, encoding="utf-8-sig", newline="")
    out = tempfile.TemporaryFile()  # noqa: SIM115 -- the caller gets (and closes) it
    target = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        reader = csv.reader(source, delimiter=facts.delimiter)
        writer = csv.writer(target)
        header = next(reader)
        drop = {
            index
            for index, name in enumerate(header)
            if default_target(ImportKind.VOUCHERS, name.strip()) == "campaign"
        }
        keep = [index for index in range(len(header)) if index not in drop]
        writer.writerow(["campaign", *(header[index] for index in keep)])
        for row in reader:
            if not row:
                writer.writerow([])
                continue
            cells = [row[index] for index in keep if index < len(row)]
            writer.writerow([campaign.public_id, *cells, *row[len(header) :]])
        target.flush()
    except (csv.Error, UnicodeDecodeError) as exc:
        out.close()
        raise ApplicationError(
            f"The file cannot be read as CSV: {exc}", key="invalid_payload", details="file"
        ) from None
    finally:
        source.detach()
        target.detach()
    out.seek(0)
    name = f"{Path(upload.name or 'vouchers').stem[:80]}.csv"
    return File(out, name=name)


def _item_failure(index: int, item, exc: ApplicationError) -> dict:
    code = item.get("code") if isinstance(item, dict) else None
    return {
        "index": index,
        "code": code if isinstance(code, str) else None,
        "key": exc.key,
        "message": exc.message,
        "details": exc.details,
    }


def vouchers_import_json(*, project, items, campaign: Campaign | None = None, created_by=None):
    """Voucherify's JSON import (`POST /v1/vouchers/import`, `/v1/campaigns/{id}/import`):
    each item is a voucher with its code, created by `voucher_create` (into `campaign` when
    given, else standalone). Items that fail are reported in the job's result; the others are
    kept. Returns the finished Job, which the API answers as the async action."""
    from apps.campaigns.services import voucher_create
    from apps.jobs.services import job_create, job_finish, job_progress, job_start

    if not isinstance(items, list) or not items:
        raise ApplicationError(
            "Send a list of vouchers, each with its code.", key="invalid_payload", details="body"
        )
    if len(items) > MAX_JSON_ITEMS:
        raise ApplicationError(
            f"Import at most {MAX_JSON_ITEMS:,} vouchers at once; use the CSV import for more.",
            key="invalid_payload",
            details="body",
        )
    job = job_create(
        project=project,
        type=JSON_JOB_TYPES[campaign is not None],
        created_by=created_by,
        total=len(items),
        params={"campaign": campaign.public_id if campaign else None},
    )
    job_start(job_id=job.pk)
    done, failed = 0, []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ApplicationError("Each voucher must be an object.", details=f"{index}")
            code = item.get("code")
            if not isinstance(code, str) or not code.strip():
                raise ApplicationError("Each voucher needs its code.", details=f"{index}.code")
            with transaction.atomic():
                voucher_create(project=project, payload=item, campaign=campaign, code=code)
            done += 1
        except ApplicationError as exc:
            failed.append(_item_failure(index, item, exc))
        if index % 500 == 499:
            job_progress(job_id=job.pk, processed=index + 1)
    job_progress(job_id=job.pk, processed=len(items))
    job_finish(
        job_id=job.pk,
        result={
            "done_count": done,
            "failed_count": len(failed),
            "failed": failed[:MAX_REPORTED_FAILURES],
        },
    )
    job.refresh_from_db()
    return job
