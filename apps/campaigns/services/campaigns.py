"""Campaigns and single vouchers: create (Voucherify's payload shape), update, enable, disable,
delete, add codes, add a code with a specific value."""

# ruff: noqa: S608 -- table names come from model meta; every value is a bound parameter.

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.errors import ApplicationError
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


def _name(project, value, *, exclude_pk=None) -> str:
    name = str(value or "").strip()
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


def _count(value, field: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value:
        raise _invalid(f"{field} must be a whole number of at least {low}.", field)
    if value > MAX_VOUCHERS_COUNT:
        raise _invalid(f"{field} can be at most {MAX_VOUCHERS_COUNT:,}.", field)
    return value


def clean_voucher_template(campaign_type: str, voucher: dict) -> dict:
    """The campaign's `voucher` part as model fields of Campaign."""
    expected = VOUCHER_TYPES[campaign_type]
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
        gift = voucher.get("gift") or {}
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
        points = (voucher.get("loyalty_card") or {}).get("points", 0)
        if isinstance(points, bool) or not isinstance(points, int) or points < 0:
            raise _invalid(
                "loyalty_card.points must be a whole number, 0 or more.",
                "voucher.loyalty_card.points",
            )
        fields["loyalty_points"] = points
    quantity = (voucher.get("redemption") or {}).get("quantity")
    if quantity is not None:
        quantity = _count(quantity, "voucher.redemption.quantity", low=1)
    fields["redemption_quantity"] = quantity
    return fields


@transaction.atomic
def campaign_create(*, project, payload: dict, created_by=None) -> Campaign:
    """Create a campaign from Voucherify's create body. Codes (`vouchers_count`) are generated
    now when few, else by a job after commit (the campaign shows IN_PROGRESS meanwhile)."""
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
        description=str(payload.get("description") or ""),
        campaign_type=campaign_type,
        type=mode,
        category=resolve_category(project, payload),
        metadata=schema_for(project=project, resource=Resource.CAMPAIGN).check(
            payload.get("metadata") or {}
        ),
        join_once=_bool(payload.get("join_once", False), "join_once"),
        auto_join=_bool(payload.get("auto_join", False), "auto_join"),
        active=_bool(payload.get("active", True), "active"),
        **clean_validity(payload),
    )
    duration = payload.get("activity_duration_after_publishing") or ""
    if duration:
        parse_iso_duration(duration, "activity_duration_after_publishing")
    campaign.activity_duration_after_publishing = duration
    count = 0
    if campaign_type != CampaignType.PROMOTION:
        voucher = payload.get("voucher") or {}
        for name, value in clean_voucher_template(campaign_type, voucher).items():
            setattr(campaign, name, value)
        campaign.code_config = dict(voucher.get("code_config") or {})
        config = CodeConfig(campaign.code_config, case_sensitive=project.codes_case_sensitive)
        count = _count(payload.get("vouchers_count", 0) or 0, "vouchers_count")
        if mode == CampaignMode.STANDALONE:
            count = min(count, 1) or 1
        config.check_room(live=0, requested=count)
        campaign.vouchers_count = count
    campaign.save()
    if campaign_type == CampaignType.PROMOTION:
        from .promotions import tier_create

        for tier in (payload.get("promotion") or {}).get("tiers") or []:
            tier_create(campaign=campaign, payload=tier)
        return campaign
    if 0 < count <= SYNC_LIMIT:
        generate_codes(campaign, count)
    elif count:
        campaign.creation_status = CreationStatus.IN_PROGRESS
        campaign.save(update_fields=["creation_status"])
        generation_start(campaign=campaign, count=count, created_by=created_by)
        campaign.refresh_from_db(fields=["vouchers_generation_status"])
    return campaign


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
        campaign.description = str(payload["description"] or "")
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
            payload["metadata"] or {}
        )
    for field, value in clean_validity(payload, partial=True).items():
        setattr(campaign, field, value)
    _check_dates(campaign)
    voucher = payload.get("voucher")
    if voucher and campaign.campaign_type != CampaignType.PROMOTION:
        merged = {
            "type": campaign.voucher_type,
            "discount": campaign.discount,
            "gift": {"amount": campaign.gift_amount, "effect": campaign.gift_effect or None},
            "loyalty_card": {"points": campaign.loyalty_points or 0},
            "redemption": {"quantity": campaign.redemption_quantity},
            **voucher,
        }
        for name, value in clean_voucher_template(campaign.campaign_type, merged).items():
            setattr(campaign, name, value)
        if "code_config" in voucher:
            CodeConfig(voucher["code_config"], case_sensitive=project.codes_case_sensitive)
            campaign.code_config = dict(voucher["code_config"] or {})
    campaign.save()
    return campaign


