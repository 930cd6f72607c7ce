"""Rows read with hand-written SQL, turned into ordinary model instances.

For the hottest reads (a checkout's customer, codes, rules and products) the ORM costs several
times more in Python (compiling the query, converting every column) than the database spends
running it. `Columns` gives a constant SELECT list for a model's chosen columns under a table
alias, and builds instances through `Model.from_db` with the converters Django itself applies,
so callers see the same models the ORM would give them (only the chosen columns loaded).
"""

# ruff: noqa: S608 -- table and column names come from model meta; every value is a parameter.

import datetime
import inspect
import json

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import DEFERRED, Field
from django.db.models.base import ModelState
from django.db.models.expressions import Col
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.signals import post_init, pre_init


class Columns:
    """A model's chosen columns (all concrete ones when `names` is None) for a SELECT under a
    table alias, with the converters that turn raw values into Python values as the ORM would."""

    def __init__(self, model, alias: str, names: tuple[str, ...] | None = None):
        self.model = model
        # the thread's own connection, not the `connection` proxy, whose every attribute
        # access is a thread-local lookup (build() runs per column of every row)
        self.connection = connection = connections[DEFAULT_DB_ALIAS]
        fields = model._meta.concrete_fields
        if names is not None:
            wanted = {model._meta.get_field(name) for name in names}  # names or FK attnames
            # Model.from_db takes the values in the model's field order
            fields = [field for field in fields if field in wanted]
        assert fields[0].primary_key, "the first column is the id: a NULL id means no row"
        self.width = len(fields)
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in fields)
        # (position, converters) of the columns that have converters (JSON, mostly)
        self.converters = []
        for position, field in enumerate(fields):
            column = Col(alias, field)
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if found:
                self.converters.append((position, [(converter, column) for converter in found]))
        # Model.from_db's work, planned once: where each loaded value goes among the model's
        # concrete fields, DEFERRED for the columns not loaded
        loaded = {field.attname: position for position, field in enumerate(fields)}
        self.slots = [loaded.get(field.attname) for field in model._meta.concrete_fields]
        self.attnames = list(loaded)
        self.plain = _plain_init(model)

    def __len__(self) -> int:
        return self.width

    def build(self, values):
        """A model instance from this part of a row, or None when its id is NULL (no join):
        what Model.from_db makes of it, with the ORM's converters applied."""
        if values[0] is None:
            return None
        wrapper = self.connection
        values = list(values)
        for position, converters in self.converters:
            value = values[position]
            for converter, column in converters:
                value = converter(value, column, wrapper)
            values[position] = value
        if self.plain:
            # what Model.__init__ does with positional values, minus its per-field loop
            instance = object.__new__(self.model)
            instance.__dict__.update(zip(self.attnames, values, strict=True))
            state = instance._state = ModelState()
        else:
            instance = self.model(*[DEFERRED if at is None else values[at] for at in self.slots])
            state = instance._state
        state.adding = False
        state.db = wrapper.alias
        return instance


def _plain_init(model) -> bool:
    """Whether `Model(*values)` only stores each value in the instance's `__dict__` under its
    field's attname: no receiver of the init signals, and no field descriptor that does more
    on assignment (a foreign key's id descriptor only clears a cache a new instance lacks)."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return False
    for field in model._meta.concrete_fields:
        descriptor = inspect.getattr_static(model, field.attname, None)
        if hasattr(type(descriptor), "__set__") and not isinstance(
            descriptor, ForeignKeyDeferredAttribute
        ):
            return False
    return True


def attach(instance, name: str, related) -> None:
    """Give `instance` its related object `name` (a foreign key) read by the same query, as
    select_related does: its id column is loaded already, so the descriptor's checks and its
    write of the id (several microseconds a time, for each of a qualification's 50 tiers)
    are not needed."""
    instance._state.fields_cache[name] = related


def columns(key: str, make) -> dict:
    """The column sets `make()` returns, built once per database connection under `key`:
    converters are bound to the connection they came from, and connections belong to one
    thread each."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    cache = wrapper.__dict__.setdefault("_row_columns", {})
    found = cache.get(key)
    if found is None:
        found = cache[key] = make()
    return found


def placeholders(values) -> str:
    """`%s, %s, …` for an IN list; `NULL` for an empty one (which matches nothing)."""
    return ", ".join(["%s"] * len(values)) or "NULL"


# Columns whose values the driver and the database take as they are when they already have the
# column's Python type: for these the ORM's preparation only re-creates the same value.
_PLAIN = {
    "AutoField": int,  # a foreign key's target
    "BigAutoField": int,
    "SmallAutoField": int,
    "BigIntegerField": int,
    "IntegerField": int,
    "PositiveBigIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int,
    "SmallIntegerField": int,
    "BooleanField": bool,
    "CharField": str,
    "TextField": str,
}


def _preparer(field, wrapper):
    """A function from an instance to the field's value as `bulk_create` would send it."""
    attname = field.attname
    target = field.target_field if field.is_relation else field
    plain = _PLAIN.get(target.get_internal_type())
    if type(field).pre_save is not Field.pre_save:  # auto_now, file fields, …
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), wrapper)

    def prepare(obj):
        value = getattr(obj, attname)
        if value is None or (plain is not None and type(value) is plain):
            return value
        return field.get_db_prep_save(value, wrapper)

    return prepare


