"""The rule language as frozen data: conditions, actions, examples and rules.

The language is closed: a condition is either a test of one patient fact with one operator from
`OPERATORS`, a test that another rule concluded something (`concluded`), or a group (`all`,
`any`, `none`) of conditions. Nothing is an expression and nothing is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeAlias

from cramp_expert.errors import Location
from cramp_expert.kb.operators import FACT_TYPES, TABLE

OPERATORS: tuple[str, ...] = tuple(TABLE)
"""Every operator a fact condition may use (their meaning: `cramp_expert.kb.operators`)."""

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name, op in TABLE.items() if kind in op.types) for kind in FACT_TYPES
}
"""Which operators fit which fact type (a `lt` on a yes/no fact is an error)."""

OPERATOR_TEXT = {name: op.text for name, op in TABLE.items()}

EVIDENCE_GRADES = ("HIGH", "MODERATE", "LOW", "VERY_LOW", "NONE_FOUND")
"""Evidence grades, strongest first (clinical brief, header)."""

FactValue: TypeAlias = bool | float | str | frozenset[str]

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
"""A `{fact.id}` in a rule's reason, replaced by the patient's value (never evaluated)."""


@dataclass(frozen=True)
class FactCondition:
    """`{fact: labs.potassium, lt: 3.5}`: one operator applied to one patient fact."""

    fact: str
    op: str
    value: Any
    location: Location

    def describe(self) -> str:
        """Render the condition for a clinician: `labs.potassium < 3.5`."""
        if TABLE[self.op].presence:
            return f"{self.fact} is {'known' if self.value else 'unknown'}"
        value = self.value
        if isinstance(value, tuple | list | frozenset):
            shown = (
                "["
                + ", ".join(
                    _show(v) for v in (sorted(value) if isinstance(value, frozenset) else value)
                )
                + "]"
            )
        else:
            shown = _show(value)
        return f"{self.fact} {OPERATOR_TEXT[self.op]} {shown}"


@dataclass(frozen=True)
class ConcludedCondition:
    """`{concluded: on_diuretic}`: holds when another rule concluded that id."""

    conclusion: str
    location: Location

    def describe(self) -> str:
        """Render the condition for a clinician."""
        return f"{self.conclusion} concluded"


@dataclass(frozen=True)
class ConditionGroup:
    """`all` / `any` / `none` of conditions; a `when:` block is the `all` of its parts."""

    kind: Literal["all", "any", "none"]
    items: tuple[Condition, ...]
    location: Location

    def describe(self) -> str:
        """Render the group on one line."""
        joined = "; ".join(item.describe() for item in self.items)
        return f"{self.kind}({joined})"

    def conjuncts(self) -> list[Condition]:
        """The items of an `all`, with nested `all`s opened (their items must hold too)."""
        items: list[Condition] = []
        for item in self.items:
            if isinstance(item, ConditionGroup) and item.kind == "all":
                items.extend(item.conjuncts())
            else:
                items.append(item)
        return items


Condition: TypeAlias = FactCondition | ConcludedCondition | ConditionGroup


@dataclass(frozen=True)
class Action:
    """What a rule does when it fires: conclude ids with a certainty, exclude ids, give a reason."""

    conclude: tuple[str, ...]
    exclude: tuple[str, ...]
    certainty: float
    reason: str


@dataclass(frozen=True)
class Example:
    """An embedded test: facts given, conclusions expected and forbidden, and whether the rule fires."""

    name: str
    given: dict[str, Any]
    patient: dict[str, Any] | None
    expect: tuple[str, ...]
    expect_not: tuple[str, ...]
    expect_excluded: tuple[str, ...]
    fires: bool | None
    location: Location
    patient_positions: dict[tuple[str | int, ...], tuple[int, int]] = field(
        default_factory=dict, compare=False, repr=False
    )
    """Line and column of every value of `patient`, keyed by its path inside `patient`, so
    that a problem in an example's patient file can name its line in the rule file."""


@dataclass(frozen=True)
class Suppression:
    """One entry of a rule file's `suppress:`: a finding about this rule accepted, and why."""

    code: str
    reason: str
    location: Location = field(compare=False)


@dataclass(frozen=True)
class Rule:
    """One rule file: identity, documentation, logic and examples."""

    id: str
    title: str
    topic: str
    tier: str
    rationale: str
    evidence: str
    references: tuple[str, ...]
    when: ConditionGroup
    then: Action
    examples: tuple[Example, ...]
    path: str
    location: Location = field(compare=False)
    family: str = ""
    """Rules of one family restate one piece of evidence (eGFR < 60 and < 30; a drug and the
    same drug recently started): for each conclusion only the family's strongest fired member
    counts, and families combine (clinical brief 8.8). Empty: the rule is its own family."""
    suppress: tuple[Suppression, ...] = ()
    """Findings about this rule its authors accepted (`kb validate`/`kb check` count them as
    suppressed instead of reporting them); never read by the engine."""

    @property
    def evidence_family(self) -> str:
        """The family this rule's certainty counts in (its own id when it names none)."""
        return self.family or self.id

    def fact_conditions(self) -> list[FactCondition]:
        """Every fact condition anywhere in the rule."""
        return [c for c in walk(self.when) if isinstance(c, FactCondition)]

    def consumed(self) -> set[str]:
        """The conclusion ids this rule tests (positively or negatively)."""
        return set(self.consumed_ids)

    @cached_property
    def consumed_ids(self) -> frozenset[str]:
        """`consumed()`, worked out once per rule (a rule is frozen): results rank by it."""
        return frozenset(c.conclusion for c in walk(self.when) if isinstance(c, ConcludedCondition))

    def produced(self) -> set[str]:
        """The ids this rule concludes or excludes."""
        return set(self.then.conclude) | set(self.then.exclude)


def walk(condition: Condition) -> list[Condition]:
    """Every condition in a tree, depth-first, the root included."""
    found: list[Condition] = [condition]
    if isinstance(condition, ConditionGroup):
        for item in condition.items:
            found.extend(walk(item))
    return found


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
