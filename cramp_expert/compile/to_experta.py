"""Turn validated rules into experta rules and an engine class.

A patient is ONE experta fact, `Patient`, whose fields are fact ids (`labs.potassium`); a fact
that is unknown is simply absent, so a pattern on it cannot match. (One fact with many fields was
about 4x faster than one fact per finding, and it needs no joins.) Conclusions that rules assert
for other rules are `Derived` facts. Each YAML condition maps to one experta construct:

- fact conditions of an `all` group  -> one `Patient(...)` pattern, one field test per fact: the
                                         operator's test from `kb.operators` in `P(...)`
- an operator that tests presence     -> `Patient(<fact>=W())`, or `NOT(...)` of it when the
  (`known`)                              operand is false
- `concluded: X`                      -> `Derived(id=X)`, and `NOT(Excluded(id=X))` when some
                                         rule can exclude X (an exclusion wins, as in the result)
- `all` / `any` / `none`              -> `AND` / `OR` / `AND(NOT(...), ...)`

Salience comes from the loader's chaining strata and priority tiers, so a rule that tests a
conclusion fires only after every rule that could conclude it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from experta import AND, NOT, OR, Fact, KnowledgeEngine, P, Rule, W
from experta.matchers.rete.dnf import dnf

from cramp_expert.compile.predicates import predicate
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import ConcludedCondition, Condition, ConditionGroup, FactCondition
from cramp_expert.kb.model import Rule as RuleSpec
from cramp_expert.kb.operators import TABLE


class Patient(Fact):  # type: ignore[misc]
    """The patient: one fact whose fields are the known fact ids."""


class Derived(Fact):  # type: ignore[misc]
    """A conclusion asserted by a rule, visible to the rules that test `concluded: <id>`."""


class Excluded(Fact):  # type: ignore[misc]
    """A cause excluded by a measurement: `concluded: <id>` does not hold while this exists."""


def _already_normal(pattern: Any) -> Any:
    """A pattern of these facts is already in normal form: no field holds an `|` of tests.

    experta's normal form rebuilds every pattern, field by field, on each of its passes over a
    rule (a third of building the engine) to split `L(a) | L(b)` fields; the compiler never
    writes those (membership is one predicate, see compile/predicates.py), so the pattern is
    its own normal form.
    """
    return pattern


for _kind in (Patient, Derived, Excluded):
    dnf.register(_kind)(_already_normal)


_PLAIN_TYPES = frozenset({str, bool, int, float})
_PLAIN_OR_SET = _PLAIN_TYPES | {frozenset}


def plain_fact(kind: type[Any], fields: dict[str, Any]) -> Any:
    """`kind(**fields)`, with values that are already immutable stored as they are.

    experta freezes every value through a generic dispatch (lists to tuples, sets to frozensets)
    as it stores it; texts, numbers, yes/no and sets of texts, all a fact here ever holds, need
    nothing, and building the patient fact field by field was a tenth of a consultation.
    """
    fact = kind()
    types = set(map(type, fields.values()))
    if types <= _PLAIN_TYPES or (
        types <= _PLAIN_OR_SET
        and all(type(i) is str for v in fields.values() if type(v) is frozenset for i in v)
    ):
        dict.update(fact, fields)
    else:
        fact.update(fields)  # experta's own path: freezes what needs it
    return fact


def _fact(kind: type[Any], fields: dict[str, Any]) -> Any:
    """`plain_fact(kind, fields)` for fields known to hold texts only, without Fact.__init__.

    Fact.__init__ stores its (here absent) arguments one by one and sets the per-fact cache of
    declared fields' defaults, which these classes do not have (nothing reads it): the fact is
    the dict of its fields and that empty cache.
    """
    fact: Any = dict.__new__(kind)  # Fact defines no __new__ of its own
    dict.update(fact, fields)
    fact._Fact__defaults = {}
    return fact


@dataclass(frozen=True)
class CompiledKnowledgeBase:
    """A knowledge base compiled for experta: the rule objects and the specs they came from."""

    kb: KnowledgeBase
    rules: tuple[Any, ...]
    """experta `Rule` objects, one per YAML rule, each carrying `rule_id`."""
    max_firings: int
    """An upper bound on firings per patient: each rule fires at most once per branch of its
    condition (experta expands `any`, and `none` of a group, into one sub-rule per branch)."""


def branches(condition: Condition) -> int:
    """How many sub-rules experta makes of a condition, at most (its disjunctive normal form)."""
    if not isinstance(condition, ConditionGroup):
        return 1
    counts = [branches(item) for item in condition.items]
    if condition.kind == "any":
        return max(1, sum(counts))
    if condition.kind == "none":
        # NOT(all of several) becomes one branch per negated part (De Morgan).
        product = 1
        for item in condition.items:
            product *= max(1, _leaves(item))
        return product
    product = 1
    for count in counts:
        product *= count
    return product


def _leaves(condition: Condition) -> int:
    if not isinstance(condition, ConditionGroup):
        return 1
    return sum(_leaves(item) for item in condition.items)


def _all_of(tests: tuple[Callable[[Any], bool], ...], value: Any) -> bool:
    return all(test(value) for test in tests)


def _combine(predicates: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    """One field test for several conditions on the same fact (`ge 3` and `lt 5`)."""
    if len(predicates) == 1:
        return predicates[0]
    return partial(_all_of, tuple(predicates))


def _compile_group(group: ConditionGroup, excludable: frozenset[str]) -> Any:
    """Compile a group into one experta conditional element."""
    if group.kind == "any":
        return OR(*[_compile_condition(item, excludable) for item in group.items])
    if group.kind == "none":
        return AND(*[NOT(_compile_condition(item, excludable)) for item in group.items])
    elements: list[Any] = []
    tests: dict[str, list[Callable[[Any], bool]]] = {}
    for item in group.items:
        if isinstance(item, FactCondition) and TABLE[item.op].presence:
            # The field's presence is the test (an unknown fact is an absent field); negated
            # when the test holds of an unknown fact (`known: false`).
            pattern = Patient(**{item.fact: W()})
            elements.append(NOT(pattern) if TABLE[item.op].absent(item.value) else pattern)
        elif isinstance(item, FactCondition):
            tests.setdefault(item.fact, []).append(predicate(item))
        else:
            elements.append(_compile_condition(item, excludable))
    if tests:
        elements.insert(
            0, Patient(**{fact: P(_combine(preds)) for fact, preds in sorted(tests.items())})
        )
    if len(elements) == 1:
        return elements[0]
    return AND(*elements)


def _compile_condition(condition: Condition, excludable: frozenset[str]) -> Any:
    if isinstance(condition, ConditionGroup):
        return _compile_group(condition, excludable)
    if isinstance(condition, ConcludedCondition):
        derived = Derived(id=condition.conclusion)
        if condition.conclusion in excludable:
            return AND(derived, NOT(Excluded(id=condition.conclusion)))
        return derived
    return _compile_group(ConditionGroup("all", (condition,), condition.location), excludable)


def _action(spec: RuleSpec, kinds: dict[str, str]) -> Callable[..., None]:
    # The facts' fields are known when the rule is compiled, ids and kinds (validated texts,
    # stored as they are, as plain_fact stores them); each firing makes fresh facts of them,
    # since experta numbers a fact as it declares it.
    asserted = [(Derived, {"id": c, "kind": kinds[c]}) for c in spec.then.conclude] + [
        (Excluded, {"id": cause}) for cause in spec.then.exclude
    ]
    # experta's identity of each fact (its class and items: FactList._get_fact_id), by which
    # its fact list drops a duplicate.
    identities = [frozenset([kind, *fields.items()]) for kind, fields in asserted]
    facts = list(zip(asserted, identities, strict=True))

    def fire(engine: Any, **_bindings: Any) -> None:
        # Conclusions become facts for the rules that test them; experta drops duplicates, so a
        # conclusion reached by several rules is one fact. Certainties are combined afterwards
        # from the trace (cramp_expert.consultation), where every contributing rule is known.
        # A conclusion already declared is not built again: experta would drop it (a rule fires
        # only inside run(), where declaring does nothing else).
        known = engine.facts.reference_counter
        for (kind, fields), identity in facts:
            if identity in known and not engine.facts.duplication:
                continue
            engine.declare(_fact(kind, fields))

    fire.__name__ = spec.id
    fire.__qualname__ = spec.id
    fire.rule_id = spec.id  # type: ignore[attr-defined]
    return fire


class CompiledRule(Rule):  # type: ignore[misc]
    """An experta `Rule` that keeps its action when experta rewrites its conditions.

    experta rewrites every rule several times while it builds the network (into disjunctive
    normal form, then with an initial fact where a rule starts with a negation), and each copy
    wrapped the action again, inspecting its signature: two thirds of building the engine. The
    action and what experta learnt of it are carried over instead. Its hash is computed once.
    """

    def new_conditions(self, *args: Any) -> Any:
        """The same rule (salience, action) with other conditions."""
        rule = self.__class__(*args, salience=self.salience)
        if self._wrapped is not None:
            # What Rule.__call__ would set: the action, its argument names, and the action's
            # name, docstring and attributes (`rule_id`) copied onto the rule.
            rule.__dict__.update(self.__dict__)
            rule.__dict__.pop("_hash", None)  # other conditions, another hash
        return rule

    def __hash__(self) -> int:
        # experta hashes a rule (its conditions, action and salience) for every activation it
        # adds to or removes from the agenda; none of them changes once the rule is built.
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = self.__dict__["_hash"] = int(super().__hash__())
        return cached


def compile_rule(
    spec: RuleSpec, salience: int, kinds: dict[str, str], excludable: frozenset[str] = frozenset()
) -> Any:
    """Compile one rule into an experta `Rule` (the RHS declares its conclusions)."""
    return CompiledRule(_compile_group(spec.when, excludable), salience=salience)(
        _action(spec, kinds)
    )


def compile_knowledge_base(kb: KnowledgeBase) -> CompiledKnowledgeBase:
    """Compile every rule of `kb`."""
    kinds = {cid: c.kind for cid, c in kb.knowledge.conclusions.items()}
    excludable = frozenset(cause for spec in kb.rules for cause in spec.then.exclude)
    rules = tuple(compile_rule(spec, kb.salience[spec.id], kinds, excludable) for spec in kb.rules)
    bound = sum(branches(spec.when) for spec in kb.rules)
    return CompiledKnowledgeBase(kb, rules, max_firings=2 * bound + 100)


__all__ = [
    "CompiledKnowledgeBase",
    "CompiledRule",
    "Derived",
    "Excluded",
    "KnowledgeEngine",
    "Patient",
    "branches",
    "compile_knowledge_base",
    "compile_rule",
    "plain_fact",
]
