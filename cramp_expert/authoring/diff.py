"""What a change to the knowledge base does: to the rules, and to real cases (`kb diff`).

Compares two knowledge bases (folders holding rules/ and knowledge/, or git revisions of this
repository): the rules added, removed and changed (field by field), the knowledge that changed
(facts, conclusions, references, drug classes, settings), and, for every patient file of a
folder, which conclusions appear, disappear or change certainty. Clinicians reviewing a change
read this, so the text output is Markdown that can be pasted into a pull request.

Each side is loaded into its own `Consultant` and the cases are run on one side, then on the
other: one compiled engine at a time.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cramp_expert.api import Consultant
from cramp_expert.authoring import BadArgument
from cramp_expert.authoring.catalogue import example_lines, when_lines
from cramp_expert.errors import InputError, KnowledgeBaseError
from cramp_expert.kb import KnowledgeBase, Rule
from cramp_expert.kb.cache import forget
from cramp_expert.result import Cause, Consultation
from cramp_expert.source import Document, load_file

SECTIONS = {
    "red_flags": "red flag",
    "causes": "cause",
    "differentials": "differential",
    "recommendations": "recommendation",
    "investigations": "investigation",
    "excluded": "excluded cause",
}
"""The result's lists, and what one entry of each is called."""

CASE_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Side:
    """One knowledge base being compared: where it is read from and how it is named."""

    root: Path
    label: str


@dataclass
class RuleChange:
    """One changed rule: each field that differs, old and new."""

    rule_id: str
    path: str
    fields: list[tuple[str, Any, Any]]


@dataclass
class CaseChange:
    """What one patient file concludes differently."""

    path: str
    appeared: list[tuple[str, str, float | None]] = field(default_factory=list)
    """(section, id, certainty) concluded with the new knowledge base only."""
    disappeared: list[tuple[str, str, float | None]] = field(default_factory=list)
    certainty: list[tuple[str, float, float]] = field(default_factory=list)
    """(cause id, old certainty, new certainty)."""
    errors: dict[str, str] = field(default_factory=dict)
    """Side label -> why the file could not be consulted with that knowledge base."""

    @property
    def changed(self) -> bool:
        """True when the case reads differently."""
        return bool(self.appeared or self.disappeared or self.certainty or self.errors)


@dataclass
class KnowledgeBaseDiff:
    """Everything `kb diff` reports."""

    old: str
    new: str
    added: list[Rule]
    removed: list[Rule]
    changed: list[RuleChange]
    knowledge: list[str]
    cases: list[CaseChange] | None
    cases_dir: str = ""


# --- the two sides ----------------------------------------------------------------------------
@contextmanager
def open_side(spec: str, workdir: Path) -> Iterator[Side]:
    """A folder as it is, or a git revision exported (rules/ and knowledge/) to a temporary one.

    Raises:
        BadArgument: `spec` is neither a knowledge-base folder nor a revision of the git
            repository around `workdir`.
    """
    path = Path(spec)
    if path.is_dir():
        if not (path / "rules").is_dir() and not (path / "knowledge").is_dir():
            raise BadArgument(f"{spec} is not a knowledge base: it has no rules/ or knowledge/")
        yield Side(path, spec)
        return
    archive = _git_archive(spec, workdir)
    with tempfile.TemporaryDirectory(prefix="cramp-kb-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")  # NOTE: 'data' refuses links and paths out of tmp
        try:
            yield Side(Path(tmp), spec)
        finally:
            forget(Path(tmp))  # its parsed-knowledge cache would outlive the folder


