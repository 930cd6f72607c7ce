"""Voucherify's filter JSON compiled to a Django `Q`, so "who matches" is answered in SQL.

The grammar (Voucherify's `filters`, as used by segments and product collections):

    {"junction": "and" | "or",
     "<field>": {"conditions": {"$op": value-or-[values], ...}},
     "group_1": {"junction": "or", "<field>": {...}, ...},     # extension: a nested group
     ...}

Several operators under one field are all required (AND); the fields and groups of one level
combine with the level's junction (AND when missing). An empty filter matches everything.

The caller says which fields exist and what type they have:

    compile_filter(filter_json, {"price": FieldSpec("price", "number")})

`fields` is a dict or a callable `name -> FieldSpec | None`. `metadata.<key>` is always known: it
maps to the JSON key `metadata__<key>`, typed string unless `fields` gives a spec for it.

Operators by type (anything else is a `FilterError` naming the field and operator):

    string    $is $is_not $in $not_in $has_value $is_unknown
              $contains $not_contain $starts_with $ends_with      (case-insensitive)
    number    $is $is_not $in $not_in $has_value $is_unknown
              $more_than $less_than $more_than_equal $less_than_equal
    date      $is $is_not $in $not_in $has_value $is_unknown $after $before
    datetime  $after $before $has_value $is_unknown               (a date-only value compares
                                                                   the day, in the current zone)
    boolean   $is $is_not $has_value $is_unknown

Missing values: `$is_unknown` matches NULL, a missing JSON key, JSON null and (for strings) "".
The negative operators `$is_not`, `$not_in` and `$not_contain` also match rows without a value
("colour is not red" includes products with no colour). JSON comparisons only match values of
the field's JSON type, so `metadata.size $less_than 10` never matches the text "small", on SQLite
and PostgreSQL alike.
"""

import datetime as dt
import decimal
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import NotSupportedError
from django.db.models import BooleanField, Func, Q
from django.db.models.fields.json import KeyTransform, compile_json_path
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

TYPES = ("string", "number", "date", "datetime", "boolean")
MAX_DEPTH = 5
MAX_CONDITIONS = 100
METADATA_PREFIX = "metadata."
METADATA_KEY = re.compile(r"[^\x00-\x1f]{1,100}")

_COMMON = {"$has_value", "$is_unknown"}
_EQUALITY = {"$is", "$is_not", "$in", "$not_in"}
OPERATORS: dict[str, frozenset[str]] = {
    "string": frozenset(
        _COMMON | _EQUALITY | {"$contains", "$not_contain", "$starts_with", "$ends_with"}
    ),
    "number": frozenset(
        _COMMON | _EQUALITY | {"$more_than", "$less_than", "$more_than_equal", "$less_than_equal"}
    ),
    "date": frozenset(_COMMON | _EQUALITY | {"$after", "$before"}),
    "datetime": frozenset(_COMMON | {"$after", "$before"}),
    "boolean": frozenset(_COMMON | {"$is", "$is_not"}),
}
ALL_OPERATORS = frozenset().union(*OPERATORS.values())
_SINGLE = {
    "$is",
    "$is_not",
    "$contains",
    "$not_contain",
    "$starts_with",
    "$ends_with",
    "$more_than",
    "$less_than",
    "$more_than_equal",
    "$less_than_equal",
    "$after",
    "$before",
}
_NEGATIVE = {"$is_not": "$is", "$not_in": "$in", "$not_contain": "$contains"}
_LOOKUPS = {
    "$is": "exact",
    "$in": "in",
    "$contains": "icontains",
    "$starts_with": "istartswith",
    "$ends_with": "iendswith",
    "$more_than": "gt",
    "$less_than": "lt",
    "$more_than_equal": "gte",
    "$less_than_equal": "lte",
    "$after": "gt",
    "$before": "lt",
}


class FilterError(ValueError):
    """The filter cannot be compiled; the message names the field and the operator."""

    def __init__(self, message: str, *, field: str = "", operator: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field
        self.operator = operator


@dataclass(frozen=True)
class FieldSpec:
    """A filterable field: the ORM lookup path and the value type. `json=True` marks a key
    inside a JSON column (`metadata__tier`), compared by JSON type."""

    lookup: str
    type: str = "string"
    json: bool = False
    label: str = ""

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"FieldSpec type must be one of {', '.join(TYPES)}")


Fields = Mapping[str, FieldSpec] | Callable[[str], FieldSpec | None]


def metadata_key(name: str) -> str | None:
    """`metadata.tier` -> `tier`; None when `name` is not a metadata field."""
    return name[len(METADATA_PREFIX) :] if name.startswith(METADATA_PREFIX) else None


