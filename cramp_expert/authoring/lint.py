"""Validate a knowledge base as `cramp-expert kb validate` does: every problem, in one run.

The loader (`cramp_expert.kb.loader`) already refuses whatever the engine could misread: YAML
syntax, duplicate keys, unknown keys, wrong types, unknown names, operators that do not fit the
fact, duplicate ids, cycles. It reports every file, knowledge and rules alike, before giving up.
This module adds the checks an author needs and the engine does not:

- R308: a threshold outside the fact's range (the condition is constant);
- R409: a reason that cites a fact the rule never looks at (an unfaithful explanation);
- R410: a lab threshold that looks like it is in another unit;
- R402: a test of a conclusion that no rule concludes (the condition is constant);
- R403: conditions of one `all` that can never hold together (the rule, or branch, is dead);
- R501/R502: no example where the rule fires, or none where it does not;
- P…: an example's `patient:` block that is not a valid patient file;
- K401: a conclusion of knowledge/ that no rule concludes;
- K404/K405: a conclusion a patient can receive without words for the handout, or words for the
  patient in jargon (`cramp_expert.kb.handout`; only for a knowledge base that has
  knowledge/handout.yaml);
- K2xx, K301 and rule codes in knowledge/properties.yaml (the declarations `kb check` verifies).

Every stage runs on what could be read: a rule read with problems (`evidence: low`) is still
checked for the rest (its examples, thresholds, contradictions), and the checks across rules run
when every rule file gave a rule, whole or partial. A part of a rule read with problems is not
checked further (its examples, when an example had a problem), so no problem is reported that is
only the echo of another.

A rule file's `suppress:` entries silence the named findings about that file: they are counted
as suppressed, not reported. An entry whose code the run checks but found nowhere in the file is
R603 (`kb check` judges the codes only it checks, `verify.checks`).

Nothing is compiled and experta is never imported, so validation takes a fraction of a second.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cramp_expert.authoring import BadArgument
from cramp_expert.errors import InputError, Location, Problem, ProblemCollector
from cramp_expert.kb.declarations import FILE as DECLARATIONS
from cramp_expert.kb.declarations import read_declarations
from cramp_expert.kb.handout import FILE as HANDOUT
from cramp_expert.kb.handout import check_lay_wording, read_handout_wording
from cramp_expert.kb.knowledge import FactDef, Knowledge
from cramp_expert.kb.loader import KnowledgeBaseReading, default_root, read_knowledge_base
from cramp_expert.kb.model import (
    PLACEHOLDER,
    ConcludedCondition,
    ConditionGroup,
    FactCondition,
    Rule,
    Suppression,
    walk,
)
from cramp_expert.kb.operators import EVERY_NUMBER, intersect, is_empty, operator, within
from cramp_expert.patient import read_patient
from cramp_expert.patient.inputs import fact_inputs
from cramp_expert.problems import CODES
from cramp_expert.source import Document


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one knowledge base."""

    root: Path
    problems: tuple[Problem, ...]
    """Every problem, by file (knowledge files first, then rules) and position."""
    files: tuple[str, ...]
    """Every file checked, as problems name them (relative to `root`)."""
    rules: int
    """How many rules were read (valid or not)."""
    suppressed: tuple[Problem, ...] = ()
    """The problems a rule file's `suppress:` silenced (counted, not reported)."""
    suppressions: tuple[tuple[str, Suppression], ...] = ()
    """Every (rule file, suppression) read, for `kb check` to apply to its own findings."""

    @property
    def ok(self) -> bool:
        """True when no problem is an error (warnings do not fail a validation)."""
        return not self.errors

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity error."""
        return tuple(p for p in self.problems if p.severity == "error")

    def relative_to(self, directory: Path) -> Validation:
        """The same validation with paths as seen from `directory` (the current one, usually).

        Problems name files relative to the knowledge base's root; an editor or a CI annotation
        needs them relative to where the command ran.
        """
        if self.root.resolve() == directory.resolve():
            return self
        return replace(
            self,
            problems=tuple(
                replace(
                    p, location=replace(p.location, path=self.display(p.location.path, directory))
                )
                for p in self.problems
            ),
            files=tuple(self.display(f, directory) for f in self.files),
            suppressed=tuple(
                replace(
                    p, location=replace(p.location, path=self.display(p.location.path, directory))
                )
                for p in self.suppressed
            ),
        )

    def display(self, path: str, directory: Path) -> str:
        """`path` (relative to the root) as seen from `directory`; absolute when outside it."""
        full = (self.root / path).resolve()
        relative = os.path.relpath(full, directory.resolve())
        return str(full) if relative.startswith("..") else relative


def knowledge_base_root(path: Path | None) -> Path:
    """The folder to validate: `path`, or the bundled knowledge base; refuse a folder without one.

    Raises:
        BadArgument: `path` holds neither rules/ nor knowledge/.
    """
    root = path if path is not None else default_root()
    if not (root / "rules").is_dir() and not (root / "knowledge").is_dir():
        raise BadArgument(f"{root} is not a knowledge base: it has no rules/ or knowledge/ folder")
    return root


def validate(root: Path | None = None) -> Validation:
    """Check every file of the knowledge base under `root` and return every problem found.

    Raises:
        BadArgument: `root` holds neither rules/ nor knowledge/.
    """
    reading = read_knowledge_base(knowledge_base_root(root))
    problems = ProblemCollector(list(reading.problems))
    every_rule = [*reading.rules, *reading.partial]
    # Each check of knowledge/ runs when the tables it names were read: a broken
    # references.yaml does not hide a mistake in properties.yaml or the handout's words.
    unread = reading.knowledge.incomplete
    if not {"conclusions", "facts"} & unread:
        read_declarations(reading.root, reading.knowledge, problems)
    wording = read_handout_wording(reading.root, problems)
    if wording is not None and "conclusions" not in unread:
        check_lay_wording(reading.knowledge, wording, [r.id for r in every_rule], problems)
    for rule in every_rule:
        check_rule(rule, reading.knowledge, problems, reading.damaged.get(rule.path, frozenset()))
    if reading.readable:
        # Who concludes what is only known when every rule file gave a rule (whole or partial).
        check_chaining(reading, problems)
    files = list(reading.files)
    for optional in (DECLARATIONS, HANDOUT):
        if (reading.root / "knowledge" / optional).is_file():
            # After the other knowledge files, before the rules (the order problems are listed in).
            files.insert(
                sum(1 for f in files if f.startswith("knowledge/")), f"knowledge/{optional}"
            )
    suppressions = tuple((rule.path, s) for rule in every_rule for s in rule.suppress)
    kept, suppressed = suppress(problems.problems, suppressions, "validate")
    order = {name: index for index, name in enumerate(files)}
    rule_files = sum(1 for name in files if not name.startswith("knowledge/"))
    return Validation(
        reading.root,
        tuple(sorted(kept, key=lambda p: in_order(p, order))),
        tuple(files),
        rule_files,
        tuple(sorted(suppressed, key=lambda p: in_order(p, order))),
        suppressions,
    )


def in_order(problem: Problem, order: dict[str, int]) -> tuple[int, str, int, int, str]:
    """Sort key: by file (in `order`, the order files are read in), then position and code."""
    location = problem.location
    return (
        order.get(location.path, len(order)),
        location.path,
        location.line,
        location.column,
        problem.code,
    )


def suppress(
    problems: Iterable[Problem],
    suppressions: Iterable[tuple[str, Suppression]],
    stage: str,
) -> tuple[list[Problem], list[Problem]]:
    """Split `problems` into those reported and those a rule file's `suppress:` silences.

    Adds R603 for each suppression of a code of `stage` ("validate" or "check": the codes the
    run checks) that no problem in its file has: a stale suppression would hide the next,
    unrelated finding.
    """
    silenced: dict[str, dict[str, Suppression]] = defaultdict(dict)
    for path, entry in suppressions:
        silenced[path][entry.code] = entry
    kept: list[Problem] = []
    dropped: list[Problem] = []
    used: set[tuple[str, str]] = set()
    for problem in problems:
        path = problem.location.path
        if problem.code in silenced.get(path, {}):
            dropped.append(problem)
            used.add((path, problem.code))
        else:
            kept.append(problem)
    for path, entries in silenced.items():
        for code, entry in entries.items():
            if CODES[code].stage == stage and (path, code) not in used:
                kept.append(
                    Problem(
                        "R603",
                        f"{code} is suppressed, but this run found no {code} in the file",
                        entry.location,
                        "remove the suppression",
                    )
                )
    return kept, dropped


# --- one rule ---------------------------------------------------------------------------------
def check_rule(
    rule: Rule,
    knowledge: Knowledge,
    problems: ProblemCollector,
    damaged: frozenset[str] = frozenset(),
) -> None:
    """The checks that need only one rule and the knowledge it names.

    `damaged` names the parts of a rule read with problems: its examples are not judged
    (R501/R502) when one of them could not be read.
    """
    for condition in rule.fact_conditions():
        fact = knowledge.fact(condition.fact)
        constant = _constant_threshold(condition, fact) if fact is not None else ""
        if fact is not None and fact.range is not None and constant:
            low, high = fact.range
            problems.add(
                "R308",
                f"'{condition.describe()}' {constant}: {fact.id} is between "
                f"{low:g} and {high:g} {fact.unit}".rstrip(),
                condition.location,
                f"thresholds are in {fact.id}'s unit, {fact.unit}"
                if fact.unit
                else "check the threshold against the fact's range",
            )
    for condition in rule.fact_conditions():
        fact = knowledge.fact(condition.fact)
        other = _other_unit(condition, knowledge)
        if other and fact is not None and not _constant_threshold(condition, fact):
            problems.add(
                "R410",
                f"'{condition.describe()}' is not a plausible {condition.fact} in "
                f"{knowledge.facts[condition.fact].unit}: {other}",
                condition.location,
                f"thresholds are in {knowledge.facts[condition.fact].unit}; convert it",
            )
    for conflict, location in _contradictions(rule.when, knowledge):
        problems.add(
            "R403",
            f"these conditions can never all hold: {conflict}",
            location,
            "the rule (or this branch of it) can never fire",
        )
    anchor = rule.examples[0].location if rule.examples else rule.location
    if "examples" in damaged:
        pass  # an example that could not be read may be the one that fires
    elif not any(example.fires is True for example in rule.examples):
        problems.add(
            "R501",
            f"rule {rule.id} has no example where it fires",
            anchor,
            "add an example with 'fires: true'",
        )
    if "examples" not in damaged and not any(example.fires is False for example in rule.examples):
        problems.add(
            "R502",
            f"rule {rule.id} has no example where it does not fire",
            anchor,
            "add an example with 'fires: false' (the nearest case that must not fire)",
        )
    for index, example in enumerate(rule.examples):
        if example.patient is None or "facts" in knowledge.incomplete:
            continue  # without every fact, a valid patient file would look wrong
        prefix = f"examples[{index}].patient"
        try:
            read_patient(Document(rule.path, example.patient, example.patient_positions), knowledge)
        except InputError as exc:
            for problem in exc.problems:
                key = problem.location.key
                where = replace(problem.location, key=f"{prefix}.{key}" if key else prefix)
                problems.add(problem.code, problem.message, where, problem.hint)


def _other_unit(condition: FactCondition, knowledge: Knowledge) -> str:
    """How a lab threshold outside the analyte's plausible range reads in another unit, or ""."""
    analyte = knowledge.analytes.get(condition.fact.removeprefix("labs."))
    if not condition.fact.startswith("labs.") or analyte is None:
        return ""
    low, high = analyte.plausible
    refs = operator(condition.op).edges(condition.value)  # none for a test without a threshold
    strange = [r for r in refs if not low <= r <= high]
    if not strange:
        return ""
    readings = [
        f"{value:g} {unit.name} = {(value - unit.offset) * unit.factor:.3g} {analyte.unit}"
        for value in strange
        for unit in analyte.units
        if unit.name != analyte.unit and low <= (value - unit.offset) * unit.factor <= high
    ]
    where = f"values are read between {low:g} and {high:g} {analyte.unit}"
    return where + (f"; as {readings[0]}?" if readings else "")


