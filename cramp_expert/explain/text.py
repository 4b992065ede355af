"""The clinician's text report of a consultation result.

Red flags always come first, with their urgency and action. Then causes ranked by certainty with
their evidence grade and "because"; causes excluded by a measurement; differentials;
recommendations and investigations with their reasons; how each medication and lab was read;
warnings; and the references cited. `explain=True` adds, for every conclusion, the chain of
rules that fired, the facts each one matched (as given and as normalised) and its references.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.result import ConclusionMatch, Consultation, Robustness, TraceEntry

WIDTH = 96
URGENCY_TEXT = {
    "emergency": "EMERGENCY",
    "urgent": "URGENT (same day)",
    "soon": "SOON",
    "routine": "ROUTINE review",
}
NATURE_NOTE = {"risk_modifier": " (risk modifier, not a treatable cause)"}


def _wrap(text: str, indent: str = "    ") -> list[str]:
    return (
        textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent) if text else []
    )


def _heading(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def _because(ids: Iterable[str]) -> str:
    return ", ".join(ids)


def render_text(result: Consultation, kb: KnowledgeBase, explain: bool = False) -> str:
    """Render a result as the clinician's report."""
    lines: list[str] = []
    who = result.patient_id or "patient"
    lines.append(f"cramp-expert consultation: {who}")
    meta = result.knowledge_base
    lines.append(
        f"knowledge base {meta.version} ({meta.rules} rules, {meta.digest[:19]}...), {meta.engine}"
    )

    lines += _heading("RED FLAGS")
    if not result.red_flags:
        lines.append(
            "  None found among the findings given. (Findings not assessed are unknown, not absent.)"
        )
    for flag in result.red_flags:
        lines.append(
            f"  !! {URGENCY_TEXT.get(flag.urgency, flag.urgency)}: {flag.label} [{flag.id}]"
        )
        lines += _wrap("Action: " + flag.action)
        if flag.reason:
            lines += _wrap("Because: " + flag.reason)
        lines += _wrap(
            f"Rules: {_because(flag.because)}  Evidence: {flag.evidence}  Refs: {', '.join(flag.references)}"
        )

    lines += _heading("LIKELY CAUSES (ranked by certainty)")
    if not result.causes:
        lines.append("  No cause concluded from the facts given.")
    for rank, cause in enumerate(result.causes, 1):
        note = NATURE_NOTE.get(cause.nature, "")
        lines.append(f"  {rank}. {cause.label} [{cause.id}]{note}")
        lines += _wrap(
            f"certainty {cause.certainty:.2f}, evidence {cause.evidence}; because: {_because(cause.because)}"
        )
        if cause.reason:
            lines += _wrap(cause.reason)
        if cause.id.startswith("med_") or cause.id == "medication":
            lines += _wrap(
                "May be contributing (temporal association); never stop a medicine without the prescriber."
            )

    if result.excluded:
        lines += _heading("EXCLUDED BY A MEASUREMENT")
        for excluded in result.excluded:
            lines.append(f"  - {excluded.label} [{excluded.id}]: {excluded.reason}")

    if result.differentials:
        lines += _heading("DIFFERENTIAL DIAGNOSES (mimics to consider)")
        for differential in result.differentials:
            lines.append(f"  - {differential.label} [{differential.id}]")
            lines += _wrap(differential.reason, "      ")
            lines += _wrap(differential.action, "      ")

    lines += _heading("RECOMMENDATIONS")
    if not result.recommendations:
        lines.append("  None.")
    for advice in result.recommendations:
        lines.append(f"  - {advice.label} [{advice.id}]  (evidence {advice.evidence})")
        lines += _wrap(advice.text, "      ")
        if advice.reason:
            lines += _wrap("Because: " + advice.reason, "      ")

    lines += _heading("INVESTIGATIONS")
    if not result.investigations:
        lines.append("  None indicated by the facts given.")
    for test in result.investigations:
        lines.append(f"  - {test.label} [{test.id}]")
        lines += _wrap("Because: " + test.reason, "      ")

    interpreted = result.interpreted
    if interpreted.medications or interpreted.conditions or interpreted.labs:
        lines += _heading("HOW THE INPUT WAS READ")
        for med in interpreted.medications:
            if med["match"] == "unknown":
                lines.append(f"  - '{med['input']}': not recognised")
                continue
            classes = ", ".join(med["classes"]) or "no cramp-related class"
            confirm = "  (please confirm)" if med["match"] == "fuzzy" else ""
            lines.append(f"  - '{med['input']}' -> {med['drug']} [{classes}]{confirm}")
        for condition in interpreted.conditions:
            read = ", ".join(condition["conditions"]) or "not recognised"
            confirm = "  (please confirm)" if condition["match"] in ("fuzzy", "partial") else ""
            lines.append(f"  - '{condition['input']}' -> {read}{confirm}")
        for name, lab in interpreted.labs.items():
            lines.append(f"  - {name}: {lab['input']} -> {lab['value']:.3g} {lab['unit']}")

    if result.warnings:
        lines += _heading("WARNINGS")
        for warning in result.warnings:
            lines += _wrap(f"{warning.code} {warning.where}: {warning.message}", "  ")

    if result.robustness is not None:
        lines += _robustness(result.robustness, kb)

    if explain:
        lines += _explanations(result, kb)

    cited = [reference.key for reference in result.references]
    if cited:
        lines += _heading("REFERENCES")
        references = kb.knowledge.references
        for key in cited:
            if key in references:
                lines += textwrap.wrap(
                    f"[{key}] {references[key].citation}",
                    WIDTH,
                    initial_indent="  ",
                    subsequent_indent="      ",
                )
    return "\n".join(lines) + "\n"


