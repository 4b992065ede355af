"""`cramp-expert kb check`: verify the rule base as a whole, each finding with a patient.

First everything `kb validate` reports (a knowledge base that does not load, cycles in the
chaining included, is checked no further). Then, with the engine's semantics:

- R404 a rule no patient makes fire (a proof, or none found by examples, generated patients
  and a search);
- K402 a conclusion no patient reaches (its rules never fire, or it is always excluded);
- R405 a rule that adds nothing: whenever it fires another fires too and concludes as much;
- R406 conclusions that exclude each other reached for one patient (declared in
  knowledge/properties.yaml `exclusive:`, or a cause one rule concludes and another excludes);
- R407 a rule that can break a never-rule (`never:` `forbid`), with the patient;
- K403 a conclusion whose text breaks a never-rule (`never:` `wording`);
- R408 a conclusion whose certainty can never reach the threshold.

A rule file's `suppress:` silences these findings about it as it does `kb validate`'s; an entry
for one of these codes that no finding in its file has is R603.

Every patient given is a real patient file: normalised like any other, evaluated again, and
run through the engine, which must agree (`Finding.confirmed`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cramp_expert.authoring.lint import suppress, validate
from cramp_expert.compile import compile_knowledge_base
from cramp_expert.compile.predicates import evaluate
from cramp_expert.consultation import build_result, combine
from cramp_expert.engine import Engine
from cramp_expert.errors import KnowledgeBaseError, Location, Problem, ProblemCollector
from cramp_expert.files import write_atomically
from cramp_expert.kb.declarations import Declarations, read_declarations
from cramp_expert.kb.loader import KnowledgeBase, load_knowledge_base
from cramp_expert.kb.model import ConcludedCondition, Condition, Rule
from cramp_expert.patient import PatientFacts
from cramp_expert.result import Consultation
from cramp_expert.source import dump_yaml
from cramp_expert.verify.coverage import DEFAULT_SAMPLES, Coverage, coverage
from cramp_expert.verify.implication import implies
from cramp_expert.verify.search import (
    DEFAULT_BUDGET,
    Search,
    Solver,
    Witness,
    all_of,
    any_of,
    none_of,
)


@dataclass(frozen=True)
class Finding:
    """One problem found, with the patient that shows it where there is one."""

    problem: Problem
    witness: dict[str, Any] | None = None
    """A patient file (YAML/JSON shape) that shows the problem: consult it to see."""
    confirmed: bool | None = None
    """With a witness: whether running the engine on it shows the problem too."""


@dataclass(frozen=True)
class Check:
    """The outcome of `kb check` on one knowledge base."""

    root: Path
    findings: tuple[Finding, ...]
    files: tuple[str, ...]
    rules: int
    verified: bool
    """False when the knowledge base does not load: only `kb validate`'s problems are known."""
    stats: dict[str, Any] = field(default_factory=dict)
    """What the verification did: searches, combinations tried, generated patients."""
    suppressed: tuple[Problem, ...] = ()
    """The problems a rule file's `suppress:` silenced (counted, not reported)."""

    @property
    def ok(self) -> bool:
        """True when no finding is an error (warnings do not fail a check)."""
        return not any(f.problem.severity == "error" for f in self.findings)

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The findings' problems (for renderers of problems)."""
        return tuple(f.problem for f in self.findings)

    def relative_to(self, directory: Path) -> Check:
        """The same check with paths as seen from `directory`."""
        if self.root.resolve() == directory.resolve():
            return self

        def shown(path: str) -> str:
            full = (self.root / path).resolve()
            relative = os.path.relpath(full, directory.resolve())
            return str(full) if relative.startswith("..") else relative

        return replace(
            self,
            findings=tuple(
                replace(
                    f,
                    problem=replace(
                        f.problem,
                        location=replace(f.problem.location, path=shown(f.problem.location.path)),
                    ),
                )
                for f in self.findings
            ),
            files=tuple(shown(name) for name in self.files),
            suppressed=tuple(
                replace(p, location=replace(p.location, path=shown(p.location.path)))
                for p in self.suppressed
            ),
        )


