"""The clinician's text report of a consultation result.

Short first: a summary block of at most 12 lines at 100 columns (every red flag with its tier and
action, the top causes with certainty and evidence grade, the one next step, what to confirm
about how the input was read). Then the detail, each thing said once: red flags with their
actions; causes ranked by certainty; causes excluded by a measurement; differentials;
recommendations, with standing advice one line each; investigations; how the input was read;
warnings; what is still unknown; and one line for each reference the report cites. A reason
shared by several entries is printed under the first and pointed to from the others.

`brief=True` prints the summary alone; `explain=True` prints everything: the full texts, every
rule, the chain behind every conclusion (rules fired, facts matched, as given and as
normalised) and the full citations. Lines are wrapped to `width` (60 to 100 columns), and every
piece of text that came from the input goes through `render.visible` first.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.patient.labs import quantity
from cramp_expert.render.report import (
    GENERIC_REVIEW,
    STANDING_ADVICE,
    URGENCY_TEXT,
    Reasons,
    Summary,
    cited_keys,
    first_sentence,
    grade,
    is_standing,
    medicines_note,
    specific_note,
    summarise,
)
from cramp_expert.render.safe import visible


def contract_dict(result: Any) -> dict[str, Any]:
    """The contract's dict of a result: the typed `Consultation`'s, or the dict itself."""
    to_dict = getattr(result, "to_dict", None)
    return dict(to_dict()) if callable(to_dict) else dict(result)


WIDTH = 96
"""The width of `how` and `why-not` answers."""
MIN_WIDTH, MAX_WIDTH = 60, 100
SUMMARY_LINES = 12
NATURE_NOTE = {"risk_modifier": " (risk modifier, not a treatable cause)"}
LABEL = 11
"""The summary's label column: `RED FLAG`, `CAUSES`, `NEXT STEP`, `CONFIRM`."""


def report_width(width: int | None = None) -> int:
    """The report's width: `width`, else the terminal's (COLUMNS), clamped to 60..100."""
    if width is None:
        width = shutil.get_terminal_size((MAX_WIDTH, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, width))


class _Page:
    """Lines wrapped to one width; every text made visible (input-derived or not) first."""

    def __init__(self, width: int):
        self.width = width
        self.lines: list[str] = []

    def wrap(self, text: str, indent: str = "  ", first: str | None = None) -> list[str]:
        return textwrap.wrap(
            visible(text),
            self.width,
            initial_indent=indent if first is None else first,
            subsequent_indent=indent,
            break_on_hyphens=False,
        )

    def add(self, text: str, indent: str = "  ", first: str | None = None) -> None:
        self.lines += self.wrap(text, indent, first)

    def heading(self, title: str) -> None:
        self.lines.append(f"{title} " + "-" * (self.width - len(title) - 1))


def render_text(
    result: Any,
    kb: KnowledgeBase,
    explain: bool = False,
    *,
    brief: bool = False,
    width: int | None = None,
) -> str:
    """Render a result as the clinician's report (see the module docstring).

    `result` is the typed `Consultation` or its contract dict.
    """
    result = contract_dict(result)
    page = _Page(report_width(width))
    summary = summarise(result)
    page.lines += summary_block(result, summary, page.width)
    if brief:
        return "\n".join(page.lines) + "\n"
    cited: list[str] = []
    reasons = Reasons(kb)
    _red_flags(page, result, kb, reasons, cited, explain)
    _causes(page, result, kb, reasons, cited, explain)
    _excluded(page, result, explain)
    _differentials(page, result, kb, reasons, cited, explain)
    _recommendations(page, result, kb, reasons, cited, explain)
    _investigations(page, result, kb, reasons, cited, explain)
    _input_as_read(page, result, explain)
    _warnings(page, result)
    if "robustness" in result:
        _robustness(page, result["robustness"], kb, explain)
    if explain:
        page.lines += _explanations(result, kb, page.width)
        cited += [ref for entry in result["trace"] for ref in entry["references"]]
    _references(page, kb, cited, explain)
    if not explain:
        page.add(
            "Rules, facts and full texts: --explain; one conclusion: cramp-expert explain FILE "
            "--how ID.",
            "",
        )
    return "\n".join(page.lines) + "\n"


