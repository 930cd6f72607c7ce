"""Gather what the engine needs for one request, in a bounded number of queries whatever the
number of items, redeemables and rules:

    vouchers (1, locked in primary-key order when redeeming) · promotion tiers and stacks (≤ 2)
    · rule assignments with their rules (1) · live session locks (≤ 1) · the cart's products and
    SKUs (≤ 4) · collection membership of the cart (≤ 2) · unit prices (≤ 1) · the customer's
    segments (≤ 2) · redemption counters (≤ 3, only when a rule needs them) · campaigns locked
    (≤ 1, only when a rule counts campaign redemptions and we redeem)
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db.models import BooleanField as BooleanOutput
from django.db.models import Case, Count, Q, Sum, Value, When

from apps.campaigns.models import Campaign, PromotionStack, PromotionTier, StackTier, Voucher
from apps.core.errors import ApplicationError
from apps.core.memo import Expiring
from apps.core.money import currency_exponent
from apps.customers.models import Customer
from apps.engine import snapshot as engine
from apps.engine.rules import COUNTER_FIELDS
from apps.orders.services import order_preview
from apps.products.collections import product_filter_q
from apps.products.models import Product, Sku
from apps.segments.models import Segment, SegmentMember, SegmentType
from apps.segments.services import segment_filter_q

from . import reads
from .models import Redemption, Status, ValidationSession
from .reads import Attached

MAX_REDEEMABLES = 30
OBJECTS = ("voucher", "promotion_tier", "promotion_stack")


def _invalid(message: str, key: str = "invalid_payload", details: str = "") -> ApplicationError:
    return ApplicationError(message, key=key, details=details)


@dataclass
class Ref:
    """One redeemable as the request named it."""

    object: str
    id: str
    credits: int | None = None
    points: int | None = None
    position: int = 0
    voucher: Voucher | None = None
    tier: PromotionTier | None = None
    campaign: Campaign | None = None  # qualification: a campaign whose codes are not held yet
    stack_id: str = ""


def parse_redeemables(raw) -> list[Ref]:
    """Voucherify's `redeemables` list, checked: 1 to 30 entries, or one promotion stack alone, no
    entry twice."""
    if not isinstance(raw, list) or not raw:
        raise _invalid(
            "redeemables must list at least one voucher or promotion tier.", details="redeemables"
        )
    if len(raw) > MAX_REDEEMABLES:
        raise _invalid(
            f"At most {MAX_REDEEMABLES} redeemables per request (got {len(raw)}).",
            details="redeemables",
        )
    refs, seen = [], set()
    for position, entry in enumerate(raw):
        where = f"redeemables[{position}]"
        if not isinstance(entry, dict) or entry.get("object") not in OBJECTS:
            raise _invalid(f"{where}.object must be one of {', '.join(OBJECTS)}.", details=where)
        ident = entry.get("id")
        if not isinstance(ident, str) or not ident.strip():
            raise _invalid(f"{where}.id is required.", details=where)
        key = (entry["object"], ident)
        if key in seen:
            raise _invalid(
                f"{ident} is named twice in redeemables.",
                key="duplicated_redeemables",
                details=where,
            )
        seen.add(key)
        credits = (
            (entry.get("gift") or {}).get("credits")
            if isinstance(entry.get("gift"), dict)
            else None
        )
        points = (
            (entry.get("reward") or {}).get("points")
            if isinstance(entry.get("reward"), dict)
            else None
        )
        for name, value in (("gift.credits", credits), ("reward.points", points)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise _invalid(f"{where}.{name} must be a whole number, 0 or more.", details=where)
        refs.append(Ref(entry["object"], ident, credits, points, position))
    if any(ref.object == "promotion_stack" for ref in refs) and len(refs) > 1:
        raise _invalid(
            "Promotion Stack cannot be use with other redeemables", key="invalid_redeemables"
        )
    return refs


def code_key(project, code: str) -> str:
    return code if project.codes_case_sensitive else code.upper()


@dataclass
class Snapshot:
    request: engine.Request
    refs: list[Ref]
    order: object  # an unsaved orders.Order with .preview_items
    customer: Customer | None
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    queries_note: str = ""


def period_starts(now: dt.datetime, time_zone: str) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """Start of today, this week (Monday) and this month in the project's zone, as UTC."""
    try:
        zone = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    local = now.astimezone(zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - dt.timedelta(days=day.weekday())
    month = day.replace(day=1)
    return tuple(moment.astimezone(dt.UTC) for moment in (day, week, month))


def load(
    *,
    project,
    refs: list[Ref],
    order_payload: dict,
    customer: Customer | None,
    metadata: dict,
    now: dt.datetime,
    customer_fresh: bool = True,
    session_key: str = "",
    lock: bool = False,
    preloaded: bool = False,
) -> Snapshot:
    """`preloaded`: the refs already carry their voucher/tier/campaign (qualification)."""
    order = order_preview(project=project, payload=order_payload or {})
    if not preloaded:
        _load_redeemables(project, refs, lock=lock)
    vouchers = [ref.voucher for ref in refs if ref.voucher is not None]
    tiers = [ref.tier for ref in refs if ref.tier is not None]
    assignments = _assignments(vouchers, tiers, [ref.campaign for ref in refs if ref.campaign])
    rule_names = {
        condition.get("name")
        for assignment in assignments
        for key, condition in (assignment.rule.rules or {}).items()
        if key != "logic" and isinstance(condition, dict)
    }
    campaign_ids = sorted(
        {v.campaign_id for v in vouchers if v.campaign_id} | {t.campaign_id for t in tiers}
    )
    campaigns = {}
    if (
        lock
        and campaign_ids
        and rule_names & {n for n in COUNTER_FIELDS if n.startswith("campaign.")}
    ):
        # Campaign-wide limits (redemption counts, budget) are read and used under the
        # campaign's row lock, taken after the vouchers' (the fixed order everywhere).
        campaigns = {
            c.pk: c
            for c in Campaign.objects.select_for_update().filter(pk__in=campaign_ids).order_by("pk")
        }
    counters = _counters(project, refs, customer, rule_names, now)
    held = _held_by_others(vouchers, now, session_key)
    items = _items(project, order, assignments)
    unit_prices = _unit_prices(project, refs)
    facts = _customer_facts(project, customer, assignments, now, fresh=customer_fresh)
    by_owner = _by_owner(assignments)
    redeemables = []
    for ref in refs:
        redeemables.append(_redeemable(ref, by_owner, counters, held))
    request = engine.Request(
        cart=engine.Cart(
            amount=order.amount,
            items=tuple(items),
            initial_amount=order.initial_amount,
            metadata=order.metadata or {},
            discount_amount=order.discount_amount,
        ),
        redeemables=tuple(redeemables),
        now=now,
        time_zone=project.time_zone,
        customer=facts,
        metadata=metadata or {},
        stacking=stacking_rules(project),
        unit_prices=unit_prices,
        currency_digits=currency_exponent(project.currency),
    )
    return Snapshot(request=request, refs=refs, order=order, customer=customer, campaigns=campaigns)


def stacking_rules(project) -> engine.StackingRules:
    stored = project.stacking_rules or {}
    fields = engine.StackingRules.__dataclass_fields__
    return engine.StackingRules(**{k: v for k, v in stored.items() if k in fields})


def _load_redeemables(project, refs: list[Ref], *, lock: bool) -> None:
    stack_refs = [ref for ref in refs if ref.object == "promotion_stack"]
    if stack_refs:
        stack = (
            PromotionStack.objects.filter(project=project, public_id=stack_refs[0].id)
            .select_related("campaign")
            .first()
        )
        if stack is None:
            return  # stays a not-found promotion_stack
        entries = (
            StackTier.objects.filter(stack=stack)
            .order_by("position")
            .values_list("tier__public_id", flat=True)
        )
        refs[:] = [
            Ref("promotion_tier", tier_id, position=i, stack_id=stack.public_id)
            for i, tier_id in enumerate(entries)
        ]
    codes = {code_key(project, ref.id) for ref in refs if ref.object == "voucher"}
    ids = {ref.id for ref in refs if ref.object == "voucher" and ref.id.startswith("v_")}
    by_key = {}
    for voucher in reads.codes(project, keys=sorted(codes), ids=sorted(ids), lock=lock):
        by_key[voucher.code_key] = by_key[voucher.public_id] = voucher
    for ref in refs:
        if ref.object == "voucher":
            ref.voucher = by_key.get(code_key(project, ref.id)) or by_key.get(ref.id)
    tier_ids = [ref.id for ref in refs if ref.object == "promotion_tier"]
    if tier_ids:
        by_id = {tier.public_id: tier for tier in reads.tiers(project, public_ids=tier_ids)}
        for ref in refs:
            if ref.object == "promotion_tier":
                ref.tier = by_id.get(ref.id)


def _assignments(vouchers, tiers, campaigns=()) -> list[Attached]:
    campaign_ids = (
        {v.campaign_id for v in vouchers if v.campaign_id}
        | {t.campaign_id for t in tiers}
        | {c.pk for c in campaigns}
    )
    return reads.attached_rules(
        voucher_ids=sorted(v.pk for v in vouchers),
        tier_ids=sorted(t.pk for t in tiers),
        campaign_ids=sorted(campaign_ids),
    )


def _by_owner(assignments: list[Attached]) -> dict:
    """The rules assigned to each voucher, tier and campaign (`("voucher", pk)`, …), with each
    assignment's position: a qualification looks up 100 candidates' rules."""
    found: dict[tuple[str, int], list[tuple[int, engine.Rule]]] = {}
    for position, assignment in enumerate(assignments):
        for owner in (
            ("voucher", assignment.voucher_id),
            ("tier", assignment.tier_id),
            ("campaign", assignment.campaign_id),
        ):
            if owner[1] is not None:
                found.setdefault(owner, []).append((position, assignment.rule))
    return found


def _rules_for(ref: Ref, by_owner: dict) -> tuple[engine.Rule, ...]:
    """The rules on the redeemable, its tier and its campaign, in assignment order, each once."""
    voucher, tier = ref.voucher, ref.tier
    campaign_id = (
        voucher.campaign_id if voucher else tier.campaign_id if tier else _pk(ref.campaign)
    )
    mine = [
        *(by_owner.get(("voucher", voucher.pk), ()) if voucher is not None else ()),
        *(by_owner.get(("tier", tier.pk), ()) if tier is not None else ()),
        *(by_owner.get(("campaign", campaign_id), ()) if campaign_id is not None else ()),
    ]
    rules = []
    for _, rule in sorted(mine, key=lambda found: found[0]):
        if not any(known is rule for known in rules):
            rules.append(rule)
    return tuple(rules)


def _counters(project, refs, customer, rule_names, now) -> dict:
    """Counters per campaign id (or ('voucher', pk) for codes without a campaign)."""
    wanted_campaign = any(name.startswith("campaign.") for name in rule_names if name)
    wanted_customer = customer is not None and any(
        name.startswith("redemption.count.per_customer") for name in rule_names if name
    )
    if not wanted_campaign and not wanted_customer:
        return {}
    day, week, month = period_starts(now, project.time_zone)
    campaign_ids = set()
    voucher_ids = set()
    for ref in refs:
        if ref.voucher is not None:
            if ref.voucher.campaign_id:
                campaign_ids.add(ref.voucher.campaign_id)
            else:
                voucher_ids.add(ref.voucher.pk)
        elif ref.tier is not None:
            campaign_ids.add(ref.tier.campaign_id)
        elif ref.campaign is not None:
            campaign_ids.add(ref.campaign.pk)
    succeeded = Redemption.objects.filter(
        project=project, status=Status.SUCCEEDED, parent__isnull=False
    )
    periods = {
        "total": Count("id"),
        "daily": Count("id", filter=Q(created_at__gte=day)),
        "weekly": Count("id", filter=Q(created_at__gte=week)),
        "monthly": Count("id", filter=Q(created_at__gte=month)),
    }
    result: dict = {}

    def gather(group: str, ids, scope_of, prefix: str, extra: dict, where: Q):
        if not ids:
            return
        rows = (
            succeeded.filter(where, **{f"{group}__in": ids})
            .values(group)
            .annotate(**periods, **extra)
            .order_by()
        )
        for row in rows:
            key = scope_of(row[group])
            values = result.setdefault(key, {})
            for name in ("total", "daily", "weekly", "monthly"):
                values[f"{prefix}_{name}"] = row[name]
            if prefix == "campaign":
                values["campaign_customers"] = row["customers"]
                values["campaign_discounted"] = row["discounted"] or 0
                values["campaign_orders_amount"] = row["orders_amount"] or 0

    campaign_extra = {
        "customers": Count("customer_id", distinct=True),
        "discounted": Sum("amount"),
        "orders_amount": Sum("order_amount"),
    }
    if wanted_campaign:
        gather("campaign_id", campaign_ids, lambda pk: pk, "campaign", campaign_extra, Q())
        gather(
            "voucher_id", voucher_ids, lambda pk: ("voucher", pk), "campaign", campaign_extra, Q()
        )
    if wanted_customer:
        mine = Q(customer=customer)
        gather("campaign_id", campaign_ids, lambda pk: pk, "customer", {}, mine)
        gather("voucher_id", voucher_ids, lambda pk: ("voucher", pk), "customer", {}, mine)
    return result


def _held_by_others(vouchers, now, session_key: str) -> dict[int, int]:
    limited = [v.pk for v in vouchers if v.redemption_quantity is not None]
    if not limited:
        return {}
    live = ValidationSession.objects.filter(
        voucher_id__in=limited, released_at__isnull=True, expires_at__gt=now
    )
    if session_key:
        live = live.exclude(key=session_key)
    return dict(live.values("voucher_id").annotate(n=Count("id")).values_list("voucher_id", "n"))


def _collection_refs(assignments) -> set[str]:
    found = set()

    def walk(group):
        for key, condition in (group or {}).items():
            if key == "logic" or not isinstance(condition, dict):
                continue
            for values in (condition.get("conditions") or {}).values():
                for value in values if isinstance(values, list) else []:
                    if isinstance(value, dict) and value.get("object") == "products_collection":
                        found.add(value.get("id"))
            walk(condition.get("rules"))

    for assignment in assignments:
        walk(assignment.rule.rules)
        for part in ("included", "excluded"):
            for target in (assignment.rule.applicable_to or {}).get(part, []):
                if target.get("object") == "products_collection":
                    found.add(target.get("id"))
    return found


def _items(project, order, assignments) -> list[engine.Item]:
    lines = order.preview_items
    collections = _collection_refs(assignments)
    product_pks = {line.product_id for line in lines if line.product_id}
    sku_pks = {line.sku_id for line in lines if line.sku_id}
    memberships = reads.collection_members(
        project,
        collection_ids=sorted(collections),
        product_ids=sorted(product_pks),
        sku_ids=sorted(sku_pks),
        filter_sql=lambda pk, stored_filter, updated_at: _filter_sql(
            project, pk, stored_filter, updated_at
        ),
    )
    items = []
    for line in lines:
        product, sku = line.product, line.sku
        in_collections = set(memberships.get(("product", line.product_id), set()))
        in_collections |= memberships.get(("sku", line.sku_id), set())
        items.append(
            engine.Item(
                price=line.price or 0,
                quantity=line.quantity,
                amount=line.amount,
                product_id=product.public_id if product else "",
                product_source_id=(product.source_id or "") if product else line.source_id,
                sku_id=sku.public_id if sku else "",
                sku_source_id=(sku.source_id or "") if sku else "",
                name=line.name or (product.name if product else ""),
                metadata=line.metadata or {},
                product_metadata=(product.metadata or {}) if product else {},
                collections=frozenset(in_collections),
                discount_amount=line.discount_amount or 0,
            )
        )
    return items


def _unit_prices(project, refs) -> dict[str, int]:
    wanted = set()
    for ref in refs:
        target = ref.voucher or ref.tier or ref.campaign
        discount = (target.discount or {}) if target else {}
        if discount.get("type") == "UNIT":
            wanted |= {unit["unit_type"] for unit in discount.get("units") or [discount]}
    if not wanted:
        return {}
    prices = {}
    products = [ref for ref in wanted if not ref.startswith("sku_")]
    skus = [ref for ref in wanted if ref.startswith("sku_")]
    if products:
        for public_id, price in Product.objects.filter(
            project=project, public_id__in=products, price__isnull=False
        ).values_list("public_id", "price"):
            prices[public_id] = price
    if skus:
        for sku in Sku.objects.filter(project=project, public_id__in=skus).select_related(
            "product"
        ):
            price = sku.price if sku.price is not None else sku.product.price
            if price is not None:
                prices[sku.public_id] = price
    return prices


def _customer_facts(project, customer, assignments, now, *, fresh: bool):
    if customer is None:
        return None
    named = set()
    for assignment in assignments:
        for key, condition in (assignment.rule.rules or {}).items():
            if (
                key != "logic"
                and isinstance(condition, dict)
                and condition.get("name") == "customer.segment"
            ):
                for values in (condition.get("conditions") or {}).values():
                    named.update(v for v in values if isinstance(v, str))
    segments = set()
    if named and not fresh:
        # A customer this request did not touch: the membership table is current.
        segments = reads.segments_of(customer, segment_ids=sorted(named))
    elif named:
        rows = list(Segment.objects.filter(project=project, public_id__in=named).order_by())
        static = [s for s in rows if s.type == SegmentType.STATIC or not s.filter]
        live = [s for s in rows if s not in static]
        if static:
            segments |= set(
                SegmentMember.objects.filter(segment__in=static, customer=customer)
                .order_by()
                .values_list("segment__public_id", flat=True)
            )
        if live:
            # Judged now, on the customer as this request left them: membership rows are
            # recomputed after commit and do not know this customer's change yet.
            flags = {
                f"in_{i}": Case(
                    When(_cached_q(s, lambda s=s: segment_filter_q(s, now=now)), then=Value(True)),
                    default=Value(False),
                    output_field=BooleanOutput(),
                )
                for i, s in enumerate(live)
            }
            row = (
                Customer.objects.filter(pk=customer.pk)
                .annotate(**flags)
                .order_by()
                .values(*flags)
                .first()
            )
            segments |= {s.public_id for i, s in enumerate(live) if row and row[f"in_{i}"]}
    return engine.CustomerFacts(
        id=customer.public_id,
        source_id=customer.source_id or "",
        segments=frozenset(segments),
        metadata=customer.metadata or {},
    )


_COMPILED = Expiring(limit=2000)
Q_TTL = 60.0  # seconds: a metadata schema change reaches compiled filters within a minute


def _cached_q(obj, compile_q):
    """A segment's or collection's filter compiled to a Q, kept per process while the object is
    unchanged (its updated_at) and for at most Q_TTL seconds. Segments with relative dates are
    compiled every time: their Q depends on `now`."""
    if getattr(obj, "uses_time", False):
        return compile_q()
    key = (type(obj).__name__, obj.pk, obj.updated_at)
    cached = _COMPILED.get(key)
    if cached is not None:
        return cached
    return _COMPILED.put(key, compile_q(), Q_TTL)


def _filter_sql(project, pk, stored_filter, updated_at) -> tuple[str, list]:
    """An auto-update collection's filter as SQL (SELECT id FROM products WHERE …), compiled
    once per process while the collection is unchanged, for at most Q_TTL seconds."""
    key = ("collection-sql", pk, updated_at)
    cached = _COMPILED.get(key)
    if cached is not None:
        return cached
    q = product_filter_q(project=project, filter_json=stored_filter)
    sql, params = Product.objects.filter(q).values("id").query.sql_with_params()
    return _COMPILED.put(key, (sql, list(params)), Q_TTL)


def _categories(*objects) -> tuple[engine.Category, ...]:
    seen = {}
    for obj in objects:
        category = getattr(obj, "category", None) if obj is not None else None
        if category is not None:
            seen[category.pk] = engine.Category(
                id=category.public_id,
                name=category.name,
                hierarchy=category.hierarchy,
                stacking_rules_type=category.stacking_rules_type,
            )
    return tuple(seen.values())


def _redeemable(ref: Ref, by_owner: dict, counters: dict, held: dict) -> engine.Redeemable:
    common = {"object": ref.object, "id": ref.id, "requested_position": ref.position}
    voucher, tier = ref.voucher, ref.tier
    if voucher is not None:
        campaign = voucher.campaign
        scope = voucher.campaign_id or ("voucher", voucher.pk)
        return engine.Redeemable(
            **common,
            public_id=voucher.public_id,
            type=voucher.type,
            name=voucher.code,
            campaign_id=campaign.public_id if campaign else "",
            campaign_name=campaign.name if campaign else "",
            discount=voucher.discount,
            gift_balance=voucher.gift_balance or 0,
            gift_effect=voucher.gift_effect or "APPLY_TO_ORDER",
            loyalty_balance=voucher.loyalty_balance or 0,
            active=voucher.active,
            campaign_active=campaign.active if campaign else True,
            start_date=_later(voucher.start_date, campaign.start_date if campaign else None),
            expiration_date=_earlier(
                voucher.expiration_date, campaign.expiration_date if campaign else None
            ),
            validity_timeframe=voucher.validity_timeframe,
            validity_day_of_week=voucher.validity_day_of_week,
            validity_hours=voucher.validity_hours,
            quantity=voucher.redemption_quantity,
            redeemed_quantity=voucher.redeemed_quantity,
            held_by_others=held.get(voucher.pk, 0),
            holder_id=getattr(voucher, "holder_public_id", None) or "",
            categories=_categories(voucher, campaign),
            rules=_rules_for(ref, by_owner),
            counters=engine.Counters(**counters.get(scope, {})),
            credits=ref.credits,
            points=ref.points,
            metadata=voucher.metadata or {},
        )
    if tier is not None:
        campaign = tier.campaign
        return engine.Redeemable(
            **common,
            public_id=tier.public_id,
            type="PROMOTION",
            name=tier.name,
            campaign_id=campaign.public_id,
            campaign_name=campaign.name,
            discount=tier.discount,
            active=tier.active,
            campaign_active=campaign.active,
            start_date=_later(tier.start_date, campaign.start_date),
            expiration_date=_earlier(tier.expiration_date, campaign.expiration_date),
            validity_timeframe=tier.validity_timeframe or campaign.validity_timeframe,
            validity_day_of_week=tier.validity_day_of_week or campaign.validity_day_of_week,
            validity_hours=tier.validity_hours or campaign.validity_hours,
            categories=_categories(tier, campaign),
            rules=_rules_for(ref, by_owner),
            counters=engine.Counters(**counters.get(tier.campaign_id, {})),
            metadata=tier.metadata or {},
        )
    campaign = ref.campaign
    if campaign is not None:
        return engine.Redeemable(
            **common,
            public_id=campaign.public_id,
            type=campaign.voucher_type,
            name=campaign.name,
            campaign_id=campaign.public_id,
            campaign_name=campaign.name,
            discount=campaign.discount,
            gift_balance=campaign.gift_amount or 0,
            gift_effect=campaign.gift_effect or "APPLY_TO_ORDER",
            active=campaign.active,
            start_date=campaign.start_date,
            expiration_date=campaign.expiration_date,
            validity_timeframe=campaign.validity_timeframe,
            validity_day_of_week=campaign.validity_day_of_week,
            validity_hours=campaign.validity_hours,
            categories=_categories(campaign),
            rules=_rules_for(ref, by_owner),
            counters=engine.Counters(**counters.get(campaign.pk, {})),
            metadata=campaign.metadata or {},
        )
    return engine.Redeemable(**common, found=False)


def _pk(obj):
    return obj.pk if obj is not None else None


def _later(a, b):
    return max(value for value in (a, b) if value) if (a or b) else None


def _earlier(a, b):
    return min(value for value in (a, b) if value) if (a or b) else None
