"""The filter-JSON compiler, table-driven against real rows (SQLite and PostgreSQL)."""

import datetime as dt
import re

import pytest
from django.db.models import Q

from apps.core.conditions import FieldSpec, FilterError, compile_filter
from apps.customers.models import Customer
from apps.orders.models import Order
from apps.products.models import Product
from tests.customers.factories import CustomerFactory
from tests.orders.factories import OrderFactory
from tests.products.factories import ProductFactory

UTC = dt.UTC

PRODUCT_FIELDS = {
    "name": FieldSpec("name", "string"),
    "source_id": FieldSpec("source_id", "string"),
    "price": FieldSpec("price", "number"),
    "created_at": FieldSpec("created_at", "datetime"),
    "metadata.size": FieldSpec("metadata__size", "number", json=True),
    "metadata.vip": FieldSpec("metadata__vip", "boolean", json=True),
    "metadata.launched": FieldSpec("metadata__launched", "date", json=True),
    "metadata.sold_at": FieldSpec("metadata__sold_at", "datetime", json=True),
}


@pytest.fixture
def products(project):
    rows = [
        {
            "name": "Red Shirt",
            "source_id": "shirt-red",
            "price": 1999,
            "created_at": dt.datetime(2024, 1, 10, 12, 0, tzinfo=UTC),
            "metadata": {
                "color": "red",
                "size": 42,
                "vip": True,
                "launched": "2024-01-05",
                "sold_at": "2024-01-10T12:00:00Z",
            },
        },
        {
            "name": "Blue Shirt",
            "source_id": "shirt-blue",
            "price": 2999,
            "created_at": dt.datetime(2024, 2, 1, 0, 30, tzinfo=UTC),
            "metadata": {
                "color": "Blue",
                "size": "small",
                "vip": False,
                "launched": "2024-02-01",
                "sold_at": "2024-02-01T08:00:00Z",
            },
        },
        {
            "name": "Mug",
            "source_id": None,
            "price": None,
            "created_at": dt.datetime(2024, 3, 1, 23, 59, tzinfo=UTC),
            "metadata": {"color": None, "size": 7, "vip": "yes"},
        },
        {
            "name": "",
            "source_id": "gift",
            "price": 0,
            "created_at": dt.datetime(2024, 3, 2, tzinfo=UTC),
            "metadata": {"color": ""},
        },
    ]
    return [ProductFactory(project=project, **row) for row in rows]


def matching(project, filter_json, fields=PRODUCT_FIELDS) -> set[str]:
    q = compile_filter(filter_json, fields)
    return {p.name for p in Product.objects.filter(project=project).filter(q)}


def one(field: str, op: str, value=None) -> dict:
    return {"junction": "and", field: {"conditions": {op: value}}}


