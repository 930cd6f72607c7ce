"""Campaigns and single vouchers: create (Voucherify's payload shape), update, enable, disable,
delete, add codes, add a code with a specific value."""

import copy

# ruff: noqa: S608 -- table names come from model meta; every value is a bound parameter.
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.core import events
from apps.core.errors import ApplicationError
from apps.jobs.models import Job
from apps.jobs.services import job_create, job_finish, job_progress, job_start
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

from ..codes import CodeConfig, code_key
from ..discounts import GIFT_EFFECTS, clean_discount
from ..hooks import codes_cleanups
from ..models import (
    Campaign,
    CampaignMode,
    CampaignType,
    Category,
    CreationStatus,
    Publication,
    TransactionType,
    Voucher,
    VoucherTransaction,
    VoucherType,
)
from ..validity import clean_validity, parse_iso_duration
from .generation import code_config_for, generate_codes, generation_start, voucher_template

# Voucherify pairs each campaign type with the kind of voucher it issues.
VOUCHER_TYPES = {
    CampaignType.DISCOUNT_COUPONS: VoucherType.DISCOUNT_VOUCHER,
    CampaignType.REFERRAL_PROGRAM: VoucherType.DISCOUNT_VOUCHER,
    CampaignType.GIFT_VOUCHERS: VoucherType.GIFT_VOUCHER,
    CampaignType.LOYALTY_PROGRAM: VoucherType.LOYALTY_CARD,
}
SYNC_LIMIT = 100  # up to this many codes are generated at once; more run as a job
MAX_VOUCHERS_COUNT = 10_000_000


def _invalid(message: str, field: str, key: str = "invalid_payload") -> ApplicationError:
    return ApplicationError(message, key=key, details=field)