def summary_block(result: Mapping[str, Any], summary: Summary, width: int) -> list[str]:
    """The summary: at most 12 lines at 100 columns, red flags first, then what fits.

    Each red flag keeps at least its tier, label and the action's first words on one line; the
    causes, the next step and what to confirm share what is left.
    """
    page = _Page(width)
    pad = " " * LABEL
    meta = result["knowledge_base"]
    who = result.get("patient_id") or "patient"
    title = f"cramp-expert: {who} - summary (knowledge base {meta['version']})"
    head = page.wrap(title, "", "")[:1]

    def block(label: str, text: str, limit: int) -> list[str]:
        lines = page.wrap(text, pad, label.ljust(LABEL))
        if len(lines) > limit:
            lines = lines[:limit]
            lines[-1] = lines[-1][: width - 1].rstrip() + "…"
        return lines

    flags: list[list[str]] = []
    least: list[int] = []  # a flag's tier and label are never cut
    for flag in summary.red_flags:
        named = f"{URGENCY_TEXT.get(flag['urgency'], flag['urgency'])}: {flag['label']}."
        flags.append(
            page.wrap(f"{named} {first_sentence(flag['action'])}", pad, "RED FLAG".ljust(LABEL))
        )
        least.append(len(page.wrap(named + " x", pad, "RED FLAG".ljust(LABEL))))
    if not flags:
        text = "none found among the findings given"
        if summary.not_ruled_out:
            text += (
                f"; {len(summary.not_ruled_out)} not ruled out (their findings were not assessed)"
            )
        flags.append(page.wrap(text, pad, "RED FLAGS".ljust(LABEL)))
        least.append(len(flags[0]))
    causes = (
        [
            f"{c['label']} {c['certainty']:.2f}, {grade(c['evidence'])} evidence"
            for c in summary.causes
        ]
        if summary.causes
        else ["none concluded from the facts given"]
    )
    more = len(result["causes"]) - len(summary.causes)
    if more > 0:
        causes[-1] += f" (+{more} below)"
    step = summary.next
    step_text = ""
    if step is not None:
        step_text = step.text
        if step.tests:
            step_text += "; tests: " + ", ".join(step.tests)
    confirm = "; ".join(c.text for c in summary.confirm)

    budget = SUMMARY_LINES - len(head)
    reserve = 1 + (1 if step_text else 0) + (1 if confirm else 0)  # one line each at least
    room = max(sum(least), budget - reserve)
    flag_lines = _fit(flags, least, room, width)
    budget -= len(flag_lines)
    cause_lines: list[str] = []
    for index, text in enumerate(causes):
        left = budget - (1 if step_text else 0) - (1 if confirm else 0) - len(cause_lines)
        if left <= 0:
            break
        label = "CAUSES" if index == 0 else ""
        cause_lines += block(label, text, min(left, 2 if index == 0 else 1))
    budget -= len(cause_lines)
    step_lines = (
        block("NEXT STEP", step_text, max(1, budget - (1 if confirm else 0))) if step_text else []
    )
    budget -= len(step_lines)
    confirm_lines = block("CONFIRM", "please confirm " + confirm, max(1, budget)) if confirm else []
    return head + flag_lines + cause_lines + step_lines + confirm_lines


def _fit(entries: list[list[str]], least: list[int], room: int, width: int) -> list[str]:
    """Red flags' lines within `room`: whole when they fit, else their actions cut short.

    The longest (and of those the least urgent) gives a line first; a flag never gets shorter
    than `least`, its tier and label.
    """
    cut = [list(lines) for lines in entries]
    while sum(len(lines) for lines in cut) > room:
        can = [i for i, lines in enumerate(cut) if len(lines) > least[i]]
        if not can:
            break
        most = max(len(cut[i]) for i in can)
        longest = cut[[i for i in can if len(cut[i]) == most][-1]]
        longest.pop()
        # The mark of the cut must fit within the width too: shorten the line for it.
        kept = longest[-1].rstrip()
        if len(kept) + 2 > width:
            kept = kept[: width - 2].rstrip()
        longest[-1] = kept + " …"
    return [line for lines in cut for line in lines]


def _ids(item: Mapping[str, Any]) -> str:
    return f" [{item['id']}]"


def _refs(keys: list[str]) -> str:
    return f" [{', '.join(keys)}]" if keys else ""


