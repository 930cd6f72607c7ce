"""Voucherify's filter JSON compiled to a Django `Q`, so "who matches" is answered in SQL.

The grammar (Voucherify's `filters`, as used by segments and product collections):

    {"junction": "and" | "or",
     "<field>": {"conditions": {"$op": value-or-[values], ...}},
     "group_1": {"junction": "or", "<field>": {...}, ...},     # extension: a nested group
     ...}

Several operators under one field are all required (AND); the fields and groups of one level
combine with the level's junction (AND when missing). An empty filter matches everything.

The caller says which fields exist and what type they have:

    compile_filter(filter_json, {"price": FieldSpec("price", "number")}, now=now, zone=zone)

`now` and `zone` (default: the current time and time zone) fix what "today" means for relative
dates and birthdays; `uses_time(filter_json, fields)` says whether a filter's result drifts
with time.

`fields` is a dict or a callable `name -> FieldSpec | None`. `metadata.<key>` is always known: it
maps to the JSON key `metadata__<key>`, typed string unless `fields` gives a spec for it.

Operators by type (anything else is a `FilterError` naming the field and operator):

    string    $is $is_not $in $not_in $has_value $is_unknown
              $contains $not_contain $starts_with $ends_with      (case-insensitive)
    number    $is $is_not $in $not_in $has_value $is_unknown
              $more_than $less_than $more_than_equal $less_than_equal
    date      $is $is_not $in $not_in $has_value $is_unknown $after $before + relative
    datetime  $after $before $has_value $is_unknown + relative    (a date-only value compares
                                                                   the day, in `zone`)
    boolean   $is $is_not $has_value $is_unknown

Relative operators take a whole number of days N and count calendar days in `zone`
("days ago" of a value = today - its day):

    $is_days_ago N        days ago = N          $is_days_in_future N   days ahead = N
    $more_than_ago N      days ago > N          $more_than_future N    days ahead > N
    $less_than_ago N      0 <= days ago < N     $less_than_future N    0 <= days ahead < N
    $more_than N, $less_than N on a date: the same as $more_than_ago / $less_than_ago
                          (Voucherify's date operators, e.g. last_order_date $less_than [30])

Anniversary fields (FieldSpec(anniversary=True), e.g. birthdate) also take `$today`,
`$this_month` and `$next_month` with the value true: the day and month, ignoring the year.
(29 February counts as 28 February outside leap years.)

A FieldSpec with `build` compiles itself: `build(lookup, value)` returns a Q for a Django lookup
(exact, in, gt, gte, lt, lte, isnull) - used for values computed from other tables, such as
counts of a customer's events.

Missing values: `$is_unknown` matches NULL, a missing JSON key, JSON null and (for strings) "".
The negative operators `$is_not`, `$not_in` and `$not_contain` also match rows without a value
("colour is not red" includes products with no colour). JSON comparisons only match values of
the field's JSON type, so `metadata.size $less_than 10` never matches the text "small", on SQLite
and PostgreSQL alike.
"""

import calendar
import datetime as dt
import decimal
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import NotSupportedError
from django.db.models import BooleanField, Func, Q
from django.db.models.fields.json import KeyTransform, compile_json_path
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

TYPES = ("string", "number", "date", "datetime", "boolean")
MAX_DAYS = 36_600
MAX_DEPTH = 5
MAX_CONDITIONS = 100
METADATA_PREFIX = "metadata."
METADATA_KEY = re.compile(r"[^\x00-\x1f]{1,100}")