ALL = {"Red Shirt", "Blue Shirt", "Mug", ""}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        # strings on a column
        ("name", "$is", "Mug", {"Mug"}),
        ("name", "$is", ["Mug"], {"Mug"}),
        ("name", "$is", "mug", set()),
        ("name", "$is_not", "Mug", {"Red Shirt", "Blue Shirt", ""}),
        ("name", "$in", ["Mug", "Red Shirt", "Nope"], {"Mug", "Red Shirt"}),
        ("name", "$in", [], set()),
        ("name", "$not_in", ["Mug", "Red Shirt"], {"Blue Shirt", ""}),
        ("name", "$contains", "SHIRT", {"Red Shirt", "Blue Shirt"}),
        ("name", "$contains", "%", set()),
        ("name", "$not_contain", "shirt", {"Mug", ""}),
        ("name", "$starts_with", "red", {"Red Shirt"}),
        ("name", "$ends_with", "shirt", {"Red Shirt", "Blue Shirt"}),
        ("name", "$has_value", [], {"Red Shirt", "Blue Shirt", "Mug"}),
        ("name", "$is_unknown", True, {""}),
        ("source_id", "$is_unknown", [], {"Mug"}),
        ("source_id", "$is_not", "gift", {"Red Shirt", "Blue Shirt", "Mug"}),
        # numbers on a nullable column
        ("price", "$is", 1999, {"Red Shirt"}),
        ("price", "$is", "1999", {"Red Shirt"}),
        ("price", "$is_not", 1999, {"Blue Shirt", "Mug", ""}),
        ("price", "$in", [0, 2999], {"Blue Shirt", ""}),
        ("price", "$not_in", [0, 2999], {"Red Shirt", "Mug"}),
        ("price", "$more_than", 1999, {"Blue Shirt"}),
        ("price", "$more_than_equal", 1999, {"Red Shirt", "Blue Shirt"}),
        ("price", "$less_than", 1999, {""}),
        ("price", "$less_than_equal", [1999], {"Red Shirt", ""}),
        ("price", "$has_value", None, {"Red Shirt", "Blue Shirt", ""}),
        ("price", "$is_unknown", None, {"Mug"}),
        # datetimes: a full timestamp, or a day
        ("created_at", "$after", "2024-01-10T12:00:00Z", {"Blue Shirt", "Mug", ""}),
        ("created_at", "$after", "2024-01-10T11:59:59Z", ALL),
        ("created_at", "$before", ["2024-02-01T00:30:00+00:00"], {"Red Shirt"}),
        ("created_at", "$after", "2024-03-01", {""}),
        ("created_at", "$before", "2024-02-01", {"Red Shirt"}),
        ("created_at", "$has_value", None, ALL),
        # JSON string keys (metadata.color, typed string by default)
        ("metadata.color", "$is", "red", {"Red Shirt"}),
        ("metadata.color", "$is_not", "red", {"Blue Shirt", "Mug", ""}),
        ("metadata.color", "$in", ["red", "Blue"], {"Red Shirt", "Blue Shirt"}),
        ("metadata.color", "$not_in", ["red"], {"Blue Shirt", "Mug", ""}),
        ("metadata.color", "$contains", "blu", {"Blue Shirt"}),
        ("metadata.color", "$not_contain", "e", {"Mug", ""}),
        ("metadata.color", "$starts_with", "R", {"Red Shirt"}),
        ("metadata.color", "$ends_with", "UE", {"Blue Shirt"}),
        ("metadata.color", "$has_value", None, {"Red Shirt", "Blue Shirt"}),
        ("metadata.color", "$is_unknown", None, {"Mug", ""}),
        ("metadata.missing", "$is_unknown", None, ALL),
        ("metadata.missing", "$is", "x", set()),
        # JSON numbers: text values never compare as numbers
        ("metadata.size", "$is", 42, {"Red Shirt"}),
        ("metadata.size", "$in", [7, 42], {"Red Shirt", "Mug"}),
        ("metadata.size", "$more_than", 10, {"Red Shirt"}),
        ("metadata.size", "$less_than", 10, {"Mug"}),
        ("metadata.size", "$less_than_equal", 42, {"Red Shirt", "Mug"}),
        ("metadata.size", "$more_than_equal", 7.5, {"Red Shirt"}),
        ("metadata.size", "$is_not", 42, {"Blue Shirt", "Mug", ""}),
        ("metadata.size", "$is_unknown", None, {""}),
        # JSON booleans: only true/false, not the text "yes"
        ("metadata.vip", "$is", True, {"Red Shirt"}),
        ("metadata.vip", "$is", "false", {"Blue Shirt"}),
        ("metadata.vip", "$is_not", True, {"Blue Shirt", "Mug", ""}),
        ("metadata.vip", "$has_value", None, {"Red Shirt", "Blue Shirt", "Mug"}),
        # JSON dates and datetimes (ISO text)
        ("metadata.launched", "$is", "2024-01-05", {"Red Shirt"}),
        ("metadata.launched", "$after", "2024-01-05", {"Blue Shirt"}),
        ("metadata.launched", "$before", "2024-02-01", {"Red Shirt"}),
        ("metadata.launched", "$in", ["2024-02-01", "2023-01-01"], {"Blue Shirt"}),
        ("metadata.sold_at", "$after", "2024-01-10T12:00:00Z", {"Blue Shirt"}),
        ("metadata.sold_at", "$before", "2024-02-01T08:00:01+00:00", {"Red Shirt", "Blue Shirt"}),
        ("metadata.sold_at", "$after", "2024-01-10", {"Blue Shirt"}),
        ("metadata.sold_at", "$before", "2024-01-11", {"Red Shirt"}),
        ("metadata.sold_at", "$is_unknown", None, {"Mug", ""}),
    ],
)
def test_single_conditions(project, products, field, op, value, expected):
    assert matching(project, one(field, op, value)) == expected


