"""The library's entry points: load the knowledge base, consult a patient, run rule examples.

The CLI, the tests and any other caller go through this module. A `Consultant` holds one
compiled knowledge base and one experta engine: use one per thread or process.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cramp_expert.audit import engine_identity, engine_version
from cramp_expert.compile import compile_knowledge_base
from cramp_expert.consultation import build_result
from cramp_expert.engine import Engine, Firing
from cramp_expert.errors import InputError, Location
from cramp_expert.kb import Example, KnowledgeBase, Rule, load_knowledge_base
from cramp_expert.patient import PatientFacts, facts_from_given, normalise_patient, read_patient
from cramp_expert.reasoning import PartialEvaluator, how, robustness, why_not
from cramp_expert.result import Consultation
from cramp_expert.source import Document, load_bytes, load_file, open_regular


@cache
def _fhir_reader() -> tuple[Callable[[Any], bool], Callable[[Any, Any, str], PatientFacts]]:
    """The FHIR reader's `is_fhir` and `facts_from_fhir`, imported on first use (it is large).

    Not an import statement in `Consultant.read`: that costs a microsecond on every record.
    """
    from cramp_expert.fhir.read import facts_from_fhir, is_fhir

    return is_fhir, facts_from_fhir


def about(root: Path | None = None) -> dict[str, Any]:
    """What `--version` shows: the engine's identity, the knowledge base's version and digests.

    Raises KnowledgeBaseError if the knowledge base under `root` (default: the bundled one) is
    invalid.
    """
    package, source, experta = engine_identity()
    kb = load_knowledge_base(root)
    return {
        "package": package,
        "source": source,
        "experta": experta,
        "knowledge_base": kb.version,
        "rules": len(kb.rules),
        "content_digest": kb.content_digest,
        "digest": kb.digest,
    }


YOUNG_COLLECTION = 10_000
"""Container allocations (net of those freed) between the collector's young collections in a
process that consults; Python's default is 700. A consultation holds a few thousand containers
(the engine's tokens, the result's parts) until it ends, and reference counting frees nearly all
of them: at 700 the collector walked them several times per patient looking for cycles they do
not form (tests/unit/test_consultation.py). The collector's own time over 990 new generated
patients (a first pass, whose new shared parts also survive into the older generations) was
0.14 ms per patient at 700 and 0.05 at 10,000; over the same patients again 0.02 and 0.002.
A process that asked for a larger value keeps it."""


class Consultant:
    """A loaded, compiled knowledge base with its engine, ready to consult patients."""

    def __init__(self, root: Path | None = None, kb: KnowledgeBase | None = None):
        # `kb`: a knowledge base already built (kb.loader.knowledge_base), as the fuzz tests
        # build one for each generated rule file.
        self.kb: KnowledgeBase = kb if kb is not None else load_knowledge_base(root)
        self.engine = Engine(compile_knowledge_base(self.kb))
        self.evaluator = PartialEvaluator(self.kb)
        self._version = engine_version()
        # The knowledge base, the engine's network and the evaluator's closures live as long as
        # the consultant: out of the collector's sight, they are not scanned again by every
        # full collection a consultation's garbage triggers (about 0.5 ms of each).
        gc.freeze()
        young, *older = gc.get_threshold()
        if young < YOUNG_COLLECTION:
            gc.set_threshold(YOUNG_COLLECTION, *older)

    def read(self, document: Document) -> PatientFacts:
        """Validate and normalise a parsed patient file or FHIR JSON (raises PatientFileError)."""
        is_fhir, facts_from_fhir = _fhir_reader()
        if is_fhir(document.data):
            return facts_from_fhir(document.data, self.kb.knowledge, document.path)
        return read_patient(document, self.kb.knowledge)

    def read_path(self, path: str | Path) -> PatientFacts:
        """Read, validate and normalise a patient file (or FHIR R4 JSON) on disk."""
        from cramp_expert.fhir.read import facts_from_fhir, load_fhir_file, looks_like_fhir

        # FHIR JSON is read by the json module with its own size limit: a record's history
        # is larger than any patient file.
        try:
            # Never blocks: a FIFO or device is refused on the open descriptor.
            with open_regular(path) as handle:
                head = handle.read(4096)
        except (InputError, OSError):
            head = b""  # load_file reports it, with the usual message
        if looks_like_fhir(head):
            return facts_from_fhir(load_fhir_file(path), self.kb.knowledge, str(path))
        return self.read(load_file(path))

    def read_bytes(self, name: str, raw: bytes) -> PatientFacts:
        """Read, validate and normalise a patient file (or FHIR JSON) already read (stdin)."""
        from cramp_expert.fhir.read import facts_from_fhir, load_fhir_bytes, looks_like_fhir

        if looks_like_fhir(raw[:4096]):
            return facts_from_fhir(load_fhir_bytes(name, raw), self.kb.knowledge, name)
        return self.read(load_bytes(name, raw))

    def consult_facts(self, patient: PatientFacts, *, with_robustness: bool = True) -> Consultation:
        """Run the rules on normalised facts and return the result (`.to_json()`: the contract's).

        The result also says which conclusions hold whatever the unknown facts turn out to be,
        which depend on them, and the one missing fact that would decide the most (about as
        long again as the consultation; rule examples, which only compare conclusions, skip it).
        """
        firings = self.engine.run(patient.values)
        result = build_result(self.kb, patient, firings, self._version)
        if with_robustness:
            result = result.with_robustness(
                robustness(self.evaluator, patient.values, result.concluded)
            )
        return result

    def concluded_for(self, values: dict[str, Any]) -> set[str]:
        """The ids the engine concludes on these fact values (used to check a what-if)."""
        patient = PatientFacts(None, dict(values))
        result = build_result(self.kb, patient, self.engine.run(values), self._version)
        # Intermediate states are not listed in a result; what rules saw of them is in the trace.
        return set(result.concluded | result.asserted)

    def how(self, result: Consultation, conclusion_id: str) -> dict[str, Any]:
        """HOW: the rules and facts that led to `conclusion_id` in `result`."""
        return how(self.kb, result, conclusion_id)

    def why_not(
        self, patient: PatientFacts, result: Consultation, conclusion_id: str
    ) -> dict[str, Any]:
        """WHY NOT: what failed for `conclusion_id`, and the smallest verified change that concludes it."""
        return why_not(self.kb, patient, result, conclusion_id, self.concluded_for)

    def consult(self, document: Document) -> Consultation:
        """Consult a parsed patient file."""
        return self.consult_facts(self.read(document))

    def consult_path(self, path: str | Path) -> Consultation:
        """Consult a patient file on disk (YAML or JSON)."""
        return self.consult_facts(self.read_path(path))

    def consult_bytes(self, name: str, raw: bytes) -> Consultation:
        """Consult a patient file already read (standard input)."""
        return self.consult_facts(self.read_bytes(name, raw))

    def consult_data(self, data: dict[str, Any]) -> Consultation:
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
        result = self.consult_facts(patient, with_robustness=False)
        concluded, excluded = result.concluded, result.excluded_ids
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
        fired = rule.id in result.rules_fired
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
            list(result.rules_fired),
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


__all__ = ["Consultant", "Consultation", "ExampleOutcome", "Firing", "about", "engine_version"]
