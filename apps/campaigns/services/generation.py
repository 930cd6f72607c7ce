"""Bulk code generation: random codes written in batches, the unique constraint as the guard.

`generate_codes(campaign, count)` inserts exactly `count` new vouchers of the campaign (codes
that collide with any code of the project are dropped by ON CONFLICT DO NOTHING and drawn again).
On PostgreSQL each batch is one COPY into a temporary table and one INSERT … SELECT; gift and
loyalty cards get their opening ledger entry in the same statement. `campaign_generate` is the
job: it generates until the campaign holds its target number of codes, so a retried or resumed
task never overshoots.
"""

# ruff: noqa: S608 -- table names come from model meta; every value is a bound parameter.

import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import psycopg
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.errors import ApplicationError
from apps.core.ids import ordered_public_ids
from apps.jobs.models import Job
from apps.jobs.services import job_create, job_fail, job_finish, job_progress, job_start

from ..codes import CodeConfig
from ..models import (
    Campaign,
    CreationStatus,
    TransactionType,
    Voucher,
    VoucherTransaction,
    VoucherType,
)

BATCH = 100_000
WINDOW = 1_000_000  # codes drawn and sorted at once (about 150 MB of Python strings at most)
MAX_ROUNDS = 50  # rounds of redrawing collisions before giving up (the code space is nearly full)
JOB_TYPE = "campaign.generate"


def code_config_for(campaign: Campaign, overrides: dict | None = None) -> CodeConfig:
    config = (overrides or {}).get("code_config") or campaign.code_config
    return CodeConfig(config, case_sensitive=campaign.project.codes_case_sensitive)


def _with_overrides(template: dict, overrides: dict | None) -> dict:
    """The template with a job's overrides (campaigns.clean_code_overrides) applied."""
    for field, value in (overrides or {}).items():
        if field in ("start_date", "expiration_date"):
            template[field] = parse_datetime(value) if value else None
        elif field != "code_config":
            template[field] = value
    return template


def voucher_template(campaign: Campaign, now: datetime) -> dict:
    """Column values every new code of the campaign starts with."""
    gift = campaign.voucher_type == VoucherType.GIFT_VOUCHER
    loyalty = campaign.voucher_type == VoucherType.LOYALTY_CARD
    return {
        "project_id": campaign.project_id,
        "campaign_id": campaign.pk,
        "category_id": campaign.category_id,
        "type": campaign.voucher_type,
        "discount": campaign.discount
        if campaign.voucher_type == VoucherType.DISCOUNT_VOUCHER
        else None,
        "gift_amount": campaign.gift_amount if gift else None,
        "gift_balance": campaign.gift_amount if gift else None,
        "gift_effect": campaign.gift_effect if gift else "",
        "loyalty_points": campaign.loyalty_points if loyalty else None,
        "loyalty_balance": campaign.loyalty_points if loyalty else None,
        "redemption_quantity": campaign.redemption_quantity,
        "redeemed_quantity": 0,
        "start_date": campaign.start_date,
        "expiration_date": campaign.expiration_date,
        "validity_timeframe": campaign.validity_timeframe,
        "validity_day_of_week": campaign.validity_day_of_week,
        "validity_hours": campaign.validity_hours,
        "active": True,
        "metadata": {},
        "is_referral_code": campaign.is_referral,
        "additional_info": "",
        "created_at": now,
        "updated_at": now,
    }


def opening_entry(campaign: Campaign) -> tuple[str, int] | None:
    """The ledger entry a new card of the campaign opens with, if any."""
    if campaign.voucher_type == VoucherType.GIFT_VOUCHER and campaign.gift_amount:
        return TransactionType.CREDITS_ADDITION, campaign.gift_amount
    if campaign.voucher_type == VoucherType.LOYALTY_CARD and campaign.loyalty_points:
        return TransactionType.POINTS_ADDITION, campaign.loyalty_points
    return None


