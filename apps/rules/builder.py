"""The validation-rule builder: numbered condition rows, to and from Voucherify's rule JSON and the
builder form's fields.

A rule is `{"1": {name, conditions: {"$op": [values]}, property?, rules?, error?}, ..., "logic":
"1 and 2"}` plus `applicable_to` (see apps/rules/models.py). The builder shows one row per
numbered condition. A row has a rule name, one or more clauses (operator and values: "at least
50.00 and below 200.00" is one condition with two operators), the metadata key when the name
needs one, an optional custom error message and, for product/SKU/item conditions, sub-rows
(quantity, price, aggregated quantity or amount of the matched items) with their own logic.

Form fields, by row key ("2", or "2.1" for the first sub-row of row 2), in document order:

    row=2                    one per row and sub-row
    c-2-name  c-2-kind       the rule name, and the kind the widgets were drawn for
    c-2-property             the metadata key
    c-2-op                   one per clause, in order
    c-2-v0 c-2-v1 …          the values of clause 0, 1, …; several inputs or lines for lists
    c-2-raw0 …               the clause's values as loaded (JSON): kept while the text still
                             reads the same, so numbers stay numbers and odd values survive
    c-2-error                the custom error message
    c-2-logic                the logic of row 2's sub-rows
    logic                    the rule's logic
    target=included.0        one per applicable-to entry; t-included-0-ref ("product:prod_…"),
                             t-included-0-effect, t-included-0-quantity_limit, …
    included_all             applies to every item

Rows are numbered by position: removing row 2 makes row 3 the new row 2, and the logic is
rewritten to match (a default logic stays the default; a custom one loses the removed number).
"""

import decimal
import json
import re
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Q

from apps.core.money import MoneyParseError, format_plain, parse_money
from apps.engine.logic import LogicError, parse_logic
from apps.engine.rules import (
    BOOLEAN,
    COUNT,
    ITEMS,
    META,
    METADATA_OPERATORS,
    MONEY,
    NEEDS_PROPERTY,
    NUMBER_OPERATORS,
    RULE_NAMES,
    SEGMENT,
    SET_OPERATORS,
    SUB_RULE_NAMES,
)
from apps.metadata.models import Resource
from apps.metadata.services import schema_for
from apps.products.models import Product, ProductCollection, Sku
from apps.segments.models import Segment

from .services import APPLICABLE_EFFECTS, LIMITS, MAX_CONDITIONS, VALUELESS

MAX_SUB_ROWS = 10
MAX_CLAUSES = 8
MAX_TARGETS = 50
PICKER_LIMIT = 100  # products, SKUs and collections offered before a search narrows them
SEARCH_LIMIT = 30
LIST_OPERATORS = ("$in", "$not_in")
NUMERIC_OPERATORS = ("$more_than", "$more_than_or_equal", "$less_than", "$less_than_or_equal")
STARTER = ("order.amount", "$more_than_or_equal")