def _git_archive(revision: str, workdir: Path) -> bytes:
    git = shutil.which("git")
    problem = f"{revision} is neither a folder nor a git revision"
    if git is None or revision.startswith("-"):
        raise BadArgument(problem)

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([git, *args], cwd=workdir, capture_output=True, check=False)

    top = run("rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise BadArgument(f"{problem} (not inside a git repository)")
    if run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").returncode != 0:
        raise BadArgument(problem)
    exported = subprocess.run(
        [git, "archive", "--format=tar", revision, "--", "rules", "knowledge"],
        cwd=top.stdout.decode().strip(),
        capture_output=True,
        check=False,
    )
    if exported.returncode != 0:
        raise BadArgument(f"{revision} has no rules/ or knowledge/ folder")
    return exported.stdout


def _consultant(side: Side) -> Consultant:
    """Load one side; its problems name the side, so the reader knows which one is broken."""
    try:
        return Consultant(side.root)
    except KnowledgeBaseError as exc:
        raise KnowledgeBaseError(
            [
                replace(p, location=replace(p.location, path=f"{side.label}: {p.location.path}"))
                for p in exc.problems
            ]
        ) from None


# --- comparing --------------------------------------------------------------------------------
def diff(
    old_spec: str, new_spec: str, cases_dir: Path | None = None, workdir: Path | None = None
) -> KnowledgeBaseDiff:
    """Compare two knowledge bases and, with `cases_dir`, what they conclude for its patients.

    Raises:
        BadArgument: a side is neither a knowledge-base folder nor a git revision.
        KnowledgeBaseError: a side does not load (its problems name the side).
    """
    workdir = workdir or Path.cwd()
    cases = _case_files(cases_dir) if cases_dir is not None else []
    with open_side(old_spec, workdir) as old_side:
        old = _consultant(old_side)
        old_results = {name: _consult(old, document) for name, document in cases}
        old_kb = old.kb
        del old  # one compiled engine at a time
    with open_side(new_spec, workdir) as new_side:
        new = _consultant(new_side)
        new_results = {name: _consult(new, document) for name, document in cases}
        new_kb = new.kb
    added, removed, changed = compare_rules(old_kb, new_kb)
    case_changes = None
    if cases_dir is not None:
        case_changes = [
            compare_case(name, old_results[name], new_results[name], old_spec, new_spec)
            for name, _ in cases
        ]
    return KnowledgeBaseDiff(
        old=old_spec,
        new=new_spec,
        added=added,
        removed=removed,
        changed=changed,
        knowledge=compare_knowledge(old_kb, new_kb),
        cases=case_changes,
        cases_dir=str(cases_dir) if cases_dir is not None else "",
    )


def _case_files(directory: Path) -> list[tuple[str, Document | InputError]]:
    """Every patient file under `directory` (a vignette's `patient:` part is its patient)."""
    if not directory.is_dir():
        raise BadArgument(f"{directory} is not a folder of patient files")
    files: list[tuple[str, Document | InputError]] = []
    for path in sorted(p for p in directory.rglob("*") if p.suffix in CASE_SUFFIXES):
        name = path.relative_to(directory).as_posix()
        try:
            document = load_file(path, name)
        except InputError as exc:
            files.append((name, exc))
            continue
        data = document.data
        if isinstance(data, dict) and isinstance(data.get("patient"), dict) and "expect" in data:
            document = Document(
                name,
                data["patient"],
                {k[1:]: v for k, v in document.positions.items() if k[:1] == ("patient",)},
                {k[1:]: v for k, v in document.raw.items() if k[:1] == ("patient",)},
            )
        files.append((name, document))
    return files


def _consult(consultant: Consultant, document: Document | InputError) -> Consultation | str:
    """The conclusions of one case, or why it could not be consulted."""
    if isinstance(document, InputError):
        return document.problems[0].render()
    try:
        result = consultant.consult(document)
    except InputError as exc:
        return "; ".join(p.render() for p in exc.problems)
    return result


def _conclusions(result: Consultation) -> dict[tuple[str, str], float | None]:
    found: dict[tuple[str, str], float | None] = {
        (section, item.id): item.certainty if isinstance(item, Cause) else None
        for section, item in result.items()
    }
    return found | {("excluded", item.id): None for item in result.excluded}


def compare_case(
    name: str,
    old: Consultation | str,
    new: Consultation | str,
    old_label: str,
    new_label: str,
) -> CaseChange:
    """What one patient file concludes with the new knowledge base and not the old."""
    change = CaseChange(name)
    if isinstance(old, str) or isinstance(new, str):
        for label, result in ((old_label, old), (new_label, new)):
            if isinstance(result, str):
                change.errors[label] = result
        if isinstance(old, str) and isinstance(new, str) and old == new:
            change.errors = {}  # unreadable either way: nothing changed
        return change
    before, after = _conclusions(old), _conclusions(new)
    change.appeared = [(s, cid, cf) for (s, cid), cf in after.items() if (s, cid) not in before]
    change.disappeared = [(s, cid, cf) for (s, cid), cf in before.items() if (s, cid) not in after]
    for key in before.keys() & after.keys():
        first, second = before[key], after[key]
        if first is not None and second is not None and abs(first - second) >= 0.005:
            change.certainty.append((key[1], first, second))
    change.certainty.sort()
    return change


def compare_rules(
    old: KnowledgeBase, new: KnowledgeBase
) -> tuple[list[Rule], list[Rule], list[RuleChange]]:
    """Rules only in `new`, only in `old`, and in both but different (field by field)."""
    before = {rule.id: rule for rule in old.rules}
    after = {rule.id: rule for rule in new.rules}
    added = [after[i] for i in sorted(after.keys() - before.keys())]
    removed = [before[i] for i in sorted(before.keys() - after.keys())]
    changed = []
    for rule_id in sorted(before.keys() & after.keys()):
        fields = [
            (name, a, b)
            for name, a, b in zip(
                RULE_FIELDS,
                _rule_fields(before[rule_id]),
                _rule_fields(after[rule_id]),
                strict=True,
            )
            if a != b
        ]
        if fields:
            changed.append(RuleChange(rule_id, after[rule_id].path, fields))
    return added, removed, changed


RULE_FIELDS = (
    "title",
    "topic",
    "tier",
    "evidence",
    "references",
    "rationale",
    "when",
    "conclude",
    "exclude",
    "certainty",
    "reason",
    "examples",
)


def _rule_fields(rule: Rule) -> tuple[Any, ...]:
    return (
        rule.title,
        rule.topic,
        rule.tier,
        rule.evidence,
        list(rule.references),
        rule.rationale,
        when_lines(rule.when, ""),
        list(rule.then.conclude),
        list(rule.then.exclude),
        rule.then.certainty,
        rule.then.reason,
        {example.name: " ".join(example_lines(example, "")) for example in rule.examples},
    )


def compare_knowledge(old: KnowledgeBase, new: KnowledgeBase) -> list[str]:
    """One line for each fact, conclusion, reference, drug class or setting that changed."""
    a, b = old.knowledge, new.knowledge
    lines: list[str] = []
    for what, first, second in (
        (
            "fact",
            {k: v for k, v in a.facts.items() if not v.derived},
            {k: v for k, v in b.facts.items() if not v.derived},
        ),
        ("conclusion", a.conclusions, b.conclusions),
        ("reference", a.references, b.references),
        ("drug class", a.drug_classes, b.drug_classes),
        ("drug", a.drugs, b.drugs),
        ("condition", a.conditions, b.conditions),
    ):
        for key in sorted(second.keys() - first.keys()):
            lines.append(f"{what} `{key}` added")
        for key in sorted(first.keys() - second.keys()):
            lines.append(f"{what} `{key}` removed")
        for key in sorted(first.keys() & second.keys()):
            if first[key] != second[key]:
                lines.append(f"{what} `{key}` changed")
    if a.certainty_threshold != b.certainty_threshold:
        lines.append(f"certainty threshold {a.certainty_threshold:g} -> {b.certainty_threshold:g}")
    if a.tiers != b.tiers:
        lines.append("priority tiers changed")
    if a.version != b.version:
        lines.append(f"version {a.version} -> {b.version}")
    return lines


# --- rendering --------------------------------------------------------------------------------
def render(result: KnowledgeBaseDiff, output_format: str = "text") -> str:
    """The diff as Markdown (for people and pull requests) or as JSON."""
    if output_format == "json":
        return json.dumps(as_json(result), indent=2, ensure_ascii=False) + "\n"
    out = [f"# Knowledge base: {result.old} -> {result.new}", ""]
    count = len(result.added) + len(result.removed) + len(result.changed)
    out += [
        f"## Rules: {len(result.added)} added, {len(result.removed)} removed, "
        f"{len(result.changed)} changed",
        "",
    ]
    for rule in result.added:
        out.append(f"- added `{rule.id}` ({rule.path}): {rule.title}")
    for rule in result.removed:
        out.append(f"- removed `{rule.id}` ({rule.path}): {rule.title}")
    for change in result.changed:
        out.append(f"- changed `{change.rule_id}` ({change.path}):")
        for name, first, second in change.fields:
            out += _field_lines(name, first, second)
    if not count:
        out.append("No rule changed.")
    out += ["", "## Knowledge", ""]
    out += [f"- {line}" for line in result.knowledge] or ["No knowledge file changed."]
    if result.cases is not None:
        moved = [case for case in result.cases if case.changed]
        out += [
            "",
            f"## Cases: {len(moved)} of {len(result.cases)} patient files in "
            f"{result.cases_dir} conclude differently",
            "",
        ]
        for case in moved:
            out += [f"### {case.path}", ""]
            for label, error in case.errors.items():
                out.append(f"- cannot be consulted with {label}: {error}")
            for section, cid, cf in case.appeared:
                out.append(f"- appears: {SECTIONS[section]} `{cid}`{_cf(cf)}")
            for section, cid, cf in case.disappeared:
                out.append(f"- disappears: {SECTIONS[section]} `{cid}`{_cf(cf)}")
            for cid, first, second in case.certainty:
                out.append(f"- certainty of cause `{cid}`: {first:.2f} -> {second:.2f}")
            out.append("")
        if not moved:
            out += ["No case concludes differently.", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _field_lines(name: str, first: Any, second: Any) -> list[str]:
    if isinstance(first, dict):  # examples, by name
        parts = [f"+'{n}'" for n in second if n not in first]
        parts += [f"-'{n}'" for n in first if n not in second]
        parts += [f"changed '{n}'" for n in first if n in second and first[n] != second[n]]
        return [f"  - {name}: {', '.join(parts) or 'reordered'}"]
    if isinstance(first, list) and name == "when":
        removed = [line for line in first if line not in second]
        added = [line for line in second if line not in first]
        return [
            f"  - {name}:",
            *(f"    - was: `{line.strip().removeprefix('- ')}`" for line in removed),
            *(f"    - now: `{line.strip().removeprefix('- ')}`" for line in added),
        ]
    if isinstance(first, list):
        gone = [x for x in first if x not in second]
        new = [x for x in second if x not in first]
        parts = [f"+{x}" for x in new] + [f"-{x}" for x in gone]
        return [f"  - {name}: {', '.join(parts) or 'reordered'}"]
    if name in ("rationale", "reason", "title"):
        return [f"  - {name}: {first!r} -> {second!r}"]
    return [f"  - {name}: {first} -> {second}"]


def _cf(certainty: float | None) -> str:
    return f" ({certainty:.2f})" if certainty is not None else ""


def as_json(result: KnowledgeBaseDiff) -> dict[str, Any]:
    """The diff as JSON data."""

    def entry(item: tuple[str, str, float | None]) -> dict[str, Any]:
        return {"section": item[0], "id": item[1], "certainty": item[2]}

    return {
        "old": result.old,
        "new": result.new,
        "rules": {
            "added": [{"id": r.id, "path": r.path, "title": r.title} for r in result.added],
            "removed": [{"id": r.id, "path": r.path, "title": r.title} for r in result.removed],
            "changed": [
                {
                    "id": c.rule_id,
                    "path": c.path,
                    "fields": [{"field": n, "old": a, "new": b} for n, a, b in c.fields],
                }
                for c in result.changed
            ],
        },
        "knowledge": result.knowledge,
        "cases": None
        if result.cases is None
        else [
            {
                "path": c.path,
                "appeared": [entry(i) for i in c.appeared],
                "disappeared": [entry(i) for i in c.disappeared],
                "certainty": [{"id": i, "old": a, "new": b} for i, a, b in c.certainty],
                "errors": c.errors,
            }
            for c in result.cases
        ],
    }