def generate_codes(
    campaign: Campaign,
    count: int,
    *,
    now: datetime | None = None,
    on_batch=None,
    overrides: dict | None = None,
) -> int:
    """Insert `count` new random codes into the campaign; returns how many were inserted.
    `overrides` replace template values (and the code config) for these codes."""
    now = now or timezone.now()
    config = code_config_for(campaign, overrides)
    template = _with_overrides(voucher_template(campaign, now), overrides)
    opening = opening_entry(campaign)
    inserted, rounds = 0, 0
    while inserted < count:
        rounds += 1
        if rounds > MAX_ROUNDS:
            raise ApplicationError(
                f"Only {inserted:,} of {count:,} codes could be generated: the code format is "
                "nearly full. Make the codes longer or use more characters.",
                key="code_config_too_small",
            )
        # Draw a whole window of codes, drop repeats and sort them: the batches then fill the
        # unique index one key range after another, like an append, instead of touching every
        # page of it in every batch.
        window = sorted(set(config.random_codes(min(WINDOW, count - inserted))), key=config.key)
        batches = [window[start : start + BATCH] for start in range(0, len(window), BATCH)]
        postgres = connection.vendor == "postgresql"
        # While the database takes one batch, a thread writes out the next one's COPY text
        # (waiting on the server releases the GIL, so the two overlap).
        with ThreadPoolExecutor(max_workers=1) as writer:
            ahead = writer.submit(_copy_text, batches[0], config, template, opening)
            for number, codes in enumerate(batches):
                prepared = ahead.result()
                if number + 1 < len(batches):
                    ahead = writer.submit(
                        _copy_text, batches[number + 1], config, template, opening
                    )
                with transaction.atomic():
                    if postgres:
                        with connection.cursor() as cursor:
                            # Do not wait for the WAL flush of each batch: if the server
                            # crashes, the job (which generates up to its target count) makes
                            # them again.
                            cursor.execute("SET LOCAL synchronous_commit = off")
                        added = _insert_postgres(codes, config, template, opening, prepared)
                    else:
                        added = _insert_portable(codes, config, template, opening)
                inserted += added
                if on_batch is not None:
                    on_batch(inserted)
    return inserted


def _copy_text(codes, config, template, opening) -> tuple[list[str], str | None]:
    """The batch's public ids and its rows in COPY's text format (None for cards with an
    opening balance: they go through the staged insert with their ledger rows)."""
    ids = ordered_public_ids("v", len(codes))
    if opening is not None:
        return ids, None
    suffix = "\t".join(_copy_value(template[name]) for name in template)
    lines = "".join(
        f"{code}\t{config.key(code)}\t{ids[i]}\t{suffix}\n" for i, code in enumerate(codes)
    )
    return ids, lines


def _insert_postgres(codes, config, template, opening, prepared=None) -> int:
    """COPY the batch straight into the table; if a code collides (rare: the space is at most
    10 % full), the savepoint rolls back and the batch goes through a staging table with
    INSERT … ON CONFLICT DO NOTHING instead, which drops the colliders for the next round."""
    ids, lines = prepared or _copy_text(codes, config, template, opening)
    columns = list(template)
    if lines is not None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                statement = (
                    f"COPY {Voucher._meta.db_table} (code, code_key, public_id, "
                    f"{', '.join(columns)}) FROM STDIN"
                )
                with cursor.cursor.copy(statement) as copy:
                    copy.write(lines)
            return len(codes)
        except (IntegrityError, psycopg.errors.UniqueViolation):
            pass  # a collision: redo this batch the careful way
    return _insert_staged(codes, ids, config, template, opening)


def _copy_value(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value)
    elif isinstance(value, datetime):
        value = value.isoformat()
    text = str(value)
    for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(char, escaped)
    return text


