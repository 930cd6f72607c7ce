"""Product collections: which fields an AUTO_UPDATE filter may use, how it compiles to SQL, and
the builder's rows (field, operator, value) to and from Voucherify's filter JSON.

Membership is always a `Q` over the products table (`apps.core.conditions`), never a Python loop.
"""

import decimal
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Q

from apps.core.conditions import (
    LISTS,
    OPERATOR_LABELS,
    OPERATORS,
    VALUELESS,
    FieldSpec,
    FilterError,
    compile_filter,
    metadata_key,
)
from apps.core.money import MoneyParseError, format_money, format_plain, parse_money
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

PRODUCT_FIELDS: dict[str, FieldSpec] = {
    "name": FieldSpec("name", "string", label="Name"),
    "source_id": FieldSpec("source_id", "string", label="Source id"),
    "price": FieldSpec("price", "number", label="Price"),
    "created_at": FieldSpec("created_at", "datetime", label="Created"),
}
# Fields of Voucherify's collection filter the builder does not offer, but filters sent through
# the API may use (`product_id` is Voucherify's other name for the product's id).
MORE_FIELDS: dict[str, FieldSpec] = {
    "id": FieldSpec("public_id", "string", label="Id"),
    "product_id": FieldSpec("public_id", "string", label="Id"),
    "image_url": FieldSpec("image_url", "string", label="Image URL"),
    "updated_at": FieldSpec("updated_at", "datetime", label="Updated"),
}
MONEY_FIELDS = frozenset({"price"})
OTHER_METADATA = "metadata.*"  # the builder's "another metadata key" choice
SCHEMA_TYPES = {
    "string": "string",
    "image_url": "string",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
OPERATOR_ORDER = list(OPERATOR_LABELS)


def product_filter_fields(project) -> Callable[[str], FieldSpec | None]:
    """The fields a product filter may use; `metadata.<key>` takes its type from the project's
    product metadata schema (string when the key is not in the schema)."""
    properties = schema_for(project=project, resource=Resource.PRODUCT).properties or {}

    def resolve(name: str) -> FieldSpec | None:
        if name in PRODUCT_FIELDS:
            return PRODUCT_FIELDS[name]
        if name in MORE_FIELDS:
            return MORE_FIELDS[name]
        key = metadata_key(name)
        if key is None:
            return None
        definition = properties.get(key) or {}
        kind = "string"
        if not definition.get("array"):
            kind = SCHEMA_TYPES.get(definition.get("type"), "string")
        return FieldSpec(f"metadata__{key}", kind, json=True, label=name)

    resolve.schema_keys = sorted(properties)  # type: ignore[attr-defined]
    return resolve


def product_filter_q(*, project, filter_json, fields=None) -> Q:
    """The filter as a Q over Product. Raises FilterError."""
    return compile_filter(filter_json, fields or product_filter_fields(project))


# --- the builder's rows ---------------------------------------------------------------------


@dataclass
class FilterRow:
    """One builder row. `field` is a field name or OTHER_METADATA (then `key` names the key)."""

    field: str = "name"
    operator: str = "$is"
    value: str = ""
    key: str = ""
    error: str = ""

    @property
    def name(self) -> str:
        return f"metadata.{self.key.strip()}" if self.field == OTHER_METADATA else self.field


@dataclass
class Builder:
    junction: str = "and"
    rows: list[FilterRow] = field(default_factory=list)


def field_choices(fields) -> list[tuple[str, str]]:
    choices = [(name, spec.label) for name, spec in PRODUCT_FIELDS.items()]
    choices += [(f"metadata.{key}", f"metadata.{key}") for key in fields.schema_keys]
    choices.append((OTHER_METADATA, "Other metadata key…"))
    return choices


def operator_choices(fields, row: FilterRow) -> list[tuple[str, str]]:
    spec = _spec(fields, row)
    allowed = OPERATORS[spec.type] if spec else OPERATORS["string"]
    return [(op, OPERATOR_LABELS[op]) for op in OPERATOR_ORDER if op in allowed]


def field_type(fields, row: FilterRow) -> str:
    spec = _spec(fields, row)
    return spec.type if spec else "string"


def _spec(fields, row: FilterRow) -> FieldSpec | None:
    name = "metadata.x" if row.field == OTHER_METADATA else row.field
    try:
        return fields(name)
    except FilterError:
        return None


def rows_to_filter(builder: Builder, *, fields, currency: str) -> dict:
    """Build Voucherify filter JSON from the rows; sets `row.error` and raises FilterError when
    a row is invalid. A field used twice goes into a one-field group, so "and"/"or" still hold."""
    result: dict = {"junction": builder.junction}
    failed = False
    for index, row in enumerate(builder.rows, start=1):
        try:
            name = row.name
            spec = fields(name)
            if spec is None:
                raise FilterError(f"{name}: unknown field", field=name)
            value = _row_value(row, spec, name, currency)
            condition = {name: {"conditions": {row.operator: value}}}
            if name in result:
                result[f"group_{index}"] = {"junction": "and", **condition}
            else:
                result.update(condition)
            compile_filter(condition, fields)  # checks the operator and the value's type
        except FilterError as exc:
            row.error = exc.message
            failed = True
    if failed:
        raise FilterError("Fix the highlighted conditions.")
    return result


def _reading(name: str, operator: str) -> str:
    """ "Price is more than", not "price $more_than", in messages for people."""
    spec = PRODUCT_FIELDS.get(name)
    label = spec.label if spec is not None else name
    return f"{label} {OPERATOR_LABELS.get(operator, operator)}"


def _row_value(row: FilterRow, spec: FieldSpec, name: str, currency: str):
    if row.operator in VALUELESS:
        return []
    texts = [row.value.strip()]
    if row.operator in LISTS:
        texts = [text.strip() for text in row.value.split(",") if text.strip()]
    elif not texts[0]:
        raise FilterError(f"{_reading(name, row.operator)}: enter a value", field=name)
    values = [_typed(text, spec, name, row.operator, currency) for text in texts]
    return values


def _typed(text: str, spec: FieldSpec, name: str, operator: str, currency: str):
    if spec.type == "number" and name in MONEY_FIELDS:
        try:
            return parse_money(text, currency)
        except MoneyParseError as exc:
            raise FilterError(f"{_reading(name, operator)}: {exc}", field=name) from exc
    if spec.type == "number":
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise FilterError(
                f"{_reading(name, operator)}: “{text}” is not a number", field=name
            ) from None
        if not number.is_finite():
            raise FilterError(f"{_reading(name, operator)}: “{text}” is not a number", field=name)
        return int(number) if number == number.to_integral_value() else float(number)
    if spec.type == "boolean":
        lowered = text.lower()
        if lowered in ("true", "yes"):
            return True
        if lowered in ("false", "no"):
            return False
        raise FilterError(f"{_reading(name, operator)}: choose true or false", field=name)
    return text


def filter_to_rows(filter_json, *, fields, currency: str) -> Builder | None:
    """The rows for a filter, or None when it cannot be shown as flat rows (nested groups,
    unknown fields, several operators on one field under "or"): then the JSON editor is used."""
    if not isinstance(filter_json, dict):
        return None
    junction = str(filter_json.get("junction", "and")).lower()
    if junction not in ("and", "or"):
        return None
    builder = Builder(junction=junction)
    for name, value in filter_json.items():
        if name == "junction":
            continue
        if isinstance(value, dict) and "conditions" not in value:
            inner = {k: v for k, v in value.items() if k != "junction"}
            if len(inner) != 1:
                return None
            name, value = next(iter(inner.items()))
        conditions = value.get("conditions") if isinstance(value, dict) else None
        if not isinstance(conditions, dict) or not conditions:
            return None
        if junction == "or" and len(conditions) > 1:
            return None
        try:
            spec = fields(name)
        except FilterError:
            return None
        if spec is None or name in MORE_FIELDS:  # not a builder field: the JSON editor shows it
            return None
        for operator, operand in conditions.items():
            if operator not in OPERATOR_LABELS:
                return None
            row = _row(name, operator, operand, fields, currency)
            if row is None:
                return None
            builder.rows.append(row)
    return builder


def _row(name: str, operator: str, operand, fields, currency: str) -> FilterRow | None:
    values = operand if isinstance(operand, list) else [operand]
    if operator in VALUELESS:
        text = ""
    else:
        texts = []
        for value in values:
            if isinstance(value, dict | list):
                return None
            if name in MONEY_FIELDS:
                if isinstance(value, bool) or not isinstance(value, int):
                    return None  # not whole minor units: keep the JSON as written
                texts.append(format_plain(value, currency))
            elif isinstance(value, bool):
                texts.append("true" if value else "false")
            else:
                texts.append(str(value))
        text = ", ".join(texts)
    key = metadata_key(name)
    if key is not None and key not in fields.schema_keys:
        return FilterRow(field=OTHER_METADATA, key=key, operator=operator, value=text)
    return FilterRow(field=name, operator=operator, value=text)


def describe_filter(filter_json, *, fields, currency: str) -> str:
    """A one-line reading of a filter for people: `Price is more than $20.00 and Name contains
    shirt`; "Custom filter (JSON)" when the filter is not flat."""
    builder = filter_to_rows(filter_json, fields=fields, currency=currency)
    if builder is None:
        return "Custom filter (JSON)"
    if not builder.rows:
        return "All products"
    labels = {name: spec.label for name, spec in PRODUCT_FIELDS.items()}
    parts = []
    for row in builder.rows:
        label = labels.get(row.name, row.name)
        text = f"{label} {OPERATOR_LABELS[row.operator]}"
        if row.operator not in VALUELESS and row.name in MONEY_FIELDS:
            amounts = [parse_money(v, currency) for v in row.value.split(", ")]
            text += " " + ", ".join(format_money(cents, currency) for cents in amounts)
        elif row.operator not in VALUELESS:
            text += f" {row.value}"
        parts.append(text)
    return f" {builder.junction} ".join(parts)
