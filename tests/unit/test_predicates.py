"""Compiled predicates: total (never raise) and faithful to each operator."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cramp_expert.compile.predicates import evaluate, holds, predicate
from cramp_expert.errors import Location
from cramp_expert.kb.model import OPERATORS, ConcludedCondition, ConditionGroup, FactCondition

HERE = Location("t.yaml", 1, 1)
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.frozensets(st.text(max_size=3), max_size=3),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
OPERANDS = {
    "is": [True, 3.5, "male"],
    "in": [("a", "b")],
    "lt": [3.5],
    "le": [3.5],
    "gt": [3.5],
    "ge": [3.5],
    "between": [(1.0, 2.0)],
    "includes": [frozenset({"calf"})],
    "only": [frozenset({"calf", "foot"})],
    "known": [True, False],
}
CONDITIONS = [FactCondition("x", op, operand, HERE) for op in OPERATORS for operand in OPERANDS[op]]


@pytest.mark.parametrize("condition", CONDITIONS, ids=[c.describe() for c in CONDITIONS])
@given(value=ANY_VALUE)
def test_predicates_are_total(condition, value):
    assert predicate(condition)(value) in (True, False)


@pytest.mark.parametrize(
    ("op", "operand", "value", "expected"),
    [
        ("lt", 3.5, 3.4, True),
        ("lt", 3.5, 3.5, False),
        ("le", 3.5, 3.5, True),
        ("gt", 10.0, 10.0, False),
        ("ge", 10.0, 10.0, True),
        ("between", (0.7, 1.1), 0.7, True),
        ("between", (0.7, 1.1), 1.2, False),
        ("is", True, True, True),
        ("is", True, 1, False),  # 1 is not true: a yes/no fact is a bool
        ("is", 3.0, True, False),  # nor is true the number 1
        ("is", "male", "male", True),
        ("in", ("haemodialysis", "peritoneal"), "none", False),
        ("includes", frozenset({"hand", "arm"}), frozenset({"calf", "arm"}), True),
        ("only", frozenset({"calf", "foot"}), frozenset({"calf", "hand"}), False),
        ("only", frozenset({"calf", "foot"}), frozenset(), False),
        ("lt", 3.5, "3.1", False),  # text is never a number
    ],
)
def test_operator_semantics(op, operand, value, expected):
    assert predicate(FactCondition("x", op, operand, HERE))(value) is expected


def test_unknown_facts_never_hold_but_none_of_them_does():
    low_k = FactCondition("labs.potassium", "lt", 3.5, HERE)
    assert holds(low_k, {}) is False
    assert evaluate(ConditionGroup("none", (low_k,), HERE), {}, set()) is True
    assert holds(FactCondition("labs.potassium", "known", False, HERE), {}) is True


def test_concluded_and_groups():
    concluded = ConcludedCondition("state_on_diuretic", HERE)
    old = FactCondition("age", "ge", 60.0, HERE)
    group = ConditionGroup("any", (concluded, old), HERE)
    assert evaluate(group, {"age": 50}, {"state_on_diuretic"}) is True
    assert evaluate(group, {"age": 50}, set()) is False
    assert (
        evaluate(ConditionGroup("all", (concluded, old), HERE), {"age": 70}, {"state_on_diuretic"})
        is True
    )


def test_an_all_groups_conjuncts_open_its_all_groups_only():
    concluded = ConcludedCondition("state_on_diuretic", HERE)
    old = FactCondition("age", "ge", 60.0, HERE)
    low_k = FactCondition("labs.potassium", "lt", 3.5, HERE)
    none = ConditionGroup("none", (low_k,), HERE)
    inner = ConditionGroup("all", (old, ConditionGroup("all", (low_k,), HERE)), HERE)
    group = ConditionGroup("all", (concluded, inner, none), HERE)
    assert group.conjuncts() == [concluded, old, low_k, none]
