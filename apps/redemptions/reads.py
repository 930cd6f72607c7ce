"""The checkout's hottest reads, in hand-written SQL.

Every validation and redemption reads its customer, its codes (with their campaigns and
categories), the rules assigned to them and the customer's segments. Built with the ORM, those
queries cost several times more in Python than in the database; here the SQL is a constant and
the rows become partially loaded models through `apps.core.rows` (only the columns below).

The SQL is standard (PostgreSQL and SQLite); the lock (`FOR UPDATE OF v`) is PostgreSQL's, and
SQLite serialises writers anyway.
"""

# ruff: noqa: S608 -- table and column names come from model meta; every value is a parameter.

import json
from dataclasses import dataclass

from django.db import connection

from apps.campaigns import validity
from apps.campaigns.models import Campaign, CampaignType, Category, PromotionTier, Voucher
from apps.core.rows import Columns, attach, columns, placeholders
from apps.customers.models import Customer
from apps.engine import snapshot as engine
from apps.products.models import CollectionItem, CollectionType, Product, ProductCollection
from apps.rules.models import RuleAssignment, ValidationRule
from apps.segments.models import Segment, SegmentMember

VALIDITY = ("active", *validity.FIELDS)
VOUCHER = (
    "id",
    "project_id",
    "public_id",
    "code",
    "code_key",
    "campaign_id",
    "category_id",
    "holder_id",
    "type",
    "discount",
    "gift_balance",
    "gift_effect",
    "loyalty_balance",
    "redemption_quantity",
    "redeemed_quantity",
    "metadata",
    *VALIDITY,
)
CAMPAIGN = ("id", "project_id", "public_id", "name", "category_id", *VALIDITY)
CATEGORY = ("id", "public_id", "name", "hierarchy", "stacking_rules_type")
RULE = ("id", "public_id", "name", "rules", "error_message", "applicable_to")
# What a checkout reads of its customer; the rest of the row is not loaded.
CUSTOMER = ("id", "project_id", "public_id", "source_id", "name", "email", "metadata")


def _parts() -> dict:
    return columns(
        "checkout",
        lambda: {
            "voucher": Columns(Voucher, "v", VOUCHER),
            "campaign": Columns(Campaign, "c", CAMPAIGN),
            "voucher_category": Columns(Category, "vc", CATEGORY),
            "tier": Columns(PromotionTier, "t"),
            "tier_category": Columns(Category, "tc", CATEGORY),
            "whole_campaign": Columns(Campaign, "c"),
            "campaign_category": Columns(Category, "cc", CATEGORY),
            "rule": Columns(ValidationRule, "r", RULE),
            "customer": Columns(Customer, "k", CUSTOMER),
        },
    )


def customer(project, *, pk=None, public_id=None, source_id=None, lock=False):
    """The project's customer with this primary key, public id or source_id, or None; with
    `lock`, its row locked (FOR UPDATE)."""
    part = _parts()["customer"]
    column, value = next(
        (column, value)
        for column, value in (("id", pk), ("public_id", public_id), ("source_id", source_id))
        if value is not None
    )
    sql = (
        f"SELECT {part.sql} FROM {Customer._meta.db_table} k "
        f"WHERE k.project_id = %s AND k.{column} = %s"
    )
    if lock and connection.vendor == "postgresql":
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [project.pk, value])
        row = cursor.fetchone()
    return part.build(row) if row else None