def check(
    root: Path | None = None,
    *,
    samples: int = DEFAULT_SAMPLES,
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
) -> Check:
    """Validate and verify the knowledge base under `root` (default: the bundled one).

    Raises:
        BadArgument: `root` holds neither rules/ nor knowledge/.
    """
    validation = validate(root)
    findings = [Finding(problem) for problem in validation.problems]
    try:
        kb = load_knowledge_base(validation.root)
    except KnowledgeBaseError:
        return Check(
            validation.root,
            tuple(findings),
            validation.files,
            validation.rules,
            False,
            suppressed=validation.suppressed,
        )
    problems = ProblemCollector()
    declarations = read_declarations(validation.root, kb.knowledge, problems)
    verifier = Verifier(kb, declarations, samples=samples, budget=budget, seed=seed)
    found = {id(f.problem): f for f in verifier.run()}
    kept, suppressed = suppress(
        [f.problem for f in found.values()], validation.suppressions, "check"
    )
    findings.extend(found.get(id(p)) or Finding(p) for p in kept)
    order = {name: index for index, name in enumerate(validation.files)}
    findings.sort(
        key=lambda f: (
            order.get(f.problem.location.path, len(order)),
            f.problem.location.path,
            f.problem.location.line,
            f.problem.location.column,
            f.problem.code,
        )
    )
    return Check(
        validation.root,
        tuple(findings),
        validation.files,
        validation.rules,
        True,
        verifier.stats,
        (*validation.suppressed, *suppressed),
    )