def check_metadata_key(key: str, *, field: str = "") -> str:
    field = field or METADATA_PREFIX + key
    if not METADATA_KEY.fullmatch(key):
        raise FilterError(f"{field}: a metadata key is 1 to 100 printable characters", field=field)
    if "__" in key:
        raise FilterError(f'{field}: metadata keys cannot contain "__"', field=field)
    if key.strip().lstrip("-").isdigit():
        # Django reads a numeric key as an array index.
        raise FilterError(f"{field}: metadata keys cannot be numbers", field=field)
    return key


def resolve_field(name: str, fields: Fields) -> FieldSpec:
    spec = fields(name) if callable(fields) else fields.get(name)
    key = metadata_key(name)
    if key is not None:
        check_metadata_key(key, field=name)
        if spec is None:
            spec = FieldSpec(f"metadata__{key}", "string", json=True)
    if spec is None:
        raise FilterError(f"{name}: unknown field", field=name)
    return spec


def compile_filter(filter_json: Any, fields: Fields) -> Q:
    """Compile Voucherify filter JSON to a Q. Raises FilterError for anything invalid."""
    if filter_json is None:
        return Q()
    counter = [0]
    return _group(filter_json, fields, depth=0, counter=counter, where="filter")


def _group(group: Any, fields: Fields, *, depth: int, counter: list[int], where: str) -> Q:
    if not isinstance(group, Mapping):
        raise FilterError(f"{where}: a filter group must be an object", field=where)
    if depth >= MAX_DEPTH:
        raise FilterError(f"{where}: groups nest at most {MAX_DEPTH} levels deep", field=where)
    junction = group.get("junction", "and")
    if not isinstance(junction, str) or junction.lower() not in ("and", "or"):
        raise FilterError(f'{where}: junction must be "and" or "or"', field=where)
    parts: list[Q] = []
    for name, value in group.items():
        if name == "junction":
            continue
        if not isinstance(name, str):
            raise FilterError(f"{name}: field names must be text", field=str(name))
        if _is_group(name, value, fields):
            parts.append(_group(value, fields, depth=depth + 1, counter=counter, where=name))
            continue
        spec = resolve_field(name, fields)
        parts.append(_field(name, spec, value, counter))
    if not parts:
        return Q()
    result = parts[0]
    for part in parts[1:]:
        result = (result | part) if junction.lower() == "or" else (result & part)
    return result


def _is_group(name: str, value: Any, fields: Fields) -> bool:
    if not isinstance(value, Mapping) or "junction" not in value or "conditions" in value:
        return False
    if metadata_key(name) is not None:
        return False
    known = fields(name) if callable(fields) else fields.get(name)
    return known is None


def _field(name: str, spec: FieldSpec, value: Any, counter: list[int]) -> Q:
    if not isinstance(value, Mapping) or not isinstance(value.get("conditions"), Mapping):
        raise FilterError(f'{name}: expected {{"conditions": {{"$op": value}}}}', field=name)
    conditions = value["conditions"]
    if not conditions:
        raise FilterError(f"{name}: no conditions given", field=name)
    result = Q()
    for operator, operand in conditions.items():
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise FilterError(
                f"{name}: a filter has at most {MAX_CONDITIONS} conditions", field=name
            )
        result &= _condition(name, spec, operator, operand)
    return result


def _condition(name: str, spec: FieldSpec, operator: Any, operand: Any) -> Q:
    if operator not in ALL_OPERATORS:
        raise FilterError(
            f"{name} {operator}: unknown operator", field=name, operator=str(operator)
        )
    if operator not in OPERATORS[spec.type]:
        raise FilterError(
            f"{name} {operator}: not valid for a {spec.type} field (use one of "
            f"{', '.join(sorted(OPERATORS[spec.type]))})",
            field=name,
            operator=operator,
        )
    if operator == "$is_unknown":
        return _unknown(spec)
    if operator == "$has_value":
        return ~_unknown(spec)
    if operator in _NEGATIVE:
        return ~_positive(name, spec, _NEGATIVE[operator], operand) | _unknown(spec)
    return _positive(name, spec, operator, operand)


def _unknown(spec: FieldSpec) -> Q:
    missing = Q(**{f"{spec.lookup}__isnull": True})
    if spec.json:
        missing |= Q(**{spec.lookup: None})  # a JSON null
    if spec.type == "string":
        missing |= Q(**{spec.lookup: ""})
    return missing