def _insert_staged(codes, ids, config, template, opening) -> int:
    voucher, tx = Voucher._meta.db_table, VoucherTransaction._meta.db_table
    tx_ids = ordered_public_ids("vtx", len(codes)) if opening else None
    buffer = io.StringIO()
    for i, code in enumerate(codes):
        # codes and ids use only characters that need no COPY escaping
        buffer.write(f"{code}\t{config.key(code)}\t{ids[i]}\t{tx_ids[i] if tx_ids else ''}\n")
    columns = list(template)
    meta = Voucher._meta
    # typed placeholders: INSERT … SELECT gives untyped parameters no column type
    types = [meta.get_field(name.removesuffix("_id")).db_type(connection) for name in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS campaign_codes_stage "
            "(code text, code_key text, public_id text, tx_id text) ON COMMIT DELETE ROWS"
        )
        cursor.execute("DELETE FROM campaign_codes_stage")  # a batch inside a longer transaction
        with cursor.cursor.copy("COPY campaign_codes_stage FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        placeholders = ", ".join(f"%s::{kind}" for kind in types)
        params = [_db(template[name]) for name in columns]
        insert = (
            f"INSERT INTO {voucher} (code, code_key, public_id, {', '.join(columns)}) "
            f"SELECT code, code_key, public_id, {placeholders} FROM campaign_codes_stage "
            "ON CONFLICT DO NOTHING RETURNING id, public_id"
        )
        if opening is None:
            cursor.execute(f"WITH added AS ({insert}) SELECT count(*) FROM added", params)
            return cursor.fetchone()[0]
        kind, amount = opening
        created = template["created_at"]
        cursor.execute(
            f"WITH added AS ({insert}), "
            f"entries AS (INSERT INTO {tx} (public_id, project_id, voucher_id, type, amount, "
            "balance_after, reason, source_id, created_at, updated_at) "
            "SELECT s.tx_id, %s, added.id, %s, %s, %s, 'Opening balance', '', %s, %s "
            "FROM added JOIN campaign_codes_stage s ON s.public_id = added.public_id "
            "RETURNING 1) SELECT count(*) FROM entries",
            [*params, template["project_id"], kind, amount, amount, created, created],
        )
        return cursor.fetchone()[0]


def _db(value):
    return json.dumps(value) if isinstance(value, dict | list) else value


def _insert_portable(codes, config, template, opening) -> int:
    """SQLite: bulk_create with ignore_conflicts, then read back which codes are ours."""
    ids = ordered_public_ids("v", len(codes))
    rows = [
        Voucher(code=code, code_key=config.key(code), public_id=ids[i], **template)
        for i, code in enumerate(codes)
    ]
    Voucher.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    added = list(Voucher.objects.filter(public_id__in=ids).values_list("pk", flat=True).iterator())
    if opening is not None:
        kind, amount = opening
        VoucherTransaction.objects.bulk_create(
            [
                VoucherTransaction(
                    project_id=template["project_id"],
                    voucher_id=pk,
                    type=kind,
                    amount=amount,
                    balance_after=amount,
                    reason="Opening balance",
                    created_at=template["created_at"],
                )
                for pk in added
            ],
            batch_size=2000,
        )
    return len(added)


def generation_start(*, campaign: Campaign, count: int, created_by=None, overrides=None):
    """Check the code space, then generate `count` more codes in a bulk job after commit.
    `overrides` (JSON: campaigns.clean_code_overrides) apply to the codes of this job."""
    if count < 1:
        raise ApplicationError("Generate at least one code.", details="vouchers_count")
    live = Voucher.objects.filter(campaign=campaign).count()
    code_config_for(campaign, overrides).check_room(live=live, requested=count)
    from ..tasks import campaign_generate_task

    job = job_create(
        project=campaign.project,
        type=JOB_TYPE,
        created_by=created_by,
        total=count,
        params={
            "campaign": campaign.public_id,
            "target": live + count,
            "count": count,
            **({"overrides": overrides} if overrides else {}),
        },
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        vouchers_generation_status=CreationStatus.IN_PROGRESS
    )
    campaign_generate_task.delay_on_commit(job.pk)
    return job


def campaign_generate(*, job_id: int) -> dict:
    """The job: generate until the campaign holds `target` codes (safe to run twice)."""
    job = Job.objects.select_related("project").get(pk=job_id)
    if not job_start(job_id=job_id):
        return {}
    campaign = Campaign.objects.select_related("project").get(
        project=job.project, public_id=job.params["campaign"]
    )
    target, count = job.params["target"], job.params["count"]
    try:
        have = Voucher.objects.filter(campaign=campaign).count()
        done_before = count - max(0, target - have)
        generate_codes(
            campaign,
            max(0, target - have),
            on_batch=lambda n: job_progress(job_id=job_id, processed=done_before + n),
            overrides=job.params.get("overrides"),
        )
    except Exception as exc:
        Campaign.objects.filter(pk=campaign.pk).update(
            vouchers_generation_status=CreationStatus.FAILED
        )
        job_fail(job_id=job_id, error=getattr(exc, "message", str(exc)))
        raise
    Campaign.objects.filter(pk=campaign.pk).update(
        vouchers_generation_status=CreationStatus.DONE, creation_status=CreationStatus.DONE
    )
    total = Voucher.objects.filter(campaign=campaign).count()
    job_finish(job_id=job_id, result={"generated": count, "codes": total})
    return {"generated": count, "codes": total}
