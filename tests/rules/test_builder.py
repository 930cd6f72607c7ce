"""The rule builder's rows ↔ Voucherify JSON, for every kind of condition."""

import pytest
from django.http import QueryDict

from apps.engine.rules import RULE_NAMES
from apps.metadata.models import Resource
from apps.metadata.services import metadata_schema_save
from apps.rules.builder import (
    NAME_GROUPS,
    NAME_LABELS,
    Vocabulary,
    apply_action,
    builder_from_form,
    builder_from_json,
    builder_to_json,
    check_logic,
    display_names,
    logic_after_adding,
    logic_after_removing,
    place_error,
    prepare,
    starter,
)
from apps.rules.models import ValidationRule
from apps.rules.services import clean_rules
from tests.products.factories import ProductCollectionFactory, ProductFactory, SkuFactory
from tests.segments.factories import SegmentFactory


def every_kind(project) -> tuple[dict, dict]:
    """A rule with a condition of every kind (money, count, metadata, segment, items with
    sub-rules, boolean), several operators in one condition, custom messages and a logic."""
    gold, silver = SegmentFactory(project=project), SegmentFactory(project=project)
    shoe = ProductFactory(project=project, name="Shoe")
    sock = SkuFactory(product=ProductFactory(project=project, name="Sock"), sku="Red")
    summer = ProductCollectionFactory(project=project, name="Summer")
    rules = {
        "1": {
            "name": "order.amount",
            "conditions": {"$more_than_or_equal": [10000], "$less_than": [50050]},
        },
        "2": {"name": "order.items.count", "conditions": {"$in": [1, 3]}},
        "3": {
            "name": "customer.metadata",
            "property": "tier",
            "conditions": {"$is": ["gold"]},
            "error": {"message": "Gold members only"},
        },
        "4": {
            "name": "order.metadata",
            "property": "channel",
            "conditions": {"$has_value": [True]},
        },
        "5": {
            "name": "redemption.metadata",
            "property": "score",
            "conditions": {"$more_than": [7]},
        },
        "6": {
            "name": "customer.segment",
            "conditions": {"$in": [gold.public_id, silver.public_id]},
        },
        "7": {
            "name": "product.id",
            "conditions": {"$is": [{"object": "product", "id": shoe.public_id}]},
            "rules": {
                "1": {"name": "product.quantity", "conditions": {"$more_than_or_equal": [2]}},
                "2": {
                    "name": "order.items.aggregated_amount",
                    "conditions": {"$more_than": [5000]},
                },
                "logic": "1 or 2",
            },
        },
        "8": {
            "name": "order.items.any",
            "conditions": {
                "$in": [
                    {"object": "sku", "id": sock.public_id},
                    {"object": "products_collection", "id": summer.public_id},
                ]
            },
            "rules": {
                "1": {"name": "order.items.price", "conditions": {"$less_than_or_equal": [2999]}},
                "logic": "1",
            },
        },
        "9": {"name": "publication.redeemable_by_linked_customer", "conditions": {"$is": [True]}},
        "10": {
            "name": "sku.id",
            "conditions": {"$not_in": [{"object": "sku", "id": sock.public_id}]},
        },
        "11": {"name": "redemption.count.per_customer", "conditions": {"$less_than_or_equal": [1]}},
        "logic": "(1 and 2) or (3 and 4 and 5 and 6 and 7 and 8 and 9 and 10 and 11)",
    }
    applicable_to = {
        "included": [
            {
                "object": "product",
                "id": shoe.public_id,
                "effect": "APPLY_TO_CHEAPEST",
                "quantity_limit": 1,
                "amount_limit": 1500,
            },
            {"object": "products_collection", "id": summer.public_id, "effect": "APPLY_TO_EVERY"},
        ],
        "excluded": [{"object": "sku", "id": sock.public_id}],
    }
    return clean_rules(project, rules, applicable_to)


def test_every_rule_name_is_offered_in_a_group_with_a_label():
    offered = [name for _, names in NAME_GROUPS for name in names]
    assert sorted(offered) == sorted(RULE_NAMES)
    assert set(NAME_LABELS) == set(RULE_NAMES)