_COMMON = {"$has_value", "$is_unknown"}
_EQUALITY = {"$is", "$is_not", "$in", "$not_in"}
RELATIVE = frozenset(
    {
        "$is_days_ago",
        "$is_days_in_future",
        "$more_than_ago",
        "$less_than_ago",
        "$more_than_future",
        "$less_than_future",
    }
)
OPERATORS: dict[str, frozenset[str]] = {
    "string": frozenset(
        _COMMON | _EQUALITY | {"$contains", "$not_contain", "$starts_with", "$ends_with"}
    ),
    "number": frozenset(
        _COMMON | _EQUALITY | {"$more_than", "$less_than", "$more_than_equal", "$less_than_equal"}
    ),
    "date": frozenset(
        _COMMON | _EQUALITY | RELATIVE | {"$after", "$before", "$more_than", "$less_than"}
    ),
    "datetime": frozenset(_COMMON | RELATIVE | {"$after", "$before", "$more_than", "$less_than"}),
    "boolean": frozenset(_COMMON | {"$is", "$is_not"}),
}
ANNIVERSARY = frozenset({"$today", "$this_month", "$next_month"})
TIME_OPERATORS = RELATIVE | ANNIVERSARY
ALL_OPERATORS = frozenset().union(*OPERATORS.values()) | ANNIVERSARY
# How the dashboard reads each operator, in the order builders offer them.
OPERATOR_LABELS = {
    "$is": "is",
    "$is_not": "is not",
    "$in": "is any of",
    "$not_in": "is none of",
    "$contains": "contains",
    "$not_contain": "does not contain",
    "$starts_with": "starts with",
    "$ends_with": "ends with",
    "$more_than": "is more than",
    "$more_than_equal": "is at least",
    "$less_than": "is less than",
    "$less_than_equal": "is at most",
    "$after": "is after",
    "$before": "is before",
    "$is_days_ago": "was exactly … days ago",
    "$less_than_ago": "was less than … days ago",
    "$more_than_ago": "was more than … days ago",
    "$is_days_in_future": "is exactly … days ahead",
    "$less_than_future": "is less than … days ahead",
    "$more_than_future": "is more than … days ahead",
    "$today": "is today (any year)",
    "$this_month": "is this month (any year)",
    "$next_month": "is next month (any year)",
    "$has_value": "has any value",
    "$is_unknown": "is unknown",
}
DATE_DAY_LABELS = {  # $more_than / $less_than on a date count days ago
    "$more_than": "was more than … days ago",
    "$less_than": "was less than … days ago",
}
VALUELESS = frozenset({"$has_value", "$is_unknown"})
LISTS = frozenset({"$in", "$not_in"})
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
    *RELATIVE,
    *ANNIVERSARY,
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
    inside a JSON column (`metadata__tier`), compared by JSON type. `build(lookup, value)`, when
    given, compiles the field's comparisons itself. `anniversary=True` allows the birthday
    operators on a date."""

    lookup: str
    type: str = "string"
    json: bool = False
    label: str = ""
    build: Callable[[str, Any], Q] | None = field(default=None, compare=False)
    anniversary: bool = False

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"FieldSpec type must be one of {', '.join(TYPES)}")

    def operators(self) -> frozenset[str]:
        return OPERATORS[self.type] | (ANNIVERSARY if self.anniversary else frozenset())


Fields = Mapping[str, FieldSpec] | Callable[[str], FieldSpec | None]


@dataclass
class Context:
    """One compilation: the fields, today's date and zone, and a count of conditions."""

    fields: Fields
    today: dt.date
    zone: dt.tzinfo
    now: dt.datetime
    conditions: int = 0

    def day_start(self, day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min), self.zone)


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


def compile_filter(
    filter_json: Any,
    fields: Fields,
    *,
    now: dt.datetime | None = None,
    zone: dt.tzinfo | None = None,
) -> Q:
    """Compile Voucherify filter JSON to a Q. Raises FilterError for anything invalid."""
    if filter_json is None:
        return Q()
    return _group(filter_json, context_for(fields, now=now, zone=zone), depth=0, where="filter")


def context_for(fields: Fields, *, now=None, zone=None) -> Context:
    """What compile_condition needs besides the condition: the fields, and what "today" is."""
    now = now or timezone.now()
    zone = zone or timezone.get_current_timezone()
    return Context(fields=fields, today=now.astimezone(zone).date(), zone=zone, now=now)