def segments_of(customer, *, segment_ids: list[str]) -> set[str]:
    """Which of these segments (public ids) list the customer as a member."""
    if not segment_ids:
        return set()
    sql = (
        f"SELECT s.public_id FROM {SegmentMember._meta.db_table} m "
        f"JOIN {Segment._meta.db_table} s ON s.id = m.segment_id "
        f"WHERE m.customer_id = %s AND s.project_id = %s "
        f"AND s.public_id IN ({placeholders(segment_ids)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [customer.pk, customer.project_id, *segment_ids])
        return {row[0] for row in cursor.fetchall()}


def collection_members(
    project, *, collection_ids: list[str], product_ids: list[int], sku_ids: list[int], filter_sql
) -> dict[tuple[str, int], set[str]]:
    """Which of the cart's products and SKUs belong to which of these collections (public ids):
    {("product" | "sku", pk): {pc_…}}, in two queries (the collections, then one UNION of a
    membership test per collection). A static collection is its list of rows; an auto-update one
    is its filter, which `filter_sql(collection)` gives as (SELECT id FROM products … , params)."""
    if not collection_ids or not (product_ids or sku_ids):
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, public_id, type, filter, updated_at "
            f"FROM {ProductCollection._meta.db_table} "
            f"WHERE project_id = %s AND public_id IN ({placeholders(collection_ids)})",
            [project.pk, *collection_ids],
        )
        collections = cursor.fetchall()
        tests, params = [], []
        items = CollectionItem._meta.db_table
        for pk, public_id, kind, stored_filter, updated_at in collections:
            if kind == CollectionType.STATIC:
                for column, ids, label in (
                    ("product_id", product_ids, "product"),
                    ("sku_id", sku_ids, "sku"),
                ):
                    if ids:
                        tests.append(
                            f"SELECT '{label}', {column}, %s FROM {items} "
                            f"WHERE collection_id = %s AND {column} IN ({placeholders(ids)})"
                        )
                        params += [public_id, pk, *ids]
            elif product_ids and stored_filter:
                if isinstance(stored_filter, str):  # SQLite hands JSON back as text
                    stored_filter = json.loads(stored_filter)
                sql, filter_params = filter_sql(pk, stored_filter, updated_at)
                tests.append(
                    f"SELECT 'product', id, %s FROM {Product._meta.db_table} "
                    f"WHERE id IN ({placeholders(product_ids)}) AND id IN ({sql})"
                )
                params += [public_id, *product_ids, *filter_params]
        if not tests:
            return {}
        cursor.execute(" UNION ALL ".join(tests), params)
        members: dict[tuple[str, int], set[str]] = {}
        for label, pk, public_id in cursor.fetchall():
            members.setdefault((label, pk), set()).add(public_id)
    return members


def codes(project, *, keys: list[str], ids: list[str], lock: bool) -> list[Voucher]:
    """The project's vouchers with these code keys or `v_` ids, in primary-key order, each with
    its campaign (and the campaign's category), its category and `holder_public_id`. With
    `lock`, the voucher rows are locked (FOR UPDATE), in that order."""
    if not keys and not ids:
        return []
    return _vouchers(
        f"v.project_id = %s AND (v.code_key IN ({placeholders(keys)}) "
        f"OR v.public_id IN ({placeholders(ids)})) ORDER BY v.id",
        [project.pk, *keys, *ids],
        lock=lock,
    )


def held_codes(project, *, customer_id: int, limit: int) -> list[Voucher]:
    """The customer's active codes (their wallet), newest first, read as `codes` reads them."""
    return _vouchers(
        "v.project_id = %s AND v.holder_id = %s AND v.active = %s ORDER BY v.id DESC LIMIT %s",
        [project.pk, customer_id, True, limit],
    )


def _vouchers(where: str, params: list, *, lock: bool = False) -> list[Voucher]:
    parts = _parts()
    voucher, campaign = parts["voucher"], parts["campaign"]
    own, inherited = parts["voucher_category"], parts["campaign_category"]
    sql = (
        f"SELECT {voucher.sql}, {campaign.sql}, {own.sql}, {inherited.sql}, h.public_id "
        f"FROM {Voucher._meta.db_table} v "
        f"LEFT JOIN {Campaign._meta.db_table} c ON c.id = v.campaign_id "
        f"LEFT JOIN {Category._meta.db_table} vc ON vc.id = v.category_id "
        f"LEFT JOIN {Category._meta.db_table} cc ON cc.id = c.category_id "
        f"LEFT JOIN {Customer._meta.db_table} h ON h.id = v.holder_id "
        f"WHERE {where}"
    )
    if lock and connection.vendor == "postgresql":
        sql += " FOR UPDATE OF v"
    found, shared = [], {}
    for row in _fetch(sql, params):
        parts = (voucher, campaign, own, inherited)
        code, parent, category, parent_category = _split(row, parts, shared)
        if parent is not None:
            attach(parent, "category", parent_category)
        attach(code, "campaign", parent)
        attach(code, "category", category)
        code.holder_public_id = row[-1]
        found.append(code)
    return found


