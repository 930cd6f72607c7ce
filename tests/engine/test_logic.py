"""Rule logic expressions: parsed without eval, evaluated, and the failing rules named."""

import itertools

import pytest

from apps.engine.logic import LogicError, default_logic, evaluate, failing, parse_logic


@pytest.mark.parametrize(
    "text, true_when",
    [
        ("1", {"1"}),
        ("1 and 2", {"1", "2"}),
        ("1 AND 2 Or 3", None),  # (1 and 2) or 3
        ("(1 and 2) or 3", None),
        ("1 and (2 or 3)", None),
        ("((1))", {"1"}),
    ],
)
def test_expressions_follow_and_over_or(text, true_when):
    tree = parse_logic(text, known={"1", "2", "3"})
    for values in itertools.product([False, True], repeat=3):
        results = dict(zip(["1", "2", "3"], values, strict=True))
        one, two, three = values
        expected = {
            "1": one,
            "1 and 2": one and two,
            "1 AND 2 Or 3": (one and two) or three,
            "(1 and 2) or 3": (one and two) or three,
            "1 and (2 or 3)": one and (two or three),
            "((1))": one,
        }[text]
        assert evaluate(tree, results) is expected, (text, results)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the logic is empty"),
        ("1 and", "ends too early"),
        ("1 2", "unexpected “2”"),
        ("(1 and 2", "a bracket is not closed"),
        ("1 and 2)", "unexpected “)”"),
        ("1 && 2", "unexpected “&”"),
        ("not 1", "unknown word “not”"),
        ("__import__('os')", "unexpected “_”"),
        ("1 or 4", "there is no rule 4"),
        ("and 1", "expected a rule number, not “and”"),
        ("(" * 30 + "1" + ")" * 30, "brackets nest deeper"),
    ],
)
def test_bad_logic_says_what_and_where(text, message):
    with pytest.raises(LogicError) as error:
        parse_logic(text, known={"1", "2", "3"})
    assert message in str(error.value)


def test_the_position_points_at_the_problem():
    with pytest.raises(LogicError) as error:
        parse_logic("1 and  oops", known={"1"})
    assert error.value.position == 7
    assert str(error.value).endswith("(at character 8)")


def test_failing_names_the_rules_to_blame():
    tree = parse_logic("(1 and 2) or 3")
    assert failing(tree, {"1": True, "2": False, "3": False}) == ["2", "3"]
    assert failing(tree, {"1": False, "2": False, "3": True}) == []
    assert failing(parse_logic("1 and 2 and 3"), {"1": True, "2": False, "3": False}) == [
        "2",
        "3",
    ]


def test_default_logic_requires_every_rule_in_number_order():
    assert default_logic(["10", "2", "1"]) == "1 and 2 and 10"
