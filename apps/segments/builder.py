"""The segment filter builder: a tree of groups and conditions, to and from Voucherify's filter
JSON and the builder form's fields, plus the filter in words.

The form describes the tree with one `node` field per node, in document order, holding its path
and kind ("0:g", "0.0:c", "0.1:g", "0.1.0:c"); a node's parent is its path minus the last part.
Each node's inputs are named by its path: `g-0.1-junction`, `c-0.0-field`, `c-0.0-key`,
`c-0.0-op`, `c-0.0-value` (several for a list), and `c-0.0-raw`, the operand as it came from the
JSON. A condition whose text still reads as its raw operand keeps that operand, so JSON pasted
in comes back out unchanged ("$is": "Poland" stays a string, ["1"] stays a list of text).
"""

import decimal
import json
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from apps.core.conditions import (
    ANNIVERSARY,
    DATE_DAY_LABELS,
    LISTS,
    OPERATOR_LABELS,
    RELATIVE,
    VALUELESS,
    FieldSpec,
    FilterError,
    compile_condition,
    context_for,
    is_group,
    metadata_key,
    resolve_field,
)
from apps.core.money import MoneyParseError, format_money, format_plain, parse_money
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

from .fields import COLUMNS, EVENT_FIELD, SYSTEM_PREFIX

MONEY_FIELDS = frozenset(
    {
        "summary.orders.total_amount",
        "summary.orders.average_amount",
        "summary.orders.last_order_amount",
        "summary.redemptions.gift.redeemed_amount",
    }
)
# Choices whose name needs a key typed by the marketer: "*" is replaced by it.
PATTERNS = {
    "metadata.*": "Other metadata key…",
    "events.*.count": "Event: number of times…",
    "events.*.last_occurrence": "Event: last time…",
    "system_metadata.*": "Other system attribute…",
}
FIELD_GROUPS = [
    ("Customer", ["name", "email", "phone", "source_id", "created_at", "birthdate"]),
    ("Address", ["address.city", "address.state", "address.country", "address.postal_code"]),
    (
        "Orders",
        [
            "summary.orders.total_amount",
            "summary.orders.total_count",
            "summary.orders.average_amount",
            "summary.orders.last_order_amount",
            "summary.orders.last_order_date",
        ],
    ),
    (
        "Redemptions",
        [
            "summary.redemptions.total_redeemed",
            "summary.redemptions.total_succeeded",
            "summary.redemptions.total_failed",
            "summary.redemptions.total_rolled_back",
            "summary.redemptions.gift.redeemed_amount",
            "summary.redemptions.loyalty_card.redeemed_points",
            "loyalty.referred_customers",
        ],
    ),
]
SYSTEM_FIELDS = {"system_metadata.source": "Source (dashboard, api, import)"}
MAX_NODES = 100


@dataclass
class Condition:
    path: str
    field: str = "address.city"  # a field name or a PATTERNS key
    key: str = ""  # the `*` of a pattern
    operator: str = "$is"
    values: list[str] = default(default_factory=lambda: [""])
    raw: str = ""  # {"op": ..., "operand": ...} as JSON, when loaded from JSON
    error: str = ""

    kind = "c"

    @property
    def dom_id(self) -> str:
        return self.path.replace(".", "-")

    @property
    def name(self) -> str:
        return self.field.replace("*", self.key.strip()) if self.field in PATTERNS else self.field

    @property
    def value(self) -> str:
        return self.values[0] if self.values else ""

    @property
    def list_text(self) -> str:
        return "\n".join(self.values)


@dataclass
class Group:
    path: str
    junction: str = "and"
    children: list["Group | Condition"] = default(default_factory=list)

    kind = "g"

    @property
    def dom_id(self) -> str:
        return self.path.replace(".", "-")

    def next_path(self) -> str:
        used = [int(child.path.rsplit(".", 1)[1]) for child in self.children]
        return f"{self.path}.{max(used, default=-1) + 1}"

    def walk(self):
        yield self
        for child in self.children:
            if isinstance(child, Group):
                yield from child.walk()
            else:
                yield child


