"""The filter builder's tree: from JSON, through the form's fields, back to the same JSON."""

import copy

import pytest
from django.http import QueryDict

from apps.core.conditions import FilterError
from apps.metadata.services import metadata_schema_save
from apps.segments.builder import (
    Condition,
    Group,
    Vocabulary,
    apply_action,
    describe_filter,
    tree_from_filter,
    tree_from_form,
    tree_to_filter,
)
from apps.segments.fields import customer_fields

pytestmark = pytest.mark.django_db

# The filters of ../shared/seeds/002 (Segments), verbatim.
SEED_BERLIN = {"junction": "and", "address.city": {"conditions": {"$is": ["Berlin"]}}}
SEED_ADVANCED = {
    "junction": "and",
    "email": {"conditions": {"$ends_with": ["voucherify.io"]}},
    "address.city": {"conditions": {"$is": ["Warsaw"]}},
    "summary.redemptions.total_succeeded": {"conditions": {"$less_than": [5]}},
}
SEED_EVERYTHING = {
    "junction": "and",
    "name": {"conditions": {"$has_value": True}},
    "email": {"conditions": {"$ends_with": [".com"]}},
    "phone": {"conditions": {"$starts_with": ["48"]}},
    "created_at": {"conditions": {"$before": ["2018-09-01T00:00:00.000Z"]}},
    "address.postal_code": {"conditions": {"$is_not": ["32-857"]}},
    "address.city": {"conditions": {"$is": ["Berlin"]}},
    "address.country": {"conditions": {"$is_unknown": True}},
    "source_id": {"conditions": {"$starts_with": ["746"]}},
    "system_metadata.source": {"conditions": {"$is": ["web_widget"]}},
    "system_metadata.web_widget.widgets": {"conditions": {"$is": ["general"]}},
    "metadata.pick_up_date": {"conditions": {"$is_not": ["3 am"]}},
    "events.cart_abandoned.count": {"conditions": {"$is": ["1"]}},
    "summary.orders.total_amount": {"conditions": {"$more_than": [40000]}},
    "summary.orders.total_count": {"conditions": {"$more_than": [1]}},
    "summary.orders.last_order_date": {"conditions": {"$less_than": [30]}},
    "summary.orders.last_order_amount": {"conditions": {"$more_than": [5000]}},
    "summary.redemptions.total_succeeded": {"conditions": {"$is": [3]}},
    "summary.redemptions.gift.redeemed_amount": {"conditions": {"$has_value": True}},
    "loyalty.referred_customers": {"conditions": {"$more_than": [1]}},
}
# From the API reference: created after a date, birthdays next month, a country, metadata values
REFERENCE = {
    "junction": "or",
    "created_at": {"conditions": {"$after": ["2021-12-01T00:00:00.000Z"]}},
    "birthdate": {"conditions": {"$next_month": [True]}},
    "address.country": {"conditions": {"$is": "Poland"}},
    "metadata.club_level": {"conditions": {"$in": ["Gold", "Silver"]}},
}
NESTED = {
    "junction": "and",
    "address.city": {"conditions": {"$in": ["Berlin", "Hamburg"]}},
    "group_1": {
        "junction": "or",
        "summary.orders.total_amount": {"conditions": {"$more_than_equal": [40000]}},
        "events.newsletter_signup.last_occurrence": {"conditions": {"$less_than_ago": [30]}},
    },
}


def vocabulary(project) -> Vocabulary:
    return Vocabulary(project, customer_fields(project))


def form_data(root: Group, **changes) -> QueryDict:
    """What the builder's form posts for the tree (see the module docstring of builder.py)."""
    data = QueryDict(mutable=True)
    data["g-0-junction"] = root.junction
    for node in root.walk():
        if node is root:
            continue
        data.appendlist("node", f"{node.path}:{node.kind}")
        if isinstance(node, Group):
            data[f"g-{node.path}-junction"] = node.junction
            continue
        data[f"c-{node.path}-field"] = node.field
        data[f"c-{node.path}-key"] = node.key
        data[f"c-{node.path}-op"] = node.operator
        data.setlist(f"c-{node.path}-value", node.values)
        if node.raw:
            data[f"c-{node.path}-raw"] = node.raw
    for name, value in changes.items():
        data[name] = value
    return data


@pytest.mark.parametrize(
    "filter_json", [SEED_BERLIN, SEED_ADVANCED, SEED_EVERYTHING, REFERENCE, NESTED]
)
def test_filters_come_back_unchanged_through_the_builder_form(project, filter_json):
    words = vocabulary(project)
    root = tree_from_filter(copy.deepcopy(filter_json), words)
    posted = tree_from_form(form_data(root))
    assert tree_to_filter(posted, words) == filter_json