def tiers(
    project, *, public_ids: list[str] | None = None, active: bool = False, limit: int = 0
) -> list[PromotionTier]:
    """The project's promotion tiers (these public ids, or all; with `active`, only active
    tiers of active campaigns) by campaign and hierarchy, each with its campaign (and the
    campaign's category) and its category."""
    if public_ids is not None and not public_ids:
        return []
    parts = _parts()
    tier, campaign = parts["tier"], parts["campaign"]
    own, inherited = parts["tier_category"], parts["campaign_category"]
    where, params = ["t.project_id = %s"], [project.pk]
    if public_ids is not None:
        where.append(f"t.public_id IN ({placeholders(public_ids)})")
        params += public_ids
    if active:
        where.append("t.active = %s AND c.active = %s")
        params += [True, True]
    sql = (
        f"SELECT {tier.sql}, {campaign.sql}, {own.sql}, {inherited.sql} "
        f"FROM {PromotionTier._meta.db_table} t "
        f"JOIN {Campaign._meta.db_table} c ON c.id = t.campaign_id "
        f"LEFT JOIN {Category._meta.db_table} tc ON tc.id = t.category_id "
        f"LEFT JOIN {Category._meta.db_table} cc ON cc.id = c.category_id "
        f"WHERE {' AND '.join(where)} ORDER BY t.campaign_id, t.hierarchy, t.id"
    )
    if limit:
        sql += " LIMIT %s"
        params.append(limit)
    found, shared = [], {}
    for row in _fetch(sql, params):
        parts = (tier, campaign, own, inherited)
        promotion, parent, category, parent_category = _split(row, parts, shared)
        attach(parent, "category", parent_category)
        attach(promotion, "campaign", parent)
        attach(promotion, "category", category)
        found.append(promotion)
    return found


def code_campaigns(project, *, limit: int) -> list[Campaign]:
    """Active auto-update campaigns that hand out codes (not promotions or loyalty programs),
    newest first, each with its category: the campaigns a customer could still get a code of."""
    parts = _parts()
    campaign, category = parts["whole_campaign"], parts["campaign_category"]
    sql = (
        f"SELECT {campaign.sql}, {category.sql} FROM {Campaign._meta.db_table} c "
        f"LEFT JOIN {Category._meta.db_table} cc ON cc.id = c.category_id "
        "WHERE c.project_id = %s AND c.active = %s AND c.type = %s "
        "AND c.campaign_type NOT IN (%s, %s) ORDER BY c.id DESC LIMIT %s"
    )
    params = [
        project.pk,
        True,
        "AUTO_UPDATE",
        CampaignType.PROMOTION,
        CampaignType.LOYALTY_PROGRAM,
        limit,
    ]
    found, shared = [], {}
    for row in _fetch(sql, params):
        parent, parent_category = _split(row, (campaign, category), shared)
        attach(parent, "category", parent_category)
        found.append(parent)
    return found


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _split(row, parts, shared: dict) -> list:
    """The model instances of each part of a joined row, in order (None for a missing join).
    The first part is the row's own object; the joined ones (a campaign, a category) are built
    once per query and shared (`shared`), since many rows join the same few."""
    objects = [parts[0].build(row[: len(parts[0])])]
    at = len(parts[0])
    for part in parts[1:]:
        values = row[at : at + len(part)]
        key = (id(part), values[0])
        if key not in shared:
            shared[key] = part.build(values)
        objects.append(shared[key])
        at += len(part)
    return objects


@dataclass(frozen=True)
class Attached:
    """A rule as assigned: to a campaign, a voucher or a tier (by primary key)."""

    campaign_id: int | None
    voucher_id: int | None
    tier_id: int | None
    rule: engine.Rule


def attached_rules(
    *, voucher_ids: list[int], tier_ids: list[int], campaign_ids: list[int]
) -> list[Attached]:
    """Every rule on these vouchers, tiers and campaigns, in one query. Each stored rule becomes
    one engine Rule, so the engine judges a rule shared by many redeemables once."""
    if not voucher_ids and not tier_ids and not campaign_ids:
        return []
    rule = _parts()["rule"]
    sql = (
        f"SELECT a.campaign_id, a.voucher_id, a.tier_id, {rule.sql} "
        f"FROM {RuleAssignment._meta.db_table} a "
        f"JOIN {ValidationRule._meta.db_table} r ON r.id = a.rule_id "
        f"WHERE a.voucher_id IN ({placeholders(voucher_ids)}) "
        f"OR a.tier_id IN ({placeholders(tier_ids)}) "
        f"OR a.campaign_id IN ({placeholders(campaign_ids)}) ORDER BY a.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*voucher_ids, *tier_ids, *campaign_ids])
        rows = cursor.fetchall()
    rules: dict[int, engine.Rule] = {}
    attached = []
    for campaign_id, voucher_id, tier_id, *values in rows:
        if values[0] not in rules:
            stored = rule.build(values)
            rules[values[0]] = engine.Rule(
                id=stored.public_id,
                name=stored.name,
                rules=stored.rules or {},
                error_message=stored.error_message,
                applicable_to=stored.applicable_to or {},
            )
        attached.append(Attached(campaign_id, voucher_id, tier_id, rules[values[0]]))
    return attached
