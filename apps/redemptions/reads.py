"""The checkout's hottest reads, in hand-written SQL.

Every validation and redemption reads its customer, its codes (with their campaigns and
categories), the rules assigned to them and the customer's segments. Built with the ORM, those
queries cost several times more in
Python (compiling the query, converting forty columns) than in the database; here the SQL is
a constant and the rows become model instances through `Model.from_db` with the same converters
Django applies, so callers see ordinary, partially loaded models (only the columns below).

The SQL is standard (PostgreSQL and SQLite); the lock (`FOR UPDATE OF v`) is PostgreSQL's, and
SQLite serialises writers anyway.
"""

# ruff: noqa: S608 -- table and column names come from model meta; every value is a parameter.

import json
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models.expressions import Col

from apps.campaigns import validity
from apps.campaigns.models import Campaign, Category, Voucher
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


class _Columns:
    """A model's chosen columns for a SELECT under a table alias, and the converters that turn
    their raw values into Python values exactly as the ORM would."""

    def __init__(self, model, alias: str, names: tuple[str, ...]):
        self.model, self.names = model, names
        wanted = {model._meta.get_field(name) for name in names}  # names or FK attnames
        # Model.from_db takes the values in the model's field order
        fields = [field for field in model._meta.concrete_fields if field in wanted]
        assert fields[0].primary_key, "the first column is the id: a NULL id means no row"
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in fields)
        self.converters = []
        for field in fields:
            column = Col(alias, field)
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            self.converters.append([(converter, column) for converter in found])
        self.attnames = [field.attname for field in fields]

    def __len__(self) -> int:
        return len(self.names)

    def build(self, values):
        """A model instance from this part of a row, or None when its id is NULL (no join)."""
        if values[0] is None:
            return None
        converted = []
        for value, converters in zip(values, self.converters, strict=True):
            for converter, column in converters:
                value = converter(value, column, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, self.attnames, converted)


def _parts() -> dict:
    """Column sets with their converters, built once per database connection: converters are
    bound to the connection they came from, and connections belong to one thread each."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    parts = getattr(wrapper, "_checkout_columns", None)
    if parts is None:
        parts = wrapper._checkout_columns = {
            "voucher": _Columns(Voucher, "v", VOUCHER),
            "campaign": _Columns(Campaign, "c", CAMPAIGN),
            "voucher_category": _Columns(Category, "vc", CATEGORY),
            "campaign_category": _Columns(Category, "cc", CATEGORY),
            "rule": _Columns(ValidationRule, "r", RULE),
            "customer": _Columns(Customer, "k", CUSTOMER),
        }
    return parts


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
        f"AND s.public_id IN ({_placeholders(segment_ids)})"
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
            f"WHERE project_id = %s AND public_id IN ({_placeholders(collection_ids)})",
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
                            f"WHERE collection_id = %s AND {column} IN ({_placeholders(ids)})"
                        )
                        params += [public_id, pk, *ids]
            elif product_ids and stored_filter:
                if isinstance(stored_filter, str):  # SQLite hands JSON back as text
                    stored_filter = json.loads(stored_filter)
                sql, filter_params = filter_sql(pk, stored_filter, updated_at)
                tests.append(
                    f"SELECT 'product', id, %s FROM {Product._meta.db_table} "
                    f"WHERE id IN ({_placeholders(product_ids)}) AND id IN ({sql})"
                )
                params += [public_id, *product_ids, *filter_params]
        if not tests:
            return {}
        cursor.execute(" UNION ALL ".join(tests), params)
        members: dict[tuple[str, int], set[str]] = {}
        for label, pk, public_id in cursor.fetchall():
            members.setdefault((label, pk), set()).add(public_id)
    return members


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values)) or "NULL"


def codes(project, *, keys: list[str], ids: list[str], lock: bool) -> list[Voucher]:
    """The project's vouchers with these code keys or `v_` ids, in primary-key order, each with
    its campaign (and the campaign's category), its category and `holder_public_id`. With
    `lock`, the voucher rows are locked (FOR UPDATE), in that order."""
    if not keys and not ids:
        return []
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
        f"WHERE v.project_id = %s AND (v.code_key IN ({_placeholders(keys)}) "
        f"OR v.public_id IN ({_placeholders(ids)})) ORDER BY v.id"
    )
    if lock and connection.vendor == "postgresql":
        sql += " FOR UPDATE OF v"
    with connection.cursor() as cursor:
        cursor.execute(sql, [project.pk, *keys, *ids])
        rows = cursor.fetchall()
    found = []
    for row in rows:
        at = 0
        objects = []
        for part in (voucher, campaign, own, inherited):
            objects.append(part.build(row[at : at + len(part)]))
            at += len(part)
        code, parent, category, parent_category = objects
        if parent is not None:
            parent.category = parent_category
        code.campaign = parent
        code.category = category
        code.holder_public_id = row[at]
        found.append(code)
    return found


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
        f"WHERE a.voucher_id IN ({_placeholders(voucher_ids)}) "
        f"OR a.tier_id IN ({_placeholders(tier_ids)}) "
        f"OR a.campaign_id IN ({_placeholders(campaign_ids)}) ORDER BY a.id"
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