def _entry(
    page: _Page,
    head: str,
    item: Mapping[str, Any],
    where: str,
    reasons: Reasons,
    explain: bool,
    body: Iterable[str] = (),
    finding_only: bool = False,
) -> None:
    """An entry: its head line, then `body` (action, text), then its reasons, each said once.

    With no body and one reason (or only pointers), the reason follows the head on its line.
    """
    fresh, pointers = reasons.split(item, where, finding_only and not explain)
    body = [text for text in body if text]
    pointer = f"(as for {', '.join(pointers)})" if pointers else ""
    indent = "     "
    if not body and len(fresh) <= 1:
        tail = ": " + fresh[0] if fresh else ""
        page.add(head + tail + (" " + pointer if pointer else ""), indent, "  ")
    else:
        page.add(head + (" " + pointer if pointer else ""), indent, "  ")
        for text in body:
            page.add(text, indent)
        if len(fresh) == 1:
            page.add("Because: " + fresh[0], indent)
        else:
            for text in fresh:
                page.add("- " + text, indent + "  ", indent)
    if explain:
        page.add("rules: " + ", ".join(item["because"]), indent)


def _sentences(text: str, limit: int) -> str:
    """The text's first sentences within about `limit` characters (at least one), marking a cut."""
    sentences = re.split(r"(?<!e\.g\.)(?<!i\.e\.)(?<=[.;])\s+(?=[A-Z])", text.strip())
    kept = sentences[:1]
    for sentence in sentences[1:]:
        if len(" ".join([*kept, sentence])) > limit:
            return " ".join(kept) + " (more: --explain)"
        kept.append(sentence)
    return " ".join(kept)


MAX_KEYS = 1
"""Reference keys an entry cites in the default report (all of them with --explain)."""


def _keys(
    kb: KnowledgeBase,
    item: Mapping[str, Any],
    cited: list[str],
    explain: bool,
    most: int = MAX_KEYS,
) -> str:
    keys = list(item.get("references", [])) if explain else cited_keys(kb, item)[:most]
    cited += keys
    return f" [{', '.join(keys)}]" if keys else ""


Section = Mapping[str, Any]


def _red_flags(
    page: _Page,
    result: Section,
    kb: KnowledgeBase,
    reasons: Reasons,
    cited: list[str],
    explain: bool,
) -> None:
    if not result["red_flags"]:
        return  # the summary says "none found" and how many are not ruled out
    page.heading("RED FLAGS")
    for number, flag in enumerate(result["red_flags"], 1):
        tier = URGENCY_TEXT.get(flag["urgency"], flag["urgency"])
        head = (
            f"!! {number}. {tier}: {flag['label']}{_ids(flag)}, "
            f"{grade(flag['evidence'])} evidence{_keys(kb, flag, cited, explain, 3)}"
        )
        action = ["Action: " + flag["action"]]
        _entry(page, head, flag, f"red flag {number}", reasons, explain, action, finding_only=True)


def _causes(
    page: _Page,
    result: Section,
    kb: KnowledgeBase,
    reasons: Reasons,
    cited: list[str],
    explain: bool,
) -> None:
    page.heading("LIKELY CAUSES (ranked by certainty, evidence grade)")
    if not result["causes"]:
        page.add("No cause concluded from the facts given.")
    for rank, cause in enumerate(result["causes"], 1):
        note = NATURE_NOTE.get(cause.get("nature", ""), "")
        head = (
            f"{rank}. {cause['label']}{_ids(cause)}{note} {cause['certainty']:.2f}, "
            f"{grade(cause['evidence'])}{_keys(kb, cause, cited, explain)}"
        )
        _entry(page, head, cause, f"cause {rank}", reasons, explain)
    medicines = medicines_note(result)
    if medicines:
        page.add(medicines)


def _excluded(page: _Page, result: Section, explain: bool) -> None:
    if not result["excluded"]:
        return
    page.heading("EXCLUDED BY A MEASUREMENT")
    for item in result["excluded"]:
        page.add(f"- {item['label']}{_ids(item)}: {item['reason']}", "    ", "  ")
        if explain:
            page.add("rules: " + ", ".join(item["because"]), "    ")


def _differentials(
    page: _Page,
    result: Section,
    kb: KnowledgeBase,
    reasons: Reasons,
    cited: list[str],
    explain: bool,
) -> None:
    if not result["differentials"]:
        return
    page.heading("DIFFERENTIAL DIAGNOSES (mimics to consider)")
    for number, item in enumerate(result["differentials"], 1):
        head = f"{number}. {item['label']}{_ids(item)}{_keys(kb, item, cited, explain)}"
        body = ["Action: " + item["action"]] if item.get("action") else []
        _entry(page, head, item, f"differential {number}", reasons, explain, body)