def _constant_threshold(condition: FactCondition, fact: FactDef) -> str:
    """Say how a threshold outside the fact's range makes the condition constant, or ""."""
    interval = operator(condition.op).interval(condition.value)
    if fact.type != "number" or fact.range is None or interval is None:
        return ""
    low, high = fact.range
    known = (float(low), True, float(high), True)  # the values the fact can take
    never = is_empty(intersect(interval, known))
    always = within(known, interval)
    if never:
        return "can never hold"
    if always:
        return "always holds when the fact is known"
    return ""


# --- contradictions ---------------------------------------------------------------------------
def _contradictions(group: ConditionGroup, knowledge: Knowledge) -> list[tuple[str, Location]]:
    """Every `all` (with the `all`s nested in it) whose conditions on one fact cannot all hold."""
    found: list[tuple[str, Location]] = []
    if group.kind != "all":
        for item in group.items:
            if isinstance(item, ConditionGroup):
                found.extend(_contradictions(item, knowledge))
        return found
    conditions: dict[str, list[FactCondition]] = defaultdict(list)
    for item in group.conjuncts():
        if isinstance(item, FactCondition):
            conditions[item.fact].append(item)
        elif isinstance(item, ConditionGroup):
            found.extend(_contradictions(item, knowledge))
    for fact_id, tests in conditions.items():
        fact = knowledge.fact(fact_id)
        if fact is not None and len(tests) > 1 and not _satisfiable(tests, fact):
            found.append(("; ".join(t.describe() for t in tests), tests[-1].location))
    return found