class Verifier:
    """The checks that need the whole rule base and the engine."""

    def __init__(
        self,
        kb: KnowledgeBase,
        declarations: Declarations | None = None,
        *,
        samples: int = DEFAULT_SAMPLES,
        budget: int = DEFAULT_BUDGET,
        seed: int = 0,
    ):
        self.kb = kb
        self.declarations = declarations or Declarations()
        extra = tuple(f.when for rule in self.declarations.never for f in rule.forbid)
        self.solver = Solver(kb, extra, budget)
        self.samples = samples
        self.seed = seed
        self.stats: dict[str, Any] = {"searches": 0, "combinations": 0, "undecided": 0}
        self._engine: Engine | None = None
        self._coverage: Coverage | None = None

    @property
    def coverage(self) -> Coverage:
        """Which patients fire each rule (examples, generated patients, search)."""
        if self._coverage is None:
            self._coverage = coverage(
                self.kb, self.solver, samples=self.samples, seed=self.seed, search=False
            )
            self.stats["generated"] = self.samples
        return self._coverage

    def find(self, target: Condition) -> Search:
        """Search, counting the work done."""
        result = self.solver.find(target)
        self.stats["searches"] += 1
        self.stats["combinations"] += result.nodes
        self.stats["undecided"] += result.status == "undecided"
        return result

    def run(self) -> list[Finding]:
        """Every check, in the order of the module's list."""
        dead = self.dead_rules()
        live = [r for r in self.kb.rules if r.id not in {d for d, _ in dead}]
        return [
            *(finding for _, finding in dead),
            *self.unreached(),
            *self.redundant(live),
            *self.conflicts(),
            *self.never(),
            *self.wording(),
            *self.certainty(),
        ]

    # --- rules that never fire ----------------------------------------------------------------
    def dead_rules(self) -> list[tuple[str, Finding]]:
        """R404: rules that no example, no generated patient and no search makes fire."""
        out: list[tuple[str, Finding]] = []
        for entry in self.coverage.rules:
            if entry.witness is not None:
                continue
            rule = entry.rule
            result = self.find(rule.when)
            entry.search = result
            if result.witness is not None:
                entry.witness, entry.source = result.witness, "search"
                continue
            if result.status == "impossible" and result.logical:
                message = (
                    f"rule {rule.id} can never fire: no values of the facts satisfy its conditions"
                )
                hint = "its conditions contradict each other or what the conclusions it tests need"
            elif result.status == "impossible":
                message = (
                    f"rule {rule.id} can never fire: the facts it needs never come together in "
                    "a patient file"
                )
                hint = "e.g. a drug's start date without the drug, a corrected calcium without a calcium"
            else:
                message = (
                    f"rule {rule.id} fired on no patient: not on an example, not on "
                    f"{self.samples} generated patients, nor on {result.nodes} combinations searched"
                )
                hint = "simplify its conditions, or add an example where it fires"
            out.append((rule.id, Finding(Problem("R404", message, rule.location, hint))))
        return out

    # --- conclusions nobody reaches -----------------------------------------------------------
    def unreached(self) -> list[Finding]:
        """K402: conclusions some rule concludes but no patient reaches."""
        reached: set[str] = set()
        for entry in self.coverage.rules:
            if entry.witness is not None:
                outcome = self.solver.outcome(entry.witness.facts)
                reached |= {c for c in entry.rule.then.conclude if outcome.concluded(c)}
        out = []
        for cid, definition in self.kb.knowledge.conclusions.items():
            concluders = self.solver.evaluator.concluders(cid)
            if not concluders or cid in reached:
                continue  # no rule at all is K401 (kb validate)
            result = self.find(ConcludedCondition(cid, Location("")))
            if result.status == "found":
                continue
            names = ", ".join(r.id for r in concluders)
            proof = "no patient" if result.status == "impossible" else "no patient found"
            out.append(
                Finding(
                    Problem(
                        "K402",
                        f"{proof} reaches {definition.kind.replace('_', ' ')} '{cid}': "
                        f"its rules ({names}) never fire, or it is excluded whenever they do",
                        definition.location,
                        "see R404 on its rules, or the rules that exclude it",
                    )
                )
            )
        return out

    # --- redundant rules ----------------------------------------------------------------------
    def redundant(self, live: list[Rule]) -> list[Finding]:
        """R405 and R411: rules that only fire with another rule.

        R405: a rule that only fires with another that concludes at least as much. R411: a rule that only fires with another rule of another family concluding the same
        cause: the one piece of evidence would be counted twice (clinical brief 8.8).

        Within one evidence family only the strongest member counts, so a refinement that raises
        a cause's certainty (`estrogen-recent-start` beside `estrogen-cause`) is declared by
        putting both rules in one family; outside a family it is reported.
        """
        kinds = {cid: c.kind for cid, c in self.kb.knowledge.conclusions.items()}
        out: list[Finding] = []
        reported: set[tuple[str, str]] = set()
        for rule in live:
            causes = {c for c in rule.then.conclude if kinds.get(c) == "cause"}
            for other in live:
                if other.id == rule.id or (other.id, rule.id) in reported:
                    continue
                if rule.evidence_family == other.evidence_family:
                    continue  # one family: only its strongest member counts
                shared = sorted(causes & set(other.then.conclude))
                subsumed = (
                    set(rule.then.conclude) <= set(other.then.conclude)
                    and set(rule.then.exclude) <= set(other.then.exclude)
                    and other.then.certainty >= rule.then.certainty
                )
                if not shared and (causes or not subsumed):
                    continue
                if not self._implies(rule, other):
                    continue
                if shared:
                    reported.add((rule.id, other.id))
                    out.append(
                        Finding(
                            Problem(
                                "R411",
                                f"rule {rule.id} restates the evidence of {other.id}: whenever it "
                                f"fires, {other.id} fires too and also concludes "
                                f"{', '.join(shared)}, so that evidence is counted twice",
                                rule.location,
                                f"put both rules in one family (`family: {other.evidence_family}`), "
                                "so that only the stronger counts",
                            )
                        )
                    )
                    break
                same = (rule.produced(), rule.then.certainty) == (
                    other.produced(),
                    other.then.certainty,
                )
                if same and rule.id < other.id and self._implies(other, rule):
                    continue  # two rules that say the same thing: reported once, at the later
                reported.add((rule.id, other.id))
                out.append(
                    Finding(
                        Problem(
                            "R405",
                            f"rule {rule.id} adds nothing: whenever it fires, {other.id} "
                            f"fires too and concludes {', '.join(sorted(rule.produced()))}",
                            rule.location,
                            f"remove it, or fold what it says into {other.id}",
                        )
                    )
                )
                break
        return out

    def _implies(self, rule: Rule, other: Rule) -> bool:
        """Whether `other` fires whenever `rule` does (read off the conditions, or searched)."""
        if implies(rule.when, other.when):
            return True
        return self.find(all_of(rule.when, none_of(other.when))).status == "impossible"

    # --- conclusions that exclude each other --------------------------------------------------
    def conflicts(self) -> list[Finding]:
        """R406: two conclusions that exclude each other, reached for one patient."""
        out: list[Finding] = []
        for first, second, declared in self.declarations.exclusive_pairs():
            target = all_of(
                ConcludedCondition(first, Location("")), ConcludedCondition(second, Location(""))
            )
            result = self.find(target)
            if result.witness is None:
                continue
            outcome = self.solver.outcome(result.witness.facts)
            # The rule that reached the declaration's subject is the one to change (idiopathic
            # must leave out every secondary cause, not the other way round).
            subject = self._fired_concluder(outcome, first)
            other = self._fired_concluder(outcome, second)
            pair = {first, second}
            confirmed = self._confirm(result.witness, _concludes_all(pair))
            out.append(
                Finding(
                    Problem(
                        "R406",
                        f"rule {subject.id if subject else '?'} concludes '{first}' for a patient "
                        f"for whom rule {other.id if other else '?'} concludes '{second}', but "
                        f"they exclude each other: {declared.why}",
                        subject.location if subject else declared.location,
                        f"add a condition that keeps them apart (declared at {declared.location})",
                    ),
                    result.witness.patient,
                    confirmed,
                )
            )
        for cause in sorted({c for r in self.kb.rules for c in r.then.exclude}):
            concluders = self.solver.evaluator.concluders(cause)
            excluders = self.solver.evaluator.excluders(cause)
            if not concluders:
                continue
            target = all_of(
                any_of(*(r.when for r in concluders)), any_of(*(r.when for r in excluders))
            )
            result = self.find(target)
            if result.witness is None:
                continue
            outcome = self.solver.outcome(result.witness.facts)
            concluder = next(r for r in concluders if outcome.rule_truth[r.id])
            excluder = next(r for r in excluders if outcome.rule_truth[r.id])
            confirmed = self._confirm(result.witness, _concluded_and_excluded(cause))
            out.append(
                Finding(
                    Problem(
                        "R406",
                        f"rule {concluder.id} concludes '{cause}' for a patient for whom rule "
                        f"{excluder.id} excludes it",
                        concluder.location,
                        f"a measurement that excludes {cause} should keep {concluder.id} from firing",
                    ),
                    result.witness.patient,
                    confirmed,
                )
            )
        return out

    def _fired_concluder(self, outcome: Any, cid: str) -> Rule | None:
        return next(
            (r for r in self.solver.evaluator.concluders(cid) if outcome.rule_truth[r.id]), None
        )

    # --- never-rules --------------------------------------------------------------------------
    def never(self) -> list[Finding]:
        """R407: every rule that can conclude what a never-rule forbids, with the patient."""
        out: list[Finding] = []
        for never in self.declarations.never:
            for forbid in never.forbid:
                for cid in forbid.conclude:
                    for rule in self.solver.evaluator.concluders(cid):
                        concluded = ConcludedCondition(cid, Location(""))
                        result = self.find(all_of(rule.when, concluded, forbid.when))
                        if result.witness is None:
                            continue
                        when = forbid.when

                        def broken(
                            result_: Consultation,
                            facts: dict[str, Any],
                            _c: str = cid,
                            _w: Condition = when,
                        ) -> bool:
                            seen = result_.concluded | result_.asserted
                            return _c in result_.concluded and evaluate(_w, facts, seen)

                        out.append(
                            Finding(
                                Problem(
                                    "R407",
                                    f"rule {rule.id} can conclude {cid} while "
                                    f"{_describe(forbid.when)}: that breaks the never-rule "
                                    f"'{never.id}' ({never.contract})",
                                    rule.location,
                                    f"add to its conditions what keeps {cid} out (declared at "
                                    f"{forbid.location})",
                                ),
                                result.witness.patient,
                                self._confirm(result.witness, broken),
                            )
                        )
        return out

    def wording(self) -> list[Finding]:
        """K403: a conclusion whose text says what a never-rule forbids."""
        out = []
        for never in self.declarations.never:
            for item in never.wording:
                for cid, definition in self.kb.knowledge.conclusions.items():
                    if not item.applies_to(cid, definition.kind):
                        continue
                    text = " ".join(
                        (
                            definition.label,
                            definition.description,
                            definition.text,
                            definition.action,
                        )
                    )
                    for phrase in item.said(text):
                        out.append(
                            Finding(
                                Problem(
                                    "K403",
                                    f"the text of '{cid}' says '{phrase}': that breaks the "
                                    f"never-rule '{never.id}' ({never.contract})",
                                    definition.location,
                                    f"reword it (declared at {item.location})",
                                )
                            )
                        )
        return out

    # --- certainty ----------------------------------------------------------------------------
    def certainty(self) -> list[Finding]:
        """R408: conclusions whose certainty can never reach the threshold.

        Certainty does not travel along chains here: a rule testing `concluded: X` reads X as
        concluded once a rule concluded it, and the result lists X from the threshold up. Each
        rule's certainty is at least the threshold (the loader refuses less, R204), so every
        chain passes; this check holds that in place for a knowledge base built another way.
        """
        threshold = self.kb.knowledge.certainty_threshold
        out = []
        for cid in sorted({c for r in self.kb.rules for c in r.then.conclude}):
            concluders = self.solver.evaluator.concluders(cid)
            best = combine(r.then.certainty for r in concluders)
            for rule in concluders:
                if rule.then.certainty >= threshold:
                    continue
                alone = best < threshold
                consumers = [c.id for c in self.solver.evaluator.consumers(cid)]
                out.append(
                    Finding(
                        Problem(
                            "R408",
                            f"rule {rule.id} concludes {cid} with certainty "
                            f"{rule.then.certainty:g}, below the threshold {threshold:g}"
                            + (
                                f": no combination of its rules reaches it ({best:.2f})"
                                if alone
                                else ""
                            )
                            + (
                                f"; rules {', '.join(consumers)} chain on a conclusion the "
                                "result may not show"
                                if consumers
                                else ""
                            ),
                            rule.location,
                            f"certainty must be at least {threshold:g} (settings.yaml)",
                        )
                    )
                )
        return out

    # --- the engine ---------------------------------------------------------------------------
    def _confirm(self, witness: Witness, shows: Shows) -> bool:
        """Run the engine on a witness; True when the result shows the problem."""
        if self._engine is None:
            self._engine = Engine(compile_knowledge_base(self.kb))
        facts = dict(witness.facts)
        result = build_result(self.kb, PatientFacts(None, facts), self._engine.run(facts), "")
        return bool(shows(result, facts))


Shows = Callable[[Consultation, dict[str, Any]], bool]
"""Whether a result on a witness's facts shows the problem found."""


def _concludes_all(ids: set[str]) -> Shows:
    return lambda result, _facts: ids <= result.concluded


def _concluded_and_excluded(cause: str) -> Shows:
    return lambda result, _facts: (
        cause in result.excluded_ids and any(warning.code == "W100" for warning in result.warnings)
    )


def _describe(condition: Condition) -> str:
    text = condition.describe()
    if text.startswith("all(") and text.endswith(")") and text.count("all(") == 1:
        text = text[4:-1]
    return text


def write_witnesses(result: Check, directory: Path) -> list[Path]:
    """Write each finding's patient as a patient file in `directory`; return the files written.

    Named `<code>-<n>.yaml`, each headed by the finding, so that `cramp-expert consult` on it
    shows the problem.
    """
    written: list[Path] = []
    for finding in result.findings:
        if finding.witness is None:
            continue
        if not written:
            directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{finding.problem.code}-{len(written) + 1}.yaml"
        write_atomically(path, dump_yaml(finding.witness, finding.problem.render()))
        written.append(path)
    return written


__all__ = ["Check", "Finding", "Verifier", "check", "write_witnesses"]