def _recommendations(
    page: _Page,
    result: Section,
    kb: KnowledgeBase,
    reasons: Reasons,
    cited: list[str],
    explain: bool,
) -> None:
    page.heading("RECOMMENDATIONS")
    if not result["recommendations"]:
        page.add("None.")
    standing = [] if explain else [r for r in result["recommendations"] if is_standing(r, result)]
    specific = [r for r in result["recommendations"] if r not in standing]
    for number, item in enumerate(specific, 1):
        head = (
            f"{number}. {item['label']}{_ids(item)}, evidence {grade(item['evidence'])}"
            f"{_keys(kb, item, cited, explain, 1)}"
        )
        if explain or item["id"] in STANDING_ADVICE:
            # standing advice printed here is specific to this patient: all of it
            text = item["text"]
        elif item["id"] == GENERIC_REVIEW:
            text = ""  # "see a clinician": the reader is the clinician
        else:
            text = _sentences(item["text"], 2 * page.width)
        _entry(page, head, item, f"recommendation {number}", reasons, explain, [text])
    if standing:
        page.add("Standing advice (every cramp consultation; the full text with --explain):")
        for item in standing:
            note = specific_note(item, result)
            page.add(
                f"- {item['label']}{'; ' + note if note else ''} (evidence "
                f"{grade(item['evidence'])}){_keys(kb, item, cited, explain, 1)}",
                "      ",
                "    ",
            )


def _investigations(
    page: _Page,
    result: Section,
    kb: KnowledgeBase,
    reasons: Reasons,
    cited: list[str],
    explain: bool,
) -> None:
    if not result["investigations"]:
        return
    page.heading("INVESTIGATIONS")
    for number, item in enumerate(result["investigations"], 1):
        head = f"{number}. {item['label']}{_ids(item)}{_keys(kb, item, cited, explain, 1)}"
        body = [item["text"]] if explain and item.get("text") else []
        _entry(page, head, item, f"test {number}", reasons, explain, body)


def _input_as_read(page: _Page, result: Mapping[str, Any], explain: bool) -> None:
    interpreted = result["interpreted"]
    if not (interpreted["medications"] or interpreted["conditions"] or interpreted["labs"]):
        return
    page.heading("HOW THE INPUT WAS READ")
    meds = []
    for med in interpreted["medications"]:
        if med["match"] == "unknown":
            meds.append(f"'{med['input']}' not recognised")
            continue
        classes = f" [{', '.join(med['classes'])}]" if med["classes"] and explain else ""
        confirm = " (please confirm)" if med["match"] == "fuzzy" else ""
        same = med["input"].lower().startswith(med["drug"].lower()) and not (classes or confirm)
        meds.append(
            f"'{med['input']}'" if same else f"'{med['input']}' -> {med['drug']}{classes}{confirm}"
        )
    if meds:
        page.add("Medicines: " + "; ".join(meds), "    ", "  ")
    conditions = []
    for condition in interpreted["conditions"]:
        read = ", ".join(condition["conditions"]) or "not recognised"
        confirm = " (please confirm)" if condition["match"] in ("fuzzy", "partial") else ""
        conditions.append(f"'{condition['input']}' -> {read}{confirm}")
    if conditions:
        page.add("Conditions: " + "; ".join(conditions), "    ", "  ")
    labs = []
    for name, lab in interpreted["labs"].items():
        read = quantity(lab["value"], lab["unit"])
        # a bare number read in its default unit is no conversion to confirm
        if explain or read not in (lab["input"], f"{lab['input']} {lab['unit']}"):
            labs.append(f"{name} {lab['input']} -> {read}")
    if labs:
        page.add("Labs converted: " + "; ".join(labs), "    ", "  ")


def _warnings(page: _Page, result: Mapping[str, Any]) -> None:
    if not result["warnings"]:
        return
    page.heading("WARNINGS")
    for warning in result["warnings"]:
        page.add(f"{warning['code']} {warning['where']}: {warning['message']}", "    ", "  ")


MAX_LISTED = 8
"""How many open conclusions the text report names before summarising the rest."""


