"""knowledge/properties.yaml: the properties the rule base declares it has, read and validated.

Three kinds of declaration, each checked by `cramp-expert kb check` (a search for a patient that
breaks it) and by the property tests (generated patients):

- `never`: the contract's never-rules as constraints a machine can check. A `forbid` item says
  that none of its `conclude` ids may be concluded while its `when` holds (`when` is a condition
  in the rule language, on the patient's facts and on conclusions); a `wording` item says what
  the texts of some conclusions must not say.
- `exclusive`: conclusions that must never be reached together (idiopathic cramps beside a
  secondary cause). A cause concluded by one rule and excluded by another is such a pair too,
  without being declared.
- `monotone`: a change to a fact in one direction that must never remove a conclusion (a lower
  potassium never removes hypokalaemia; a finding that becomes true never removes a red flag).

The file is optional: a knowledge base without it declares nothing. Its problems are reported
like any knowledge file's (K2xx, K301), and conditions in it like a rule's (R2xx, R3xx).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cramp_expert.errors import (
    InputError,
    KnowledgeBaseError,
    Location,
    ProblemCollector,
    allowed,
    did_you_mean,
)
from cramp_expert.kb.knowledge import CONCLUSION_SECTIONS, URGENCIES, Knowledge
from cramp_expert.kb.loader import _RuleReader
from cramp_expert.kb.model import Condition
from cramp_expert.problems import KNOWLEDGE_SHAPE
from cramp_expert.source import Document, KeyPath, load_bytes, read_file
from cramp_expert.validate import Checker

FILE = "properties.yaml"
DIRECTIONS = ("decreasing", "increasing", "becomes_true")
"""How a monotone declaration changes its fact: a lower number, a higher one, or a yes/no fact
that becomes true (from false or unknown)."""
DECLARATION_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Forbid:
    """None of `conclude` may be concluded while `when` holds."""

    conclude: tuple[str, ...]
    when: Condition
    location: Location


@dataclass(frozen=True)
class Wording:
    """What the texts of some conclusions must not say.

    The label, description, text and action of conclusions of `kinds`, but those `exempt`,
    must not contain any of `phrases` (case-insensitive, whole words).
    """

    kinds: tuple[str, ...]
    exempt: tuple[str, ...]
    phrases: tuple[str, ...]
    location: Location

    def applies_to(self, conclusion_id: str, kind: str) -> bool:
        """Whether a conclusion's texts are constrained by this item."""
        return kind in self.kinds and conclusion_id not in self.exempt

    def said(self, text: str) -> list[str]:
        """The forbidden phrases `text` contains."""
        return [p for p in self.phrases if _phrase(p).search(text)]


@dataclass(frozen=True)
class NeverRule:
    """One never-rule of the contract, as constraints on conclusions and on wording."""

    id: str
    contract: str
    """The contract's own words (vocabulary.yaml, `never:`)."""
    forbid: tuple[Forbid, ...]
    wording: tuple[Wording, ...]
    location: Location


@dataclass(frozen=True)
class Exclusive:
    """`conclusion` is never concluded together with any of `never_with`."""

    conclusion: str
    never_with: tuple[str, ...]
    why: str
    location: Location


@dataclass(frozen=True)
class Monotone:
    """A change to a fact in one direction never removes some conclusions.

    Changing `fact` (or each fact matching a `fact` ending in `.*`) in `direction` never
    removes any of the conclusions in `keeps`, but those in `exempt`.
    """

    fact: str
    direction: str
    keeps: tuple[str, ...]
    """Conclusion ids (a section name such as `red_flags` stands for all of its ids)."""
    location: Location
    exempt: tuple[str, ...] = ()
    """Ids of `keeps` the declaration does not cover (written `except:`), each with a reason in
    a comment: `rf_frequent_unexplained` is there only while no cause is found."""

    def facts(self, knowledge: Knowledge) -> list[str]:
        """The input facts the declaration is about (a `.*` pattern expanded)."""
        if self.fact.endswith(".*"):
            prefix = self.fact[:-1]
            return sorted(
                f
                for f, d in knowledge.facts.items()
                if f.startswith(prefix) and not d.derived and d.type == _TYPE[self.direction]
            )
        return [self.fact]