def _satisfiable(tests: Sequence[FactCondition], fact: FactDef) -> bool:
    """Can one value of `fact` (or its being unknown) meet every test?"""
    known = [t.value for t in tests if operator(t.op).presence]
    valued = [t for t in tests if not operator(t.op).presence]
    if False in known:
        # Unknown holds only when nothing else needs a value.
        return True not in known and not valued
    if fact.type == "number":
        return _number_satisfiable(valued)
    if fact.type in ("bool", "choice"):
        values: set[object] = {True, False} if fact.type == "bool" else set(fact.values)
        for test in valued:
            values &= operator(test.op).choices(test.value) or set()
        return bool(values)
    only: set[str] = set(fact.values)
    for test in valued:
        items = operator(test.op).within(test.value)
        if items is not None:
            only &= items
    return bool(only) and all(
        meets & only for t in valued if (meets := operator(t.op).meets(t.value)) is not None
    )


def _number_satisfiable(tests: Iterable[FactCondition]) -> bool:
    accepted = EVERY_NUMBER
    for test in tests:
        interval = operator(test.op).interval(test.value)
        if interval is not None:
            accepted = intersect(accepted, interval)
    return not is_empty(accepted)


# --- across rules -----------------------------------------------------------------------------
def check_chaining(reading: KnowledgeBaseReading, problems: ProblemCollector) -> None:
    """The checks that need every rule: tests of conclusions nobody reaches, unused conclusions."""
    rules = [*reading.rules, *reading.partial]
    concluded = {cid for rule in rules for cid in rule.then.conclude}
    looked_at = facts_looked_at(rules)
    for rule in rules:
        if {"when", "then"} & reading.damaged.get(rule.path, frozenset()):
            continue  # a condition that could not be read may be the one the reason cites
        for name in dict.fromkeys(PLACEHOLDER.findall(rule.then.reason)):
            if name in reading.knowledge.facts and name not in looked_at[rule.id]:
                problems.add(
                    "R409",
                    f"the reason cites {{{name}}}, which rule {rule.id} never looks at "
                    "(not in its conditions nor in the chains they test)",
                    rule.location,
                    "cite a fact the rule tests, or test the fact the reason relies on",
                )
    for rule in rules:
        for condition in walk(rule.when):
            if isinstance(condition, ConcludedCondition) and condition.conclusion not in concluded:
                problems.add(
                    "R402",
                    f"no rule concludes '{condition.conclusion}', so this test never changes",
                    condition.location,
                    "write a rule that concludes it, or test something a rule concludes",
                )
    for conclusion in reading.knowledge.conclusions.values():
        if conclusion.id not in concluded:
            problems.add(
                "K401",
                f"no rule concludes {conclusion.kind.replace('_', ' ')} '{conclusion.id}'",
                conclusion.location,
                "write a rule that concludes it, or remove it",
            )


def facts_looked_at(rules: list[Rule]) -> dict[str, set[str]]:
    """Rule id -> every fact the rule looks at.

    Its own tests, the entries a derived fact it tests is computed from, and, down the chains,
    what the rules whose conclusions it tests look at.
    """
    producers: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        for cid in rule.produced():
            producers[cid].append(rule)
    found: dict[str, set[str]] = {}

    def visit(rule: Rule) -> set[str]:
        if rule.id not in found:
            found[rule.id] = set()  # a cycle is R401; it only stops the walk here
            facts = {c.fact for c in rule.fact_conditions()}
            facts |= {i for f in list(facts) for i in fact_inputs(f)}
            for cid in rule.consumed():
                for producer in producers.get(cid, []):
                    facts |= visit(producer)
            found[rule.id] = facts
        return found[rule.id]

    for rule in rules:
        visit(rule)
    return found
