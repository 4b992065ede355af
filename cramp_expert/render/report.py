"""What the clinician's reports (text and HTML) say, decided once from a consultation result.

The summary a clinician reads first (every red flag with its tier and action, the top causes
with certainty and evidence grade, the one next step, and anything about how the input was read
that needs confirming), which recommendations are standing advice, the references each entry
cites and the shared reasons. The text report (`cramp_expert.explain.text`), the HTML page
(`cramp_expert.render.html`) and the cards and handouts built on them read it from here, so they
cannot disagree about what matters most. Everything here is plain data; nothing is escaped yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cramp_expert.kb.loader import KnowledgeBase

URGENCY_TEXT = {
    "emergency": "EMERGENCY",
    "urgent": "URGENT (same day)",
    "soon": "SOON",
    "routine": "ROUTINE review",
}

STANDING_ADVICE = frozenset(
    {
        "rec_avoid_quinine",
        "rec_calf_stretch_nightly",
        "rec_acute_stretch_massage",
        "rec_bedding_posture",
        "rec_diet_electrolytes",
    }
)
"""Advice the knowledge base gives in (nearly) every cramp consultation. A clinician knows it, so
the report prints it as one line, its label, unless the patient's facts make it specific (see
`specific_note`); the full text is in `--explain`, the HTML page and the patient's handout."""

GENERIC_REVIEW = "rec_clinician_review"
""""See a clinician": the reader of this report is the clinician, so it is never the next step
while a more specific recommendation exists."""

HEADLINE_LIMIT = 140
"""A CDS Hooks card's summary holds at most 140 characters."""


def grade(evidence: str) -> str:
    """`VERY_LOW` -> `VERY LOW`: the contract's evidence grade as words."""
    return evidence.replace("_", " ")


SENTENCE_END = r"(.+?[.;](?<!e\.g\.)(?<!i\.e\.))(?=\s+[A-Z]|\s*$)"
"""A sentence: up to a `.` or `;` before a capital or the end, but not "e.g." or "i.e."."""


def first_sentence(text: str) -> str:
    """The first sentence of an action or recommendation (what to do, without the detail)."""
    # A sentence ends at `.` or `;` before a capital (not inside "e.g. glucose") or at the end.
    match = re.match(SENTENCE_END, text.strip(), re.DOTALL)
    return match.group(1).rstrip(";.") + "." if match else text.strip()


def uses_quinine(result: Mapping[str, Any]) -> bool:
    """The patient takes quinine (as read from the medication list)."""
    return any(
        "med_quinine" in med.get("classes", []) for med in result["interpreted"]["medications"]
    )


def is_pregnant(result: Mapping[str, Any]) -> bool:
    """Pregnancy as the rules saw it (from the trace: the result has no patient facts)."""
    return any(
        fact.get("fact") == "pregnant" and fact.get("value") is True
        for entry in result["trace"]
        for fact in entry["facts"]
    )


def is_standing(item: Mapping[str, Any], result: Mapping[str, Any]) -> bool:
    """Standing advice printed as one line: yes unless the patient's facts make it specific."""
    if item["id"] not in STANDING_ADVICE:
        return False
    # Someone already taking quinine needs the whole statement (the reasons and the limits).
    return not (item["id"] == "rec_avoid_quinine" and uses_quinine(result))