class Vocabulary:
    """What the builder may offer in one project: fields, their types, labels and choices."""

    def __init__(self, project, fields):
        self.project = project
        self.fields = fields
        self.currency = project.currency
        self.properties = schema_for(project=project, resource=Resource.CUSTOMER).properties or {}

    def spec(self, name: str) -> FieldSpec | None:
        try:
            return resolve_field(name, self.fields)
        except FilterError:
            return None

    def spec_for(self, condition: Condition) -> FieldSpec | None:
        name = condition.name
        if condition.field in PATTERNS and not condition.key.strip():
            name = condition.field.replace("*", "x")  # the type of the pattern
        return self.spec(name)

    def field_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        groups = [
            (title, [(name, COLUMNS[name].label) for name in names])
            for title, names in FIELD_GROUPS
        ]
        metadata = [(f"metadata.{key}", key) for key in sorted(self.properties)]
        metadata.append(("metadata.*", PATTERNS["metadata.*"]))
        groups.append(("Metadata", metadata))
        groups.append(
            (
                "Events",
                [(name, PATTERNS[name]) for name in ("events.*.count", "events.*.last_occurrence")],
            )
        )
        system = [*SYSTEM_FIELDS.items(), ("system_metadata.*", PATTERNS["system_metadata.*"])]
        groups.append(("System", system))
        return groups

    def operators(self, condition: Condition) -> list[tuple[str, str]]:
        spec = self.spec_for(condition)
        allowed = spec.operators() if spec else frozenset(OPERATOR_LABELS)
        dates = spec is not None and spec.type in ("date", "datetime")
        return [
            (op, (DATE_DAY_LABELS.get(op) if dates else None) or label)
            for op, label in OPERATOR_LABELS.items()
            if op in allowed
        ]

    def input_kind(self, condition: Condition) -> str:
        """How the value is entered: none, days, list, choice, choices, boolean, date, money,
        number or text."""
        spec = self.spec_for(condition)
        op = condition.operator
        if op in VALUELESS or op in ANNIVERSARY:
            return "none"
        kind = spec.type if spec else "string"
        if op in RELATIVE or (kind in ("date", "datetime") and op in ("$more_than", "$less_than")):
            return "days"
        if self.allowed(condition):
            return "choices" if op in LISTS else "choice"
        if op in LISTS:
            return "list"
        if kind == "boolean":
            return "boolean"
        if kind in ("date", "datetime"):
            return "date" if _is_day(condition.value) or not condition.value else "text"
        if kind == "number":
            return "money" if condition.name in MONEY_FIELDS else "number"
        return "text"

    def allowed(self, condition: Condition) -> list[str]:
        key = metadata_key(condition.name)
        definition = self.properties.get(key) if key else None
        values = (definition or {}).get("allowed") or []
        return [str(value) for value in values]

    def label(self, name: str) -> str:
        if name in COLUMNS:
            return COLUMNS[name].label
        if name in SYSTEM_FIELDS:
            return "Source"
        event = EVENT_FIELD.fullmatch(name)
        if event:
            part = "count" if event["part"] == "count" else "last time"
            return f"Event “{event['name']}” {part}"
        return name


def prepare(root: Group, vocabulary: Vocabulary) -> Group:
    """Give each condition what its row shows: operator choices, the value input and choices."""
    for node in root.walk():
        if isinstance(node, Condition):
            node.operator_choices = vocabulary.operators(node)
            node.input_kind = vocabulary.input_kind(node)
            node.allowed_values = vocabulary.allowed(node)
            node.needs_key = node.field in PATTERNS
            node.key_label = "Event name" if node.field.startswith("events.") else "Key"
    return root


# --- form data -> tree ------------------------------------------------------------------------


def tree_from_form(data) -> Group:
    """The tree the form describes (see the module docstring)."""
    root = Group(path="0", junction=_junction(data.get("g-0-junction")))
    nodes: dict[str, Group | Condition] = {"0": root}
    for entry in data.getlist("node")[:MAX_NODES]:
        path, _, kind = entry.partition(":")
        parent = nodes.get(path.rpartition(".")[0])
        if path in nodes or not isinstance(parent, Group) or not _valid_path(path):
            continue
        if kind == "g":
            node = Group(path=path, junction=_junction(data.get(f"g-{path}-junction")))
        else:
            values = data.getlist(f"c-{path}-value") or [""]
            node = Condition(
                path=path,
                field=data.get(f"c-{path}-field", ""),
                key=data.get(f"c-{path}-key", ""),
                operator=data.get(f"c-{path}-op", ""),
                values=values,
                raw=data.get(f"c-{path}-raw", ""),
            )
        nodes[path] = node
        parent.children.append(node)
    return root