class _Insert:
    """A model's INSERT, prepared once per connection: the value preparers and the SQL."""

    def __init__(self, model):
        wrapper = connections[DEFAULT_DB_ALIAS]
        meta = model._meta
        fields = [field for field in meta.concrete_fields if not field.primary_key]
        self.preparers = [_preparer(field, wrapper) for field in fields]
        quote = wrapper.ops.quote_name
        self.head = (
            f"INSERT INTO {quote(meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) "
        )
        self.returning = f" RETURNING {quote(meta.pk.column)}"
        self.row = f"({', '.join(['%s'] * len(fields))})"
        self.unnest = self.recordset = None
        if wrapper.vendor == "postgresql":
            # varchar[] rather than varchar(50)[]: a cast never truncates (as Django does)
            types = [field.db_type(wrapper).split("(")[0] for field in fields]
            arrays = ", ".join(f"(%s)::{db_type}[]" for db_type in types)
            self.unnest = f"{self.head}SELECT * FROM UNNEST({arrays}){self.returning}"
            readers = [_json_reader(field) for field in fields]
            if all(readers):
                self.readers = list(zip([field.column for field in fields], readers, strict=True))
                names = ", ".join(quote(field.column) for field in fields)
                self.recordset = (
                    f"{self.head}SELECT {names} FROM jsonb_populate_recordset("
                    f"NULL::{quote(meta.db_table)}, %s::jsonb){self.returning}"
                )

    def as_json(self, objs: list) -> str | None:
        """The rows as one JSON array for jsonb_populate_recordset, or None if a value is not
        plain JSON data (then the rows go in as arrays)."""
        try:
            return json.dumps(
                [{column: read(obj) for column, read in self.readers} for obj in objs],
                separators=(",", ":"),
            )
        except (TypeError, ValueError):
            return None


class _NotJson(TypeError):
    pass


def _json_reader(field):
    """A function from an instance to the field's value as JSON data that PostgreSQL casts back
    to the same column value, or None when the field's type is not one this covers."""
    attname = field.attname
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    if kind == "JSONField":
        if getattr(field, "encoder", None) is not None:
            return None
        return lambda obj: getattr(obj, attname)  # json.dumps refuses what is not JSON
    if kind == "DateTimeField":
        overridden = type(field).pre_save is not Field.pre_save

        def read_datetime(obj):
            value = field.pre_save(obj, True) if overridden else getattr(obj, attname)
            if value is None:
                return None
            if not isinstance(value, datetime.datetime) or value.tzinfo is None:
                raise _NotJson  # naive or not a datetime: the ORM's own conversion decides
            return value.isoformat()

        return read_datetime
    if type(field).pre_save is not Field.pre_save:
        return None
    plain = _PLAIN.get(kind)
    if plain is None:
        return None

    def read(obj):
        value = getattr(obj, attname)
        if value is None or type(value) is plain:
            return value
        # a choices member (TextChoices, IntegerChoices) is written as its value; a bool is
        # an int too, but JSON would make it `true`, which no integer column takes
        if isinstance(value, plain) and not isinstance(value, bool):
            return plain(value)
        raise _NotJson

    return read