def specific_note(item: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    """The part of a standing advice's text that this patient's facts make specific, or ''."""
    if item["id"] == "rec_avoid_quinine" and is_pregnant(result):
        return "never in pregnancy"
    return ""


MEDICINES_NOTE = "a temporal association only; never stop one without the prescriber."
"""The routine footnote under drug causes: the prescriber weighs any drug (brief 6)."""


def is_drug(cause: Mapping[str, Any]) -> bool:
    """A drug cause line (a drug class, or the umbrella medication cause)."""
    return bool(cause["id"].startswith("med_") or cause["id"] == "medication")


def medicines_note(result: Mapping[str, Any]) -> str:
    """The footnote under the causes about the drugs in them, or '' when none is a drug.

    A drug that a red flag holds (the cause's `held`, brief 8.2) is said to be held; the routine
    "never stop one without the prescriber" is kept for the other drugs only, so the footnote
    never contradicts a held drug's line.
    """
    drugs = [c for c in result["causes"] if is_drug(c)]
    if not drugs:
        return ""
    held = [c["label"] for c in drugs if c.get("held") and c["id"] != "medication"]
    kept = [c for c in drugs if not c.get("held") and c["id"] != "medication"]
    if not held:
        return "Medicines: " + MEDICINES_NOTE
    # Not the held line's own words: each reason is printed once (the line above says them).
    note = (
        f"Medicines: {' and '.join(held)} held because of the red flag above; only the clinician "
        "restarts it."
    )
    if kept:
        note += " Any other medicine: " + MEDICINES_NOTE
    return note


@dataclass(frozen=True)
class Confirm:
    """One reading of the input to confirm: a fuzzy or partial match, or an unrecognised entry."""

    text: str
    where: str


def confirmations(result: Mapping[str, Any]) -> list[Confirm]:
    """How the input was read, where the reader should confirm it (input text not yet safe)."""
    out: list[Confirm] = []
    for index, med in enumerate(result["interpreted"]["medications"]):
        if med["match"] == "unknown":
            out.append(Confirm(f"'{med['input']}' not recognised", f"medications[{index}]"))
        elif med["match"] == "fuzzy":
            out.append(Confirm(f"'{med['input']}' read as {med['drug']}", f"medications[{index}]"))
    for index, condition in enumerate(result["interpreted"]["conditions"]):
        read = ", ".join(condition["conditions"])
        if not read:
            out.append(Confirm(f"'{condition['input']}' not recognised", f"conditions[{index}]"))
        elif condition["match"] in ("fuzzy", "partial"):
            out.append(Confirm(f"'{condition['input']}' read as {read}", f"conditions[{index}]"))
    return out


@dataclass(frozen=True)
class NextStep:
    """The one next step: a recommendation (with the tests to order), or what to find out."""

    text: str
    id: str = ""
    tests: tuple[str, ...] = ()


def next_step(result: Mapping[str, Any]) -> NextStep | None:
    """The one thing to do next.

    Recommendations are already ordered safety first (those concluded with the most urgent red
    flag, then by tier and evidence): the first that is neither standing advice nor the generic
    "see a clinician" is the step. The investigations are named with it. Without either, the
    most informative unknown fact (robustness) is what to find out.
    """
    recommendations = [r for r in result["recommendations"] if r["id"] not in STANDING_ADVICE]
    specific = [r for r in recommendations if r["id"] != GENERIC_REVIEW] or recommendations
    tests = tuple(t["label"] for t in result["investigations"])
    if specific:
        return NextStep(specific[0]["label"], specific[0]["id"], tests)
    if tests:
        return NextStep("Order " + tests[0], result["investigations"][0]["id"], tests[1:])
    best = result.get("robustness", {}).get("most_informative")
    if best:
        return NextStep(f"{best['action']} (it decides {', '.join(best['decides'])})")
    return None


@dataclass(frozen=True)
class Summary:
    """What a clinician who reads nothing else must see (see the module docstring)."""

    red_flags: list[dict[str, Any]]
    causes: list[dict[str, Any]]
    next: NextStep | None
    confirm: list[Confirm]
    not_ruled_out: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str:
        """At most 140 characters: the red flags, else the leading cause (a card's summary)."""
        if self.red_flags:
            parts = [f"{f['urgency'].upper()}: {f['label']}" for f in self.red_flags]
        elif self.causes:
            top = self.causes[0]
            parts = [f"No red flag found; likely {top['label']} ({top['certainty']:.2f})"]
        else:
            parts = ["No red flag found; no cause concluded from the facts given"]
        return _clip("; ".join(parts), HEADLINE_LIMIT)

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (ids point into the result's lists)."""
        return {
            "headline": self.headline,
            "red_flags": [
                {"id": f["id"], "urgency": f["urgency"], "action": first_sentence(f["action"])}
                for f in self.red_flags
            ],
            "causes": [
                {"id": c["id"], "certainty": c["certainty"], "evidence": c["evidence"]}
                for c in self.causes
            ],
            "next_step": (
                {"text": self.next.text, "id": self.next.id, "tests": list(self.next.tests)}
                if self.next
                else None
            ),
            "please_confirm": [{"text": c.text, "where": c.where} for c in self.confirm],
        }


TOP_CAUSES = 3
"""How many causes the summary names; the rest are one section below."""


def summarise(result: Mapping[str, Any]) -> Summary:
    """The summary of a consultation result (the contract's JSON dict)."""
    robust = result.get("robustness", {})
    kinds = {d["id"] for d in robust.get("depends_on_unknowns", []) if not d["concluded"]}
    not_ruled_out = sorted(cid for cid in kinds if cid.startswith("rf_"))
    return Summary(
        red_flags=list(result["red_flags"]),
        causes=list(result["causes"][:TOP_CAUSES]),
        next=next_step(result),
        confirm=confirmations(result),
        not_ruled_out=not_ruled_out,
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cited_keys(kb: KnowledgeBase, item: Mapping[str, Any]) -> list[str]:
    """The short reference keys an entry cites in the report.

    Its own (the vocabulary's), else the first two its rules cite; the rules' full lists are in
    `--explain` and the HTML chains.
    """
    definition = kb.knowledge.conclusions.get(item["id"])
    own = list(definition.references) if definition is not None else []
    keys = own or list(item.get("references", []))[:2]
    return [key for key in keys if key in kb.knowledge.references]


def reference_link(kb: KnowledgeBase, key: str) -> str:
    """A link for a reference: its DOI, else its PubMed record, else ''."""
    reference = kb.knowledge.references.get(key)
    if reference is None:
        return ""
    if reference.doi:
        return f"https://doi.org/{reference.doi}"
    if reference.pmid:
        return f"https://pubmed.ncbi.nlm.nih.gov/{reference.pmid}/"
    return ""


_WORD = re.compile(r"[a-z0-9]+(?:[.,/^][a-z0-9]+)*")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def distinct_reasons(reasons: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Reasons without those that add no word to the ones before them.

    Five rules that agree on a CK of 12,400 U/L write sentences that mostly say the same thing; a
    reason that adds no new word (value, drug, finding, action) is folded into the one before
    it, which keeps its rules. Nothing is lost: every rule stays in `because`, in the chains
    and in `--explain`.
    """
    kept: list[dict[str, Any]] = []
    seen: set[str] = set()
    for reason in reasons:
        words = _words(reason["text"])
        if kept and words <= seen:
            kept[-1] = kept[-1] | {"rules": [*kept[-1]["rules"], *reason["rules"]]}
            continue
        kept.append(dict(reason))
        seen |= words
    return kept


def reasons_of(item: Mapping[str, Any], kb: KnowledgeBase | None = None) -> list[dict[str, Any]]:
    """An entry's reasons, each with the rules that gave it.

    The result joins its rules' distinct reasons with "; "; each rule's reason template (its
    `{fact}` placeholders matching any text) finds its own part again, in the rules' order.
    When they do not account for the whole text, the joined reason is one reason.
    """
    if "reasons" in item:
        return [dict(r) for r in item["reasons"]]
    joined = item.get("reason") or ""
    if not joined:
        return []
    whole = [{"text": joined, "rules": list(item.get("because", []))}]
    if kb is None:
        return whole
    found: dict[str, list[str]] = {}
    position = 0
    for rule_id in item.get("because", []):
        rule = kb.rule(rule_id)
        template = rule.then.reason if rule is not None else ""
        if not template:
            continue
        parts = re.split(r"\{[^{}]+\}", template)
        pattern = ".+?".join(re.escape(part) for part in parts) + r"(?=; |$)"
        match = re.compile(pattern).match(joined, position)
        if match:
            found.setdefault(match.group(0), []).append(rule_id)
            position = match.end() + 2
            continue
        for text in found:  # a reason equal to one already found was joined once
            if re.fullmatch(pattern[: -len(r"(?=; |$)")], text):
                found[text].append(rule_id)
                break
    if position < len(joined) or not found:
        return whole
    return [{"text": text, "rules": rules} for text, rules in found.items()]


SECTION_NAMES = {
    "red_flags": "red flag",
    "causes": "cause",
    "excluded": "excluded",
    "differentials": "differential",
    "recommendations": "recommendation",
    "investigations": "test",
}


class Reasons:
    """Each reason printed once: the first entry that gives it prints it; later entries point."""

    def __init__(self, kb: KnowledgeBase | None = None) -> None:
        self.first: dict[str, str] = {}
        self.kb = kb

    def split(
        self, item: Mapping[str, Any], where: str, finding_only: bool = False
    ) -> tuple[list[str], list[str]]:
        """(reasons to print here, names of the entries that already printed the others).

        `finding_only` keeps of each reason the finding, before its first colon or semicolon: a
        red flag's action is printed in full beside it, and the rest of the reason restates it.
        """
        pointers: list[str] = []
        fresh: list[dict[str, Any]] = []
        for reason in reasons_of(item, self.kb):
            owner = self.first.get(reason["text"])
            if owner is None:
                fresh.append(reason)
            elif owner != where and owner not in pointers:
                pointers.append(owner)
        for reason in fresh:
            self.first[reason["text"]] = where
        if finding_only:
            fresh = [r | {"text": finding(r["text"])} for r in fresh]
        return [r["text"] for r in distinct_reasons(fresh)], pointers


def finding(reason: str) -> str:
    """`a warm red calf: DVT must be excluded today` -> `a warm red calf`.

    A colon or semicolon inside brackets does not end the finding.
    """
    depth = 0
    for index, char in enumerate(reason):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char in ":;" and depth == 0 and reason[index + 1 : index + 2] == " ":
            return reason[:index]
    return reason


def references_in(keys: Iterable[str]) -> list[str]:
    """Keys in order of first citation, each once."""
    return list(dict.fromkeys(keys))


__all__ = [
    "STANDING_ADVICE",
    "URGENCY_TEXT",
    "Confirm",
    "NextStep",
    "Reasons",
    "Summary",
    "cited_keys",
    "confirmations",
    "distinct_reasons",
    "first_sentence",
    "grade",
    "is_drug",
    "is_standing",
    "medicines_note",
    "next_step",
    "reasons_of",
    "reference_link",
    "specific_note",
    "summarise",
]