NAME_GROUPS = [
    ("Customer", ["customer.segment", "customer.metadata"]),
    (
        "Order",
        [
            "order.amount",
            "order.total_amount",
            "order.initial_amount",
            "order.items.count",
            "order.items.price_any",
            "order.items.price_each",
            "order.items.metadata_any",
            "order.items.metadata_each",
            "order.metadata",
        ],
    ),
    (
        "Order items",
        [
            "order.items.any",
            "order.items.every",
            "order.items.none",
            "order.items.cheapest",
            "order.items.most_expensive",
        ],
    ),
    (
        "Product / SKU",
        [
            "product.id",
            "product.price",
            "product.quantity",
            "product.metadata",
            "sku.id",
            "sku.price",
            "sku.quantity",
        ],
    ),
    (
        "Campaign",
        [
            "campaign.redemptions.count",
            "campaign.redemptions.count.daily",
            "campaign.redemptions.count.weekly",
            "campaign.redemptions.count.monthly",
            "campaign.redemptions.customers_count",
            "campaign.orders.amount",
            "campaign.orders.amount_discounted",
        ],
    ),
    (
        "Redemption",
        [
            "redemption.count.per_customer",
            "redemption.count.per_customer.daily",
            "redemption.count.per_customer.weekly",
            "redemption.count.per_customer.monthly",
            "redemption.gift.amount",
            "redemption.metadata",
        ],
    ),
    ("Publication", ["publication.redeemable_by_linked_customer"]),
    ("Custom event", ["custom_event.metadata"]),
]
# The select's wording; RULE_NAMES' labels are phrased for sentences ("the order").
NAME_LABELS = {
    "customer.segment": "Customer segment",
    "customer.metadata": "Customer metadata",
    "order.amount": "Order amount",
    "order.total_amount": "Order total (after earlier discounts)",
    "order.initial_amount": "Order initial amount",
    "order.items.count": "Number of items",
    "order.items.price_any": "Price of any item",
    "order.items.price_each": "Price of each item",
    "order.items.metadata_any": "Metadata of any item",
    "order.items.metadata_each": "Metadata of each item",
    "order.metadata": "Order metadata",
    "order.items.any": "Order items: any",
    "order.items.every": "Order items: every",
    "order.items.none": "Order items: none",
    "order.items.cheapest": "Cheapest item",
    "order.items.most_expensive": "Most expensive item",
    "product.id": "Products in the order",
    "product.price": "Product price",
    "product.quantity": "Product quantity",
    "product.metadata": "Product metadata",
    "sku.id": "SKUs in the order",
    "sku.price": "SKU price",
    "sku.quantity": "SKU quantity",
    "campaign.redemptions.count": "Campaign redemptions",
    "campaign.redemptions.count.daily": "Campaign redemptions today",
    "campaign.redemptions.count.weekly": "Campaign redemptions this week",
    "campaign.redemptions.count.monthly": "Campaign redemptions this month",
    "campaign.redemptions.customers_count": "Customers who redeemed in the campaign",
    "campaign.orders.amount": "Campaign orders amount",
    "campaign.orders.amount_discounted": "Campaign discount given (budget)",
    "redemption.count.per_customer": "Redemptions by this customer",
    "redemption.count.per_customer.daily": "Redemptions by this customer today",
    "redemption.count.per_customer.weekly": "Redemptions by this customer this week",
    "redemption.count.per_customer.monthly": "Redemptions by this customer this month",
    "redemption.gift.amount": "Gift credits used",
    "redemption.metadata": "Redemption metadata",
    "publication.redeemable_by_linked_customer": "Only the customer the code was published to",
    "custom_event.metadata": "Custom event metadata",
}
SUB_NAMES = {
    "product.id": ["product.quantity", "product.price"],
    "sku.id": ["sku.quantity", "sku.price"],
}
ITEM_SUB_NAMES = ["order.items.quantity", "order.items.price"]
AGGREGATED_SUB_NAMES = ["order.items.aggregated_quantity", "order.items.aggregated_amount"]
SUB_LABELS = {
    "order.items.quantity": "Quantity",
    "order.items.price": "Unit price",
    "order.items.aggregated_quantity": "Total quantity",
    "order.items.aggregated_amount": "Total amount",
    "product.quantity": "Quantity",
    "product.price": "Unit price",
    "product.metadata": "Product metadata",
    "product.metadata.aggregated_quantity": "Total quantity (by metadata)",
    "product.metadata.aggregated_amount": "Total amount (by metadata)",
    "sku.quantity": "Quantity",
    "sku.price": "Unit price",
}
ITEM_OPERATOR_LABELS = {
    "$is": "contains all of",
    "$in": "contains any of",
    "$is_not": "does not contain",
    "$not_in": "contains none of",
}
BOOLEAN_OPERATOR_LABELS = {"$is": "is"}
EFFECT_LABELS = {
    "APPLY_TO_EVERY": "Every matching item",
    "APPLY_TO_CHEAPEST": "The cheapest matching item",
    "APPLY_FROM_CHEAPEST": "From the cheapest up",
    "APPLY_TO_MOST_EXPENSIVE": "The most expensive matching item",
    "APPLY_FROM_MOST_EXPENSIVE": "From the most expensive down",
}
LIMIT_LABELS = {
    "quantity_limit": "Units per item",
    "aggregated_quantity_limit": "Units in total",
    "amount_limit": "Amount per item",
    "aggregated_amount_limit": "Amount in total",
}
MONEY_LIMITS = ("amount_limit", "aggregated_amount_limit")
TARGET_KINDS = ("product", "sku", "products_collection")
# Whose metadata schema knows the keys of a metadata condition.
SCHEMA_RESOURCES = {
    "customer.metadata": Resource.CUSTOMER,
    "order.metadata": Resource.ORDER,
    "product.metadata": Resource.PRODUCT,
    "redemption.metadata": Resource.REDEMPTION,
}
_TOKEN = re.compile(r"\d+|\(|\)|[A-Za-z]+|\S")


class BuilderError(ValueError):
    """Some row could not become JSON; the rows say which and why."""


# --- the rows ----------------------------------------------------------------------------------


@dataclass
class Clause:
    operator: str
    values: list[str] = field(default_factory=list)  # the texts the inputs show
    raw: str = ""  # the stored values (JSON) when loaded

    @property
    def text(self) -> str:
        return self.values[0] if self.values else ""

    @property
    def lines(self) -> str:
        return "\n".join(self.values)


@dataclass
class Row:
    key: str  # "2", or "2.1" for a sub-row
    name: str
    clauses: list[Clause] = field(default_factory=list)
    prop: str = ""
    message: str = ""  # the custom error message
    subs: list["Row"] = field(default_factory=list)
    sub_logic: str = ""
    kind_shown: str = ""
    error: str = ""
    sub_logic_error: str = ""
    missing: bool = False  # the error is only that a value is still empty

    @property
    def number(self) -> str:
        return self.key.rsplit(".", 1)[-1]

    @property
    def is_sub(self) -> bool:
        return "." in self.key

    @property
    def dom_id(self) -> str:
        return self.key.replace(".", "-")

    @property
    def spec(self):
        names = SUB_RULE_NAMES if self.is_sub else RULE_NAMES
        return names.get(self.name) or RULE_NAMES.get(self.name)

    @property
    def kind(self) -> str:
        spec = self.spec
        return spec[0] if spec else ""

    @property
    def operators(self) -> dict:
        spec = self.spec
        return spec[2] if spec else {}

    @property
    def needs_property(self) -> bool:
        return self.name in NEEDS_PROPERTY

    @property
    def takes_subs(self) -> bool:
        return not self.is_sub and self.kind == ITEMS