def campaign_set_active(*, campaign: Campaign, active: bool) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(active=active, updated_at=timezone.now())
    campaign.active = active
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
    campaign.delete()


@transaction.atomic
def campaign_add_vouchers(*, campaign: Campaign, count: int, created_by=None):
    """More random codes for the campaign (a job; the code space is checked first)."""
    if campaign.campaign_type == CampaignType.PROMOTION:
        raise _invalid("Promotion campaigns have tiers, not codes.", "campaign")
    if campaign.type == CampaignMode.STANDALONE:
        raise _invalid("A standalone campaign holds a single voucher.", "campaign")
    count = _count(count, "vouchers_count", low=1)
    Campaign.objects.filter(pk=campaign.pk).update(vouchers_count=F("vouchers_count") + count)
    return generation_start(campaign=campaign, count=count, created_by=created_by)


def _clean_code(project, code) -> str:
    code = str(code or "").strip()
    if not code:
        raise _invalid("Enter a code.", "code")
    if len(code) > 100 or any(ch.isspace() for ch in code):
        raise _invalid("A code has at most 100 characters and no spaces.", "code")
    return code


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
        config = code_config_for(campaign)
    else:
        kind = payload.get("type") or VoucherType.DISCOUNT_VOUCHER
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
        config = CodeConfig(payload.get("code_config"), case_sensitive=project.codes_case_sensitive)
    fields["category_id"] = getattr(
        resolve_category(project, payload), "pk", fields.get("category_id")
    )
    fields.update(clean_validity(payload, partial=True))
    if "active" in payload:
        fields["active"] = _bool(payload["active"], "active")
    if "additional_info" in payload:
        fields["additional_info"] = str(payload["additional_info"] or "")[:5000]
    quantity = (payload.get("redemption") or {}).get("quantity")
    if quantity is not None:
        fields["redemption_quantity"] = _count(quantity, "redemption.quantity", low=1)
    fields["metadata"] = schema_for(project=project, resource=Resource.VOUCHER).check(
        payload.get("metadata") or {}
    )
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
        voucher.additional_info = str(payload["additional_info"] or "")[:5000]
    if "category" in payload or "category_id" in payload:
        voucher.category = resolve_category(project, payload)
    if "metadata" in payload:
        voucher.metadata = schema_for(project=project, resource=Resource.VOUCHER).check(
            payload["metadata"] or {}
        )
    if "redemption" in payload:
        quantity = (payload["redemption"] or {}).get("quantity")
        voucher.redemption_quantity = (
            None if quantity is None else _count(quantity, "redemption.quantity", low=1)
        )
    if "discount" in payload:
        if voucher.type != VoucherType.DISCOUNT_VOUCHER:
            raise _invalid("Only discount vouchers have a discount.", "discount")
        voucher.discount = clean_discount(payload["discount"])
    voucher.save()
    return voucher


def voucher_set_active(*, voucher: Voucher, active: bool) -> Voucher:
    Voucher.objects.filter(pk=voucher.pk).update(active=active, updated_at=timezone.now())
    voucher.active = active
    return voucher


def voucher_delete(*, voucher: Voucher) -> None:
    voucher.delete()