def uses_time(filter_json: Any, fields: Fields) -> bool:
    """Whether the filter has a relative-date or birthday condition, so that who matches
    changes from one day to the next without any data changing."""
    if not isinstance(filter_json, Mapping):
        return False
    for name, value in filter_json.items():
        if name == "junction" or not isinstance(value, Mapping):
            continue
        if is_group(name, value, fields):
            if uses_time(value, fields):
                return True
            continue
        conditions = value.get("conditions")
        if not isinstance(conditions, Mapping):
            continue
        if ANNIVERSARY & set(conditions):
            return True
        try:
            spec = resolve_field(name, fields)
        except FilterError:
            continue
        if spec.type in ("date", "datetime") and (RELATIVE | {"$more_than", "$less_than"}) & set(
            conditions
        ):
            return True
    return False


def _group(group: Any, context: Context, *, depth: int, where: str) -> Q:
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
        if is_group(name, value, context.fields):
            parts.append(_group(value, context, depth=depth + 1, where=name))
            continue
        spec = resolve_field(name, context.fields)
        parts.append(_field(name, spec, value, context))
    if not parts:
        return Q()
    result = parts[0]
    for part in parts[1:]:
        result = (result | part) if junction.lower() == "or" else (result & part)
    return result


def is_group(name: str, value: Any, fields: Fields) -> bool:
    """Whether `name: value` is a nested group rather than a field's conditions."""
    if not isinstance(value, Mapping) or "junction" not in value or "conditions" in value:
        return False
    if metadata_key(name) is not None:
        return False
    try:
        known = fields(name) if callable(fields) else fields.get(name)
    except FilterError:
        return True
    return known is None


def _field(name: str, spec: FieldSpec, value: Any, context: Context) -> Q:
    if not isinstance(value, Mapping) or not isinstance(value.get("conditions"), Mapping):
        raise FilterError(f'{name}: expected {{"conditions": {{"$op": value}}}}', field=name)
    conditions = value["conditions"]
    if not conditions:
        raise FilterError(f"{name}: no conditions given", field=name)
    result = Q()
    for operator, operand in conditions.items():
        context.conditions += 1
        if context.conditions > MAX_CONDITIONS:
            raise FilterError(
                f"{name}: a filter has at most {MAX_CONDITIONS} conditions", field=name
            )
        result &= compile_condition(name, spec, operator, operand, context)
    return result


def compile_condition(
    name: str, spec: FieldSpec, operator: Any, operand: Any, context: Context
) -> Q:
    if operator not in ALL_OPERATORS:
        raise FilterError(
            f"{name} {operator}: unknown operator", field=name, operator=str(operator)
        )
    allowed = spec.operators()
    if operator not in allowed:
        raise FilterError(
            f"{name} {operator}: not valid for a {spec.type} field (use one of "
            f"{', '.join(sorted(allowed))})",
            field=name,
            operator=operator,
        )
    if operator == "$is_unknown":
        return _unknown(spec)
    if operator == "$has_value":
        return ~_unknown(spec)
    if operator in _NEGATIVE:
        negative = ~_positive(name, spec, _NEGATIVE[operator], operand, context)
        # A built field decides itself what a missing value is (no events: a count of 0).
        return negative if spec.build is not None else negative | _unknown(spec)
    return _positive(name, spec, operator, operand, context)


def _unknown(spec: FieldSpec) -> Q:
    if spec.build is not None:
        return spec.build("isnull", True)
    missing = Q(**{f"{spec.lookup}__isnull": True})
    if spec.json:
        missing |= Q(**{spec.lookup: None})  # a JSON null
    if spec.type == "string":
        missing |= Q(**{spec.lookup: ""})
    return missing


