"""The engine session: declare a patient, run experta, return the firings in order.

One `Engine` wraps one experta engine. Create one per thread or process: experta engines are not
thread-safe (a shared engine gives silently wrong results). Between patients the engine is
`reset()`, not rebuilt, which keeps the compiled network.
"""

from __future__ import annotations

import bisect
import inspect
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any

from experta import DefFacts, KnowledgeEngine, watchers
from experta.agenda import Agenda
from experta.factlist import FactList
from experta.strategies import DepthStrategy

from cramp_expert.compile.to_experta import (
    CompiledKnowledgeBase,
    CompiledRule,
    Derived,
    Excluded,
    Patient,
    plain_fact,
)
from cramp_expert.engine.rete import FastReteMatcher
from cramp_expert.errors import CrampExpertError


class EngineError(CrampExpertError):
    """The engine could not finish (a runaway chain of firings)."""


@dataclass(frozen=True)
class Firing:
    """One rule firing: which rule, and the facts experta matched for it."""

    rule_id: str
    matched_patient: bool
    """True when the `Patient` fact was among the matched facts."""
    matched_conclusions: tuple[str, ...]
    """Ids of the `Derived` facts (other rules' conclusions) matched."""


_KEY = attrgetter("key")
_FACT_ID = itemgetter("__factid__")


class DeterministicDepthStrategy(DepthStrategy):  # type: ignore[misc]
    """experta's depth strategy with a total order and a correct removal.

    experta orders equal-salience activations by fact ids only, so the order among rules that
    match the same facts follows `PYTHONHASHSEED`; the rule id breaks the tie here. Its removal
    of a cancelled activation looks only at three positions around the insertion point, so with
    several equal keys a stale activation can survive and fire on a retracted fact (upstream
    issue #3); this scans the whole range of equal keys.
    """

    def get_key(self, activation: Any) -> tuple[Any, ...]:
        facts = tuple(sorted(map(_FACT_ID, activation.facts), reverse=True))
        return (activation.rule.salience, facts, getattr(activation.rule, "rule_id", ""))

    def _update_agenda(self, agenda: Any, added: Any, removed: Any) -> None:
        # An activation orders by its key (experta's `__lt__`): bisecting on the keys themselves
        # gives the same positions without a Python-level comparison per step.
        activations = agenda.activations
        for activation in removed:
            key = activation.key = self.get_key(activation)
            low = bisect.bisect_left(activations, key, key=_KEY)
            high = bisect.bisect_right(activations, key, lo=low, key=_KEY)
            for index in range(low, high):
                if activations[index] == activation:
                    del activations[index]
                    break
        for activation in added:
            key = activation.key = self.get_key(activation)
            activations.insert(bisect.bisect_right(activations, key, key=_KEY), activation)


_FIRINGS: dict[tuple[str, bool, tuple[str, ...]], Firing] = {}
"""Firings already made, by their contents: a Firing is immutable, so one with the same contents
is shared rather than built again on every firing (a frozen dataclass is slow to build)."""
_FIRINGS_KEPT = 65536
"""At most this many are kept (a few per rule, in practice)."""


class TracingAgenda(Agenda):  # type: ignore[misc]
    """An agenda that records every activation it hands to the engine, in firing order."""

    def __init__(self, sink: list[Firing]):
        super().__init__()
        self.sink = sink

    def get_next(self) -> Any:
        activations = self.activations
        if not activations:
            return None
        activation = activations.pop()
        derived = []
        patient = False
        for fact in activation.facts:
            if isinstance(fact, Derived):
                derived.append(fact["id"])
            elif isinstance(fact, Patient):
                patient = True
        derived.sort()
        rule = activation.rule
        rule_id = getattr(rule, "rule_id", rule.__name__)
        key = (rule_id, patient, tuple(derived))
        firing = _FIRINGS.get(key)
        if firing is None:
            firing = Firing(rule_id=rule_id, matched_patient=patient, matched_conclusions=key[2])
            if len(_FIRINGS) < _FIRINGS_KEPT:
                _FIRINGS[key] = firing
        self.sink.append(firing)
        return activation


_OWN_FACTS = (Patient, Derived, Excluded)


class _FactList(FactList):  # type: ignore[misc]
    """experta's fact list, declaring the facts built here without its generic steps.

    For a Patient, Derived or Excluded fact not yet declared (no `__factid__`): no declared
    fields to validate, and no special (`__x__`) keys to leave out of its identity, so the
    identity is the class and the fact's items, as experta computes it. Any other fact goes
    through experta's own `declare`.
    """

    last_index: int
    reference_counter: Counter[Any]

    def declare(self, fact: Any) -> Any:
        if type(fact) not in _OWN_FACTS or "__factid__" in fact or "__bind__" in fact:
            return super().declare(fact)
        identity = frozenset([type(fact), *dict.items(fact)])
        counter = self.reference_counter
        if identity not in counter:
            counter[identity] = 1
        elif self.duplication:
            counter[identity] += 1
        else:
            return None
        index = self.last_index
        # What the `__factid__` setter does, without the property.
        dict.__setitem__(fact, "__factid__", index)
        self[index] = fact
        self.last_index = index + 1
        self.added.append(fact)
        watchers.FACTS.info(" ==> %s: %r", fact, fact)
        return fact