@pytest.mark.django_db
def test_json_to_rows_and_back_is_the_same_rule(project):
    # given a stored rule using every kind
    rules, applicable = every_kind(project)
    vocabulary = Vocabulary(project)

    # when it becomes builder rows and the rows become JSON again
    builder = builder_from_json(rules, applicable, currency=project.currency)
    again = clean_rules(project, *builder_to_json(builder, vocabulary))

    # then nothing changed
    assert again == (rules, applicable)
    assert [row.key for row in builder.rows] == [str(n) for n in range(1, 12)]
    assert [sub.key for sub in builder.rows[6].subs] == ["7.1", "7.2"]
    assert builder.rows[0].clauses[0].values == ["100.00"]  # money is shown in major units
    assert builder.rows[0].clauses[1].values == ["500.50"]


def form_of(builder, **changes) -> QueryDict:
    """The fields the builder form posts for these rows (as rules/_row.html names them)."""
    data = QueryDict(mutable=True)
    data["logic"] = builder.logic
    for row in builder.walk():
        data.appendlist("row", row.key)
        data[f"c-{row.key}-name"] = row.name
        data[f"c-{row.key}-kind"] = row.kind
        data[f"c-{row.key}-property"] = row.prop
        data[f"c-{row.key}-error"] = row.message
        for i, clause in enumerate(row.clauses):
            data.appendlist(f"c-{row.key}-op", clause.operator)
            if clause.raw:
                data[f"c-{row.key}-raw{i}"] = clause.raw
            if row.kind in ("segment", "items") or clause.operator in ("$in", "$not_in"):
                data.setlist(f"c-{row.key}-v{i}", clause.values)
            elif clause.values:
                data[f"c-{row.key}-v{i}"] = clause.values[0]
        if row.subs:
            data[f"c-{row.key}-logic"] = row.sub_logic
    for target in builder.targets():
        index = (builder.included if target.part == "included" else builder.excluded).index(target)
        data.appendlist("target", f"{target.part}.{index}")
        data[f"t-{target.part}-{index}-ref"] = target.ref
        data[f"t-{target.part}-{index}-effect"] = target.effect
        for limit, text in target.limits.items():
            data[f"t-{target.part}-{index}-{limit}"] = text
    for key, value in changes.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


@pytest.mark.django_db
def test_rows_to_form_fields_and_back_is_the_same_rule(project):
    rules, applicable = every_kind(project)
    builder = builder_from_json(rules, applicable, currency=project.currency)

    posted = builder_from_form(form_of(builder))

    assert clean_rules(project, *builder_to_json(posted, Vocabulary(project))) == (
        rules,
        applicable,
    )


@pytest.mark.django_db
def test_typed_values_become_the_right_json(project):
    # given a builder as the marketer filled it in (no raw values: everything typed by hand)
    segment = SegmentFactory(project=project)
    product = ProductFactory(project=project)
    metadata_schema_save(
        project=project,
        resource=Resource.CUSTOMER,
        properties={"age": {"type": "number"}, "vip": {"type": "boolean"}},
        allow_defined_only=False,
    )
    data = QueryDict(mutable=True)
    data.setlist("row", ["1", "2", "3", "4", "5", "6", "7", "7.1"])
    fields = {
        "1": ("order.amount", "$more_than", ["1,250.5"]),
        "2": ("order.items.count", "$in", ["1\n2\n\n3"]),
        "3": ("customer.metadata", "$more_than_or_equal", ["18"]),
        "4": ("customer.metadata", "$is", ["true"]),
        "5": ("customer.segment", "$is_not", [segment.public_id]),
        "6": ("publication.redeemable_by_linked_customer", "$is", ["false"]),
        "7": ("order.items.every", "$is", [f"product:{product.public_id}"]),
        "7.1": ("order.items.quantity", "$less_than", ["4"]),
    }
    for key, (name, operator, values) in fields.items():
        data[f"c-{key}-name"] = name
        data[f"c-{key}-op"] = operator
        data.setlist(f"c-{key}-v0", values)
    data["c-3-property"], data["c-4-property"] = "age", "vip"
    data["logic"] = ""

    rules, _ = builder_to_json(builder_from_form(data), Vocabulary(project))

    assert rules["1"]["conditions"] == {"$more_than": [125050]}
    assert rules["2"]["conditions"] == {"$in": [1, 2, 3]}
    assert rules["3"] == {
        "name": "customer.metadata",
        "property": "age",
        "conditions": {"$more_than_or_equal": [18]},
    }
    assert rules["4"]["conditions"] == {"$is": [True]}
    assert rules["5"]["conditions"] == {"$is_not": [segment.public_id]}
    assert rules["6"]["conditions"] == {"$is": [False]}
    assert rules["7"]["conditions"] == {"$is": [{"object": "product", "id": product.public_id}]}
    assert rules["7"]["rules"] == {
        "1": {"name": "order.items.quantity", "conditions": {"$less_than": [4]}},
        "logic": "1",
    }
    assert rules["logic"] == "1 and 2 and 3 and 4 and 5 and 6 and 7"  # empty: every one