def _positive(name: str, spec: FieldSpec, operator: str, operand: Any, context: Context) -> Q:
    values = _operands(name, operator, operand)
    if operator in ANNIVERSARY:
        if _coerce(name, FieldSpec("", "boolean"), operator, values[0]) is not True:
            raise FilterError(f"{name} {operator}: expects true", field=name, operator=operator)
        return _anniversary(spec, operator, context)
    if spec.type in ("date", "datetime") and (
        operator in RELATIVE or operator in ("$more_than", "$less_than")
    ):
        days = _days(name, operator, values[0])
        operator = {"$more_than": "$more_than_ago", "$less_than": "$less_than_ago"}.get(
            operator, operator
        )
        return _relative(spec, operator, days, context)
    if operator == "$in":
        coerced = [_coerce(name, spec, operator, v) for v in values]
        return _compare(spec, "in", coerced)
    value = _coerce(name, spec, operator, values[0])
    if spec.type == "datetime" and not isinstance(value, dt.datetime):
        # a day: after it means from the next day's start, before it means before its start
        if operator == "$after":
            return _compare(spec, "gte", context.day_start(value + dt.timedelta(days=1)))
        return _compare(spec, "lt", context.day_start(value))
    return _compare(spec, _LOOKUPS[operator], value)


def _compare(spec: FieldSpec, lookup: str, value: Any) -> Q:
    """`field <lookup> value` for a column, a JSON key or a built field."""
    if spec.build is not None:
        return spec.build(lookup, value)
    if not spec.json:
        return Q(**{f"{spec.lookup}__{lookup}": value})
    if lookup == "in":
        return Q(**{f"{spec.lookup}__in": [_json_value(v) for v in value]})
    condition = Q(**{f"{spec.lookup}__{lookup}": _json_value(value)})
    if lookup != "exact":
        # Comparisons across JSON types (a number against text) differ between databases.
        condition &= Q(JSONTypeIs(spec.lookup, _json_type(spec)))
    return condition


def _json_value(value: Any) -> Any:
    # JSON holds dates as ISO text, and date-times as UTC with a Z.
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _days(name: str, operator: str, value: Any) -> int:
    text = str(value).strip() if isinstance(value, int | str) and value is not True else ""
    if not text.isdigit() or int(text) > MAX_DAYS:
        raise FilterError(
            f"{name} {operator}: expects a whole number of days from 0 to {MAX_DAYS}",
            field=name,
            operator=operator,
        )
    return int(text)


def _relative(spec: FieldSpec, operator: str, days: int, context: Context) -> Q:
    """Relative days as a range of days [first, last] (either end open), in the zone."""
    today, delta = context.today, dt.timedelta
    first, last = {
        "$is_days_ago": (today - delta(days), today - delta(days)),
        "$more_than_ago": (None, today - delta(days + 1)),
        "$less_than_ago": (today - delta(days - 1), today),
        "$is_days_in_future": (today + delta(days), today + delta(days)),
        "$more_than_future": (today + delta(days + 1), None),
        "$less_than_future": (today, today + delta(days - 1)),
    }[operator]
    if first is not None and last is not None and first > last:
        return Q(pk__in=[])  # "less than 0 days": nothing
    return _day_range(spec, first, last, context)


def _day_range(spec: FieldSpec, first: dt.date | None, last: dt.date | None, context: Context) -> Q:
    result = Q()
    if spec.type == "date":
        if first is not None:
            result &= _compare(spec, "gte", first)
        if last is not None:
            result &= _compare(spec, "lte", last)
        return result
    if first is not None:
        result &= _compare(spec, "gte", context.day_start(first))
    if last is not None:
        result &= _compare(spec, "lt", context.day_start(last + dt.timedelta(days=1)))
    return result


def _anniversary(spec: FieldSpec, operator: str, context: Context) -> Q:
    today = context.today
    if operator == "$this_month":
        return Q(**{f"{spec.lookup}__month": today.month})
    if operator == "$next_month":
        return Q(**{f"{spec.lookup}__month": today.month % 12 + 1})
    condition = Q(**{f"{spec.lookup}__month": today.month, f"{spec.lookup}__day": today.day})
    if today.month == 2 and today.day == 28 and calendar.isleap(today.year) is False:
        condition |= Q(**{f"{spec.lookup}__month": 2, f"{spec.lookup}__day": 29})
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


def _json_type(spec: FieldSpec) -> str:
    return {"number": "number", "boolean": "boolean"}.get(spec.type, "string")


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