def _robustness(page: _Page, robust: dict[str, Any], kb: KnowledgeBase, explain: bool) -> None:
    """What holds regardless of the unknown facts, what depends on them, what to find out first.

    The default report keeps what changes the next move (red flags not ruled out, the most
    informative fact); `--explain` adds what holds regardless and what could change.
    """
    page.heading("STILL UNKNOWN" if not explain else "ROBUSTNESS TO WHAT IS UNKNOWN")
    depends = robust["depends_on_unknowns"]
    lost = [d for d in depends if d["concluded"]]
    added = [d for d in depends if not d["concluded"]]
    if explain:
        holds = robust["holds_regardless"]
        page.add(
            "Holds whatever the unknown facts turn out to be: " + (", ".join(holds) or "nothing")
        )
        for entry in lost:
            page.add(f"Could be lost: {entry['id']}, depending on {_some(entry['facts'])}")
    kinds = kb.knowledge.conclusions
    flags = [d["id"] for d in added if kinds[d["id"]].kind == "red_flag"]
    others = [d["id"] for d in added if kinds[d["id"]].kind != "red_flag"]
    if flags:
        page.add("Red flags not ruled out (findings unknown): " + ", ".join(flags))
    if others and explain:
        page.add(f"Could still be concluded: {_some(others, MAX_LISTED)}")
    best = robust.get("most_informative")
    if best:
        page.add("Most informative next step: " + best["text"])


def _some(items: list[str], limit: int = 4) -> str:
    """`a, b, c, d and 7 more`: the text report names a few; the JSON has them all."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _references(page: _Page, kb: KnowledgeBase, cited: Iterable[str], explain: bool) -> None:
    """One line per reference cited above (the whole citation with --explain)."""
    keys = [key for key in dict.fromkeys(cited) if key in kb.knowledge.references]
    if not keys:
        return
    page.heading("REFERENCES")
    for key in keys:
        text = f"[{key}] {kb.knowledge.references[key].citation}"
        if explain:
            page.add(text, "      ", "  ")
            continue
        page.lines.append(_one_line("  " + visible(text), page.width))


def _one_line(text: str, width: int) -> str:
    """`text` cut at a word to fit `width` columns, marked with an ellipsis when cut."""
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    return (cut[: cut.rfind(" ")] if " " in cut.strip() else cut).rstrip(" ,;:") + "…"


def _explanations(result: dict[str, Any], kb: KnowledgeBase, width: int) -> list[str]:
    """HOW: every conclusion, the rules that fired for it, and the facts each matched."""
    page = _Page(width)
    page.heading("HOW EACH CONCLUSION WAS REACHED")
    trace = {entry["rule"]: entry for entry in result["trace"]}
    for section in (
        "red_flags",
        "causes",
        "differentials",
        "recommendations",
        "investigations",
        "excluded",
    ):
        for item in result[section]:
            page.lines.append(f"  {item['id']}:")
            shown: set[str] = set()  # within one conclusion, each rule is spelled out once
            for rule_id in item["because"]:
                _explain_rule(page, rule_id, trace, kb, depth=2, seen=shown)
    return page.lines


def _explain_rule(
    page: _Page, rule_id: str, trace: dict[str, Any], kb: KnowledgeBase, depth: int, seen: set[str]
) -> None:
    indent = "  " * min(depth, 12)
    entry = trace.get(rule_id)
    rule = kb.rule(rule_id)
    if entry is None or rule is None:
        page.add(f"- {rule_id} (did not fire)", indent + "  ", indent)
        return
    if rule_id in seen:
        page.add(f"- rule {rule_id} (shown above)", indent + "  ", indent)
        return
    seen.add(rule_id)
    page.add(
        f"- rule {rule_id}: {rule.title} (certainty {rule.then.certainty:g}, evidence {rule.evidence}, refs {', '.join(rule.references)})",
        indent + "    ",
        indent,
    )
    page.add(rule.rationale, indent + "    ")
    page.add(f"source: {rule.path}", indent + "    ")
    for fact in entry["facts"]:
        page.add(f"* {fact['text']}", indent + "      ", indent + "    ")
        concluded = fact.get("concluded")
        if concluded and not fact.get("negated"):
            for producer in kb.producers(concluded):
                if producer.id in trace and concluded in producer.then.conclude:
                    _explain_rule(page, producer.id, trace, kb, depth + 3, seen)


def _wrap(text: str, indent: str = "    ") -> list[str]:
    return (
        textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent) if text else []
    )


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