@pytest.mark.django_db
def test_date_and_boolean_columns(project):
    # given customers with and without a birthdate, and orders imported or not
    ann = CustomerFactory(project=project, name="Ann", birthdate=dt.date(1990, 5, 1))
    CustomerFactory(project=project, name="Bob", birthdate=dt.date(2001, 1, 1))
    CustomerFactory(project=project, name="Cy", birthdate=None)
    fields = {
        "birthdate": FieldSpec("birthdate", "date"),
        "imported": FieldSpec("imported", "boolean"),
    }

    def names(filter_json):
        q = compile_filter(filter_json, fields)
        return {c.name for c in Customer.objects.filter(project=project).filter(q)}

    # then
    assert names(one("birthdate", "$is", "1990-05-01")) == {"Ann"}
    assert names(one("birthdate", "$is_not", "1990-05-01")) == {"Bob", "Cy"}
    assert names(one("birthdate", "$in", ["2001-01-01", "1990-05-01"])) == {"Ann", "Bob"}
    assert names(one("birthdate", "$after", "1990-05-01")) == {"Bob"}
    assert names(one("birthdate", "$before", ["2000-01-01"])) == {"Ann"}
    assert names(one("birthdate", "$is_unknown", None)) == {"Cy"}
    imported = OrderFactory(customer=ann, imported=True)
    live = OrderFactory(customer=ann, imported=False)

    def orders(filter_json):
        return set(Order.objects.filter(compile_filter(filter_json, fields)))

    assert orders(one("imported", "$is", True)) == {imported}
    assert orders(one("imported", "$is_not", True)) == {live}


@pytest.mark.django_db
def test_junctions_combine_fields_and_operators(project, products):
    both = {
        "junction": "and",
        "name": {"conditions": {"$contains": "shirt"}},
        "price": {"conditions": {"$more_than": 2000}},
    }
    either = {**both, "junction": "OR"}
    range_ = {"price": {"conditions": {"$more_than": 0, "$less_than": 2999}}}
    assert matching(project, both) == {"Blue Shirt"}
    assert matching(project, either) == {"Red Shirt", "Blue Shirt"}
    assert matching(project, range_) == {"Red Shirt"}  # no junction: "and"


@pytest.mark.django_db
def test_nested_groups(project, products):
    # given: (price > 2000 or name is Mug) and metadata.color has a value
    filter_json = {
        "junction": "and",
        "group_1": {
            "junction": "or",
            "price": {"conditions": {"$more_than": 2000}},
            "name": {"conditions": {"$is": "Mug"}},
        },
        "metadata.color": {"conditions": {"$has_value": True}},
    }
    assert matching(project, filter_json) == {"Blue Shirt"}
    filter_json["junction"] = "or"
    assert matching(project, filter_json) == {"Red Shirt", "Blue Shirt", "Mug"}


@pytest.mark.django_db
def test_empty_filter_matches_everything(project, products):
    assert matching(project, {"junction": "and"}) == ALL
    assert matching(project, None) == ALL
    assert compile_filter({}, PRODUCT_FIELDS) == Q()


@pytest.mark.django_db
def test_fields_can_be_a_callable_and_metadata_defaults_to_string(project, products):
    def fields(name):
        return {"title": FieldSpec("name")}.get(name)

    assert matching(project, one("title", "$is", "Mug"), fields) == {"Mug"}
    assert matching(project, one("metadata.color", "$is", "red"), fields) == {"Red Shirt"}
    # typed string by default: the number 42 is not text, the text "small" is
    assert matching(project, one("metadata.size", "$contains", "4"), fields) == set()
    assert matching(project, one("metadata.size", "$contains", "MAL"), fields) == {"Blue Shirt"}
    with pytest.raises(
        FilterError, match=re.escape("metadata.size $more_than: not valid for a string")
    ):
        compile_filter(one("metadata.size", "$more_than", 1), fields)