@dataclass
class Target:
    part: str  # included / excluded
    ref: str = ""  # "product:prod_…"
    effect: str = "APPLY_TO_EVERY"
    limits: dict = field(default_factory=dict)  # limit -> text
    error: str = ""

    @property
    def object(self) -> str:
        return self.ref.partition(":")[0]

    @property
    def id(self) -> str:
        return self.ref.partition(":")[2]


@dataclass
class Builder:
    rows: list[Row] = field(default_factory=list)
    logic: str = ""
    included: list[Target] = field(default_factory=list)
    excluded: list[Target] = field(default_factory=list)
    included_all: bool = False
    logic_error: str = ""
    error: str = ""

    def walk(self):
        for row in self.rows:
            yield row
            yield from row.subs

    def targets(self):
        yield from self.included
        yield from self.excluded

    @property
    def has_errors(self) -> bool:
        return bool(
            self.error
            or self.logic_error
            or any(row.error or row.sub_logic_error for row in self.walk())
            or any(target.error for target in self.targets())
        )

    def clear_errors(self) -> None:
        self.error = self.logic_error = ""
        for row in self.walk():
            row.error = row.sub_logic_error = ""
            row.missing = False
        for target in self.targets():
            target.error = ""


def default_logic(count: int) -> str:
    return " and ".join(str(number) for number in range(1, count + 1))


def starter() -> Builder:
    """A new rule: one condition to fill in."""
    return Builder(rows=[_new_row("1", *STARTER)], logic="1")


def _new_row(key: str, name: str, operator: str | None = None) -> Row:
    spec = (SUB_RULE_NAMES if "." in key else RULE_NAMES).get(name) or RULE_NAMES[name]
    operator = operator if operator in spec[2] else next(iter(spec[2]))
    return Row(key=key, name=name, clauses=[Clause(operator, [])], kind_shown=spec[0])


# --- the logic, kept in step with the rows --------------------------------------------------


def _tokens(logic: str) -> list[str]:
    return _TOKEN.findall(logic or "")


def _join(tokens: list[str]) -> str:
    text = ""
    for part in tokens:
        if text and not text.endswith("(") and part != ")":
            text += " "
        text += part
    return text


def _is_default(logic: str, count: int) -> bool:
    tokens = [token.lower() for token in _tokens(logic)]
    return not tokens or tokens == _tokens(default_logic(count))


def logic_after_adding(logic: str, count_before: int) -> str:
    """The logic once row `count_before + 1` is added: a default stays the default; a custom
    logic must also hold the new row."""
    if _is_default(logic, count_before):
        return default_logic(count_before + 1)
    new = str(count_before + 1)
    if re.search(r"\bor\b", logic, re.IGNORECASE):
        return f"({logic.strip()}) and {new}"
    return f"{logic.strip()} and {new}"


def logic_after_removing(logic: str, removed: int, count_before: int) -> str:
    """The logic once row `removed` is gone and the rows after it moved up by one."""
    if _is_default(logic, count_before):
        return default_logic(count_before - 1)
    tokens = _tokens(logic)
    for i, token in enumerate(tokens):
        if token == str(removed):
            if i > 0 and tokens[i - 1].lower() in ("and", "or"):
                del tokens[i - 1 : i + 1]
            elif i + 1 < len(tokens) and tokens[i + 1].lower() in ("and", "or"):
                del tokens[i : i + 2]
            else:
                del tokens[i]
            break
    renumbered = [
        str(int(token) - 1) if token.isdigit() and int(token) > removed else token
        for token in tokens
    ]
    return _join(renumbered)


def logic_problem(logic: str, count: int) -> tuple[str, int | None]:
    """("", None) when the logic is fine for rows 1..count, else what is wrong and the
    character it went wrong at."""
    if count == 0:
        return "", None
    try:
        parse_logic(logic, known={str(n) for n in range(1, count + 1)})
    except LogicError as exc:
        return exc.message, exc.position
    return "", None


def check_logic(logic: str, count: int) -> str:
    """ "" when the logic is fine for rows 1..count, else what is wrong and where."""
    message, position = logic_problem(logic, count)
    return f"{message} (at character {position + 1})" if message else ""


# --- the vocabulary: what one project's builder may offer --------------------------------------