@pytest.mark.django_db
def test_a_loaded_value_keeps_its_type_until_the_marketer_changes_it(project):
    rules = {"1": {"name": "order.metadata", "property": "store", "conditions": {"$is": [12]}}}
    builder = builder_from_json(rules, {}, currency="USD")
    vocabulary = Vocabulary(project)

    unchanged = builder_from_form(form_of(builder))
    edited = builder_from_form(form_of(builder, **{"c-1-v0": "13"}))

    assert builder_to_json(unchanged, vocabulary)[0]["1"]["conditions"] == {"$is": [12]}
    assert builder_to_json(edited, vocabulary)[0]["1"]["conditions"] == {"$is": ["13"]}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("order.amount", "ten", "“ten” is not an amount"),
        ("order.amount", "1.234", "at most 2 decimal places"),
        ("order.items.count", "2.5", "not a whole number"),
        ("order.metadata", "", "Enter the metadata key"),
    ],
)
@pytest.mark.django_db
def test_a_bad_value_is_marked_on_its_row(project, name, text, message):
    data = QueryDict(mutable=True)
    data.setlist("row", ["1", "2"])
    data.update({"c-1-name": "order.amount", "c-1-op": "$is", "c-1-v0": "5"})
    data.update({"c-2-name": name, "c-2-op": "$is", "c-2-v0": text or "x"})
    builder = builder_from_form(data)

    with pytest.raises(ValueError):
        builder_to_json(builder, Vocabulary(project))

    assert builder.rows[0].error == ""
    assert message in builder.rows[1].error


@pytest.mark.django_db
def test_changing_the_name_to_another_kind_starts_the_values_over(project):
    builder = builder_from_json(
        {"1": {"name": "order.amount", "conditions": {"$in": [100, 200]}}}, {}, currency="USD"
    )
    data = form_of(builder, **{"c-1-name": "customer.segment"})

    changed = builder_from_form(data)
    apply_action(changed, "refresh")

    row = changed.rows[0]
    assert row.kind == "segment"
    assert row.clauses[0].operator == "$in"  # still an operator of segments
    assert row.clauses[0].values == [] and row.clauses[0].raw == ""


@pytest.mark.django_db
def test_adding_and_removing_rows_keeps_the_numbers_and_the_logic_in_step(project):
    builder = starter()
    apply_action(builder, "add")
    apply_action(builder, "add")
    assert [row.key for row in builder.rows] == ["1", "2", "3"]
    assert builder.logic == "1 and 2 and 3"

    builder.logic = "(1 or 2) and 3"
    apply_action(builder, "remove:2")
    assert [row.key for row in builder.rows] == ["1", "2"]
    assert builder.logic == "(1) and 2"
    assert check_logic(builder.logic, 2) == ""

    apply_action(builder, "add-clause:1")
    assert [clause.operator for clause in builder.rows[0].clauses] == [
        "$more_than_or_equal",
        "$less_than_or_equal",  # the other end of a range
    ]
    apply_action(builder, "remove-clause:1:0")
    assert [clause.operator for clause in builder.rows[0].clauses] == ["$less_than_or_equal"]