@pytest.mark.django_db
def test_related_lookups_work(project):
    # the segments feature filters customers; orders can filter by their customer's metadata
    vip = CustomerFactory(project=project, metadata={"tier": "gold"})
    order = OrderFactory(customer=vip)
    OrderFactory(customer=CustomerFactory(project=project, metadata={"tier": "silver"}))
    fields = {"customer.tier": FieldSpec("customer__metadata__tier", json=True)}
    q = compile_filter(one("customer.tier", "$starts_with", "GO"), fields)
    assert list(Order.objects.filter(q)) == [order]


@pytest.mark.parametrize(
    ("filter_json", "message"),
    [
        ("price > 3", "filter: a filter group must be an object"),
        ({"junction": "xor"}, 'filter: junction must be "and" or "or"'),
        (one("colour", "$is", "red"), "colour: unknown field"),
        ({"name": "Mug"}, 'name: expected {"conditions"'),
        ({"name": {"conditions": {}}}, "name: no conditions given"),
        (one("name", "$like", "x"), "name $like: unknown operator"),
        (one("name", "$more_than", "a"), "name $more_than: not valid for a string field"),
        (one("price", "$contains", "1"), "price $contains: not valid for a number field"),
        (one("created_at", "$is", "2024-01-01"), "created_at $is: not valid for a datetime"),
        (one("metadata.vip", "$in", [True]), "metadata.vip $in: not valid for a boolean"),
        (one("name", "$is", 5), "name $is: expects text (got 5)"),
        (one("name", "$is", ["a", "b"]), "name $is: expects exactly one value (got 2)"),
        (one("name", "$in", ["a", 1]), "name $in: expects text"),
        (one("price", "$more_than", "cheap"), "price $more_than: expects a number"),
        (one("price", "$is", True), "price $is: expects a number"),
        (one("price", "$is", "NaN"), "price $is: expects a number"),
        (one("created_at", "$after", "yesterday"), "created_at $after: expects a date and time"),
        (
            one("metadata.launched", "$after", "2024-13-01"),
            "metadata.launched $after: expects a date",
        ),
        (one("metadata.vip", "$is", "yes"), "metadata.vip $is: expects true or false"),
        (one("metadata.a__b", "$is", "x"), 'metadata.a__b: metadata keys cannot contain "__"'),
        (one("metadata.", "$is", "x"), "metadata.: a metadata key is 1 to 100"),
        (one("metadata.12", "$is", "x"), "metadata.12: metadata keys cannot be numbers"),
        (
            {
                "g": {
                    "junction": "and",
                    "g": {
                        "junction": "and",
                        "g": {
                            "junction": "and",
                            "g": {
                                "junction": "and",
                                "g": {"junction": "and", "g": {"junction": "and"}},
                            },
                        },
                    },
                }
            },
            "g: groups nest at most 5 levels deep",
        ),
        (
            {"g": {"junction": "or", "colour": {"conditions": {"$is": "x"}}}},
            "colour: unknown field",
        ),
    ],
)
def test_invalid_filters_raise_filter_error(filter_json, message):
    with pytest.raises(FilterError, match=re.escape(message)) as info:
        compile_filter(filter_json, PRODUCT_FIELDS)
    assert isinstance(info.value, ValueError)


def test_filter_error_carries_field_and_operator():
    with pytest.raises(FilterError) as info:
        compile_filter(one("price", "$contains", "1"), PRODUCT_FIELDS)
    assert (info.value.field, info.value.operator) == ("price", "$contains")


def test_too_many_conditions_are_refused():
    conditions = {f"metadata.k{i}": {"conditions": {"$is": "x"}} for i in range(101)}
    with pytest.raises(FilterError, match="at most 100 conditions"):
        compile_filter(conditions, PRODUCT_FIELDS)


def test_field_spec_rejects_unknown_types():
    with pytest.raises(ValueError, match="type must be one of"):
        FieldSpec("price", "money")