class _CrampEngine(KnowledgeEngine):  # type: ignore[misc]
    __strategy__ = DeterministicDepthStrategy
    __matcher__ = FastReteMatcher

    def __init__(self, rules: tuple[Any, ...]):
        self._compiled_rules = rules
        self._deffacts: list[str] | None = None
        self._initial: tuple[Any, ...] | None = None
        self.firings: list[Firing] = []
        super().__init__()

    def get_rules(self) -> list[Any]:
        return list(self._compiled_rules)

    def get_deffacts(self) -> list[Any]:
        # Their names are found once, because the lookup walks every attribute with
        # inspect.getmembers(). A DefFacts is a class attribute, shared by every engine of the
        # class, bound to the engine that last read it (its `__get__`): it is read through this
        # engine on every call, or it would run with another engine's `self`.
        if self._deffacts is None:
            self._deffacts = [
                name
                for name, value in inspect.getmembers(type(self))
                if isinstance(value, DefFacts)
            ]
        found = [getattr(self, name) for name in self._deffacts]
        for deffacts in found:
            deffacts.ke = self
        return sorted(found, key=lambda deffacts: deffacts.order)

    def declare(self, *facts: Any) -> Any:
        # experta's declare() less two checks made for facts a user builds by hand (that no
        # value is a pattern, that no field name has `__`) for the Patient, Derived and
        # Excluded facts built here and in compile/, from validated ids (the loader refuses
        # `__`) and plain values: about a tenth of a consultation. Any other fact goes through
        # experta's own declare(), checks included.
        for fact in facts:
            if type(fact) not in _OWN_FACTS:
                return super().declare(*facts)
        last = None
        declare = self.facts.declare
        for fact in facts:
            last = declare(fact)
        if not self.running:
            added, removed = self.get_activations()
            self.strategy.update_agenda(self.agenda, added, removed)
        return last

    def run(self, steps: float = float("inf")) -> None:
        # experta's own loop, less its FIRE log line: that line renders every matched fact
        # (the patient's every field) on every firing, even with logging off.
        self.running = True
        changes = self.matcher.changes
        while steps > 0 and self.running:
            # FactList.changes (the facts declared and retracted since the last call), spelt out.
            facts = self.facts
            declared, retracted = facts.added, facts.removed
            facts.added, facts.removed = [], []
            added, removed = changes(declared, retracted)
            if added or removed:
                self.strategy.update_agenda(self.agenda, added, removed)
            activation = self.agenda.get_next()
            if activation is None:
                break
            steps -= 1
            context = activation.context
            bindings = (
                {k: v for k, v in context.items() if not k.startswith("__")} if context else {}
            )
            rule = activation.rule
            if type(rule) is CompiledRule and rule._wrapped_self is None and not rule._wrapped_args:
                # What Rule.__call__ does for such a rule (an action taking any keywords,
                # not bound to an engine class), without its wrapper.
                rule._wrapped(self, **bindings)
            else:
                rule(self, **bindings)
        self.running = False

    def reset(self, **kwargs: Any) -> None:
        if not kwargs and self._initial is not None:
            self._restore()
            return
        if kwargs:
            super().reset(**kwargs)
        else:
            # experta's reset() less the signature inspection of every DefFacts per reset, which
            # only chooses which keyword arguments to pass it: with none, none is passed.
            self.agenda = Agenda()
            self.facts = _FactList()
            self.matcher.reset()
            facts = [fact for deffacts in self.get_deffacts() for fact in deffacts()]
            self._KnowledgeEngine__declare(*facts)
            self.running = False
            self._remember()
        self._trace()

    def _remember(self) -> None:
        """Keep the state a reset leaves (the initial fact, its matches) to restore it next time.

        Passing experta's InitialFact through the network again gives the same matches on every
        reset: the rules that begin with a negation. Only when it is the sole initial fact (no
        other DefFacts) and the matcher can copy its memories.
        """
        facts = self.facts
        if self._deffacts != ["_declare_initial_fact"] or facts.added or facts.removed:
            return
        if not isinstance(self.matcher, FastReteMatcher) or not self.matcher.remember():
            return
        self._initial = (
            list(facts.items()),
            facts.last_index,
            dict(facts.reference_counter),
            list(self.agenda.activations),
        )

    def _restore(self) -> None:
        """A reset: the fact list, network memories and agenda `_remember` kept, as copies."""
        assert self._initial is not None
        items, last_index, counter, activations = self._initial
        facts = _FactList()
        for index, fact in items:
            facts[index] = fact
        facts.last_index = last_index
        facts.reference_counter.update(counter)
        self.facts = facts
        self.matcher.restore()
        self.firings = []
        agenda = TracingAgenda(self.firings)
        # The activations are experta's, never changed once made: the list is new, they are not.
        agenda.activations = list(activations)
        self.agenda = agenda
        self.running = False

    def _trace(self) -> None:
        """Record the firings from here on (a new list per patient)."""
        self.firings = []
        traced = TracingAgenda(self.firings)
        # reset() may already have queued activations (rules made only of NOT/none conditions)
        traced.activations = self.agenda.activations
        self.agenda = traced


class Engine:
    """A reusable experta engine for one compiled knowledge base (one per thread or process)."""

    def __init__(self, compiled: CompiledKnowledgeBase):
        self.compiled = compiled
        self._engine = _CrampEngine(compiled.rules)
        # Every rule fires at most once per branch (one patient fact; each conclusion is one
        # fact): more firings than that bound means a runaway chain.
        self.max_firings = compiled.max_firings

    def run(self, facts: Mapping[str, Any]) -> list[Firing]:
        """Declare one patient's facts, run to quiescence and return the firings in order."""
        engine: Any = self._engine
        engine.reset()
        engine.declare(plain_fact(Patient, dict(sorted(facts.items()))))
        engine.run(steps=self.max_firings)
        if engine.agenda.activations:
            raise EngineError(f"the rules did not settle within {self.max_firings} firings")
        return list(engine.firings)


__all__ = ["Engine", "EngineError", "Firing"]