def test_the_rows_show_major_units_and_types_for_the_marketer(project):
    project.currency = "EUR"
    root = tree_from_filter(SEED_EVERYTHING, vocabulary(project))
    rows = {node.name: node for node in root.walk() if isinstance(node, Condition)}
    assert rows["summary.orders.total_amount"].values == ["400.00"]
    assert (rows["events.cart_abandoned.count"].field, rows["events.cart_abandoned.count"].key) == (
        "events.*.count",
        "cart_abandoned",
    )
    assert rows["system_metadata.web_widget.widgets"].field == "system_metadata.*"
    assert rows["metadata.pick_up_date"].field == "metadata.*"


def test_edited_values_are_typed_from_the_field(project):
    project.currency = "EUR"
    words = vocabulary(project)
    root = tree_from_filter(NESTED, words)
    data = form_data(
        root,
        **{"c-0.0-value": "Berlin\nMunich\n", "c-0.1.0-value": "450.5", "c-0.1.1-value": "7"},
    )
    assert tree_to_filter(tree_from_form(data), words) == {
        "junction": "and",
        "address.city": {"conditions": {"$in": ["Berlin", "Munich"]}},
        "group_1": {
            "junction": "or",
            "summary.orders.total_amount": {"conditions": {"$more_than_equal": [45050]}},
            "events.newsletter_signup.last_occurrence": {"conditions": {"$less_than_ago": [7]}},
        },
    }


def test_metadata_typed_by_the_schema_and_a_field_used_twice(project):
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"age": {"type": "number"}, "tier": {"type": "string", "allowed": ["Gold"]}},
        allow_defined_only=False,
    )
    words = vocabulary(project)
    root = Group(path="0", junction="and")
    root.children = [
        Condition(path="0.0", field="metadata.age", operator="$more_than", values=["17"]),
        Condition(path="0.1", field="metadata.age", operator="$less_than", values=["66"]),
        Condition(path="0.2", field="metadata.tier", operator="$is", values=["Gold"]),
        Condition(path="0.3", field="metadata.tier", operator="$is", values=["Silver"]),
    ]
    assert tree_to_filter(root, words) == {
        "junction": "and",
        "metadata.age": {"conditions": {"$more_than": [17], "$less_than": [66]}},
        "metadata.tier": {"conditions": {"$is": ["Gold"]}},
        "group_1": {"junction": "and", "metadata.tier": {"conditions": {"$is": ["Silver"]}}},
    }
    assert words.input_kind(root.children[2]) == "choice"
    assert words.allowed(root.children[2]) == ["Gold"]


def test_each_bad_row_gets_its_own_error(project):
    words = vocabulary(project)
    root = Group(path="0")
    root.children = [
        Condition(path="0.0", field="summary.orders.total_count", operator="$is", values=["many"]),
        Condition(path="0.1", field="address.city", operator="$is", values=["Berlin"]),
        Condition(path="0.2", field="events.*.count", key="", operator="$is", values=["1"]),
        Condition(path="0.3", field="created_at", operator="$less_than_ago", values=["-3"]),
    ]
    with pytest.raises(FilterError, match="Fix the marked conditions"):
        tree_to_filter(root, words)
    errors = [node.error for node in root.children]
    assert errors[0] == "Orders is: “many” is not a number"
    assert errors[1] == ""
    assert errors[2] == "Enter the event name."
    assert "whole number of days" in errors[3]


def test_actions_add_and_remove_conditions_and_groups(project):
    words = vocabulary(project)
    root = tree_from_filter(SEED_BERLIN, words)
    apply_action(root, "add-g:0", words)
    apply_action(root, "add-c:0.1", words)
    assert [node.path for node in root.walk()] == ["0", "0.0", "0.1", "0.1.0", "0.1.1"]
    assert root.children[1].junction == "or"  # a group inside "all" starts as "any"
    apply_action(root, "remove:0.0", words)
    apply_action(root, "remove:0", words)  # the root stays
    assert [node.path for node in root.walk()] == ["0", "0.1", "0.1.0", "0.1.1"]
    # and a field change keeps the operator only when it still fits
    root.children[0].children[0].field = "birthdate"
    root.children[0].children[0].operator = "$contains"
    apply_action(root, "refresh", words)
    assert root.children[0].children[0].operator == "$is"


def test_the_form_ignores_nodes_without_a_parent_and_caps_the_tree(project):
    data = QueryDict(mutable=True)
    data.setlist("node", ["0.0:c", "0.5.1:c", "x:c", "0.0:g", *[f"0.{i}:c" for i in range(1, 200)]])
    root = tree_from_form(data)
    assert root.children[0].path == "0.0"
    assert len(list(root.walk())) <= 101


def test_describe_filter_in_words(project):
    project.currency = "EUR"
    words = describe_filter(NESTED, customer_fields(project), "EUR")
    assert words == (
        "City is any of “Berlin”, “Hamburg” and (Total spent is at least €400.00 or "
        "“newsletter_signup” events (last) was less than 30 days ago)"
    )
    assert describe_filter(None, customer_fields(project), "EUR") == "Everyone"
    assert describe_filter(REFERENCE, customer_fields(project), "EUR").startswith(
        "Created is after “2021-12-01T00:00:00.000Z” or Birthdate is next month (any year)"
    )