def _positive(name: str, spec: FieldSpec, operator: str, operand: Any) -> Q:
    values = _operands(name, operator, operand)
    if operator == "$in":
        coerced = [_db_value(spec, _coerce(name, spec, operator, v)) for v in values]
        return Q(**{f"{spec.lookup}__in": coerced})
    value = _coerce(name, spec, operator, values[0])
    if spec.type == "datetime":
        return _datetime(spec, operator, value)
    lookup = _LOOKUPS[operator]
    condition = Q(**{f"{spec.lookup}__{lookup}": _db_value(spec, value)})
    if spec.json and lookup != "exact":
        # Comparisons across JSON types (a number against text) differ between databases.
        condition &= Q(JSONTypeIs(spec.lookup, _json_type(spec)))
    return condition


def _operands(name: str, operator: str, operand: Any) -> list[Any]:
    values = list(operand) if isinstance(operand, list | tuple) else [operand]
    if operator in _SINGLE and len(values) != 1:
        raise FilterError(
            f"{name} {operator}: expects exactly one value (got {len(values)})",
            field=name,
            operator=operator,
        )
    if operator == "$in" and len(values) > 1000:
        raise FilterError(f"{name} {operator}: at most 1000 values", field=name, operator=operator)
    return values


def _coerce(name: str, spec: FieldSpec, operator: str, value: Any) -> Any:
    def wrong(expected: str) -> FilterError:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        return FilterError(
            f"{name} {operator}: expects {expected} (got {shown})", field=name, operator=operator
        )

    if spec.type == "string":
        if not isinstance(value, str):
            raise wrong("text")
        return value
    if spec.type == "number":
        if isinstance(value, bool):
            raise wrong("a number")
        if isinstance(value, str):
            try:
                value = decimal.Decimal(value.strip())
            except decimal.InvalidOperation:
                raise wrong("a number") from None
        if isinstance(value, decimal.Decimal):
            if not value.is_finite():
                raise wrong("a number")
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
            return value
        raise wrong("a number")
    if spec.type == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if spec.type == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            parsed = _parse_date(value.strip())
            if parsed is not None:
                return parsed
        raise wrong("a date like 2024-12-31")
    # datetime: an aware datetime, or a date (compared by day)
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            day = parse_date(text)  # first: Python also reads "2024-12-31" as a datetime
            parsed = None if day else parse_datetime(text)
        except ValueError:
            day = parsed = None
        if day is not None:
            return day
        if parsed is not None:
            return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    raise wrong("a date and time like 2024-12-31T23:59:00Z")


def _parse_date(text: str) -> dt.date | None:
    try:
        day = parse_date(text)
    except ValueError:
        return None
    if day is not None:
        return day
    try:
        moment = parse_datetime(text)
    except ValueError:
        return None
    return moment.date() if moment is not None else None


def _db_value(spec: FieldSpec, value: Any) -> Any:
    if spec.json and isinstance(value, dt.date | dt.datetime):
        return value.isoformat()  # JSON holds dates as ISO text
    return value


def _json_type(spec: FieldSpec) -> str:
    return {"number": "number", "boolean": "boolean"}.get(spec.type, "string")


def _datetime(spec: FieldSpec, operator: str, value: dt.date | dt.datetime) -> Q:
    lookup = _LOOKUPS[operator]
    if spec.json:
        if isinstance(value, dt.datetime):
            text = value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
            condition = Q(**{f"{spec.lookup}__{lookup}": text})
        elif operator == "$after":  # after a day: from the next day on
            condition = Q(**{f"{spec.lookup}__gte": (value + dt.timedelta(days=1)).isoformat()})
        else:
            condition = Q(**{f"{spec.lookup}__lt": value.isoformat()})
        return condition & Q(JSONTypeIs(spec.lookup, "string"))
    if isinstance(value, dt.datetime):
        return Q(**{f"{spec.lookup}__{lookup}": value})
    return Q(**{f"{spec.lookup}__date__{lookup}": value})


class JSONTypeIs(Func):
    """True when the JSON value at `column__key` has the JSON type `number`, `string` or
    `boolean` (PostgreSQL `jsonb_typeof`, SQLite `JSON_TYPE`)."""

    output_field = BooleanField()
    _SQLITE = {"number": ("integer", "real"), "string": ("text",), "boolean": ("true", "false")}

    def __init__(self, lookup: str, json_type: str):
        column, key = lookup.rsplit("__", 1)
        super().__init__(KeyTransform(key, column))
        self.json_type = json_type

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError("JSON type checks support PostgreSQL and SQLite only")

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(jsonb_typeof({sql}) = %s)", (*params, self.json_type)

    def as_sqlite(self, compiler, connection, **extra):
        lhs, params, keys = self.source_expressions[0].preprocess_lhs(compiler, connection)
        types = self._SQLITE[self.json_type]
        placeholders = ", ".join(["%s"] * len(types))
        return (
            f"(JSON_TYPE({lhs}, %s) IN ({placeholders}))",
            (*params, compile_json_path(keys), *types),
        )
