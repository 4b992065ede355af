"""The operator table (kb/operators.py) is the one meaning of every operator.

Each operator in the table needs an example operand for every fact type it fits (OPERANDS), and
is then run through every consumer: the reference evaluator, the three-valued evaluator, the
screening back end and experta (the compiler), which must agree on every value; why-not's
values must make the test hold or fail as they promise; the verifier's description of what it
accepts (interval, choices, list items) must be exactly the test, and its implications sound.
The consumers never name an operator: what differs between operators is read from the table,
so a new operator is one entry there (and an example here).
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cramp_expert.compile.predicates import MISSING, evaluate, fact_test, holds, predicate
from cramp_expert.compile.to_experta import CompiledKnowledgeBase, compile_rule
from cramp_expert.engine import Engine
from cramp_expert.errors import Location
from cramp_expert.kb.knowledge import FactDef
from cramp_expert.kb.model import (
    OPERATOR_TEXT,
    OPERATORS,
    OPERATORS_BY_TYPE,
    Action,
    ConditionGroup,
    FactCondition,
    Rule,
)
from cramp_expert.kb.operators import FACT_TYPES, TABLE, Operator
from cramp_expert.reasoning.partial import compile_condition
from cramp_expert.screen.compiled import compile_test, needs, required_facts
from cramp_expert.verify.implication import implies

HERE = Location("t.yaml", 1, 1)
PACKAGE = Path(__file__).resolve().parents[2] / "cramp_expert"

FACTS = {
    "number": FactDef("x.number", "number", "a number", unit="mmol/L", range=(0.0, 10.0)),
    "bool": FactDef("x.bool", "bool", "a yes/no"),
    "choice": FactDef("x.choice", "choice", "a choice", values=("a", "b", "c")),
    "list": FactDef("x.list", "list", "a list", values=("calf", "foot", "hand")),
}
OPERANDS: dict[str, dict[str, list[Any]]] = {
    "is": {"number": [3.5, 0.0], "bool": [True, False], "choice": ["a"]},
    "in": {"choice": [("a", "b"), ("c",)]},
    "lt": {"number": [3.5]},
    "le": {"number": [3.5]},
    "gt": {"number": [3.5]},
    "ge": {"number": [3.5]},
    "between": {"number": [(1.0, 2.0), (2.0, 2.0)]},
    "includes": {"list": [frozenset({"calf", "hand"}), frozenset({"foot"})]},
    "only": {"list": [frozenset({"calf", "foot"}), frozenset({"hand"})]},
    "known": {kind: [True, False] for kind in FACT_TYPES},
}
"""Example operands of every operator on every fact type it fits."""

_LISTS = [frozenset(c) for n in range(4) for c in itertools.combinations(FACTS["list"].values, n)]
VALUES: dict[str, list[Any]] = {
    "number": [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3, 3.4, 3.5, 3.6, 10.0, -1.0, math.inf, "3.4", True],
    "bool": [True, False, 1, 0, "true"],
    "choice": ["a", "b", "c", "d", 1, ("a",)],
    "list": [*_LISTS, ["calf"], ("foot", "hand"), "calf", 3],
}
"""Values of each type (and some of the wrong type, which every test must refuse quietly)."""
TYPED = {
    "number": [v for v in VALUES["number"] if type(v) in (int, float) and math.isfinite(v)],
    "bool": [True, False],
    "choice": ["a", "b", "c", "d"],
    "list": _LISTS,
}
"""The values of each type that the normaliser makes."""

CASES = [
    (kind, FactCondition(FACTS[kind].id, op, operand, HERE))
    for op, by_type in OPERANDS.items()
    for kind, operands in by_type.items()
    for operand in operands
]
IDS = [f"{kind}:{c.describe()}" for kind, c in CASES]


def _patients(kind: str) -> list[dict[str, Any]]:
    """One patient per value of the fact, and one who does not know it."""
    return [{FACTS[kind].id: value} for value in VALUES[kind]] + [{}]


def _meets(need: Any, facts: dict[str, Any]) -> bool:
    known, active, concluded = need
    truthy = {fact for fact, value in facts.items() if value is not False}
    return known <= facts.keys() and active <= truthy and not concluded


def test_every_operator_of_the_language_is_in_the_table_with_an_example_for_each_type():
    assert tuple(TABLE) == OPERATORS
    for name, op in TABLE.items():
        assert op.name == name
        assert set(OPERANDS[name]) == set(op.types), name
        assert OPERATOR_TEXT[name] == op.text
        for kind in op.types:
            assert name in OPERATORS_BY_TYPE[kind]


def test_an_operator_without_one_of_its_parts_cannot_be_declared():
    parts = {f.name: getattr(TABLE["lt"], f.name) for f in dataclasses.fields(Operator)}
    for missing in parts:
        with pytest.raises(TypeError):
            Operator(**{k: v for k, v in parts.items() if k != missing})


@pytest.mark.parametrize(("kind", "condition"), CASES, ids=IDS)
def test_every_evaluator_reads_the_same_meaning(kind, condition):
    """Reference, three-valued (closure and tree walk), screening: one answer per patient."""
    closure = compile_condition(condition)
    screen = compile_test(condition)
    groups = {
        g: compile_condition(ConditionGroup(g, (condition,), HERE)) for g in ("all", "any", "none")
    }
    for facts in _patients(kind):
        expected = holds(condition, facts)
        assert expected in (True, False)
        closed = SimpleNamespace(values=facts, is_open=lambda fact: False)
        assert closure(closed) is expected, facts
        assert groups["all"](closed) is expected
        assert groups["any"](closed) is expected
        assert groups["none"](closed) is (not expected)
        assert screen(facts, set(), set()) is expected, facts
        if expected:
            assert required_facts(condition) <= facts.keys()
            # The screening back end skips a rule none of whose needs the patient meets.
            for group in (condition, ConditionGroup("all", (condition, condition), HERE)):
                assert any(_meets(need, facts) for need in needs(group)), (group, facts)
        value = facts.get(condition.fact, MISSING)
        _, test, absent = fact_test(condition)
        assert (absent if value is MISSING else test(value)) is expected
        if value is not MISSING:
            assert predicate(condition)(value) is expected
        # A fact still open leaves every operator's test undetermined.
        still_open = SimpleNamespace(values=facts, is_open=lambda fact: True)
        assert closure(still_open) is None
        assert all(g(still_open) is None for g in groups.values())


@pytest.mark.parametrize("kind", FACT_TYPES)
def test_experta_fires_exactly_what_the_reference_evaluator_says_for_every_operator(kind):
    conditions = [c for k, c in CASES if k == kind]
    groups = [ConditionGroup("all", (c,), HERE) for c in conditions]
    groups += [ConditionGroup("none", (c,), HERE) for c in conditions]
    groups += [ConditionGroup("any", (a, b), HERE) for a, b in itertools.pairwise(conditions)]
    specs = [
        Rule(
            id=f"r{i}",
            title="",
            topic="",
            tier="",
            rationale="",
            evidence="",
            references=(),
            when=group if group.kind == "all" else ConditionGroup("all", (group,), HERE),
            then=Action((f"c{i}",), (), 1.0, ""),
            examples=(),
            path="",
            location=HERE,
        )
        for i, group in enumerate(groups)
    ]
    kinds = {f"c{i}": "cause" for i in range(len(specs))}
    rules = tuple(compile_rule(spec, 0, kinds) for spec in specs)
    engine = Engine(CompiledKnowledgeBase(None, rules, max_firings=4 * len(rules) + 10))  # type: ignore[arg-type]
    for facts in _patients(kind):
        fired = {firing.rule_id for firing in engine.run(facts)}
        expected = {spec.id for spec in specs if evaluate(spec.when, facts, ())}
        assert fired == expected, facts


@pytest.mark.parametrize(("kind", "condition"), CASES, ids=IDS)
def test_why_nots_values_make_the_test_hold_or_fail(kind, condition):
    op, fact = TABLE[condition.op], FACTS[kind]
    for current in [*VALUES[kind][:4], None]:
        made_true = op.satisfy(condition.value, current, fact, 0.1)
        made_false = op.falsify(condition.value, current, fact, 0.1)
        assert all(holds(condition, {fact.id: v}) for v in made_true), made_true
        assert not any(holds(condition, {fact.id: v}) for v in made_false), made_false
        # Only "unknown" has no value that makes it hold, and only "known" none that fails it.
        assert made_true or (op.presence and not condition.value)
        assert made_false or op.presence


@pytest.mark.parametrize(("kind", "condition"), CASES, ids=IDS)
def test_the_verifier_reads_exactly_what_each_test_accepts(kind, condition):
    op = TABLE[condition.op]
    ref = condition.value
    readings = [op.interval(ref), op.choices(ref), op.meets(ref), op.within(ref)]
    assert op.presence or any(r is not None for r in readings), "the verifier cannot read it"
    test = op.test(ref)
    for value in TYPED[kind]:
        interval = op.interval(ref)
        if interval is not None:
            low, low_closed, high, high_closed = interval
            inside = (low < value or (low_closed and low == value)) and (
                value < high or (high_closed and value == high)
            )
            assert test(value) is inside, value
        if op.choices(ref) is not None:
            assert test(value) is (value in op.choices(ref)), value
        if op.meets(ref) is not None:
            assert test(value) is bool(value & op.meets(ref)), value
        if op.within(ref) is not None:
            assert test(value) is (bool(value) and value <= op.within(ref)), value


@pytest.mark.parametrize("kind", FACT_TYPES)
def test_what_the_verifier_proves_between_two_tests_holds_for_every_value(kind):
    conditions = [c for k, c in CASES if k == kind]
    for a, b in itertools.product(conditions, repeat=2):
        rules_out = implies(a, ConditionGroup("none", (b,), HERE))
        for facts in _patients(kind):
            if implies(a, b) and holds(a, facts):
                assert holds(b, facts), (a.describe(), b.describe(), facts)
            if rules_out and holds(a, facts):
                assert not holds(b, facts), (a.describe(), b.describe(), facts)
        assert implies(a, a)


@pytest.mark.parametrize(("kind", "condition"), CASES, ids=IDS)
def test_a_number_test_changes_only_at_its_edges(kind, condition):
    op = TABLE[condition.op]
    edges = op.edges(condition.value)
    if kind != "number":
        return
    test = op.test(condition.value)
    grid = sorted({x / 4 for x in range(-8, 48)} | set(edges))
    for before, after in itertools.pairwise(grid):
        if test(before) != test(after):
            assert any(before <= e <= after for e in edges), (before, after)


CONSUMERS = [
    "compile/predicates.py",
    "compile/to_experta.py",
    "reasoning/partial.py",
    "reasoning/whynot.py",
    "verify/implication.py",
    "verify/search.py",
    "screen/compiled.py",
    "consultation.py",
]


@pytest.mark.parametrize("module", CONSUMERS)
def test_no_consumer_names_an_operator(module):
    """What differs between operators is read from the table, never spelt out by a consumer."""
    tree = ast.parse((PACKAGE / module).read_text())
    named = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in TABLE
    }
    assert named == set()