def _valid_path(path: str) -> bool:
    return path.startswith("0.") and all(part.isdigit() for part in path.split("."))


def _junction(value) -> str:
    return "or" if str(value).lower() == "or" else "and"


def apply_action(root: Group, action: str, vocabulary: Vocabulary) -> None:
    """Change the tree: add-c:<group>, add-g:<group>, remove:<node>; anything else only
    refreshes (e.g. after a field changed, its operator is kept when it still fits)."""
    verb, _, path = action.partition(":")
    nodes = {node.path: node for node in root.walk()}
    target = nodes.get(path)
    count = len(nodes)
    if verb == "add-c" and isinstance(target, Group) and count < MAX_NODES:
        target.children.append(Condition(path=target.next_path()))
    elif verb == "add-g" and isinstance(target, Group) and count < MAX_NODES - 1:
        group = Group(path=target.next_path(), junction="or" if target.junction == "and" else "and")
        group.children.append(Condition(path=f"{group.path}.0"))
        target.children.append(group)
    elif verb == "remove" and target is not None and path != "0":
        parent = nodes[path.rpartition(".")[0]]
        parent.children = [child for child in parent.children if child.path != path]
    for node in root.walk():
        if isinstance(node, Condition):
            operators = [op for op, _ in vocabulary.operators(node)]
            if node.operator not in operators:
                node.operator = operators[0] if operators else "$is"
                node.raw = ""


# --- tree -> filter JSON ----------------------------------------------------------------------


def tree_to_filter(root: Group, vocabulary: Vocabulary, *, now=None, zone=None) -> dict:
    """Voucherify filter JSON for the tree. Every condition is checked on its own first, so an
    error lands on its row (`condition.error`); raises FilterError if any row has one."""
    context = context_for(vocabulary.fields, now=now, zone=zone)
    failed = []
    result = _group_json(root, vocabulary, context, failed)
    if failed:
        raise FilterError(failed[0].error if len(failed) == 1 else "Fix the marked conditions.")
    return result


def _group_json(group: Group, vocabulary: Vocabulary, context, failed: list) -> dict:
    result: dict[str, Any] = {"junction": group.junction}
    groups = 0
    for child in group.children:
        if isinstance(child, Group):
            inner = _group_json(child, vocabulary, context, failed)
            if len(inner) > 1:
                groups += 1
                result[_group_key(result, groups)] = inner
            continue
        try:
            name, operator, operand = _condition_json(child, vocabulary, context)
        except FilterError as exc:
            child.error = exc.message
            failed.append(child)
            continue
        existing = result.get(name)
        if existing is None:
            result[name] = {"conditions": {operator: operand}}
        elif group.junction == "and" and operator not in existing["conditions"]:
            existing["conditions"][operator] = operand  # one field, several operators: AND
        else:
            groups += 1
            result[_group_key(result, groups)] = {
                "junction": "and",
                name: {"conditions": {operator: operand}},
            }
    return result


def _group_key(result: dict, number: int) -> str:
    while f"group_{number}" in result:
        number += 1
    return f"group_{number}"


def _condition_json(condition: Condition, vocabulary: Vocabulary, context):
    name = condition.name
    if condition.field in PATTERNS and not condition.key.strip():
        what = "event name" if condition.field.startswith("events") else "key"
        raise FilterError(f"Enter the {what}.", field=name)
    spec = vocabulary.spec(name)
    if spec is None:
        raise FilterError(f"{name}: unknown field", field=name)
    operator = condition.operator
    operand = _raw_operand(condition, vocabulary)
    if operand is _MISSING:
        operand = _operand(condition, spec, vocabulary)
    compile_condition(name, spec, operator, operand, context)
    return name, operator, operand


_MISSING = object()


