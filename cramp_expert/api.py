"""The library's entry points: load the knowledge base, consult a patient, run rule examples.

The CLI, the tests and any other caller go through this module. A `Consultant` holds one
compiled knowledge base and one experta engine: use one per thread or process.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from cramp_expert.compile import compile_knowledge_base
from cramp_expert.consultation import build_result
from cramp_expert.engine import Engine, Firing
from cramp_expert.errors import InputError, Location
from cramp_expert.kb import Example, KnowledgeBase, Rule, load_knowledge_base
from cramp_expert.patient import PatientFacts, facts_from_given, normalise_patient, read_patient
from cramp_expert.source import Document, load_bytes, load_file


def engine_version() -> str:
    """`cramp-expert X / experta Y`: part of every result's audit block."""
    return (
        f"cramp-expert {metadata.version('cramp-expert')} / experta {metadata.version('experta')}"
    )


class Consultant:
    """A loaded, compiled knowledge base with its engine, ready to consult patients."""

    def __init__(self, root: Path | None = None):
        self.kb: KnowledgeBase = load_knowledge_base(root)
        self.engine = Engine(compile_knowledge_base(self.kb))
        self._version = engine_version()

    def read(self, document: Document) -> PatientFacts:
        """Validate and normalise a parsed patient file (raises PatientFileError)."""
        return read_patient(document, self.kb.knowledge)

    def consult_facts(self, patient: PatientFacts) -> dict[str, Any]:
        """Run the rules on normalised facts and return the contract's result."""
        firings = self.engine.run(patient.values)
        return build_result(self.kb, patient, firings, self._version)

    def consult(self, document: Document) -> dict[str, Any]:
        """Consult a parsed patient file."""
        return self.consult_facts(self.read(document))

    def consult_path(self, path: str | Path) -> dict[str, Any]:
        """Consult a patient file on disk (YAML or JSON)."""
        return self.consult(load_file(path))

    def consult_bytes(self, name: str, raw: bytes) -> dict[str, Any]:
        """Consult a patient file already read (standard input)."""
        return self.consult(load_bytes(name, raw))

    def consult_data(self, data: dict[str, Any]) -> dict[str, Any]:
        """Consult patient data held in memory (same shape as a patient file)."""
        return self.consult_facts(normalise_patient(data, self.kb.knowledge))

    def example_facts(self, rule: Rule, example: Example) -> PatientFacts:
        """The facts of a rule's embedded example: its `patient:` file, then its `given:` facts on top."""
        knowledge = self.kb.knowledge
        base = (
            normalise_patient(example.patient, knowledge, rule.path)
            if example.patient is not None
            else PatientFacts(None, {})
        )
        given = facts_from_given(example.given, knowledge, example.location)
        base.values.update(given.values)
        return base

    def run_example(self, rule: Rule, example: Example) -> ExampleOutcome:
        """Run one embedded example through the whole knowledge base and compare expectations."""
        try:
            patient = self.example_facts(rule, example)
        except InputError as exc:  # an example's patient file is itself invalid
            problems = [problem.render() for problem in exc.problems]
            return ExampleOutcome(rule, example, False, [], [], [], problems)
        result = self.consult_facts(patient)
        firings = [entry["rule"] for entry in result["trace"]]
        concluded = {
            item["id"]
            for key in ("causes", "red_flags", "differentials", "recommendations", "investigations")
            for item in result[key]
        }
        excluded = {item["id"] for item in result["excluded"]}
        failures: list[str] = []
        missing = [c for c in example.expect if c not in concluded]
        if missing:
            failures.append(f"expected {', '.join(missing)} to be concluded")
        present = [c for c in example.expect_not if c in concluded]
        if present:
            failures.append(f"expected {', '.join(present)} not to be concluded")
        not_excluded = [c for c in example.expect_excluded if c not in excluded]
        if not_excluded:
            failures.append(f"expected {', '.join(not_excluded)} to be excluded")
        fired = rule.id in firings
        if example.fires is not None and fired is not example.fires:
            failures.append(
                f"expected rule {rule.id} {'to fire' if example.fires else 'not to fire'}"
            )
        return ExampleOutcome(
            rule,
            example,
            fired,
            sorted(concluded),
            sorted(excluded),
            list(dict.fromkeys(firings)),
            failures,
        )


@dataclass(frozen=True)
class ExampleOutcome:
    """What running one embedded example showed."""

    rule: Rule
    example: Example
    fired: bool
    concluded: list[str]
    excluded: list[str]
    rules_fired: list[str]
    failures: list[str]

    @property
    def location(self) -> Location:
        """Where the example is written."""
        return self.example.location

    def describe(self) -> str:
        """A failure report: what was expected, what was concluded, which rules fired."""
        lines = [f"{self.location}: {self.rule.id}::{self.example.name}"]
        lines += [f"  - {failure}" for failure in self.failures]
        lines.append(f"  concluded: {', '.join(self.concluded) or '(nothing)'}")
        if self.excluded:
            lines.append(f"  excluded: {', '.join(self.excluded)}")
        lines.append(f"  rules fired: {', '.join(self.rules_fired) or '(none)'}")
        return "\n".join(lines)


__all__ = ["Consultant", "ExampleOutcome", "Firing", "engine_version"]