MAX_LISTED = 8
"""How many open conclusions the text report names before summarising the rest."""


def _robustness(robust: Robustness, kb: KnowledgeBase) -> list[str]:
    """WHAT IS STILL UNKNOWN: what holds regardless, what depends, what to find out first."""
    lines = _heading("ROBUSTNESS TO WHAT IS UNKNOWN")
    holds = robust.holds_regardless
    lines += _wrap(
        "Holds whatever the unknown facts turn out to be: " + (", ".join(holds) or "nothing"),
        "  ",
    )
    depends = robust.depends_on_unknowns
    lost = [d for d in depends if d.concluded]
    added = [d for d in depends if not d.concluded]
    for entry in lost:
        lines += _wrap(f"Could be lost: {entry.id}, depending on {_some(entry.facts)}", "  ")
    if added:
        kinds = kb.knowledge.conclusions
        flags = [d.id for d in added if kinds[d.id].kind == "red_flag"]
        others = [d.id for d in added if kinds[d.id].kind != "red_flag"]
        if flags:
            lines += _wrap("Red flags not ruled out (findings unknown): " + ", ".join(flags), "  ")
        if others:
            lines += _wrap(f"Could still be concluded: {_some(others, MAX_LISTED)}", "  ")
    best = robust.most_informative
    if best is not None:
        lines += _wrap("Most informative next step: " + best.text, "  ")
    return lines