def _raw_operand(condition: Condition, vocabulary: Vocabulary):
    """The operand as loaded from JSON, if the row still says what it said then."""
    if not condition.raw:
        return _MISSING
    try:
        raw = json.loads(condition.raw)
    except ValueError:
        return _MISSING
    if not isinstance(raw, dict) or raw.get("op") != condition.operator:
        return _MISSING
    shown = _texts(condition.name, condition.operator, raw.get("operand"), vocabulary)
    current = [text.strip() for text in condition.values if text.strip()]
    if shown is None or [text.strip() for text in shown if text.strip()] != current:
        return _MISSING
    return raw.get("operand")


def _operand(condition: Condition, spec: FieldSpec, vocabulary: Vocabulary):
    operator, name = condition.operator, condition.name
    if operator in VALUELESS:
        return True
    if operator in ANNIVERSARY:
        return [True]
    texts = [text.strip() for text in condition.values if text.strip()]
    if operator in LISTS:
        texts = [part.strip() for text in texts for part in text.splitlines() if part.strip()]
        if not texts:
            raise FilterError(f"{_reading(name, operator, vocabulary)}: enter values", field=name)
        return [_typed(text, spec, name, operator, vocabulary) for text in texts]
    if not texts:
        raise FilterError(f"{_reading(name, operator, vocabulary)}: enter a value", field=name)
    if vocabulary.input_kind(condition) == "days":
        return [int(texts[0])] if texts[0].isdigit() else [texts[0]]
    return [_typed(texts[0], spec, name, operator, vocabulary)]


def _typed(text: str, spec: FieldSpec, name: str, operator: str, vocabulary: Vocabulary):
    reading = _reading(name, operator, vocabulary)
    if spec.type == "number" and name in MONEY_FIELDS:
        try:
            return parse_money(text, vocabulary.currency)
        except MoneyParseError as exc:
            raise FilterError(f"{reading}: {exc}", field=name) from exc
    if spec.type == "number":
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise FilterError(f"{reading}: “{text}” is not a number", field=name) from None
        if not number.is_finite():
            raise FilterError(f"{reading}: “{text}” is not a number", field=name)
        return int(number) if number == number.to_integral_value() else float(number)
    if spec.type == "boolean":
        if text.lower() in ("true", "yes"):
            return True
        if text.lower() in ("false", "no"):
            return False
        raise FilterError(f"{reading}: choose true or false", field=name)
    return text


def _reading(name: str, operator: str, vocabulary: Vocabulary) -> str:
    return f"{vocabulary.label(name)} {OPERATOR_LABELS.get(operator, operator)}"


# --- filter JSON -> tree ----------------------------------------------------------------------


def tree_from_filter(filter_json, vocabulary: Vocabulary) -> Group:
    """The builder tree for a filter; FilterError when the JSON is not a filter at all."""
    if not isinstance(filter_json, dict):
        raise FilterError("The filter must be a JSON object.")
    root = Group(path="0")
    _load_group(root, filter_json, vocabulary, depth=0)
    return root


def _load_group(group: Group, data: dict, vocabulary: Vocabulary, depth: int) -> None:
    if depth > 5:
        raise FilterError("Groups nest at most 5 levels deep.")
    group.junction = _junction(data.get("junction", "and"))
    for name, value in data.items():
        if name == "junction":
            continue
        if not isinstance(name, str):
            raise FilterError("Field names must be text.")
        if is_group(name, value, vocabulary.fields):
            child = Group(path=group.next_path())
            group.children.append(child)
            _load_group(child, value, vocabulary, depth + 1)
            continue
        conditions = value.get("conditions") if isinstance(value, dict) else None
        if not isinstance(conditions, dict) or not conditions:
            raise FilterError(f'{name}: expected {{"conditions": {{"$op": value}}}}', field=name)
        target = group
        if group.junction == "or" and len(conditions) > 1:
            target = Group(path=group.next_path(), junction="and")
            group.children.append(target)
        for operator, operand in conditions.items():
            condition = _load_condition(target.next_path(), name, operator, operand, vocabulary)
            target.children.append(condition)


