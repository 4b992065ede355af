"""knowledge/handout.yaml: the words of the patient's handout around each conclusion's own.

The handout (`cramp_expert.render.handout`) puts each conclusion's `patient:` words (written in
knowledge/conclusions.yaml beside the conclusion) under headings, says how fast to act on each
red flag by its urgency, how well each measure is supported by its evidence grade, and adds the
general safety net. This module reads those shared words and the jargon list, and checks the
words for the patient that `kb validate` owns:

- K404: a conclusion a patient can receive (any kind but a state) without `patient:` words, in
  a knowledge base that writes handouts (one that has knowledge/handout.yaml);
- K405: words for the patient that use a jargon word of the list, a rule id, a conclusion id
  or an evidence grade.

The file is optional: a knowledge base without it writes no handout, and its conclusions need
no words for the patient. Its own problems are reported like any knowledge file's (K2xx).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cramp_expert.errors import (
    InputError,
    KnowledgeBaseError,
    Location,
    ProblemCollector,
)
from cramp_expert.kb.knowledge import URGENCIES, Knowledge
from cramp_expert.kb.model import EVIDENCE_GRADES
from cramp_expert.problems import KNOWLEDGE_SHAPE
from cramp_expert.source import Document, load_bytes
from cramp_expert.validate import Checker

FILE = "handout.yaml"
HEADINGS = ("help_first", "help", "causes", "do", "avoid", "doctor")
_TEXTS = (
    "title",
    "subtitle",
    "causes_intro",
    "less_likely",
    "no_causes",
    "never_stop",
    "never_stop_held",
    "held",
    "emergency_defer",
    "see_doctor_if_heading",
    "footer",
)
_OPTIONAL = ("never_stop_held", "held")
"""Words for a held medicine (brief 8.2): without them the handout says `never_stop` only."""
_KEYS = (
    *_TEXTS,
    "headings",
    "less_likely_below",
    "urgency",
    "evidence",
    "see_doctor_if",
    "jargon",
)


@dataclass(frozen=True)
class HandoutWording:
    """The shared words of the handout and the words it must not use."""

    title: str = ""
    subtitle: str = ""
    headings: dict[str, str] = field(default_factory=dict)
    causes_intro: str = ""
    less_likely: str = ""
    less_likely_below: float = 0.0
    no_causes: str = ""
    urgency: dict[str, str] = field(default_factory=dict)
    """What to do and how fast, by a red flag's urgency in the result."""
    evidence: dict[str, str] = field(default_factory=dict)
    """How well a measure is supported, by its evidence grade."""
    never_stop: str = ""
    never_stop_held: str = ""
    """Said instead of `never_stop` when a red flag holds one of the patient's medicines."""
    held: str = ""
    """Added to a medicine's line when a red flag holds it (brief 8.2)."""
    emergency_defer: str = ""
    see_doctor_if_heading: str = ""
    see_doctor_if: tuple[str, ...] = ()
    footer: str = ""
    jargon: tuple[str, ...] = ()
    path: str = ""
    locations: dict[str, Location] = field(default_factory=dict, compare=False)
    """Where each text of `texts()` is written, by its key."""

    def texts(self) -> Iterator[tuple[str, str]]:
        """Every text of the file a patient reads, with the key it is written under."""
        for key in _TEXTS:
            yield key, str(getattr(self, key))
        for key, text in self.headings.items():
            yield f"headings.{key}", text
        for key, text in self.urgency.items():
            yield f"urgency.{key}", text
        for key, text in self.evidence.items():
            yield f"evidence.{key}", text
        for index, text in enumerate(self.see_doctor_if):
            yield f"see_doctor_if.{index}", text


class Jargon:
    """Finds jargon in a text: listed words, rule and conclusion ids, evidence grades."""

    def __init__(self, words: Iterable[str], ids: Iterable[str] = ()):
        patterns = [
            re.escape(word.lower()).replace(r"\*", "[a-z]*") for word in words if word.strip()
        ]
        self._words = re.compile(
            r"(?<![a-z0-9])(" + "|".join(patterns or ["(?!)"]) + r")(?![a-z0-9])", re.I
        )
        # Ids are written as code (snake_case, kebab-case); grades in capitals (`VERY_LOW`).
        literal = sorted({i for i in ids if "_" in i or "-" in i}, key=len, reverse=True)
        self._ids = re.compile(
            r"(?<![\w-])(" + "|".join(map(re.escape, literal or ["(?!)"])) + r")(?![\w-])"
        )
        self._grades = re.compile(r"\b(" + "|".join(EVIDENCE_GRADES) + r")\b")

    def find(self, text: str) -> list[str]:
        """The jargon `text` contains, in order, each once."""
        found = [m.group(1) for m in self._words.finditer(text)]
        found += [m.group(1) for m in self._ids.finditer(text)]
        found += [m.group(1) for m in self._grades.finditer(text)]
        return list(dict.fromkeys(found))


def jargon_finder(wording: HandoutWording, knowledge: Knowledge, rule_ids: Iterable[str]) -> Jargon:
    """The jargon finder of a knowledge base: its list, its rule ids and its conclusion ids."""
    return Jargon(wording.jargon, [*knowledge.conclusions, *rule_ids])