def test_the_logic_follows_added_and_removed_rows():
    assert logic_after_adding("", 0) == "1"
    assert logic_after_adding("1 and 2", 2) == "1 and 2 and 3"
    assert logic_after_adding("1 or 2", 2) == "(1 or 2) and 3"
    assert logic_after_removing("1 and 2 and 3", 2, 3) == "1 and 2"
    assert logic_after_removing("1 or (2 and 3)", 1, 3) == "(1 and 2)"
    assert logic_after_removing("(1 and 2) or 3", 3, 3) == "(1 and 2)"
    assert check_logic("1 and (2", 2) == "a bracket is not closed (at character 9)"
    assert check_logic("1 and 3", 2) == "there is no rule 3 (at character 7)"


@pytest.mark.django_db
def test_items_rows_take_sub_rows_that_fit_them(project):
    builder = builder_from_json(
        {"1": {"name": "sku.id", "conditions": {"$is": [{"object": "sku", "id": "sku_x"}]}}},
        {},
        currency="USD",
    )
    apply_action(builder, "add-sub:1")
    apply_action(builder, "add-sub:1")
    prepare(builder, Vocabulary(project))

    row = builder.rows[0]
    assert [sub.name for sub in row.subs] == ["sku.quantity", "sku.price"]
    assert row.sub_logic == "1 and 2"
    assert [name for name, _ in row.subs[0].sub_name_choices] == [
        "sku.quantity",
        "sku.price",
        "order.items.aggregated_quantity",
        "order.items.aggregated_amount",
    ]
    assert row.subs[1].clauses[0].input_kind == "money"


@pytest.mark.django_db
def test_metadata_rows_offer_the_schema_keys_and_allowed_values(project):
    metadata_schema_save(
        project=project,
        resource=Resource.ORDER,
        properties={"channel": {"type": "string", "allowed": ["web", "shop"]}},
        allow_defined_only=False,
    )
    builder = builder_from_json(
        {"1": {"name": "order.metadata", "property": "channel", "conditions": {"$in": ["web"]}}},
        {},
        currency="USD",
    )
    prepare(builder, Vocabulary(project))

    row = builder.rows[0]
    assert row.schema_keys == ["channel"]
    assert row.allowed_values == ["web", "shop"]
    assert row.clauses[0].input_kind == "choices"


def test_service_errors_land_on_the_row_they_name():
    builder = builder_from_json(
        {
            "1": {"name": "order.amount", "conditions": {"$is": [1]}},
            "2": {
                "name": "product.id",
                "conditions": {"$is": [{"id": "prod_x"}]},
                "rules": {"1": {"name": "product.quantity", "conditions": {"$is": [1]}}},
            },
        },
        {"included": [{"object": "product", "id": "prod_x"}]},
        currency="USD",
    )
    message = "rules.2.conditions.$is: there is no product prod_x in this project."

    assert place_error(builder, "rules.2.conditions.$is", message)
    assert place_error(builder, "rules.2.rules.1", "rules.2.rules.1: nope")
    assert place_error(builder, "rules.logic", "rules.logic: bad (at character 3)")
    assert place_error(builder, "applicable_to.included.0", "applicable_to.included.0: gone")
    assert not place_error(builder, "name", "taken")

    assert builder.rows[0].error == ""
    assert builder.rows[1].error == "There is no product prod_x in this project."
    assert builder.rows[1].subs[0].error == "Nope"
    assert builder.logic_error == "Bad (at character 3)"
    assert builder.included[0].error == "Gone"


@pytest.mark.django_db
def test_display_names_resolve_every_kind_of_reference(project, django_assert_max_num_queries):
    rules, applicable = every_kind(project)
    rule = ValidationRule(project=project, rules=rules, applicable_to=applicable)

    with django_assert_max_num_queries(4):
        names = display_names(project, [rule, rule])

    assert "Shoe" in names.values()
    assert "Sock — Red" in names.values()
    assert "Summer" in names.values()
    assert len(names) == 5  # two segments, the shoe, the SKU and the collection