class Vocabulary:
    """Names, operators, segments, products, SKUs, collections and metadata keys of a project."""

    def __init__(self, project):
        self.project = project
        self.currency = project.currency
        self._labels: dict[str, str] = {}

    # names and operators
    def name_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        return [
            (title, [(name, NAME_LABELS[name]) for name in names]) for title, names in NAME_GROUPS
        ]

    def sub_names(self, row: Row) -> list[tuple[str, str]]:
        parent = row.name
        names = [*SUB_NAMES.get(parent, ITEM_SUB_NAMES), *AGGREGATED_SUB_NAMES]
        return [(name, SUB_LABELS.get(name, name)) for name in names]

    def operators(self, row: Row) -> list[tuple[str, str]]:
        kind, operators = row.kind, row.operators
        if kind == ITEMS:
            return [(op, ITEM_OPERATOR_LABELS[op]) for op in operators]
        if kind == BOOLEAN:
            return [(op, BOOLEAN_OPERATOR_LABELS[op]) for op in operators]
        if kind == SEGMENT:
            return [(op, SET_OPERATORS[op]) for op in operators]
        labels = METADATA_OPERATORS if kind == META else NUMBER_OPERATORS
        return [(op, labels[op]) for op in operators]

    # metadata schemas
    @cached_property
    def _schemas(self) -> dict[str, dict]:
        return {
            resource: schema_for(project=self.project, resource=resource).properties or {}
            for resource in set(SCHEMA_RESOURCES.values())
        }

    def schema_keys(self, row: Row) -> list[str]:
        resource = SCHEMA_RESOURCES.get(row.name)
        return sorted(self._schemas.get(resource, {})) if resource else []

    def schema_entry(self, row: Row) -> dict:
        resource = SCHEMA_RESOURCES.get(row.name)
        if not resource or not row.prop.strip():
            return {}
        return self._schemas.get(resource, {}).get(row.prop.strip()) or {}

    def input_kind(self, row: Row, clause: Clause) -> str:
        """none, money, number, text, choice, choices, boolean, segments or items; with
        "-list" for a list of money, numbers or text (one per line)."""
        kind, operator = row.kind, clause.operator
        if operator in VALUELESS:
            return "none"
        if kind == SEGMENT:
            return "segments"
        if kind == ITEMS:
            return "items"
        if kind == BOOLEAN:
            return "boolean"
        many = operator in LIST_OPERATORS or len(clause.values) > 1
        if kind == META:
            entry = self.schema_entry(row)
            if entry.get("allowed"):
                return "choices" if many else "choice"
            if entry.get("type") == "boolean" and not many:
                return "boolean"
            base = "number" if entry.get("type") == "number" else "text"
        else:
            base = "money" if kind == MONEY else "number"
        return f"{base}-list" if many else base

    # segments, products, SKUs and collections
    @cached_property
    def segments(self) -> list[tuple[str, str]]:
        rows = (
            Segment.objects.filter(project=self.project)
            .order_by("name")
            .values_list("public_id", "name")
        )
        return list(rows[:500])

    def remember(self, refs) -> None:
        """Look up the names of these "kind:id" refs (one query per kind) for labels."""
        wanted: dict[str, set[str]] = {kind: set() for kind in TARGET_KINDS}
        for ref in refs:
            kind, _, ref_id = ref.partition(":")
            if kind in wanted and ref not in self._labels:
                wanted[kind].add(ref_id)
        if wanted["product"]:
            for row in Product.objects.filter(
                project=self.project, public_id__in=wanted["product"]
            ):
                self._labels[f"product:{row.public_id}"] = _product_label(row)
        if wanted["sku"]:
            skus = Sku.objects.filter(project=self.project, public_id__in=wanted["sku"])
            for row in skus.select_related("product"):
                self._labels[f"sku:{row.public_id}"] = _sku_label(row)
        if wanted["products_collection"]:
            collections = ProductCollection.objects.filter(
                project=self.project, public_id__in=wanted["products_collection"]
            )
            for row in collections:
                self._labels[f"products_collection:{row.public_id}"] = row.name

    def label(self, ref: str) -> str:
        return self._labels.get(ref) or ref.partition(":")[2] or ref

    @cached_property
    def _catalogue(self) -> dict[str, list[tuple[str, str]]]:
        return self._search("", PICKER_LIMIT)

    def _search(self, q: str, limit: int) -> dict[str, list[tuple[str, str]]]:
        products = Product.objects.filter(project=self.project)
        skus = Sku.objects.filter(project=self.project).select_related("product")
        collections = ProductCollection.objects.filter(project=self.project).order_by("name")
        if q:
            products = products.filter(Q(name__icontains=q) | Q(source_id__icontains=q))
            skus = skus.filter(
                Q(sku__icontains=q) | Q(source_id__icontains=q) | Q(product__name__icontains=q)
            )
            collections = collections.filter(name__icontains=q)
        return {
            "product": [(f"product:{p.public_id}", _product_label(p)) for p in products[:limit]],
            "sku": [(f"sku:{s.public_id}", _sku_label(s)) for s in skus[:limit]],
            "products_collection": [
                (f"products_collection:{c.public_id}", c.name) for c in collections[:limit]
            ],
        }

    def target_groups(self, selected: list[str], q: str = "") -> list[tuple[str, list]]:
        """Option groups for a picker: what is selected first, then the catalogue's first
        products, SKUs and collections (or those matching `q`)."""
        found = self._search(q, SEARCH_LIMIT) if q else self._catalogue
        self.remember(selected)
        chosen = set(selected)
        groups = []
        for kind, title in (
            ("product", "Products"),
            ("sku", "SKUs"),
            ("products_collection", "Collections"),
        ):
            options = [
                (ref, self.label(ref), True) for ref in selected if ref.partition(":")[0] == kind
            ]
            options += [(ref, label, False) for ref, label in found[kind] if ref not in chosen]
            if options:
                groups.append((title, options))
        return groups

    def segment_options(self, selected: list[str]) -> list[tuple[str, str, bool]]:
        known = dict(self.segments)
        options = [(ref, known.get(ref, ref), True) for ref in selected]
        options += [(ref, name, False) for ref, name in self.segments if ref not in selected]
        return options


def _product_label(product) -> str:
    name = product.name or product.source_id or product.public_id
    return f"{name} ({product.source_id})" if product.source_id and product.name else name


def _sku_label(sku) -> str:
    product = sku.product.name or sku.product.source_id or sku.product.public_id
    return f"{product} — {sku.sku or sku.source_id or sku.public_id}"