def _text(value, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{field} must be a string.", field)
    return value


def _name(project, value, *, exclude_pk=None) -> str:
    name = _text(value, "name").strip()
    if not name:
        raise _invalid("A campaign needs a name.", "name")
    if len(name) > 255:
        raise _invalid("A campaign name has at most 255 characters.", "name")
    if Campaign.objects.filter(project=project, name=name).exclude(pk=exclude_pk).exists():
        raise ApplicationError(
            f"A campaign named “{name}” exists.", key="duplicate_found", code=409, details="name"
        )
    return name


def resolve_category(project, payload: dict) -> Category | None:
    """`category_id` (an id) or `category` (a name or an id); None when neither is given."""
    ref = payload.get("category_id") or payload.get("category")
    if not ref:
        return None
    if isinstance(ref, dict):
        ref = ref.get("id") or ref.get("name")
    category = (
        Category.objects.filter(project=project, public_id=ref).first()
        or Category.objects.filter(project=project, name=ref).first()
    )
    if category is None:
        raise ApplicationError(
            f"Cannot find category {ref}", key="not_found", code=404, details="category"
        )
    return category


def _bool(value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise _invalid(f"{field} must be true or false.", field)


def _dict(value, field: str) -> dict:
    """An optional JSON object of the payload: {} when absent, else it must be an object."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(f"{field} must be an object.", field)
    return value


def _count(value, field: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value:
        raise _invalid(f"{field} must be a whole number of at least {low}.", field)
    if value > MAX_VOUCHERS_COUNT:
        raise _invalid(f"{field} can be at most {MAX_VOUCHERS_COUNT:,}.", field)
    return value


def clean_voucher_template(campaign_type: str, voucher: dict) -> dict:
    """The campaign's `voucher` part as model fields of Campaign."""
    expected = VOUCHER_TYPES[campaign_type]
    voucher = _dict(voucher, "voucher")
    kind = voucher.get("type") or expected
    if kind != expected:
        raise _invalid(
            f"A {campaign_type} campaign issues {expected} vouchers, not {kind}.", "voucher.type"
        )
    fields: dict = {"voucher_type": kind, "discount": None, "gift_amount": None}
    fields.update(gift_effect="", loyalty_points=None)
    if kind == VoucherType.DISCOUNT_VOUCHER:
        fields["discount"] = clean_discount(voucher.get("discount"))
    elif kind == VoucherType.GIFT_VOUCHER:
        gift = _dict(voucher.get("gift"), "voucher.gift")
        amount = gift.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
            raise _invalid(
                "gift.amount must be a whole, positive number of minor units.",
                "voucher.gift.amount",
            )
        effect = gift.get("effect") or "APPLY_TO_ORDER"
        if effect not in GIFT_EFFECTS:
            raise _invalid(
                f"gift.effect must be one of {', '.join(GIFT_EFFECTS)}.", "voucher.gift.effect"
            )
        fields.update(gift_amount=amount, gift_effect=effect)
    else:
        points = _dict(voucher.get("loyalty_card"), "voucher.loyalty_card").get("points", 0)
        if isinstance(points, bool) or not isinstance(points, int) or points < 0:
            raise _invalid(
                "loyalty_card.points must be a whole number, 0 or more.",
                "voucher.loyalty_card.points",
            )
        fields["loyalty_points"] = points
    quantity = _dict(voucher.get("redemption"), "voucher.redemption").get("quantity")
    if quantity is not None:
        quantity = _count(quantity, "voucher.redemption.quantity", low=1)
    fields["redemption_quantity"] = quantity
    return fields


@transaction.atomic
def campaign_create(
    *, project, payload: dict, created_by=None, sync_limit: int = SYNC_LIMIT
) -> Campaign:
    """Create a campaign from Voucherify's create body. Codes (`vouchers_count`) are generated
    now when at most `sync_limit`, else by a job after commit (the campaign shows IN_PROGRESS
    meanwhile; `selectors.campaign_generation_job` finds the job)."""
    campaign_type = payload.get("campaign_type") or CampaignType.DISCOUNT_COUPONS
    if campaign_type not in CampaignType.values:
        raise _invalid(
            f"campaign_type must be one of {', '.join(CampaignType.values)}.", "campaign_type"
        )
    mode = payload.get("type") or (
        CampaignMode.AUTO_UPDATE if campaign_type == CampaignType.PROMOTION else CampaignMode.STATIC
    )
    if mode not in CampaignMode.values:
        raise _invalid(f"type must be one of {', '.join(CampaignMode.values)}.", "type")
    campaign = Campaign(
        project=project,
        name=_name(project, payload.get("name")),
        description=_text(payload.get("description"), "description"),
        campaign_type=campaign_type,
        type=mode,
        category=resolve_category(project, payload),
        metadata=schema_for(project=project, resource=Resource.CAMPAIGN).check(
            _dict(payload.get("metadata"), "metadata")
        ),
        join_once=_bool(payload.get("join_once", False), "join_once"),
        auto_join=_bool(payload.get("auto_join", False), "auto_join"),
        active=_bool(payload.get("active", True), "active"),
        **clean_validity(payload),
    )
    duration = _text(
        payload.get("activity_duration_after_publishing"), "activity_duration_after_publishing"
    )
    if duration:
        parse_iso_duration(duration, "activity_duration_after_publishing")
    campaign.activity_duration_after_publishing = duration
    count, standalone_code = 0, None
    if campaign_type != CampaignType.PROMOTION:
        voucher = _dict(payload.get("voucher"), "voucher")
        for name, value in clean_voucher_template(campaign_type, voucher).items():
            setattr(campaign, name, value)
        campaign.code_config = dict(_dict(voucher.get("code_config"), "voucher.code_config"))
        config = CodeConfig(campaign.code_config, case_sensitive=project.codes_case_sensitive)
        count = _count(payload.get("vouchers_count", 0) or 0, "vouchers_count")
        if mode == CampaignMode.STANDALONE:
            count = min(count, 1) or 1
        config.check_room(live=0, requested=count)
        campaign.vouchers_count = count
        standalone_code = voucher.get("code") if mode == CampaignMode.STANDALONE else None
        if standalone_code is not None:
            # Voucherify creates a standalone campaign's single voucher with `voucher.code`
            standalone_code = _clean_code(project, standalone_code)
            count = campaign.vouchers_count = 0
    campaign.save()
    events.emit(project.pk, "campaign.created", campaign)
    if campaign_type == CampaignType.PROMOTION:
        from .promotions import tier_create

        tiers = _dict(payload.get("promotion"), "promotion").get("tiers") or []
        if not isinstance(tiers, list):
            raise _invalid("promotion.tiers must be a list.", "promotion.tiers")
        for tier in tiers:
            tier_create(campaign=campaign, payload=_dict(tier, "promotion.tiers"))
        return campaign
    if standalone_code is not None:
        voucher_create(project=project, payload={}, campaign=campaign, code=standalone_code)
    elif 0 < count <= sync_limit:
        generate_codes(campaign, count)
    elif count:
        campaign.creation_status = CreationStatus.IN_PROGRESS
        campaign.save(update_fields=["creation_status"])
        generation_start(campaign=campaign, count=count, created_by=created_by)
        campaign.refresh_from_db(fields=["vouchers_generation_status"])
    return campaign


def _mode_change(campaign: Campaign, mode) -> str:
    """A campaign's `type` may switch between AUTO_UPDATE and STATIC (Voucherify's rule)."""
    if campaign.campaign_type == CampaignType.PROMOTION or campaign.type == CampaignMode.STANDALONE:
        if mode != campaign.type:
            raise _invalid(f"The type of this campaign stays {campaign.type}.", "type")
        return mode
    if mode not in (CampaignMode.AUTO_UPDATE, CampaignMode.STATIC):
        raise _invalid("type must be AUTO_UPDATE or STATIC.", "type")
    return mode


def _check_dates(obj) -> None:
    if obj.start_date and obj.expiration_date and obj.expiration_date <= obj.start_date:
        raise _invalid("expiration_date must be after start_date.", "expiration_date")


@transaction.atomic
def campaign_update(*, campaign: Campaign, payload: dict) -> Campaign:
    """Change what Voucherify lets change after creation. The voucher template (discount, gift,
    points, code format) applies to codes generated from now on; existing codes keep theirs."""
    project = campaign.project
    if "name" in payload:
        campaign.name = _name(project, payload["name"], exclude_pk=campaign.pk)
    if "description" in payload:
        campaign.description = _text(payload["description"], "description")
    for field in ("join_once", "auto_join", "active"):
        if field in payload:
            setattr(campaign, field, _bool(payload[field], field))
    if "activity_duration_after_publishing" in payload:
        duration = payload["activity_duration_after_publishing"] or ""
        if duration:
            parse_iso_duration(duration, "activity_duration_after_publishing")
        campaign.activity_duration_after_publishing = duration
    if "category" in payload or "category_id" in payload:
        campaign.category = resolve_category(project, payload)
    if "metadata" in payload:
        campaign.metadata = schema_for(project=project, resource=Resource.CAMPAIGN).check(
            _dict(payload["metadata"], "metadata")
        )
    for field, value in clean_validity(payload, partial=True).items():
        setattr(campaign, field, value)
    _check_dates(campaign)
    if "type" in payload:
        campaign.type = _mode_change(campaign, payload["type"])
    # Voucherify's update body carries discount and gift at the top level; ours also takes
    # the create body's `voucher` part.
    voucher = dict(_dict(payload.get("voucher"), "voucher"))
    for part in ("discount", "gift", "loyalty_card"):
        if part in payload and part not in voucher:
            voucher[part] = payload[part]
    if voucher and campaign.campaign_type != CampaignType.PROMOTION:
        current = {
            "type": campaign.voucher_type,
            "discount": campaign.discount,
            "gift": {"amount": campaign.gift_amount, "effect": campaign.gift_effect or None},
            "loyalty_card": {"points": campaign.loyalty_points or 0},
            "redemption": {"quantity": campaign.redemption_quantity},
        }
        merged = {**current, **voucher}
        for part in ("gift", "loyalty_card", "redemption"):
            if part in voucher:
                merged[part] = {**current[part], **_dict(voucher[part], f"voucher.{part}")}
        for name, value in clean_voucher_template(campaign.campaign_type, merged).items():
            setattr(campaign, name, value)
        if "code_config" in voucher:
            config = _dict(voucher["code_config"], "voucher.code_config")
            CodeConfig(config, case_sensitive=project.codes_case_sensitive)
            campaign.code_config = dict(config)
    if "unset_metadata_fields" in payload:
        names = payload["unset_metadata_fields"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _invalid("unset_metadata_fields must list keys.", "unset_metadata_fields")
        campaign.metadata = {k: v for k, v in (campaign.metadata or {}).items() if k not in names}
    campaign.save()
    events.emit(campaign.project_id, "campaign.updated", campaign)
    return campaign


def campaign_set_active(*, campaign: Campaign, active: bool) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(active=active, updated_at=timezone.now())
    campaign.active = active
    kind = "campaign.enabled" if active else "campaign.disabled"
    events.emit(campaign.project_id, kind, campaign)
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    """Delete the campaign with all its codes, their ledgers and publications' links, in a few
    set-based statements (a million codes are not loaded into Python to cascade)."""
    voucher = Voucher._meta.db_table
    links = Publication.vouchers.through._meta.db_table
    ledger = VoucherTransaction._meta.db_table
    codes = f"SELECT id FROM {voucher} WHERE campaign_id = %s"
    with connection.cursor() as cursor:
        for cleanup in codes_cleanups():
            cleanup(cursor, codes, [campaign.pk])
        for table in (links, ledger):
            cursor.execute(f"DELETE FROM {table} WHERE voucher_id IN ({codes})", [campaign.pk])
        cursor.execute(f"DELETE FROM {voucher} WHERE campaign_id = %s", [campaign.pk])
    events.emit(campaign.project_id, "campaign.deleted", copy.copy(campaign))
    campaign.delete()


DELETE_JOB_TYPE = "campaign.delete"


def campaign_delete_recorded(*, campaign: Campaign, created_by=None) -> Job:
    """campaign_delete, recorded as a finished job: Voucherify answers a campaign deletion
    with an async action to poll, and so does the API (the work is done when it answers)."""
    job = job_create(
        project=campaign.project,
        type=DELETE_JOB_TYPE,
        created_by=created_by,
        total=1,
        params={"campaign": campaign.public_id, "name": campaign.name},
    )
    job_start(job_id=job.pk)
    codes = Voucher.objects.filter(campaign=campaign).count()
    campaign_delete(campaign=campaign)
    job_progress(job_id=job.pk, processed=1)
    job_finish(job_id=job.pk, result={"campaign": job.params["campaign"], "vouchers": codes})
    job.refresh_from_db()
    return job


def clean_code_overrides(campaign: Campaign, payload: dict) -> dict:
    """What Voucherify's add-vouchers body changes in the codes it generates (metadata,
    additional info, category, redemption limit, dates, code config), as JSON for a job."""
    project = campaign.project
    overrides: dict = {}
    if "metadata" in payload:
        overrides["metadata"] = schema_for(project=project, resource=Resource.VOUCHER).check(
            _dict(payload["metadata"], "metadata")
        )
    if "additional_info" in payload:
        overrides["additional_info"] = _text(payload["additional_info"], "additional_info")[:5000]
    if "category" in payload or "category_id" in payload:
        category = resolve_category(project, payload)
        overrides["category_id"] = category.pk if category else None
    quantity = _dict(payload.get("redemption"), "redemption").get("quantity")
    if quantity is not None:
        overrides["redemption_quantity"] = _count(quantity, "redemption.quantity", low=1)
    dates = {
        field: payload[field] for field in ("start_date", "expiration_date") if field in payload
    }
    dates = clean_validity(dates, partial=True)
    start = dates.get("start_date", campaign.start_date)
    end = dates.get("expiration_date", campaign.expiration_date)
    if start and end and end <= start:
        raise _invalid("expiration_date must be after start_date.", "expiration_date")
    for field, value in dates.items():
        overrides[field] = value.isoformat() if value else None
    if "code_config" in payload:
        config = dict(_dict(payload["code_config"], "code_config"))
        CodeConfig(config, case_sensitive=project.codes_case_sensitive)
        overrides["code_config"] = config
    return overrides


@transaction.atomic
def campaign_add_vouchers(
    *, campaign: Campaign, count: int, payload: dict | None = None, created_by=None
):
    """More random codes for the campaign (a job; the code space is checked first). `payload`
    is Voucherify's add-vouchers body: what the new codes get instead of the campaign's
    settings (see clean_code_overrides)."""
    if campaign.campaign_type == CampaignType.PROMOTION:
        raise _invalid("Promotion campaigns have tiers, not codes.", "campaign")
    if campaign.type == CampaignMode.STANDALONE:
        raise _invalid("A standalone campaign holds a single voucher.", "campaign")
    count = _count(count, "vouchers_count", low=1)
    overrides = clean_code_overrides(campaign, payload or {})
    Campaign.objects.filter(pk=campaign.pk).update(vouchers_count=F("vouchers_count") + count)
    return generation_start(
        campaign=campaign, count=count, created_by=created_by, overrides=overrides
    )


def _clean_code(project, code) -> str:
    code = str(code or "").strip()
    if not code:
        raise _invalid("Enter a code.", "code")
    if len(code) > 100 or any(ch.isspace() for ch in code):
        raise _invalid("A code has at most 100 characters and no spaces.", "code")
    if "/" in code:
        # a code is a path segment of the API and the dashboard (/v1/vouchers/{code})
        raise _invalid("A code cannot contain a slash (/).", "code")
    return code


def _card_values(campaign: Campaign, payload: dict) -> dict:
    """A campaign code's own discount, gift amount or points, when the payload gives them
    (Voucherify's import items may); the type must be the campaign's."""
    kind = payload.get("type")
    if kind not in (None, campaign.voucher_type):
        raise _invalid(
            f"Campaign {campaign.name} issues {campaign.voucher_type} vouchers, not {kind}.", "type"
        )
    if not any(part in payload for part in ("discount", "gift", "loyalty_card")):
        return {}
    template = clean_voucher_template(
        campaign.campaign_type,
        {
            "type": campaign.voucher_type,
            "discount": payload.get("discount", campaign.discount),
            "gift": {
                "amount": campaign.gift_amount,
                "effect": campaign.gift_effect or None,
                **_dict(payload.get("gift"), "gift"),
            },
            "loyalty_card": {
                "points": campaign.loyalty_points or 0,
                **_dict(payload.get("loyalty_card"), "loyalty_card"),
            },
        },
    )
    gift = campaign.voucher_type == VoucherType.GIFT_VOUCHER
    loyalty = campaign.voucher_type == VoucherType.LOYALTY_CARD
    return {
        "discount": template["discount"],
        "gift_amount": template["gift_amount"] if gift else None,
        "gift_balance": template["gift_amount"] if gift else None,
        "gift_effect": template["gift_effect"],
        "loyalty_points": template["loyalty_points"] if loyalty else None,
        "loyalty_balance": template["loyalty_points"] if loyalty else None,
    }


@transaction.atomic
def voucher_create(
    *, project, payload: dict, campaign: Campaign | None = None, code: str | None = None
) -> Voucher:
    """A voucher with a specific code in a campaign, or a standalone voucher (no campaign:
    its own type, discount, gift or points from the payload). Without a code, one is drawn
    from `code_config`."""
    now = timezone.now()
    if campaign is not None:
        if campaign.campaign_type == CampaignType.PROMOTION:
            raise _invalid("Promotion campaigns have tiers, not codes.", "campaign")
        fields = voucher_template(campaign, now)
        fields.update(_card_values(campaign, payload))
        config = code_config_for(
            campaign, {"code_config": _dict(payload.get("code_config"), "code_config")}
        )
    else:
        kind = payload.get("type") or VoucherType.DISCOUNT_VOUCHER
        if not isinstance(kind, str):
            raise _invalid(f"type must be one of {', '.join(VoucherType.values)}.", "type")
        campaign_type = {
            VoucherType.DISCOUNT_VOUCHER: CampaignType.DISCOUNT_COUPONS,
            VoucherType.GIFT_VOUCHER: CampaignType.GIFT_VOUCHERS,
            VoucherType.LOYALTY_CARD: CampaignType.LOYALTY_PROGRAM,
        }.get(kind)
        if campaign_type is None:
            raise _invalid(f"type must be one of {', '.join(VoucherType.values)}.", "type")
        template = clean_voucher_template(campaign_type, payload)
        gift = template["voucher_type"] == VoucherType.GIFT_VOUCHER
        loyalty = template["voucher_type"] == VoucherType.LOYALTY_CARD
        fields = {
            "project_id": project.pk,
            "campaign_id": None,
            "type": template["voucher_type"],
            "discount": template["discount"],
            "gift_amount": template["gift_amount"],
            "gift_balance": template["gift_amount"] if gift else None,
            "gift_effect": template["gift_effect"],
            "loyalty_points": template["loyalty_points"] if loyalty else None,
            "loyalty_balance": template["loyalty_points"] if loyalty else None,
            "redemption_quantity": template["redemption_quantity"],
            "is_referral_code": False,
        }
        config = CodeConfig(
            _dict(payload.get("code_config"), "code_config") or None,
            case_sensitive=project.codes_case_sensitive,
        )
    fields["category_id"] = getattr(
        resolve_category(project, payload), "pk", fields.get("category_id")
    )
    fields.update(clean_validity(payload, partial=True))
    if "active" in payload:
        fields["active"] = _bool(payload["active"], "active")
    if "additional_info" in payload:
        fields["additional_info"] = _text(payload["additional_info"], "additional_info")[:5000]
    quantity = _dict(payload.get("redemption"), "redemption").get("quantity")
    if quantity is not None:
        fields["redemption_quantity"] = _count(quantity, "redemption.quantity", low=1)
    fields["metadata"] = schema_for(project=project, resource=Resource.VOUCHER).check(
        _dict(payload.get("metadata"), "metadata")
    )
    start, end = fields.get("start_date"), fields.get("expiration_date")
    if start and end and end <= start:
        raise _invalid("expiration_date must be after start_date.", "expiration_date")
    fields.pop("project_id", None)
    fields.pop("campaign_id", None)
    code = _clean_code(project, code) if code else config.random_codes(1)[0]
    voucher = Voucher(project=project, campaign=campaign, code=code, **fields)
    voucher.code_key = code_key(code, case_sensitive=project.codes_case_sensitive)
    try:
        with transaction.atomic():
            voucher.save()
    except IntegrityError:
        raise ApplicationError(
            f"A voucher with code {code} exists.", key="duplicate_found", code=409, details="code"
        ) from None
    opening = None
    if voucher.type == VoucherType.GIFT_VOUCHER and voucher.gift_balance:
        opening = (TransactionType.CREDITS_ADDITION, voucher.gift_balance)
    elif voucher.type == VoucherType.LOYALTY_CARD and voucher.loyalty_balance:
        opening = (TransactionType.POINTS_ADDITION, voucher.loyalty_balance)
    if opening:
        VoucherTransaction.objects.create(
            project=project,
            voucher=voucher,
            type=opening[0],
            amount=opening[1],
            balance_after=opening[1],
            reason="Opening balance",
        )
    if campaign is not None:
        Campaign.objects.filter(pk=campaign.pk).update(vouchers_count=F("vouchers_count") + 1)
    events.emit(project.pk, "voucher.created", voucher)
    return voucher


@transaction.atomic
def voucher_update(*, voucher: Voucher, payload: dict) -> Voucher:
    """Dates, validity, active, category, additional info, metadata, redemption quantity and a
    discount voucher's discount. Balances change only through card adjustments."""
    project = voucher.project
    for field, value in clean_validity(payload, partial=True).items():
        setattr(voucher, field, value)
    if (
        voucher.start_date
        and voucher.expiration_date
        and voucher.expiration_date <= voucher.start_date
    ):
        raise _invalid("expiration_date must be after start_date.", "expiration_date")
    if "active" in payload:
        voucher.active = _bool(payload["active"], "active")
    if "additional_info" in payload:
        voucher.additional_info = _text(payload["additional_info"], "additional_info")[:5000]
    if "category" in payload or "category_id" in payload:
        voucher.category = resolve_category(project, payload)
    if "metadata" in payload:
        voucher.metadata = schema_for(project=project, resource=Resource.VOUCHER).check(
            _dict(payload["metadata"], "metadata")
        )
    if "redemption" in payload:
        quantity = _dict(payload["redemption"], "redemption").get("quantity")
        voucher.redemption_quantity = (
            None if quantity is None else _count(quantity, "redemption.quantity", low=1)
        )
    if payload.get("type") not in (None, voucher.type):
        raise _invalid("A voucher's type cannot change.", "type")
    if "discount" in payload:
        if voucher.type != VoucherType.DISCOUNT_VOUCHER:
            raise _invalid("Only discount vouchers have a discount.", "discount")
        voucher.discount = clean_discount(payload["discount"])
    voucher.save()
    events.emit(project.pk, "voucher.updated", voucher)
    return voucher


def voucher_set_active(*, voucher: Voucher, active: bool) -> Voucher:
    Voucher.objects.filter(pk=voucher.pk).update(active=active, updated_at=timezone.now())
    voucher.active = active
    events.emit(voucher.project_id, "voucher.updated", voucher)
    return voucher


@transaction.atomic
def voucher_delete(*, voucher: Voucher) -> None:
    events.emit(voucher.project_id, "voucher.deleted", copy.copy(voucher))
    campaign_id = voucher.campaign_id
    voucher.delete()
    if campaign_id is not None:
        # the campaign counts one code fewer (a conditional update: never below zero)
        Campaign.objects.filter(pk=campaign_id, vouchers_count__gt=0).update(
            vouchers_count=F("vouchers_count") - 1
        )