def _load_condition(path: str, name: str, operator, operand, vocabulary) -> Condition:
    field_choice, key = name, ""
    if name not in COLUMNS and name not in SYSTEM_FIELDS:
        event = EVENT_FIELD.fullmatch(name)
        if event:
            field_choice, key = f"events.*.{event['part']}", event["name"]
        elif name.startswith(SYSTEM_PREFIX):
            field_choice, key = "system_metadata.*", name[len(SYSTEM_PREFIX) :]
        elif metadata_key(name) is not None:
            field_choice, key = "metadata.*", metadata_key(name)
    texts = _texts(name, str(operator), operand, vocabulary)
    return Condition(
        path=path,
        field=field_choice,
        key=key,
        operator=str(operator),
        values=texts if texts is not None else [json.dumps(operand)],
        raw=json.dumps({"op": operator, "operand": operand}),
    )


def _texts(name: str, operator: str, operand, vocabulary: Vocabulary) -> list[str] | None:
    """What the row's inputs show for an operand; None when it cannot be shown."""
    if operator in VALUELESS or operator in ANNIVERSARY:
        return [""]
    values = operand if isinstance(operand, list) else [operand]
    texts = []
    for value in values:
        if isinstance(value, dict | list) or value is None:
            return None
        if name in MONEY_FIELDS and operator not in RELATIVE:
            if isinstance(value, bool) or not isinstance(value, int):
                return None
            texts.append(format_plain(value, vocabulary.currency))
        elif isinstance(value, bool):
            texts.append("true" if value else "false")
        else:
            texts.append(str(value))
    if operator in LISTS:
        return ["\n".join(texts)]
    return texts or [""]


def _is_day(text: str) -> bool:
    return len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit()


# --- the filter in words ----------------------------------------------------------------------


def describe_filter(filter_json, fields, currency: str) -> str:
    """“City is Berlin and (Total spent is more than €400.00 or Orders is more than 3)”."""
    if not isinstance(filter_json, dict):
        return "Everyone" if filter_json is None else "An invalid filter"
    text = _describe_group(filter_json, fields, currency)
    return text or "Everyone"


def _describe_group(group: dict, fields, currency: str) -> str:
    junction = " or " if str(group.get("junction", "and")).lower() == "or" else " and "
    parts = []
    for name, value in group.items():
        if name == "junction":
            continue
        if is_group(name, value, fields):
            inner = _describe_group(value, fields, currency)
            if inner:
                parts.append(f"({inner})")
            continue
        conditions = value.get("conditions") if isinstance(value, dict) else None
        if not isinstance(conditions, dict):
            parts.append(f"{name}: invalid")
            continue
        words = [
            _describe_condition(name, op, operand, fields, currency)
            for op, operand in conditions.items()
        ]
        parts.append(
            " and ".join(words)
            if len(words) == 1 or junction == " and "
            else f"({' and '.join(words)})"
        )
    return junction.join(parts)


def _describe_condition(name: str, operator: str, operand, fields, currency: str) -> str:
    try:
        spec = resolve_field(name, fields)
    except FilterError:
        spec = None
    label = COLUMNS[name].label if name in COLUMNS else _field_words(name)
    if operator in VALUELESS or operator in ANNIVERSARY:
        return f"{label} {OPERATOR_LABELS.get(operator, operator)}"
    values = operand if isinstance(operand, list) else [operand]
    dates = spec is not None and spec.type in ("date", "datetime")
    if operator in RELATIVE or (dates and operator in ("$more_than", "$less_than")):
        words = (DATE_DAY_LABELS.get(operator) if dates else None) or OPERATOR_LABELS[operator]
        return f"{label} {words.replace('…', str(values[0] if values else '?'))}"
    if name in MONEY_FIELDS:
        shown = [
            format_money(v, currency) if isinstance(v, int) and not isinstance(v, bool) else str(v)
            for v in values
        ]
    else:
        shown = [_quote(v) for v in values]
    joined = ", ".join(shown) if operator in LISTS else (shown[0] if shown else "")
    return f"{label} {OPERATOR_LABELS.get(operator, operator)} {joined}"


def _field_words(name: str) -> str:
    event = EVENT_FIELD.fullmatch(name)
    if event:
        return f"“{event['name']}” events" + (" (count)" if event["part"] == "count" else " (last)")
    return name


def _quote(value) -> str:
    if isinstance(value, str):
        return f"“{value}”"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