def prepare(builder: Builder, vocabulary: Vocabulary) -> Builder:
    """Give each row and target what the template shows: operators, widgets, choices."""
    refs = [target.ref for target in builder.targets() if target.ref]
    for row in builder.walk():
        if row.kind == ITEMS:
            refs += [value for clause in row.clauses for value in clause.values]
    vocabulary.remember(refs)
    for row in builder.walk():
        row.operator_choices = vocabulary.operators(row)
        row.sub_name_choices = []
        if row.is_sub:
            choices = vocabulary.sub_names(_parent(builder, row))
            if row.name not in dict(choices):
                choices.append((row.name, SUB_LABELS.get(row.name, row.name)))
            row.sub_name_choices = choices
        row.schema_keys = vocabulary.schema_keys(row) if row.needs_property else []
        entry = vocabulary.schema_entry(row) if row.needs_property else {}
        row.allowed_values = [str(value) for value in entry.get("allowed") or []]
        row.schema_type = entry.get("type", "")
        for i, clause in enumerate(row.clauses):
            clause.index = i
            clause.field = f"c-{row.key}-v{i}"
            clause.dom = f"values-{row.dom_id}-{i}"
            clause.input_kind = vocabulary.input_kind(row, clause)
            if clause.input_kind == "segments":
                clause.options = vocabulary.segment_options(clause.values)
            elif clause.input_kind == "items":
                clause.groups = vocabulary.target_groups(clause.values)
    for part in ("included", "excluded"):
        for i, target in enumerate(getattr(builder, part)):
            target.index = i
            target.prefix = f"t-{part}-{i}"
            target.groups = vocabulary.target_groups([target.ref] if target.ref else [])
            target.limit_fields = [
                (limit, LIMIT_LABELS[limit], target.limits.get(limit, ""), limit in MONEY_LIMITS)
                for limit in LIMITS
            ]
    return builder


def _parent(builder: Builder, row: Row) -> Row:
    number = row.key.split(".")[0]
    return next(parent for parent in builder.rows if parent.key == number)


# --- JSON -> rows ------------------------------------------------------------------------------


def builder_from_json(rules, applicable_to, *, currency: str) -> Builder:
    """The builder for a stored rule. Conditions are renumbered 1, 2, 3… in their numeric order
    (a stored rule already is) and the logic follows."""
    rules = rules if isinstance(rules, dict) else {}
    builder = Builder()
    builder.rows, builder.logic = _rows_from_group(rules, "", currency)
    applicable = applicable_to if isinstance(applicable_to, dict) else {}
    for part in ("included", "excluded"):
        for entry in applicable.get(part) or []:
            if not isinstance(entry, dict):
                continue
            limits = {}
            for limit in LIMITS:
                value = entry.get(limit)
                if value is None:
                    continue
                shown = value
                if limit in MONEY_LIMITS and isinstance(value, int):
                    shown = format_plain(value, currency)
                limits[limit] = str(shown)
            target = Target(
                part=part,
                ref=f"{entry.get('object', '')}:{entry.get('id', '')}",
                effect=entry.get("effect") or "APPLY_TO_EVERY",
                limits=limits,
            )
            getattr(builder, part).append(target)
    builder.included_all = bool(applicable.get("included_all"))
    return builder


def _rows_from_group(group: dict, prefix: str, currency: str) -> tuple[list[Row], str]:
    numbers = sorted((key for key in group if key != "logic" and str(key).isdigit()), key=int)
    renumber = {number: str(position) for position, number in enumerate(numbers, start=1)}
    rows = []
    for number in numbers:
        condition = group[number] if isinstance(group[number], dict) else {}
        key = f"{prefix}{renumber[number]}"
        name = str(condition.get("name") or "")
        row = Row(
            key=key,
            name=name,
            prop=str(condition.get("property") or ""),
            message=str(((condition.get("error") or {}).get("message")) or ""),
        )
        row.kind_shown = row.kind
        for operator, values in (condition.get("conditions") or {}).items():
            values = values if isinstance(values, list) else [values]
            row.clauses.append(
                Clause(
                    operator=str(operator),
                    values=_texts(row.kind, str(operator), values, currency),
                    raw=json.dumps(values),
                )
            )
        if not row.clauses:
            row.clauses.append(Clause(next(iter(row.operators), "$is"), []))
        nested = condition.get("rules") if isinstance(condition.get("rules"), dict) else {}
        if not prefix and [k for k in nested if k != "logic"]:
            row.subs, row.sub_logic = _rows_from_group(nested, f"{key}.", currency)
        rows.append(row)
    logic = str(group.get("logic") or "")
    if logic and any(number != renumber[number] for number in numbers):
        logic = _renumbered(logic, renumber)
    return rows, logic or default_logic(len(rows))


def _renumbered(logic: str, renumber: dict[str, str]) -> str:
    return _join(
        [renumber.get(token, token) if token.isdigit() else token for token in _tokens(logic)]
    )


def _texts(kind: str, operator: str, values: list, currency: str) -> list[str]:
    """What a clause's inputs show for these stored values."""
    if operator in VALUELESS:
        return []
    texts = []
    for value in values:
        if kind == MONEY and isinstance(value, int) and not isinstance(value, bool):
            texts.append(format_plain(value, currency))
        elif kind == ITEMS and isinstance(value, dict):
            texts.append(f"{value.get('object') or 'product'}:{value.get('id', '')}")
        elif kind == SEGMENT and isinstance(value, dict):
            texts.append(str(value.get("id", "")))
        elif isinstance(value, bool):
            texts.append("true" if value else "false")
        elif value is None:
            texts.append("")
        elif isinstance(value, dict | list):
            texts.append(json.dumps(value))
        else:
            texts.append(str(value))
    return texts