def read_handout_wording(root: Path, problems: ProblemCollector) -> HandoutWording | None:
    """Read `root`/knowledge/handout.yaml if it exists (None if not), recording every problem."""
    path = root / "knowledge" / FILE
    display = f"knowledge/{FILE}"
    if not path.is_file():
        return None
    try:
        document = load_bytes(display, path.read_bytes(), keep_going=True)
    except InputError as exc:
        problems.problems.extend(exc.problems)
        return HandoutWording(path=display)
    except OSError as exc:
        problems.add("E100", f"cannot read: {exc.strerror}", Location(display))
        return HandoutWording(path=display)
    problems.problems.extend(document.problems)
    return _read(document, problems)


def load_handout_wording(root: Path) -> HandoutWording:
    """Read knowledge/handout.yaml under `root`; raise KnowledgeBaseError if absent or invalid."""
    problems = ProblemCollector()
    wording = read_handout_wording(root, problems)
    if wording is None:
        problems.add(
            "E100",
            "no such file: this knowledge base writes no handout for patients",
            Location(f"knowledge/{FILE}"),
        )
    if problems:
        raise KnowledgeBaseError(problems.problems)
    assert wording is not None
    return wording


def _read(document: Document, problems: ProblemCollector) -> HandoutWording:
    check = Checker(document, problems, KNOWLEDGE_SHAPE)
    data = check.mapping(document.data, (), FILE)
    if data is None:
        return HandoutWording(path=document.path)
    check.keys(data, (), _KEYS, [k for k in _KEYS if k not in _OPTIONAL])

    locations: dict[str, Location] = {}

    def text(key: str, path: tuple[Any, ...] = ()) -> str:
        where = path or (key,)
        locations[".".join(map(str, where))] = document.location(where)
        value: Any = data
        for part in where:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return ""
        return " ".join((check.string(value, where, key) or "").split())

    def table(key: str, names: Iterable[str]) -> dict[str, str]:
        raw = check.mapping(data.get(key, {}), (key,), key) if key in data else None
        if raw is None:
            return {}
        check.keys(raw, (key,), names, names)
        return {name: text(name, (key, name)) for name in names if name in raw}

    threshold = (
        check.number(data["less_likely_below"], ("less_likely_below",), "less_likely_below", (0, 1))
        if "less_likely_below" in data
        else None
    )
    lists = {}
    for key in ("see_doctor_if", "jargon"):
        items = check.string_list(data.get(key, []), (key,), key) if key in data else []
        lists[key] = tuple(" ".join(item.split()) for item in items or [])
        for index in range(len(lists[key])):
            locations[f"{key}.{index}"] = document.location((key, index))
    return HandoutWording(
        title=text("title"),
        subtitle=text("subtitle"),
        headings=table("headings", HEADINGS),
        causes_intro=text("causes_intro"),
        less_likely=text("less_likely"),
        less_likely_below=threshold or 0.0,
        no_causes=text("no_causes"),
        urgency=table("urgency", URGENCIES),
        evidence=table("evidence", EVIDENCE_GRADES),
        never_stop=text("never_stop"),
        never_stop_held=text("never_stop_held"),
        held=text("held"),
        emergency_defer=text("emergency_defer"),
        see_doctor_if_heading=text("see_doctor_if_heading"),
        see_doctor_if=lists["see_doctor_if"],
        footer=text("footer"),
        jargon=lists["jargon"],
        path=document.path,
        locations=locations,
    )


def check_lay_wording(
    knowledge: Knowledge,
    wording: HandoutWording,
    rule_ids: Iterable[str],
    problems: ProblemCollector,
) -> None:
    """K404 and K405 on every conclusion's words for the patient and on handout.yaml's words."""
    jargon = jargon_finder(wording, knowledge, rule_ids)
    for conclusion in knowledge.conclusions.values():
        if conclusion.kind == "state":
            continue
        if conclusion.patient is None:
            problems.add(
                "K404",
                f"{conclusion.kind.replace('_', ' ')} '{conclusion.id}' has no words for the "
                "patient's handout",
                conclusion.location,
                "add 'patient: {text: ...}' in plain words (a recommendation also names its "
                "'section')",
            )
            continue
        for key, text in (("text", conclusion.patient.text), ("avoid", conclusion.patient.avoid)):
            for word in jargon.find(text):
                problems.add(
                    "K405",
                    f"the patient's words of '{conclusion.id}' use '{word}'",
                    conclusion.patient.locations.get(key, conclusion.location),
                    "say it in plain words (the jargon list is in knowledge/handout.yaml)",
                )
    for key, text in wording.texts():
        for word in jargon.find(text):
            problems.add(
                "K405",
                f"the handout's words use '{word}'",
                wording.locations.get(key, Location(wording.path or f"knowledge/{FILE}", key=key)),
                "say it in plain words",
            )


__all__ = [
    "FILE",
    "HandoutWording",
    "Jargon",
    "check_lay_wording",
    "jargon_finder",
    "load_handout_wording",
    "read_handout_wording",
]