_TYPE = {"decreasing": "number", "increasing": "number", "becomes_true": "bool"}


@dataclass(frozen=True)
class Declarations:
    """Everything knowledge/properties.yaml declares (empty when the file does not exist)."""

    never: tuple[NeverRule, ...] = ()
    exclusive: tuple[Exclusive, ...] = ()
    monotone: tuple[Monotone, ...] = ()
    path: str = ""

    def exclusive_pairs(self) -> list[tuple[str, str, Exclusive]]:
        """Every declared pair of conclusions that must not be reached together."""
        return [(e.conclusion, other, e) for e in self.exclusive for other in e.never_with]

    def kept(self, declaration: Monotone, knowledge: Knowledge) -> list[str]:
        """The conclusion ids a monotone declaration keeps (section names expanded)."""
        ids: list[str] = []
        for name in declaration.keeps:
            if name in CONCLUSION_SECTIONS:
                ids.extend(c.id for c in knowledge.conclusions_of(CONCLUSION_SECTIONS[name]))
            else:
                ids.append(name)
        return [cid for cid in ids if cid not in declaration.exempt]


def _phrase(phrase: str) -> re.Pattern[str]:
    return re.compile(r"\b" + r"\s+".join(map(re.escape, phrase.lower().split())) + r"\b", re.I)


def read_declarations(root: Path, knowledge: Knowledge, problems: ProblemCollector) -> Declarations:
    """Read `root`/knowledge/properties.yaml if it exists, recording every problem on `problems`."""
    path = root / "knowledge" / FILE
    display = f"knowledge/{FILE}"
    if not path.exists() and not path.is_symlink():
        return Declarations()
    try:
        raw = read_file(path, display, within=root)
        document = load_bytes(display, raw, keep_going=True)
    except InputError as exc:
        problems.problems.extend(exc.problems)
        return Declarations(path=display)
    problems.problems.extend(document.problems)
    return _Reader(document, knowledge, problems).read()


def load_declarations(root: Path, knowledge: Knowledge) -> Declarations:
    """Read knowledge/properties.yaml under `root`; raise KnowledgeBaseError on any problem."""
    problems = ProblemCollector()
    declarations = read_declarations(root, knowledge, problems)
    if problems:
        raise KnowledgeBaseError(problems.problems)
    return declarations