# --- form -> rows ------------------------------------------------------------------------------


def builder_from_form(data) -> Builder:
    """The builder the posted form describes (see the module docstring)."""
    builder = Builder(logic=data.get("logic", ""), included_all=bool(data.get("included_all")))
    by_key: dict[str, Row] = {}
    for key in data.getlist("row"):
        parent_key, _, number = key.rpartition(".")
        if key in by_key or not number.isdigit() or (parent_key and parent_key not in by_key):
            continue
        if parent_key and "." in parent_key:
            continue  # sub-rows have no sub-rows
        row = _row_from_form(data, key)
        if parent_key:
            parent = by_key[parent_key]
            if len(parent.subs) < MAX_SUB_ROWS:
                parent.subs.append(row)
        elif len(builder.rows) < MAX_CONDITIONS:
            builder.rows.append(row)
        by_key[key] = row
    for row in builder.rows:
        row.sub_logic = data.get(f"c-{row.key}-logic", "")
    for entry in data.getlist("target")[: MAX_TARGETS * 2]:
        part, _, index = entry.partition(".")
        if part not in ("included", "excluded") or not index.isdigit():
            continue
        prefix = f"t-{part}-{index}"
        getattr(builder, part).append(
            Target(
                part=part,
                ref=data.get(f"{prefix}-ref", ""),
                effect=data.get(f"{prefix}-effect", "") or "APPLY_TO_EVERY",
                limits={
                    limit: data.get(f"{prefix}-{limit}", "").strip()
                    for limit in LIMITS
                    if data.get(f"{prefix}-{limit}", "").strip()
                },
            )
        )
    _renumber(builder)
    return builder


def _row_from_form(data, key: str) -> Row:
    row = Row(
        key=key,
        name=data.get(f"c-{key}-name", ""),
        prop=data.get(f"c-{key}-property", ""),
        message=data.get(f"c-{key}-error", ""),
        kind_shown=data.get(f"c-{key}-kind", ""),
    )
    if row.spec is None:  # not a name this builder knows: start over with the starter's
        row.name = STARTER[0] if not row.is_sub else ITEM_SUB_NAMES[0]
    for i, operator in enumerate(data.getlist(f"c-{key}-op")[:MAX_CLAUSES]):
        texts = [
            line.strip()
            for value in data.getlist(f"c-{key}-v{i}")
            for line in str(value).splitlines()
            if line.strip()
        ]
        row.clauses.append(Clause(operator, texts, data.get(f"c-{key}-raw{i}", "")))
    return row


def _renumber(builder: Builder) -> None:
    for position, row in enumerate(builder.rows, start=1):
        row.key = str(position)
        for sub_position, sub in enumerate(row.subs, start=1):
            sub.key = f"{row.key}.{sub_position}"


def normalise(builder: Builder) -> None:
    """After a name changed: a row of another kind starts with empty values, and operators the
    name does not take become its first one."""
    for row in builder.walk():
        if row.kind_shown and row.kind_shown != row.kind:
            for clause in row.clauses:
                clause.values, clause.raw = [], ""
        if row.kind != ITEMS:
            row.subs, row.sub_logic = [], ""
        row.kind_shown = row.kind
        operators = list(row.operators)
        if not row.clauses:
            row.clauses.append(Clause(operators[0], []))
        for clause in row.clauses:
            if clause.operator not in operators:
                clause.operator, clause.raw = operators[0], ""
        if not row.needs_property:
            row.prop = ""


def apply_action(builder: Builder, action: str) -> None:
    """Change the rows: add, remove:<key>, add-clause:<key>, remove-clause:<key>:<i>,
    add-sub:<key>, add-target:<part>, remove-target:<part>:<i>; anything else only refreshes."""
    verb, _, rest = action.partition(":")
    rows = {row.key: row for row in builder.walk()}
    if verb == "add" and len(builder.rows) < MAX_CONDITIONS:
        builder.logic = logic_after_adding(builder.logic, len(builder.rows))
        builder.rows.append(_new_row(str(len(builder.rows) + 1), *STARTER))
    elif verb == "remove" and rest in rows:
        row = rows[rest]
        if row.is_sub:
            parent = _parent(builder, row)
            parent.sub_logic = logic_after_removing(
                parent.sub_logic, int(row.number), len(parent.subs)
            )
            parent.subs.remove(row)
        else:
            builder.logic = logic_after_removing(builder.logic, int(row.number), len(builder.rows))
            builder.rows.remove(row)
    elif verb == "add-clause" and rest in rows:
        row = rows[rest]
        if len(row.clauses) < MAX_CLAUSES:
            used = {clause.operator for clause in row.clauses}
            free = [op for op in row.operators if op not in used]
            if free:
                row.clauses.append(Clause(_companion(used, free), []))
    elif verb == "remove-clause":
        key, _, index = rest.rpartition(":")
        row = rows.get(key)
        if (
            row is not None
            and index.isdigit()
            and len(row.clauses) > 1
            and int(index) < len(row.clauses)
        ):
            del row.clauses[int(index)]
    elif verb == "add-sub" and rest in rows:
        row = rows[rest]
        if row.takes_subs and len(row.subs) < MAX_SUB_ROWS:
            used = {sub.name for sub in row.subs}
            names = [*SUB_NAMES.get(row.name, ITEM_SUB_NAMES), *AGGREGATED_SUB_NAMES]
            name = next((name for name in names if name not in used), names[0])
            row.sub_logic = logic_after_adding(row.sub_logic, len(row.subs))
            row.subs.append(_new_row(f"{row.key}.{len(row.subs) + 1}", name, "$more_than_or_equal"))
    elif verb == "add-target" and rest in ("included", "excluded"):
        targets = getattr(builder, rest)
        if len(targets) < MAX_TARGETS:
            targets.append(Target(part=rest))
    elif verb == "remove-target":
        part, _, index = rest.partition(":")
        if part in ("included", "excluded") and index.isdigit():
            targets = getattr(builder, part)
            if int(index) < len(targets):
                del targets[int(index)]
    _renumber(builder)
    normalise(builder)


