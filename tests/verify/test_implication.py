"""Implication read off the structure of conditions: sound, and enough for repeated conditions."""

from __future__ import annotations

import pytest

from cramp_expert.errors import Location
from cramp_expert.kb.model import ConcludedCondition, ConditionGroup, FactCondition
from cramp_expert.verify.implication import implies

HERE = Location("test")


def f(fact_id, op, value):
    return FactCondition(fact_id, op, value, HERE)


def group(kind, *items):
    return ConditionGroup(kind, items, HERE)


K = "labs.potassium"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (f(K, "lt", 3.0), f(K, "lt", 3.5), True),
        (f(K, "lt", 3.5), f(K, "lt", 3.0), False),
        (f(K, "lt", 3.5), f(K, "le", 3.5), True),
        (f(K, "le", 3.5), f(K, "lt", 3.5), False),
        (f(K, "between", (3.0, 3.4)), f(K, "lt", 3.5), True),
        (f(K, "lt", 3.0), f(K, "known", True), True),
        (f(K, "known", False), f(K, "lt", 3.0), False),
        (
            f("dialysis", "is", "peritoneal"),
            f("dialysis", "in", ("haemodialysis", "peritoneal")),
            True,
        ),
        (f("dialysis", "in", ("none", "peritoneal")), f("dialysis", "in", ("peritoneal",)), False),
        (
            f("cramps.sites", "only", frozenset({"calf"})),
            f("cramps.sites", "includes", frozenset({"calf", "foot"})),
            True,
        ),
        (group("all", f(K, "lt", 3.0), f("age", "ge", 60.0)), f(K, "lt", 3.5), True),
        (group("any", f(K, "lt", 3.0), f(K, "lt", 2.0)), f(K, "lt", 3.5), True),
        (group("any", f(K, "lt", 3.0), f("age", "ge", 60.0)), f(K, "lt", 3.5), False),
        (
            group(
                "all",
                ConcludedCondition("x", HERE),
                group("none", ConcludedCondition("y", HERE), f(K, "lt", 3.0)),
            ),
            group(
                "all", ConcludedCondition("x", HERE), group("none", ConcludedCondition("y", HERE))
            ),
            True,
        ),
        (
            group(
                "all", ConcludedCondition("x", HERE), group("none", ConcludedCondition("y", HERE))
            ),
            group("none", ConcludedCondition("y", HERE), ConcludedCondition("z", HERE)),
            False,
        ),
        (group("all", f(K, "ge", 3.5)), group("none", f(K, "lt", 3.5)), True),
        (group("all", f(K, "ge", 3.4)), group("none", f(K, "lt", 3.5)), False),
    ],
)
def test_implication(a, b, expected):
    assert implies(a, b) is expected
