"""Which rules fire on an embedded example, on a generated patient, and on a patient found by search.

A rule no example fires is untested by the examples; a rule no generated patient fires is one
the property tests never exercise; a rule no search can make fire is dead. The table answers all
three for every rule (`cramp-expert kb coverage`), and `kb check` uses the patients it finds as
proof that a rule can fire.

Rules are evaluated with the plain-Python reference semantics (`reasoning.partial` with nothing
open), which a property test holds equal to what experta fires, so the table costs about a
millisecond a patient instead of an engine run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cramp_expert.errors import InputError
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import Example, Rule
from cramp_expert.patient import PatientFacts, facts_from_given, normalise_patient
from cramp_expert.verify.sampler import Sampler
from cramp_expert.verify.search import Search, Solver, Witness

DEFAULT_SAMPLES = 500
"""Random patients generated per run (about 2 ms each)."""


@dataclass
class RuleCoverage:
    """How one rule is exercised."""

    rule: Rule
    examples: list[str] = field(default_factory=list)
    """`rule-id::example` of every embedded example (of any rule) on which it fires."""
    generated: int = 0
    """How many of the random generated patients it fires on."""
    search: Search | None = None
    """The search for a patient that fires it, when no example or random patient did."""
    witness: Witness | None = None
    """A patient on which it fires: the first random patient that does, else the patient the
    search found, else an example's facts."""
    source: str = ""
    """Where the witness came from: `example <id::name>`, `generated`, `search`."""

    @property
    def fires(self) -> bool | None:
        """True when some patient fires it, False when none can, None when undecided."""
        if self.witness is not None:
            return True
        if self.search is not None and self.search.status == "impossible":
            return False
        return None


@dataclass(frozen=True)
class Coverage:
    """Coverage of every rule of a knowledge base."""

    rules: tuple[RuleCoverage, ...]
    samples: int
    """How many random patients were generated."""
    seed: int

    def of(self, rule_id: str) -> RuleCoverage:
        """One rule's coverage."""
        return next(c for c in self.rules if c.rule.id == rule_id)

    def as_json(self) -> dict[str, Any]:
        """The table as data."""
        return {
            "samples": self.samples,
            "seed": self.seed,
            "rules": [
                {
                    "rule": c.rule.id,
                    "path": c.rule.path,
                    "examples": c.examples,
                    "generated": c.generated,
                    "search": c.search.status if c.search else None,
                    "fires": c.fires,
                    "witness": c.witness.patient if c.witness else None,
                    "source": c.source,
                }
                for c in self.rules
            ],
        }


def example_facts(kb: KnowledgeBase, rule: Rule, example: Example) -> PatientFacts:
    """The facts of an embedded example: its `patient:` file, then its `given:` facts on top.

    Raises:
        InputError: the example's patient file or facts are invalid.
    """
    knowledge = kb.knowledge
    base = (
        normalise_patient(example.patient, knowledge, rule.path)
        if example.patient is not None
        else PatientFacts(None, {})
    )
    base.values.update(facts_from_given(example.given, knowledge, example.location).values)
    return base


def _fired(solver: Solver, facts: dict[str, Any]) -> Iterable[str]:
    outcome = solver.outcome(facts)
    return (rule_id for rule_id, truth in outcome.rule_truth.items() if truth)


def coverage(
    kb: KnowledgeBase,
    solver: Solver | None = None,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    search: bool = True,
) -> Coverage:
    """Run every embedded example and `samples` random patients; search for the rest.

    With `search`, each rule that neither an example nor a random patient fires is searched
    for (a witness, or a proof that none exists).
    """
    solver = solver or Solver(kb)
    table = {rule.id: RuleCoverage(rule) for rule in kb.rules}
    for rule in kb.rules:
        for example in rule.examples:
            try:
                facts = example_facts(kb, rule, example)
            except InputError:
                continue  # reported by kb validate (P codes) and kb test
            name = f"{rule.id}::{example.name}"
            for fired in _fired(solver, facts.values):
                entry = table[fired]
                entry.examples.append(name)
                if entry.witness is None:
                    entry.witness = Witness(_example_file(example), facts.values)
                    entry.source = f"example {name}"
    sampler = Sampler(solver.domains, seed)
    for _ in range(samples):
        patient = sampler.patient()
        try:
            values = normalise_patient(patient, kb.knowledge).values
        except InputError:
            continue
        for fired in _fired(solver, values):
            entry = table[fired]
            entry.generated += 1
            if entry.source != "generated":  # a generated patient is preferred to an example
                entry.witness, entry.source = Witness(patient, values), "generated"
    if search:
        for entry in table.values():
            if entry.generated == 0:
                entry.search = solver.find(entry.rule.when)
                if entry.search.witness is not None:
                    entry.witness, entry.source = entry.search.witness, "search"
    return Coverage(tuple(table[r.id] for r in kb.rules), samples, seed)


def _example_file(example: Example) -> dict[str, Any]:
    """An example as one patient-like mapping (its patient file and given facts)."""
    shown: dict[str, Any] = dict(example.patient or {})
    if example.given:
        shown["given"] = dict(example.given)
    return shown


def render(table: Coverage, output_format: str = "text") -> str:
    """The coverage table as text (one line a rule) or JSON."""
    if output_format == "json":
        import json

        return json.dumps(table.as_json(), indent=2, ensure_ascii=False, default=str) + "\n"
    width = max(len(c.rule.id) for c in table.rules)
    lines = [
        f"{'rule'.ljust(width)}  examples  generated/{table.samples}  search",
    ]
    for c in table.rules:
        search = "-" if c.search is None else c.search.status
        lines.append(
            f"{c.rule.id.ljust(width)}  {len(c.examples):>8}  "
            f"{c.generated:>{len('generated/') + len(str(table.samples))}}  {search}"
        )
    by_example = sum(1 for c in table.rules if c.examples)
    by_generated = sum(1 for c in table.rules if c.generated)
    by_search = sum(1 for c in table.rules if c.source == "search")
    total = len(table.rules)
    lines.append("")
    lines.append(
        f"{by_example}/{total} rules fire on an embedded example; {by_generated}/{total} on one "
        f"of {table.samples} random patients (seed {table.seed}); {by_search} more on a patient "
        "found by search."
    )
    uncovered = [c.rule.id for c in table.rules if not c.examples or c.witness is None]
    if uncovered:
        lines.append("Not covered: " + ", ".join(uncovered))
    return "\n".join(lines) + "\n"


__all__ = ["DEFAULT_SAMPLES", "Coverage", "RuleCoverage", "coverage", "example_facts", "render"]