def _companion(used: set[str], free: list[str]) -> str:
    """A second operator that makes a range: "at least" goes with "at most", and so on."""
    pairs = {
        "$more_than": "$less_than",
        "$more_than_or_equal": "$less_than_or_equal",
        "$less_than": "$more_than",
        "$less_than_or_equal": "$more_than_or_equal",
    }
    for operator in used:
        if pairs.get(operator) in free:
            return pairs[operator]
    return free[0]


# --- rows -> JSON ------------------------------------------------------------------------------


def builder_to_json(builder: Builder, vocabulary: Vocabulary) -> tuple[dict, dict]:
    """(rules, applicable_to) as Voucherify stores them. Every row is checked on its own first,
    so an error lands on its row; raises BuilderError if any row or target has one."""
    rules, applicable = compile_rules(builder, vocabulary)
    if builder.has_errors:
        raise BuilderError(builder.error or "Fix the marked conditions.")
    return rules, applicable


def compile_rules(builder: Builder, vocabulary: Vocabulary) -> tuple[dict, dict]:
    """As builder_to_json, without raising: what does not convert is left out and its row or
    target says why (for a preview of a rule being written)."""
    rules: dict = {}
    for row in builder.rows:
        rules[row.number] = _condition_json(row, vocabulary)
    if builder.rows:
        builder.logic = builder.logic.strip() or default_logic(len(builder.rows))
        builder.logic_error = check_logic(builder.logic, len(builder.rows))
        rules["logic"] = builder.logic
    else:
        builder.error = "Add at least one condition."
    applicable: dict = {}
    for part in ("included", "excluded"):
        entries = [_target_json(target, vocabulary) for target in getattr(builder, part)]
        entries = [entry for entry in entries if entry]
        if entries:
            applicable[part] = entries
    if builder.included_all:
        applicable["included_all"] = True
    return rules, applicable


def _condition_json(row: Row, vocabulary: Vocabulary) -> dict:
    condition: dict = {"name": row.name}
    if row.needs_property:
        if not row.prop.strip():
            row.error, row.missing = "Enter the metadata key.", True
        condition["property"] = row.prop.strip()
    condition["conditions"] = {}
    for clause in row.clauses:
        if clause.operator in condition["conditions"]:
            label = dict(vocabulary.operators(row)).get(clause.operator, clause.operator)
            row.error = f"“{label}” is used twice; each operator once per condition."
            continue
        try:
            condition["conditions"][clause.operator] = _values(row, clause, vocabulary)
        except ValueError as exc:
            row.error = row.error or str(exc)
            row.missing = row.missing or not clause.values
    if row.subs:
        sub_rules = {sub.number: _condition_json(sub, vocabulary) for sub in row.subs}
        row.sub_logic = row.sub_logic.strip() or default_logic(len(row.subs))
        row.sub_logic_error = check_logic(row.sub_logic, len(row.subs))
        sub_rules["logic"] = row.sub_logic
        condition["rules"] = sub_rules
    if row.message.strip():
        condition["error"] = {"message": row.message.strip()}
    return condition


def _values(row: Row, clause: Clause, vocabulary: Vocabulary) -> list:
    if clause.operator in VALUELESS:
        return [True]
    kept = _raw_values(row, clause, vocabulary.currency)
    if kept is not None:
        return kept
    texts = clause.values
    if not texts:
        if row.kind == SEGMENT:
            raise ValueError("Choose at least one segment.")
        if row.kind == ITEMS:
            raise ValueError("Choose at least one product, SKU or collection.")
        raise ValueError("Enter a value.")
    if row.kind == MONEY:
        try:
            return [parse_money(text, vocabulary.currency) for text in texts]
        except MoneyParseError as exc:
            raise ValueError(str(exc)) from exc
    if row.kind == COUNT:
        return [_whole(text) for text in texts]
    if row.kind == SEGMENT:
        return list(texts)
    if row.kind == ITEMS:
        targets = []
        for text in texts:
            kind, _, ref = text.partition(":")
            if kind not in TARGET_KINDS or not ref:
                raise ValueError(f"“{text}” is not a product, SKU or collection.")
            targets.append({"object": kind, "id": ref})
        return targets
    if row.kind == BOOLEAN:
        return [_boolean(texts[0])]
    return [_metadata_value(text, row, clause, vocabulary) for text in texts]


def _raw_values(row: Row, clause: Clause, currency: str):
    """The values as loaded, while the inputs still show what they showed then."""
    if not clause.raw:
        return None
    try:
        raw = json.loads(clause.raw)
    except ValueError:
        return None
    if not isinstance(raw, list):
        return None
    shown = [text.strip() for text in _texts(row.kind, clause.operator, raw, currency)]
    if [text for text in shown if text] != clause.values:
        return None
    return raw