def insert(objs: list) -> list:
    """INSERT these new instances of one model in one statement and set their primary keys:
    what `bulk_create` does, with the same field preparation (`pre_save`, `get_db_prep_save`),
    minus the query compiler, which costs more than the insert on a checkout's few rows. No
    signals are sent (bulk_create sends none either).

    On PostgreSQL several rows go in as one JSON document through jsonb_populate_recordset when
    every value is plain data (ints, text, booleans, JSON, aware datetimes), else as one array
    per column through UNNEST, as Django's own bulk_create does. Either way the statement's text
    is the same whatever the number of rows, so psycopg parses it once and PostgreSQL keeps it
    prepared; json.dumps costs the client a third of what dumping a dozen arrays does."""
    if not objs:
        return objs
    statement = _statement(type(objs[0]))
    data = statement.as_json(objs) if statement.recordset and len(objs) > 1 else None
    if data is not None:
        sql, params = statement.recordset, [data]
    else:
        sql, params = _prepared_statement(statement, objs)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    alias = connection.alias
    for obj, (pk,) in zip(objs, keys, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = alias
    return objs


def insert_with(parent, *groups: tuple[list, str]) -> None:
    """INSERT a new `parent` and each group `(objs, fk)` of new instances whose foreign key `fk`
    points at it, and set every primary key and foreign key: what `insert` does model by model,
    in one statement on PostgreSQL (the parent's INSERT and one per group, as data-modifying
    CTEs that take the parent's new id), so one round trip instead of one per model. Where that
    does not apply (another database, a value that is not plain JSON data) each model gets its
    own `insert`."""
    groups = tuple((objs, fk) for objs, fk in groups if objs)
    datas = []
    if groups and connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        for objs, _ in groups:
            statement = _statement(type(objs[0]))
            datas.append(statement.as_json(objs) if statement.recordset else None)
    if not datas or None in datas:  # no child rows, not PostgreSQL, or not plain JSON
        insert([parent])
        for objs, fk in groups:
            for obj in objs:
                setattr(obj, fk, parent)  # the parent's new id, and the instance cached
            insert(objs)
        return
    shape = tuple((type(objs[0]), fk) for objs, fk in groups)
    key = "insert-with:" + ":".join(
        [parent._meta.label, *(f"{model._meta.label}.{fk}" for model, fk in shape)]
    )
    sql = columns(key, lambda: _family_sql(type(parent), shape))
    _, parent_params = _prepared_statement(_statement(type(parent)), [parent])
    with connection.cursor() as cursor:
        cursor.execute(sql, [*parent_params, *datas])
        parent_pk, *keys = cursor.fetchone()
    alias = connection.alias
    parent.pk = parent_pk
    parent._state.adding = False
    parent._state.db = alias
    for (objs, fk), pks in zip(groups, keys, strict=True):
        for obj, pk in zip(objs, pks, strict=True):
            obj.pk = pk
            setattr(obj, fk, parent)
            obj._state.adding = False
            obj._state.db = alias


def _family_sql(parent_model, shape) -> str:
    """`WITH parent AS (INSERT … VALUES … RETURNING id), g0 AS (INSERT … SELECT … FROM
    jsonb_populate_recordset(…) RETURNING id), … SELECT parent id, g0 ids, …`, the groups' rows
    taking the parent's id in their foreign key column. Ids come back in insertion order: a
    statement draws its sequence values row by row, in the order its rows are produced."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    parent = _statement(parent_model)
    pk = quote(parent_model._meta.pk.column)
    ctes = [f"parent AS ({parent.head}VALUES {parent.row}{parent.returning})"]
    results = [f"(SELECT {pk} FROM parent)"]
    for number, (model, fk) in enumerate(shape):
        statement = _statement(model)
        link = model._meta.get_field(fk).column
        chosen = ", ".join(
            f"(SELECT {pk} FROM parent)" if column == link else quote(column)
            for column, _ in statement.readers
        )
        child_pk = quote(model._meta.pk.column)
        ctes.append(
            f"g{number} AS ({statement.head}SELECT {chosen} FROM jsonb_populate_recordset("
            f"NULL::{quote(model._meta.db_table)}, %s::jsonb){statement.returning})"
        )
        results.append(f"ARRAY(SELECT {child_pk} FROM g{number} ORDER BY {child_pk})")
    return f"WITH {', '.join(ctes)} SELECT {', '.join(results)}"


def _statement(model) -> _Insert:
    return columns(f"insert:{model._meta.label}", lambda: _Insert(model))


def _prepared_statement(statement: _Insert, objs: list) -> tuple[str, list]:
    rows = [[prepare(obj) for prepare in statement.preparers] for obj in objs]
    if statement.unnest is not None and len(rows) > 1:
        sql = statement.unnest
        params = [list(column) for column in zip(*rows, strict=True)]
    else:
        sql = f"{statement.head}VALUES {', '.join([statement.row] * len(rows))}"
        sql += statement.returning
        params = [value for values in rows for value in values]
    return sql, params