class _Reader:
    def __init__(self, document: Document, knowledge: Knowledge, problems: ProblemCollector):
        self.doc = document
        self.knowledge = knowledge
        self.problems = problems
        self.check = Checker(document, problems, KNOWLEDGE_SHAPE)
        # Conditions are read by the rule reader, so they mean and report what a rule's do.
        self.rules = _RuleReader(document, knowledge, problems, topic="", stem="")

    def read(self) -> Declarations:
        data = self.check.mapping(self.doc.data, (), FILE)
        if data is None:
            return Declarations(path=self.doc.path)
        self.check.keys(data, (), ["never", "exclusive", "monotone"])
        return Declarations(
            never=tuple(self.entries(data, "never", self.never)),
            exclusive=tuple(self.entries(data, "exclusive", self.exclusive)),
            monotone=tuple(self.entries(data, "monotone", self.monotone)),
            path=self.doc.path,
        )

    def entries(self, data: dict[str, Any], key: str, read: Any) -> list[Any]:
        if data.get(key) is None:
            return []
        if not isinstance(data[key], list):
            self.check.fail("K201", f"{key} must be a list", (key,))
            return []
        out = []
        for index, raw in enumerate(data[key]):
            entry = self.check.mapping(raw, (key, index), f"an entry of {key}")
            if entry is not None:
                before = len(self.problems.problems)
                value = read(entry, (key, index))
                if value is not None and len(self.problems.problems) == before:
                    out.append(value)
        return out

    def conclusion_ids(self, value: Any, path: KeyPath, sections: bool = False) -> tuple[str, ...]:
        ids = self.check.string_list(value, path, "conclusion ids") or []
        known = list(self.knowledge.conclusions) + (list(CONCLUSION_SECTIONS) if sections else [])
        for index, cid in enumerate(ids):
            if cid not in known:
                self.check.fail(
                    "K301",
                    f"unknown conclusion '{cid}'",
                    (*path, index),
                    did_you_mean(cid, known),
                )
        if not ids:
            self.check.fail("K201", "needs at least one conclusion id", path)
        return tuple(ids)

    # --- never --------------------------------------------------------------------------------
    def never(self, entry: dict[str, Any], path: KeyPath) -> NeverRule | None:
        self.check.keys(entry, path, ["id", "contract", "forbid", "wording"], ["id", "contract"])
        rule_id = self.check.string(entry.get("id"), (*path, "id"), "id") if "id" in entry else None
        if rule_id is not None and not DECLARATION_ID.match(rule_id):
            self.check.fail("K204", f"id '{rule_id}' must be kebab-case", (*path, "id"))
        if "contract" in entry:
            self.check.string(entry["contract"], (*path, "contract"), "contract")
        forbid = [self.forbid(item, where) for item, where in self.list_of(entry, "forbid", path)]
        wording = [
            self.wording(item, where) for item, where in self.list_of(entry, "wording", path)
        ]
        if not forbid and not wording:
            self.check.fail("K203", "a never rule needs 'forbid' or 'wording'", path)
        if rule_id is None:
            return None
        return NeverRule(
            rule_id,
            " ".join(str(entry.get("contract", "")).split()),
            tuple(f for f in forbid if f is not None),
            tuple(w for w in wording if w is not None),
            self.doc.location(path),
        )

    def list_of(self, entry: dict[str, Any], key: str, path: KeyPath) -> list[tuple[Any, KeyPath]]:
        """The items under `key` with their paths (a single item needs no list)."""
        value = entry.get(key)
        if value is None:
            return []
        if isinstance(value, dict):
            return [(value, (*path, key))]
        if isinstance(value, list):
            return [(item, (*path, key, i)) for i, item in enumerate(value)]
        self.check.fail("K201", f"{key} must be a list of mappings", (*path, key))
        return []

    def forbid(self, raw: Any, path: KeyPath) -> Forbid | None:
        item = self.check.mapping(raw, path, "a forbid item")
        if item is None:
            return None
        self.check.keys(item, path, ["conclude", "when"], ["conclude", "when"])
        conclude = self.conclusion_ids(item.get("conclude"), (*path, "conclude"))
        if "when" not in item:
            return None
        before = len(self.problems.problems)
        expanded = self.expand(item["when"], (*path, "when"))
        if len(self.problems.problems) > before:
            return None  # reported; reading the rest would only echo it
        if isinstance(expanded, dict) and not {"all", "any", "none"} & set(expanded):
            expanded = [expanded]  # one condition: `when: {concluded: rf_dvt_suspected}`
        when = self.rules.group("all", expanded, (*path, "when"))
        if when is None:
            return None
        return Forbid(conclude, when, self.doc.location(path))

    def expand(self, value: Any, path: KeyPath) -> Any:
        """Replace `{red_flag: [urgencies]}` by `any` of the red flags with those urgencies.

        So that a declaration about "an emergency or urgent red flag" follows the red flags
        of conclusions.yaml instead of a list copied from it.
        """
        if isinstance(value, list):
            return [self.expand(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if set(value) == {"red_flag"}:
            urgencies = self.check.string_list(value["red_flag"], (*path, "red_flag"), "red_flag")
            if urgencies is None:
                return {"any": []}  # reported; the item is dropped
            wrong = [(i, u) for i, u in enumerate(urgencies) if u not in URGENCIES]
            for index, urgency in wrong:
                self.check.fail(
                    "K204",
                    f"urgency '{urgency}' is not allowed",
                    (*path, "red_flag", index),
                    did_you_mean(urgency, URGENCIES) or allowed(URGENCIES),
                )
            flags = [
                {"concluded": c.id}
                for c in self.knowledge.conclusions_of("red_flag")
                if c.urgency in urgencies
            ]
            # Urgency is per result: a flag lifted to an emergency by its `emergency_if` state
            # (the rules that conclude that state conclude the flag too).
            if "emergency" in urgencies:
                flags += [
                    {"concluded": c.emergency_if}
                    for c in self.knowledge.conclusions_of("red_flag")
                    if c.emergency_if and c.urgency not in urgencies
                ]
            if not flags and not wrong:
                self.check.fail(
                    "K301",
                    f"no red flag has the urgency {', '.join(urgencies)}",
                    (*path, "red_flag"),
                )
            return {"any": flags}
        return {k: self.expand(v, (*path, k)) for k, v in value.items()}

    def wording(self, raw: Any, path: KeyPath) -> Wording | None:
        item = self.check.mapping(raw, path, "a wording item")
        if item is None:
            return None
        self.check.keys(item, path, ["kinds", "except", "must_not_say"], ["kinds", "must_not_say"])
        kinds = self.check.string_list(item.get("kinds", []), (*path, "kinds"), "kinds") or []
        for index, kind in enumerate(kinds):
            if kind not in CONCLUSION_SECTIONS:
                self.check.fail(
                    "K204",
                    f"kind '{kind}' is not allowed",
                    (*path, "kinds", index),
                    did_you_mean(kind, CONCLUSION_SECTIONS) or allowed(CONCLUSION_SECTIONS),
                )
        exempt = self.conclusion_ids(item["except"], (*path, "except")) if "except" in item else ()
        phrases = self.check.string_list(
            item.get("must_not_say", []), (*path, "must_not_say"), "must_not_say"
        )
        if not phrases:
            return None
        return Wording(
            tuple(CONCLUSION_SECTIONS.get(k, k) for k in kinds),
            exempt,
            tuple(phrases),
            self.doc.location(path),
        )

    # --- exclusive ----------------------------------------------------------------------------
    def exclusive(self, entry: dict[str, Any], path: KeyPath) -> Exclusive | None:
        self.check.keys(
            entry, path, ["conclusion", "never_with", "why"], ["conclusion", "never_with", "why"]
        )
        first = self.conclusion_ids(entry.get("conclusion"), (*path, "conclusion"))
        others = self.conclusion_ids(entry.get("never_with"), (*path, "never_with"))
        why = self.check.string(entry.get("why"), (*path, "why"), "why") if "why" in entry else ""
        if len(first) != 1:
            self.check.fail("K201", "conclusion must be one conclusion id", (*path, "conclusion"))
            return None
        return Exclusive(first[0], others, why or "", self.doc.location(path))

    # --- monotone -----------------------------------------------------------------------------
    def monotone(self, entry: dict[str, Any], path: KeyPath) -> Monotone | None:
        self.check.keys(
            entry, path, ["fact", "direction", "keeps", "except"], ["fact", "direction", "keeps"]
        )
        direction = self.check.choice(
            entry.get("direction"), (*path, "direction"), "direction", DIRECTIONS
        )
        fact_id = self.check.string(entry.get("fact"), (*path, "fact"), "fact")
        keeps = self.conclusion_ids(entry.get("keeps"), (*path, "keeps"), sections=True)
        exempt = (
            self.conclusion_ids(entry["except"], (*path, "except")) if "except" in entry else ()
        )
        if fact_id is None or direction is None:
            return None
        declaration = Monotone(fact_id, direction, keeps, self.doc.location(path), exempt)
        inputs = {f for f, d in self.knowledge.facts.items() if not d.derived}
        if fact_id.endswith(".*"):
            if not declaration.facts(self.knowledge):
                self.check.fail(
                    "K301",
                    f"no {_TYPE[direction]} input fact matches '{fact_id}'",
                    (*path, "fact"),
                )
        elif fact_id not in inputs:
            self.check.fail(
                "K301",
                f"'{fact_id}' is not a fact a patient file gives",
                (*path, "fact"),
                did_you_mean(fact_id, inputs),
            )
        elif self.knowledge.facts[fact_id].type != _TYPE[direction]:
            self.check.fail(
                "K204",
                f"direction '{direction}' needs a {_TYPE[direction]} fact; "
                f"{fact_id} is {self.knowledge.facts[fact_id].type}",
                (*path, "direction"),
            )
        return declaration


__all__ = [
    "DIRECTIONS",
    "Declarations",
    "Exclusive",
    "Forbid",
    "Monotone",
    "NeverRule",
    "Wording",
    "load_declarations",
    "read_declarations",
]
