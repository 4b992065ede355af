"""knowledge/interview.yaml: how the interview puts the patient file's entries to a clinician.

Declared here, read and validated (every problem located, K2xx/K301/K304): the prompts in the
order asked (single questions, one-line fields and labs, checklists of yes/no findings, the
medication and problem lists, start dates), the words a clinician may type for a value
(`calves`, `woman`), values refused with a reason (a fluid limit of 0 L/day), and when a
question applies at all (pregnancy for a female patient of 12-55). Relevance is not declared:
the rules decide it (`interview.session`).

The file is optional: without it every entry is asked on its own, as the facts are listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cramp_expert.errors import did_you_mean
from cramp_expert.problems import KNOWLEDGE_SHAPE
from cramp_expert.source import Document
from cramp_expert.validate import Checker

if TYPE_CHECKING:
    from cramp_expert.errors import ProblemCollector
    from cramp_expert.kb.knowledge import FactDef

FILE = "interview.yaml"
PROMPT_KINDS = ("question", "fields", "labs", "checklist", "medications", "conditions", "started")
LIST_KINDS = ("medications", "conditions", "started")
"""Kinds whose entries are not facts: the lists, and the start dates of listed medicines."""
UNKNOWN_POLICIES = ("ask", "skip")
NOTHING = None
"""A declared word whose value is `~`: the answer is known and nothing is written in the file."""


@dataclass(frozen=True)
class PromptDecl:
    """One prompt: its kind, text and items (fact ids), in the order the interview asks it."""

    id: str
    kind: str
    text: str = ""
    items: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)
    """Short name (as written; matched without case) -> item fact id, for fields and labs."""
    example: str = ""


@dataclass(frozen=True)
class Refusal:
    """A value a clinician may not give: numbers at most `at_most`."""

    at_most: float
    message: str

    def refuses(self, value: Any) -> bool:
        """Whether `value` is refused."""
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and value <= self.at_most
        )


@dataclass(frozen=True)
class Applicability:
    """When a question applies: every fact of `when` known and allowed, or unknown and `ask`."""

    fact: str
    when: tuple[tuple[str, tuple[Any, ...]], ...]
    """(fact id, allowed values) or, for a number fact, (fact id, (low, high))."""
    numeric: frozenset[str]
    unknown: str
    why: str

    def applies(self, values: Mapping[str, Any], settled: Any = None) -> bool | None:
        """True, False, or None while a fact it depends on may still become known.

        `values` are the known facts; `settled(fact)` says whether an unknown fact will stay
        unknown (answered as unknown). Without `settled`, every unknown fact counts as settled
        (a patient file: what it does not say stays unknown).
        """
        pending = False
        for fact, allowed in self.when:
            if fact in values:
                value = values[fact]
                if fact in self.numeric:
                    low, high = allowed
                    if not (isinstance(value, int | float) and low <= value <= high):
                        return False
                elif value not in allowed:
                    return False
            elif settled is not None and not settled(fact):
                pending = True
            elif self.unknown == "skip":
                return False
        return None if pending else True

    def describe(self) -> str:
        """`sex female, age 12-55`."""
        parts = []
        for fact, allowed in self.when:
            if fact in self.numeric:
                parts.append(f"{fact} {allowed[0]:g}-{allowed[1]:g}")
            else:
                parts.append(f"{fact} {'/'.join(_show(v) for v in allowed)}")
        return ", ".join(parts)


@dataclass(frozen=True)
class InterviewPlan:
    """Everything knowledge/interview.yaml declares (empty when the file does not exist)."""

    prompts: tuple[PromptDecl, ...] = ()
    words: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Fact id -> typed word (lower case) -> the value it stands for (None: nothing written)."""
    refuse: Mapping[str, tuple[Refusal, ...]] = field(default_factory=dict)
    applies: Mapping[str, Applicability] = field(default_factory=dict)

    def file_remarks(self, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(fact id, message) for each entry of a patient file the interview would not take."""
        remarks = []
        for fact, rule in self.applies.items():
            if fact in values and rule.applies(values) is False:
                remarks.append(
                    (
                        fact,
                        f"{fact} is given, but {rule.why} ({rule.describe()}); please confirm",
                    )
                )
        for fact, refusals in self.refuse.items():
            for refusal in refusals:
                if fact in values and refusal.refuses(values[fact]):
                    remarks.append((fact, f"{fact} is {_show(values[fact])}: {refusal.message}"))
        return remarks


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_interview_plan(
    document: Document, facts: Mapping[str, FactDef], problems: ProblemCollector
) -> InterviewPlan:
    """Read and validate a parsed interview.yaml against the facts; record every problem."""
    return _Reader(document, facts, Checker(document, problems, KNOWLEDGE_SHAPE)).read()


class _Reader:
    def __init__(self, document: Document, facts: Mapping[str, FactDef], check: Checker):
        self.doc = document
        self.facts = facts
        self.inputs = [f for f, d in facts.items() if not d.derived]
        self.check = check

    def read(self) -> InterviewPlan:
        check = self.check
        data = check.mapping(self.doc.data, (), FILE)
        if data is None:
            return InterviewPlan()
        check.keys(data, (), ["prompts", "words", "refuse", "applies"])
        return InterviewPlan(
            prompts=self._prompts(data.get("prompts") or []),
            words=self._words(data.get("words") or {}),
            refuse=self._refuse(data.get("refuse") or {}),
            applies=self._applies(data.get("applies") or {}),
        )

    def _fact(self, value: Any, path: tuple[Any, ...]) -> str | None:
        """An input fact id, or a problem naming the nearest one."""
        name = self.check.string(value, path, "fact")
        if name is None:
            return None
        if name not in self.facts or self.facts[name].derived:
            self.check.fail(
                "K301", f"unknown input fact '{name}'", path, did_you_mean(name, self.inputs)
            )
            return None
        return name

    def _prompts(self, raw: Any) -> tuple[PromptDecl, ...]:
        check = self.check
        if not isinstance(raw, list):
            check.fail("K201", "prompts must be a list", ("prompts",))
            return ()
        out: list[PromptDecl] = []
        seen_ids: set[str] = set()
        placed: dict[str, str] = {}
        for index, entry in enumerate(raw):
            path: tuple[Any, ...] = ("prompts", index)
            entry = check.mapping(entry, path, "prompt")
            if entry is None:
                continue
            check.keys(entry, path, ["id", "kind", "text", "items", "example"], ["id"])
            prompt_id = check.string(entry.get("id"), (*path, "id"), "id")
            if prompt_id is None:
                continue
            if prompt_id in seen_ids:
                check.fail("K304", f"prompt '{prompt_id}' is declared twice", (*path, "id"))
                continue
            seen_ids.add(prompt_id)
            kind = entry.get("kind", "question")
            if check.choice(kind, (*path, "kind"), "kind", PROMPT_KINDS) is None:
                continue
            items: list[str] = []
            names: dict[str, str] = {}
            raw_items = entry.get("items") or []
            if kind in LIST_KINDS:
                if raw_items:
                    check.fail("K202", f"a {kind} prompt has no items", (*path, "items"))
                if any(p.kind == kind for p in out):
                    check.fail("K304", f"a second {kind} prompt", (*path, "kind"))
                    continue
            elif not isinstance(raw_items, list) or not raw_items:
                check.fail("K201", "items must be a non-empty list of facts", (*path, "items"))
                continue
            for number, item in enumerate(raw_items):
                where = (*path, "items", number)
                short: list[str] = []
                if isinstance(item, dict):
                    check.keys(item, where, ["fact", "names"], ["fact"])
                    fact = self._fact(item.get("fact"), (*where, "fact"))
                    short = (
                        check.string_list(item.get("names") or [], (*where, "names"), "names") or []
                    )
                else:
                    fact = self._fact(item, where)
                if fact is None:
                    continue
                if fact in placed:
                    check.fail(
                        "K304",
                        f"fact '{fact}' is already asked in prompt '{placed[fact]}'",
                        where,
                    )
                    continue
                placed[fact] = prompt_id
                if kind == "checklist" and self.facts[fact].type != "bool":
                    check.fail("K204", f"a checklist holds yes/no facts; '{fact}' is not", where)
                    continue
                items.append(fact)
                for name in short:
                    # Kept as written (`K`, `eGFR`: shown on the prompt); matched without case.
                    taken = {n.lower(): f for n, f in names.items()}
                    if taken.get(name.lower(), fact) != fact:
                        check.fail(
                            "K304", f"name '{name}' already names {taken[name.lower()]}", where
                        )
                        continue
                    names[name] = fact
            if kind == "question" and len(items) != 1:
                check.fail("K204", "a question prompt asks exactly one fact", (*path, "items"))
                continue
            out.append(
                PromptDecl(
                    id=prompt_id,
                    kind=kind,
                    text=str(entry.get("text", "") or ""),
                    items=tuple(items),
                    names=names,
                    example=str(entry.get("example", "") or ""),
                )
            )
        return tuple(out)

    def _words(self, raw: Any) -> dict[str, dict[str, Any]]:
        check = self.check
        out: dict[str, dict[str, Any]] = {}
        for fact_id, table in (check.mapping(raw, ("words",), "words") or {}).items():
            path = ("words", fact_id)
            fact = self._fact(fact_id, path)
            table = check.mapping(table, path, f"words of {fact_id}")
            if fact is None or table is None:
                continue
            definition = self.facts[fact]
            words: dict[str, Any] = {}
            for word, value in table.items():
                where = (*path, word)
                if value is NOTHING:
                    if definition.type != "number":
                        check.fail("K204", "only a number fact may be answered with nothing", where)
                        continue
                elif definition.type in ("choice", "list"):
                    if check.choice(value, where, f"value of '{word}'", definition.values) is None:
                        continue
                elif definition.type == "bool":
                    if check.boolean(value, where, f"value of '{word}'") is None:
                        continue
                elif check.number(value, where, f"value of '{word}'", definition.range) is None:
                    continue
                words[str(word).lower()] = value
            out[fact] = words
        return out

    def _refuse(self, raw: Any) -> dict[str, tuple[Refusal, ...]]:
        check = self.check
        out: dict[str, tuple[Refusal, ...]] = {}
        for fact_id, entries in (check.mapping(raw, ("refuse",), "refuse") or {}).items():
            path = ("refuse", fact_id)
            fact = self._fact(fact_id, path)
            if fact is None:
                continue
            if self.facts[fact].type != "number" or not isinstance(entries, list):
                check.fail("K201", "refuse holds a list of limits of a number fact", path)
                continue
            refusals = []
            for index, entry in enumerate(entries):
                where = (*path, index)
                entry = check.mapping(entry, where, "refusal")
                if entry is None:
                    continue
                check.keys(entry, where, ["at_most", "message"], ["at_most", "message"])
                limit = check.number(entry.get("at_most"), (*where, "at_most"), "at_most")
                message = check.string(entry.get("message"), (*where, "message"), "message")
                if limit is not None and message is not None:
                    refusals.append(Refusal(limit, message))
            out[fact] = tuple(refusals)
        return out

    def _applies(self, raw: Any) -> dict[str, Applicability]:
        check = self.check
        out: dict[str, Applicability] = {}
        for fact_id, entry in (check.mapping(raw, ("applies",), "applies") or {}).items():
            path = ("applies", fact_id)
            fact = self._fact(fact_id, path)
            entry = check.mapping(entry, path, f"applicability of {fact_id}")
            if fact is None or entry is None:
                continue
            check.keys(entry, path, ["when", "unknown", "why"], ["when", "why"])
            unknown = check.choice(
                entry.get("unknown", "ask"), (*path, "unknown"), "unknown", UNKNOWN_POLICIES
            )
            why = check.string(entry.get("why"), (*path, "why"), "why")
            when: list[tuple[str, tuple[Any, ...]]] = []
            numeric: set[str] = set()
            for other, allowed in (
                check.mapping(entry.get("when"), (*path, "when"), "when") or {}
            ).items():
                where = (*path, "when", other)
                name = self._fact(other, where)
                if name is None:
                    continue
                definition = self.facts[name]
                if definition.type == "number":
                    pair = check.pair(allowed, where, f"range of {name}")
                    if pair is not None:
                        when.append((name, pair))
                        numeric.add(name)
                    continue
                if not isinstance(allowed, list) or not allowed:
                    check.fail("K201", f"the values of {name} must be a non-empty list", where)
                    continue
                for number, value in enumerate(allowed):
                    if definition.type == "bool":
                        check.boolean(value, (*where, number), f"value of {name}")
                    else:
                        check.choice(value, (*where, number), f"value of {name}", definition.values)
                when.append((name, tuple(allowed)))
            if unknown is None or why is None or not when:
                continue
            out[fact] = Applicability(fact, tuple(when), frozenset(numeric), unknown, why)
        return out


__all__ = [
    "FILE",
    "PROMPT_KINDS",
    "Applicability",
    "InterviewPlan",
    "PromptDecl",
    "Refusal",
    "read_interview_plan",
]