def _some(items: Sequence[str], limit: int = 4) -> str:
    """`a, b, c, d and 7 more`: the text report names a few; the JSON has them all."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _explanations(result: Consultation, kb: KnowledgeBase) -> list[str]:
    """HOW: every conclusion, the rules that fired for it, and the facts each matched."""
    lines = _heading("HOW EACH CONCLUSION WAS REACHED")
    trace = {entry.rule: entry for entry in result.trace}
    items = [item for _, item in result.items()] + list(result.excluded)
    for item in items:
        lines.append(f"  {item.id}:")
        shown: set[str] = set()  # within one conclusion, each rule is spelled out once
        for rule_id in item.because:
            lines += _explain_rule(rule_id, trace, kb, depth=2, seen=shown)
    return lines


def _explain_rule(
    rule_id: str, trace: dict[str, TraceEntry], kb: KnowledgeBase, depth: int, seen: set[str]
) -> list[str]:
    indent = "  " * depth
    entry = trace.get(rule_id)
    rule = kb.rule(rule_id)
    if entry is None or rule is None:
        return [f"{indent}- {rule_id} (did not fire)"]
    if rule_id in seen:
        return [f"{indent}- rule {rule_id} (shown above)"]
    seen.add(rule_id)
    lines = [
        f"{indent}- rule {rule_id}: {rule.title} (certainty {rule.then.certainty:g}, evidence {rule.evidence}, refs {', '.join(rule.references)})"
    ]
    lines += textwrap.wrap(
        rule.rationale, WIDTH, initial_indent=indent + "    ", subsequent_indent=indent + "    "
    )
    lines.append(f"{indent}    source: {rule.path}")
    for fact in entry.facts:
        lines.append(f"{indent}    * {fact.text}")
        if isinstance(fact, ConclusionMatch) and not fact.negated:
            concluded = fact.concluded
            for producer in kb.producers(concluded):
                if producer.id in trace and concluded in producer.then.conclude:
                    lines += _explain_rule(producer.id, trace, kb, depth + 3, seen)
    return lines


def render_how(answer: dict[str, Any]) -> str:
    """HOW for one conclusion: the rules and the facts they matched, down the chain."""
    cid = answer["id"]
    if answer["status"] == "not concluded":
        return f"{cid} ({answer['label']}) was not concluded. Ask why-not {cid}.\n"
    verb = "excluded" if answer["status"] == "excluded" else "concluded"
    details = ", ".join(
        f"{key} {answer[key]}" for key in ("urgency", "certainty", "evidence") if key in answer
    )
    lines = [f"HOW {cid} ({answer['label']}) was {verb}" + (f": {details}" if details else "")]
    for step in answer["rules"]:
        lines += _how_step(step, 1)
    return "\n".join(lines) + "\n"


def _how_step(step: dict[str, Any], depth: int) -> list[str]:
    indent = "  " * depth
    lines = [
        f"{indent}- rule {step['rule']}: {step['title']} (certainty {step['certainty']:g}, "
        f"evidence {step['evidence']}, refs {', '.join(step['references']) or 'none'}; {step['where']})"
    ]
    if step.get("repeated"):
        lines[-1] += " (shown above)"
        return lines
    chains = {chain["id"]: chain for chain in step["chains"]}
    for fact in step["facts"]:
        lines.append(f"{indent}    * {fact['text']}")
        chain = chains.get(fact.get("concluded", ""))
        if chain is not None and not fact.get("negated"):
            for sub in chain["rules"]:
                lines += _how_step(sub, depth + 3)
    return lines


def render_why_not(answer: dict[str, Any]) -> str:
    """WHY NOT for one conclusion: each rule's first failed condition, then the smallest change."""
    cid = answer["id"]
    if answer["status"] == "concluded":
        return f"{cid} ({answer['label']}) was concluded. Ask how {cid}.\n"
    lines = [f"WHY NOT {cid} ({answer['label']}): {answer['status']}"]
    for excluder in answer["excluded_by"]:
        facts = "; ".join(f["text"] for f in excluder["facts"])
        lines.append(f"  - excluded by rule {excluder['rule']}: {excluder['title']} ({facts})")
    if not answer["rules"]:
        lines.append("  No rule concludes it.")
    for rule in answer["rules"]:
        lines += _why_not_rule(rule, 1)
    change = answer.get("smallest_change")
    lines.append("")
    if change is None:
        lines += _wrap(
            "No change of the facts was found that concludes it: what blocks it cannot change "
            "(a known fact cannot become unknown), or more would have to change than the search "
            "tries.",
            "  ",
        )
    else:
        lines.append("  Smallest change that concludes it (checked by running the rules):")
        lines += [f"    {item['text']}" for item in change["changes"]]
        if change["also_concluded"]:
            lines += _wrap("It would also conclude: " + ", ".join(change["also_concluded"]), "    ")
        if change["no_longer_concluded"]:
            lines += _wrap(
                "It would no longer conclude: " + ", ".join(change["no_longer_concluded"]),
                "    ",
            )
    return "\n".join(lines) + "\n"


def _why_not_rule(rule: dict[str, Any], depth: int) -> list[str]:
    indent = "  " * depth
    lines = [f"{indent}- rule {rule['rule']}: {rule['title']} ({rule['where']})"]
    if rule["failed"] is not None:
        lines += _failure(rule["failed"], depth + 2)
    if rule["unknown_facts"]:
        lines += _wrap("unknown: " + ", ".join(rule["unknown_facts"]), indent + "    ")
    return lines


def _failure(failure: dict[str, Any], depth: int) -> list[str]:
    indent = "  " * depth
    lines = [f"{indent}failed: {failure['text']}"]
    for alternative in failure.get("alternatives", []):
        lines.append(f"{indent}  or: {alternative['text']}")
    for rule in failure.get("because", []):
        lines += _why_not_rule(rule, depth + 1)
    return lines