def _whole(text: str) -> int:
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise ValueError(f"“{text}” is not a number.") from None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise ValueError(f"“{text}” is not a whole number, 0 or more.")
    return int(number)


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "yes", "1"):
        return True
    if text.lower() in ("false", "no", "0"):
        return False
    raise ValueError("Choose yes or no.")


def _metadata_value(text: str, row: Row, clause: Clause, vocabulary: Vocabulary):
    """A metadata value typed as the schema says, or as the operator suggests."""
    kind = vocabulary.schema_entry(row).get("type", "")
    if kind == "boolean":
        return _boolean(text)
    if kind == "number" or (not kind and clause.operator in NUMERIC_OPERATORS):
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise ValueError(f"“{text}” is not a number.") from None
        if not number.is_finite():
            raise ValueError(f"“{text}” is not a number.")
        return int(number) if number == number.to_integral_value() else float(number)
    return text


def _target_json(target: Target, vocabulary: Vocabulary) -> dict:
    if target.object not in TARGET_KINDS or not target.id:
        target.error = "Choose a product, SKU or collection."
        return {}
    entry: dict = {"object": target.object, "id": target.id}
    if target.part == "included":
        entry["effect"] = target.effect if target.effect in APPLICABLE_EFFECTS else "APPLY_TO_EVERY"
        for limit in LIMITS:
            text = target.limits.get(limit, "")
            if not text:
                continue
            try:
                if limit in MONEY_LIMITS:
                    entry[limit] = parse_money(text, vocabulary.currency)
                else:
                    entry[limit] = _whole(text)
            except (ValueError, MoneyParseError) as exc:
                target.error = f"{LIMIT_LABELS[limit]}: {exc}"
    return entry


# --- service errors -> rows ---------------------------------------------------------------------

_PATH_PREFIX = re.compile(r"^(?:rules|applicable_to)(?:\.[^\s:]+)?:\s*")


def place_error(builder: Builder, details: str, message: str) -> bool:
    """Put a service error next to the row or target its `details` path names
    ("rules.2.conditions.$is", "rules.2.rules.1", "rules.logic", "applicable_to.included.0").
    False when the path names none of them."""
    text = _PATH_PREFIX.sub("", message)
    text = text[:1].upper() + text[1:]
    parts = (details or "").split(".")
    if parts[0] == "rules" and len(parts) > 1:
        if parts[1] == "logic":
            builder.logic_error = text
            return True
        if parts[1].isdigit() and 0 < int(parts[1]) <= len(builder.rows):
            row = builder.rows[int(parts[1]) - 1]
            if len(parts) > 3 and parts[2] == "rules":
                if parts[3] == "logic":
                    row.sub_logic_error = text
                    return True
                if parts[3].isdigit() and 0 < int(parts[3]) <= len(row.subs):
                    row.subs[int(parts[3]) - 1].error = text
                    return True
            row.error = text
            return True
    if parts[0] == "applicable_to" and len(parts) > 2 and parts[2].isdigit():
        targets = getattr(builder, parts[1], None)
        if targets is not None and int(parts[2]) < len(targets):
            targets[int(parts[2])].error = text
            return True
    return False


# --- names for rules in words --------------------------------------------------------------------


def referenced_ids(rules: dict, applicable_to: dict | None = None) -> set[str]:
    """The segment, product, SKU and collection ids a rule names."""
    found: set[str] = set()
    for key, condition in (rules or {}).items():
        if key == "logic" or not isinstance(condition, dict):
            continue
        for values in (condition.get("conditions") or {}).values():
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, dict) and value.get("id"):
                    found.add(str(value["id"]))
                elif isinstance(value, str) and "_" in value:
                    found.add(value)
        found |= referenced_ids(condition.get("rules") or {})
    for part in ("included", "excluded"):
        for target in (applicable_to or {}).get(part) or []:
            if isinstance(target, dict) and target.get("id"):
                found.add(str(target["id"]))
    return found


def display_names(project, rules) -> dict[str, str]:
    """{id: display name} for the segments, products, SKUs and collections `rules` name, in at
    most four queries however many rules there are."""
    ids: set[str] = set()
    for rule in rules:
        ids |= referenced_ids(rule.rules or {}, rule.applicable_to or {})
    names: dict[str, str] = {}
    if not ids:
        return names
    by_prefix: dict[str, list[str]] = {}
    for ref in ids:
        by_prefix.setdefault(ref.split("_", 1)[0], []).append(ref)
    if by_prefix.get("seg"):
        segments = Segment.objects.filter(project=project, public_id__in=by_prefix["seg"])
        names.update(segments.values_list("public_id", "name"))
    if by_prefix.get("prod"):
        for product in Product.objects.filter(project=project, public_id__in=by_prefix["prod"]):
            names[product.public_id] = product.name or product.source_id or product.public_id
    if by_prefix.get("sku"):
        skus = Sku.objects.filter(project=project, public_id__in=by_prefix["sku"])
        for sku in skus.select_related("product"):
            names[sku.public_id] = _sku_label(sku)
    if by_prefix.get("pc"):
        collections = ProductCollection.objects.filter(
            project=project, public_id__in=by_prefix["pc"]
        )
        names.update(collections.values_list("public_id", "name"))
    return names
