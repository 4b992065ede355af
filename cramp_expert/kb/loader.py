"""Load rules/ into validated `Rule` objects and assemble the `KnowledgeBase`.

One rule per file; the file stem is the rule id and the folder is its topic. Every file is read
and checked before anything is raised, so one run reports every problem in the rule base with its
`file:line:col`. The loader also orders rules into chaining strata: a rule that tests a
conclusion (positively or under `none`) always fires after every rule that can produce it, so no
conclusion depends on the order in which rules happen to fire.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cramp_expert.audit import audit_digest
from cramp_expert.errors import (
    InputError,
    KnowledgeBaseError,
    Location,
    Problem,
    ProblemCollector,
    allowed,
    did_you_mean,
)
from cramp_expert.kb.cache import DocumentCache
from cramp_expert.kb.interview import FILE as INTERVIEW_FILE
from cramp_expert.kb.knowledge import KNOWLEDGE_FILES, Knowledge, read_knowledge
from cramp_expert.kb.model import (
    EVIDENCE_GRADES,
    OPERATORS,
    OPERATORS_BY_TYPE,
    PLACEHOLDER,
    Action,
    ConcludedCondition,
    Condition,
    ConditionGroup,
    Example,
    FactCondition,
    Rule,
    Suppression,
)
from cramp_expert.kb.operators import TABLE
from cramp_expert.problems import CODES, RULE_SHAPE, SUPPRESSIBLE
from cramp_expert.source import Document, KeyPath, load_bytes, read_file
from cramp_expert.validate import Checker, coerce, describe

RULE_KEYS = (
    "id",
    "title",
    "tier",
    "rationale",
    "evidence",
    "references",
    "when",
    "then",
    "examples",
    "family",
    "suppress",
)
RULE_REQUIRED = ("id", "title", "tier", "rationale", "evidence", "references", "when", "then")
THEN_KEYS = ("conclude", "exclude", "certainty", "reason")
SUPPRESS_KEYS = ("code", "reason")
EXAMPLE_KEYS = ("name", "given", "patient", "expect", "expect_not", "expect_excluded", "fires")
GROUP_KEYS = ("all", "any", "none")
RULE_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass
class KnowledgeBase:
    """A validated knowledge base: knowledge/, the rules, and how rules are ordered."""

    knowledge: Knowledge
    rules: tuple[Rule, ...]
    strata: dict[str, int]
    """Rule id -> chaining stratum (0 fires first)."""
    salience: dict[str, int]
    """Rule id -> experta salience (higher fires first)."""
    version: str
    digest: str
    """What every result names: this content and the engine together (`cramp_expert.audit`)."""
    content_digest: str = ""
    """sha256 of knowledge/ and of every rule file with its path: the content alone."""

    def __post_init__(self) -> None:
        self._by_id = {rule.id: rule for rule in self.rules}

    def rule(self, rule_id: str) -> Rule | None:
        """Return a rule by id, or None."""
        return self._by_id.get(rule_id)

    def producers(self, conclusion_id: str) -> list[Rule]:
        """The rules that conclude or exclude `conclusion_id`."""
        return [r for r in self.rules if conclusion_id in r.produced()]


def default_root() -> Path:
    """The folder holding rules/ and knowledge/: the repository (or the installed package's data)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent.parent, here.parent / "data"):
        if (candidate / "rules").is_dir() and (candidate / "knowledge").is_dir():
            return candidate
    return here.parent.parent


@dataclass
class KnowledgeBaseReading:
    """Everything one pass over a knowledge base found, whether or not it is usable.

    `rules` holds the rules that are valid on their own; `problems` every problem in every
    file, in file order. `complete` is false when some file could not be read in full, so that
    checks across all rules (who concludes what) would report what is merely unread.
    """

    root: Path
    knowledge: Knowledge
    rules: list[Rule]
    problems: list[Problem]
    files: list[str]
    """Every file read, as named in problems (`knowledge/facts.yaml`, `rules/t/x.yaml`)."""
    strata: dict[str, int]
    digest: str
    complete: bool
    partial: list[Rule] = field(default_factory=list)
    """Rules read with problems whose conditions and action could still be built: not part of
    the knowledge base, but `kb validate` checks them further, so that one run reports every
    stage's problems (an `evidence: low` typo does not hide a missing example)."""
    damaged: dict[str, frozenset[str]] = field(default_factory=dict)
    """Rule file -> the parts of its rule that had problems (`when`, `then`, `examples`, ...):
    checks of a part read with problems would report what is merely unread."""
    readable: bool = False
    """Every file was read and every rule file gave a rule, whole or partial: the checks across
    rules (who concludes what) can run on them."""


def read_knowledge_base(root: Path | None = None) -> KnowledgeBaseReading:
    """Read knowledge/ and every rule file under `root`, collecting every problem; never raises.

    A broken knowledge file does not stop the rules being read: they are checked against what
    could be read, and names that only an unreadable file could define are not reported.
    """
    root = root or default_root()
    problems = ProblemCollector()
    cache = DocumentCache.for_root(root)
    knowledge = read_knowledge(root / "knowledge", problems, cache)
    files = [f"knowledge/{name}" for name in KNOWLEDGE_FILES]
    if (root / "knowledge" / INTERVIEW_FILE).exists():
        files.append(f"knowledge/{INTERVIEW_FILE}")
    complete = True
    rules_root = root / "rules"
    paths = sorted(p for p in rules_root.rglob("*.yaml") if not p.name.startswith("_"))
    if not paths:
        problems.add("R100", "no rule files found", Location(str(rules_root)))
    sources: list[tuple[str, bytes]] = []
    for path in paths:
        display = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        files.append(display)
        try:
            sources.append((display, read_file(path, display, within=root)))
        except InputError as exc:
            problems.problems.extend(exc.problems)
            complete = False
    reading = read_rules(root, knowledge, sources, problems, files, complete, cache)
    cache.save()
    return reading


def read_rules(
    root: Path,
    knowledge: Knowledge,
    sources: list[tuple[str, bytes]],
    problems: ProblemCollector | None = None,
    files: list[str] | None = None,
    complete: bool = True,
    cache: DocumentCache | None = None,
) -> KnowledgeBaseReading:
    """Read rule files given as `(path, bytes)` against `knowledge`, collecting every problem.

    A path reads `rules/<topic>/<rule-id>.yaml`: the folder is the rule's topic and the file stem
    its id. `read_knowledge_base` calls it with the files of a folder; the fuzz tests, with one
    generated file at a time. The reading's digest covers `knowledge` and every source's path
    and bytes: the content alone (`KnowledgeBase.digest` adds the engine). Files are parsed
    through `cache` when given.
    """
    problems = problems if problems is not None else ProblemCollector()
    files = files if files is not None else [display for display, _ in sources]
    complete = complete and not knowledge.incomplete
    readable = complete
    rules: list[Rule] = []
    partial: list[Rule] = []
    damaged: dict[str, frozenset[str]] = {}
    content = hashlib.sha256(knowledge.digest.encode())
    for display, raw in sources:
        content.update(display.encode() + b"\0" + raw + b"\0")
        before = len(problems.problems)
        try:
            document = (
                cache.load(display, raw) if cache else load_bytes(display, raw, keep_going=True)
            )
        except InputError as exc:
            problems.problems.extend(exc.problems)
            complete = readable = False
            continue
        problems.problems.extend(document.problems)
        where = PurePosixPath(display)
        reader = _RuleReader(
            document, knowledge, problems, topic=where.parent.name, stem=where.stem
        )
        rule = reader.read()
        if rule is not None and len(problems.problems) == before:
            rules.append(rule)
        else:
            complete = False
            if rule is None:
                readable = False
            else:
                partial.append(rule)
                damaged[display] = frozenset(reader.damaged) | (
                    {"document"} if document.problems else frozenset()
                )
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            problems.add(
                "R210", f"rule id '{rule.id}' is also used by {seen[rule.id].path}", rule.location
            )
        seen[rule.id] = rule
    strata = _stratify(rules, problems)
    return KnowledgeBaseReading(
        root=root,
        knowledge=knowledge,
        rules=rules,
        problems=problems.problems,
        files=files,
        strata=strata,
        digest="sha256:" + content.hexdigest(),
        complete=complete,
        partial=partial,
        damaged=damaged,
        readable=readable,
    )


def load_knowledge_base(root: Path | None = None) -> KnowledgeBase:
    """Load knowledge/ and rules/ under `root`; raise KnowledgeBaseError listing every problem."""
    return knowledge_base(read_knowledge_base(root))


def knowledge_base(reading: KnowledgeBaseReading) -> KnowledgeBase:
    """The knowledge base a reading found; raise KnowledgeBaseError if it found any problem."""
    if reading.problems:
        raise KnowledgeBaseError(reading.problems)
    knowledge, rules, strata = reading.knowledge, reading.rules, reading.strata
    top = max(strata.values(), default=0)
    salience = {r.id: (top - strata[r.id]) * 1000 + knowledge.tiers.get(r.tier, 0) for r in rules}
    return KnowledgeBase(
        knowledge=knowledge,
        rules=tuple(sorted(rules, key=lambda r: r.id)),
        strata=strata,
        salience=salience,
        version=knowledge.version,
        digest=audit_digest(reading.digest),
        content_digest=reading.digest,
    )


def _stratify(rules: list[Rule], problems: ProblemCollector) -> dict[str, int]:
    """Give each rule a stratum: one more than the highest stratum of any rule it depends on.

    Rule B depends on rule A when B tests a conclusion that A concludes. A cycle is an error: a
    rule base with a cycle has no order in which every test sees final conclusions.
    """
    producers: dict[str, list[Rule]] = {}
    for rule in rules:
        for produced in rule.produced():
            producers.setdefault(produced, []).append(rule)
    strata: dict[str, int] = {}
    visiting: list[str] = []

    def visit(rule: Rule) -> int:
        if rule.id in strata:
            return strata[rule.id]
        if rule.id in visiting:
            cycle = " -> ".join([*visiting[visiting.index(rule.id) :], rule.id])
            problems.add("R401", f"rules chain in a cycle: {cycle}", rule.location)
            return 0
        visiting.append(rule.id)
        level = 0
        for consumed in sorted(rule.consumed()):
            for producer in producers.get(consumed, []):
                if producer.id != rule.id:
                    level = max(level, visit(producer) + 1)
                else:
                    problems.add(
                        "R401", f"rule tests '{consumed}', which it concludes itself", rule.location
                    )
        visiting.pop()
        strata[rule.id] = level
        return level

    for rule in sorted(rules, key=lambda r: r.id):
        visit(rule)
    return strata


class _RuleReader:
    """Validates one rule document and builds the `Rule`."""

    def __init__(
        self,
        document: Document,
        knowledge: Knowledge,
        problems: ProblemCollector,
        topic: str,
        stem: str,
    ):
        self.doc = document
        self.knowledge = knowledge
        self.check = Checker(document, problems, RULE_SHAPE)
        self.problems = problems
        self.topic = topic
        self.stem = stem
        self.damaged: set[str] = set()
        """The parts of the rule read with problems."""

    def part(self, name: str, before: int) -> None:
        """Note `name` as damaged when problems were added since `before`."""
        if len(self.problems.problems) > before:
            self.damaged.add(name)

    def loc(self, path: KeyPath) -> Location:
        return self.doc.location(path)

    def unknown(self, table: str, known: bool) -> bool:
        """True when a name is missing from `table` and the table was read in full.

        A name missing from a table whose knowledge file could not be read is not reported:
        that file's own problem is the one to fix.
        """
        return not known and table not in self.knowledge.incomplete

    def read(self) -> Rule | None:
        """The rule, whole or partial (with problems), or None when its logic cannot be built.

        A rule read with problems is still built when its `when` and `then` could be, so that
        `kb validate` checks what was read (`KnowledgeBaseReading.partial`); the loader never
        puts it in a knowledge base.
        """
        data = self.check.mapping(self.doc.data, (), "a rule file")
        if data is None:
            return None
        before = len(self.problems.problems)
        self.check.keys(data, (), RULE_KEYS, RULE_REQUIRED)
        # NOTE: a missing key is reported once (R203), not again as a value of the wrong type.
        rule_id = ("id" in data and self.check.string(data["id"], ("id",), "id")) or self.stem
        if not RULE_ID.match(rule_id):
            self.check.fail(
                "R205", f"rule id '{rule_id}' must be kebab-case (a-z, 0-9, '-')", ("id",)
            )
        elif rule_id != self.stem:
            self.check.fail(
                "R206",
                f"rule id '{rule_id}' differs from the file name '{self.stem}'",
                ("id",),
                f"rename the file to {rule_id}.yaml",
            )
        tier = data.get("tier")
        if "tier" in data and "tiers" not in self.knowledge.incomplete:
            self.check.choice(tier, ("tier",), "tier", list(self.knowledge.tiers))
        for key in ("title", "rationale"):
            if key in data:
                self.check.string(data[key], (key,), key)
        if "evidence" in data:
            self.check.choice(data["evidence"], ("evidence",), "evidence", EVIDENCE_GRADES)
        references = (
            self.references(data["references"], ("references",)) if "references" in data else ()
        )
        if not references and "references" in data:
            self.check.fail("R207", "a rule needs at least one reference", ("references",))
        self.part("header", before)
        mark = len(self.problems.problems)
        when = self.group("all", data.get("when"), ("when",)) if "when" in data else None
        self.part("when", mark)
        mark = len(self.problems.problems)
        then = self.action(data.get("then"), ("then",)) if "then" in data else None
        self.part("then", mark)
        mark = len(self.problems.problems)
        examples = self.examples(data.get("examples"), ("examples",))
        self.part("examples", mark)
        mark = len(self.problems.problems)
        family = ""
        if "family" in data:
            family = self.check.string(data["family"], ("family",), "family") or ""
            if family and not RULE_ID.match(family):
                self.check.fail(
                    "R205", f"family '{family}' must be kebab-case (a-z, 0-9, '-')", ("family",)
                )
        self.part("header", mark)
        mark = len(self.problems.problems)
        suppress = self.suppressions(data["suppress"], ("suppress",)) if "suppress" in data else ()
        self.part("suppress", mark)
        if then is None:
            return None  # what it concludes is unknown: the checks across rules cannot run
        if when is None:
            # Its conditions are unknown, its action is not: a partial rule with no condition
            # still tells the checks across rules what it concludes.
            self.damaged.add("when")
            when = ConditionGroup("all", (), self.loc(("when",) if "when" in data else ()))
        return Rule(
            id=rule_id,
            title=" ".join(str(data.get("title", "")).split()),
            topic=self.topic,
            tier=str(tier),
            rationale=" ".join(str(data.get("rationale", "")).split()),
            evidence=str(data.get("evidence", "")),
            references=references,
            when=when,
            then=then,
            examples=examples,
            path=self.doc.path,
            location=self.loc(()),
            family=family,
            suppress=suppress,
        )

    def suppressions(self, value: Any, path: KeyPath) -> tuple[Suppression, ...]:
        """`suppress:`: a list of `{code, reason}`, each a code the file may silence."""
        if not isinstance(value, list):
            self.check.fail(
                "R201", f"suppress must be a list of {{code, reason}}, not {describe(value)}", path
            )
            return ()
        out: list[Suppression] = []
        for index, raw in enumerate(value):
            here = (*path, index)
            entry = self.check.mapping(raw, here, "a suppression")
            if entry is None:
                continue
            self.check.keys(entry, here, SUPPRESS_KEYS, ["code"])
            code = (
                self.check.string(entry["code"], (*here, "code"), "code")
                if "code" in entry
                else None
            )
            reason = entry.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                self.check.fail(
                    "R601",
                    f"the suppression of {code or 'a code'} gives no reason",
                    (*here, "reason") if "reason" in entry else here,
                    'say why this finding is right for this rule: reason: "..."',
                )
                continue
            if code is None:
                continue  # reported as a missing key or a value of the wrong type
            if code not in SUPPRESSIBLE:
                known = code in CODES
                self.check.fail(
                    "R602",
                    f"{code} cannot be suppressed" if known else f"unknown problem code '{code}'",
                    (*here, "code"),
                    "only findings about a rule that was read can be: " + ", ".join(SUPPRESSIBLE)
                    if known
                    else did_you_mean(code, CODES) or allowed(SUPPRESSIBLE),
                )
                continue
            if any(s.code == code for s in out):
                self.check.fail(
                    "R602", f"{code} is suppressed twice", (*here, "code"), "keep one entry"
                )
                continue
            out.append(Suppression(code, " ".join(str(reason or "").split()), self.loc(here)))
        return tuple(out)

    def references(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        refs = self.check.string_list(value, path, "references") or []
        for index, ref in enumerate(refs):
            if self.unknown("references", ref in self.knowledge.references):
                self.check.fail(
                    "R301",
                    f"unknown reference '{ref}'",
                    (*path, index),
                    did_you_mean(ref, self.knowledge.references),
                )
        return tuple(refs)

    # --- conditions ---------------------------------------------------------------------------
    def group(self, kind: str, value: Any, path: KeyPath) -> ConditionGroup | None:
        """`when:` and every nested group: a mapping of all/any/none, or a list (read as `all`)."""
        if isinstance(value, list):
            items = [self.condition(item, (*path, i)) for i, item in enumerate(value)]
            if not value:
                self.check.fail("R208", f"'{kind}' needs at least one condition", path)
            return ConditionGroup(kind, tuple(i for i in items if i is not None), self.loc(path))  # type: ignore[arg-type]
        mapping = self.check.mapping(value, path, "a condition block")
        if mapping is None:
            return None
        self.check.keys(mapping, path, GROUP_KEYS, what="condition block key")
        parts: list[Condition] = []
        for key in GROUP_KEYS:
            if key in mapping:
                sub = self.group(key, mapping[key], (*path, key))
                if sub is not None:
                    parts.append(sub)
        if not any(key in mapping for key in GROUP_KEYS):
            self.check.fail("R208", "a condition block needs 'all', 'any' or 'none'", path)
        if (
            kind == "all"
            and len(parts) == 1
            and isinstance(parts[0], ConditionGroup)
            and parts[0].kind == "all"
        ):
            return parts[0]
        return ConditionGroup(kind, tuple(parts), self.loc(path))  # type: ignore[arg-type]

    def condition(self, value: Any, path: KeyPath) -> Condition | None:
        mapping = self.check.mapping(value, path, "a condition")
        if mapping is None:
            return None
        if any(key in mapping for key in GROUP_KEYS):
            return self.group("all", mapping, path)
        if "concluded" in mapping:
            self.check.keys(mapping, path, ["concluded"], what="key of a 'concluded' condition")
            target = mapping["concluded"]
            if isinstance(target, str) and not self.unknown(
                "conclusions", target in self.knowledge.conclusions
            ):
                return ConcludedCondition(target, self.loc(path))
            self.check.fail(
                "R302",
                f"unknown conclusion '{target}'"
                if isinstance(target, str)
                else f"unknown conclusion {describe(target)}",
                (*path, "concluded"),
                did_you_mean(str(target), self.knowledge.conclusions),
            )
            return None
        if "fact" not in mapping:
            self.check.fail(
                "R208",
                "a condition needs 'fact', 'concluded', 'all', 'any' or 'none'",
                path,
                did_you_mean(next(iter(mapping), ""), ["fact", "concluded"]),
            )
            return None
        fact_id = mapping["fact"]
        fact = self.knowledge.fact(fact_id) if isinstance(fact_id, str) else None
        if fact is None:
            if isinstance(fact_id, str) and not self.unknown("facts", False):
                return None
            self.unknown_fact(fact_id, (*path, "fact"))
            return None
        ops = [key for key in mapping if key != "fact"]
        if len(ops) != 1:
            self.check.fail(
                "R208",
                f"a fact condition needs exactly one operator, found {len(ops)}",
                path,
                allowed(OPERATORS),
            )
            return None
        op = ops[0]
        if op not in OPERATORS:
            self.check.fail(
                "R202",
                f"unknown operator '{op}'",
                (*path, op),
                did_you_mean(op, OPERATORS) or allowed(OPERATORS),
            )
            return None
        if op not in OPERATORS_BY_TYPE[fact.type]:
            self.check.fail(
                "R304",
                f"operator '{op}' does not fit {fact.type} fact '{fact.id}'",
                (*path, op),
                allowed(OPERATORS_BY_TYPE[fact.type]),
            )
            return None
        operand = self.operand(fact.type, fact.values, op, mapping[op], (*path, op), fact.id)
        if operand is None:
            return None
        return FactCondition(fact.id, op, operand, self.loc(path))

    def unknown_fact(self, fact_id: Any, path: KeyPath, context: str = "") -> None:
        """Report an unknown fact id, naming the knowledge file its family comes from."""
        shown = f"'{fact_id}'" if isinstance(fact_id, str) else describe(fact_id)
        message = f"{context}unknown fact {shown}"
        family, _, name = str(fact_id).partition(".")
        origin = {
            "meds": "a drug class of knowledge/medications.yaml",
            "conditions": "a condition of knowledge/conditions.yaml",
            "labs": "a lab of knowledge/facts.yaml",
        }
        if family in origin and name and isinstance(fact_id, str):
            message += f" ('{name.split('.')[0]}' is not {origin[family]})"
        self.check.fail("R303", message, path, did_you_mean(str(fact_id), self.knowledge.facts))

    def operand(
        self,
        fact_type: str,
        values: tuple[str, ...],
        op: str,
        raw: Any,
        path: KeyPath,
        fact_id: str,
    ) -> Any:
        check = self.check
        kind = TABLE[op].operand  # what the operator's operand is (kb/operators.py)
        if kind == "flag":
            return check.boolean(raw, path, f"'{op}'")
        if kind == "number":
            return check.number(raw, path, f"'{op}'")
        if kind == "pair":
            return check.pair(raw, path, f"'{op}'")
        if kind == "value":
            if fact_type == "number":
                return check.number(raw, path, f"'{op}'")
            if fact_type == "bool":
                return check.boolean(raw, path, f"'{op}' on yes/no fact {fact_id}")
            return check.choice(raw, path, f"value of {fact_id}", values)
        members = check.string_list(raw, path, f"'{op}'")
        if members is None:
            return None
        for index, member in enumerate(members):
            if member not in values:
                check.fail(
                    "R305",
                    f"'{member}' is not a value of {fact_id}",
                    (*path, index),
                    did_you_mean(member, values) or allowed(values),
                )
                return None
        return frozenset(members) if kind == "set" else tuple(members)

    # --- actions ------------------------------------------------------------------------------
    def action(self, value: Any, path: KeyPath) -> Action | None:
        mapping = self.check.mapping(value, path, "'then'")
        if mapping is None:
            return None
        self.check.keys(mapping, path, THEN_KEYS)
        conclude = self.conclusion_ids(mapping.get("conclude", []), (*path, "conclude"))
        exclude = self.conclusion_ids(mapping.get("exclude", []), (*path, "exclude"))
        for index, excluded in enumerate(exclude):
            if excluded not in self.knowledge.conclusions:
                continue  # reported as unknown, or unknowable
            kind = self.knowledge.conclusions[excluded].kind
            if kind != "cause":
                self.check.fail(
                    "R306",
                    f"only causes can be excluded; '{excluded}' is a {kind}",
                    (*path, "exclude", index),
                )
        if not conclude and not exclude:
            self.check.fail("R208", "'then' needs 'conclude' or 'exclude'", path)
        certainty = 1.0
        if "certainty" in mapping:
            certainty = (
                # A certainty below the threshold would chain a conclusion that is never shown.
                self.check.number(
                    mapping["certainty"],
                    (*path, "certainty"),
                    "certainty",
                    (self.knowledge.certainty_threshold, 1.0),
                )
                or 1.0
            )
        reason = ""
        if "reason" in mapping:
            reason = " ".join(
                (self.check.string(mapping["reason"], (*path, "reason"), "reason") or "").split()
            )
            for name in PLACEHOLDER.findall(reason):
                if self.unknown("facts", self.knowledge.fact(name) is not None):
                    self.check.fail(
                        "R303",
                        f"reason names unknown fact '{{{name}}}'",
                        (*path, "reason"),
                        did_you_mean(name, self.knowledge.facts),
                    )
        if exclude and not reason:
            self.check.fail(
                "R307", "an exclusion needs a 'reason' that names the measurement", path
            )
        return Action(conclude, exclude, certainty, reason)

    def conclusion_ids(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        ids = self.check.string_list(value, path, "conclusion ids") or []
        for index, conclusion_id in enumerate(ids):
            if self.unknown("conclusions", conclusion_id in self.knowledge.conclusions):
                self.check.fail(
                    "R302",
                    f"unknown conclusion '{conclusion_id}'",
                    (*path, index),
                    did_you_mean(conclusion_id, self.knowledge.conclusions),
                )
        return tuple(ids)

    # --- examples -----------------------------------------------------------------------------
    def examples(self, value: Any, path: KeyPath) -> tuple[Example, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.check.fail("R201", f"examples must be a list, not {describe(value)}", path)
            return ()
        out: list[Example] = []
        names: set[str] = set()
        for index, raw in enumerate(value):
            here = (*path, index)
            mapping = self.check.mapping(raw, here, "an example")
            if mapping is None:
                continue
            self.check.keys(mapping, here, EXAMPLE_KEYS, ["name"])
            name = (
                "name" in mapping
                and self.check.string(mapping["name"], (*here, "name"), "example name")
            ) or f"example {index + 1}"
            if name in names:
                self.check.fail("R209", f"two examples are named '{name}'", (*here, "name"))
            names.add(name)
            given = self.check.mapping(mapping.get("given", {}), (*here, "given"), "given") or {}
            for fact_id, value in given.items():
                fact = self.knowledge.fact(fact_id)
                if fact is not None:
                    coerce(fact, value, self.check, (*here, "given", fact_id), f"given {fact_id}")
                elif self.unknown("facts", False):
                    self.unknown_fact(fact_id, (*here, "given", fact_id), "example gives ")
            patient = mapping.get("patient")
            prefix = (*here, "patient")
            patient_positions = (
                {
                    key[len(prefix) :]: position
                    for key, position in self.doc.positions.items()
                    if key[: len(prefix)] == prefix
                }
                if isinstance(patient, dict)
                else {}
            )
            if patient is not None and not isinstance(patient, dict):
                self.check.fail(
                    "R201", "patient must be a mapping (a patient file)", (*here, "patient")
                )
                patient = None
            if not given and patient is None:
                self.check.fail("R208", "an example needs 'given' facts or a 'patient'", here)
            fires = mapping.get("fires")
            if fires is not None and not isinstance(fires, bool):
                self.check.fail("R201", "fires must be true or false", (*here, "fires"))
                fires = None
            out.append(
                Example(
                    name=name,
                    given=dict(given),
                    patient=patient,
                    expect=self.conclusion_ids(mapping.get("expect", []), (*here, "expect")),
                    expect_not=self.conclusion_ids(
                        mapping.get("expect_not", []), (*here, "expect_not")
                    ),
                    expect_excluded=self.conclusion_ids(
                        mapping.get("expect_excluded", []), (*here, "expect_excluded")
                    ),
                    fires=fires,
                    location=self.loc(here),
                    patient_positions=patient_positions,
                )
            )
        return tuple(out)
