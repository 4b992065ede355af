"""The clinician's report as one self-contained HTML page: `render_html(result, kb)`.

One file, readable on a screen and printable on A4: inline CSS, no script, nothing fetched from
the network (references are plain links). Summary first (every red flag with its tier in colour
and in words, the top causes with a certainty bar, the next step, what to confirm); then red
flags, causes, exclusions, differentials, recommendations (standing advice folded) and
investigations, each conclusion with its inference chain (the rules that fired and the facts
they matched, down to the input) drawn as a tree in a collapsed `<details>`; the input as read;
what is still unknown; the references with links. Headings and landmarks (`header`, `main`,
`nav`, `section` with `aria-labelledby`) let a screen reader follow it.

Every string that came from the input (or from the knowledge base) goes through
`render.visible` and then HTML escaping. The same page is what a web page or a CDS Hooks card
links to (issue 16) and what the patient's handout reuses pieces of (issue 18):
`render_html(result, kb, standalone=False)` returns the report's `<main>` alone, and `STYLE`
is its stylesheet.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.patient.labs import quantity
from cramp_expert.reasoning.how import how
from cramp_expert.render.report import (
    GENERIC_REVIEW,
    URGENCY_TEXT,
    Reasons,
    Summary,
    cited_keys,
    first_sentence,
    grade,
    is_standing,
    medicines_note,
    reference_link,
    specific_note,
    summarise,
)
from cramp_expert.render.safe import visible
from cramp_expert.result import Consultation


def e(text: Any) -> str:
    """Text made visible (no control or bidi characters) and HTML-escaped, quotes included."""
    return html.escape(visible(str(text)), quote=True)


STYLE = """
:root { --emergency:#9b1c1c; --urgent:#c2410c; --soon:#7a6000; --routine:#1d4ed8;
  --ink:#1a1a1a; --muted:#555; --rule:#d0d0d0; --bar:#2f6f4f; }
* { box-sizing: border-box; }
body { font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans",
  sans-serif; color: var(--ink); margin: 0 auto; max-width: 60em; padding: 0.5em 1em 2em; }
header { border-bottom: 2px solid var(--ink); margin-bottom: 0.4em; }
h1 { font-size: 1.3em; margin: 0.15em 0; }
h2 { font-size: 1.1em; margin: 0.8em 0 0.25em; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1em; margin: 0.35em 0 0.1em; }
p { margin: 0.1em 0; }
.meta, .muted { color: var(--muted); font-size: 0.88em; }
nav ul { list-style: none; padding: 0; margin: 0.2em 0; display: flex; flex-wrap: wrap;
  gap: 0.2em 0.9em; font-size: 0.88em; }
.summary { border: 2px solid var(--ink); border-radius: 6px; padding: 0.35em 0.7em; }
.summary h2 { border: 0; margin-top: 0.05em; }
.flaglist { list-style: none; padding: 0; margin: 0.2em 0; }
.flaglist li { margin: 0.2em 0; padding: 0.15em 0.5em; border-left-width: 6px;
  border-left-style: solid; }
.tier { display: inline-block; font-weight: 700; color: #fff; padding: 0 0.4em; border-radius: 3px;
  font-size: 0.85em; letter-spacing: 0.02em; margin-right: 0.3em; }
.emergency { border-color: var(--emergency); } .emergency .tier { background: var(--emergency); }
.urgent { border-color: var(--urgent); } .urgent .tier { background: var(--urgent); }
.soon { border-color: var(--soon); } .soon .tier { background: var(--soon); }
.routine { border-color: var(--routine); } .routine .tier { background: var(--routine); }
.noflag { font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; vertical-align: top; padding: 0.05em 0.5em 0.05em 0; }
table.causes td.cf { white-space: nowrap; width: 9.5em; }
.bar { display: inline-block; width: 6em; height: 0.75em; border: 1px solid var(--bar);
  vertical-align: middle; margin-right: 0.35em; background: #fff; }
.bar > span { display: block; height: 100%; background: var(--bar); }
.grade { font-size: 0.85em; color: var(--muted); }
article { border-left: 3px solid var(--rule); padding: 0.05em 0 0.05em 0.6em; margin: 0.3em 0; }
article.flag { border-left-width: 6px; }
.because { color: #333; font-size: 0.93em; }
ul.because { margin: 0; padding-left: 1.4em; }
.refs { font-size: 0.85em; }
details > summary { cursor: pointer; color: var(--muted); font-size: 0.88em; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 1.1em; }
ul.tree { padding-left: 0.3em; font-size: 0.88em; }
ul.tree li { position: relative; padding-left: 0.9em; }
ul.tree li::before { content: ""; position: absolute; left: 0; top: 0; bottom: 0;
  border-left: 1px solid #999; }
ul.tree li::after { content: ""; position: absolute; left: 0; top: 0.7em; width: 0.7em;
  border-top: 1px solid #999; }
ul.tree li:last-child::before { bottom: auto; height: 0.7em; }
h3 .cf { font-weight: 400; white-space: nowrap; margin-left: 0.4em; }
.rule { font-weight: 600; } .fact { color: #234; } code { font-size: 0.88em; }
ul.standing { margin: 0.1em 0; padding-left: 1.2em; }
ul.standing details { display: inline; }
.refs-list { font-size: 0.85em; padding-left: 1.2em; }
.facts { font-size: 0.9em; margin-top: 0.2em; }
.refs-list li { margin: 0.05em 0; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@media print {
  @page { size: A4; margin: 10mm 11mm; }
  body { font-size: 8.5pt; max-width: none; padding: 0; }
  nav, details, .chain-only { display: none !important; }
  h2 { font-size: 10pt; margin-top: 0.5em; break-after: avoid; }
  .summary, article { break-inside: avoid; }
  .refs-list { column-count: 2; column-gap: 1.2em; font-size: 7.5pt; }
  a { color: inherit; text-decoration: none; }
}
"""


def render_html(
    result: Any,
    kb: KnowledgeBase,
    *,
    standalone: bool = True,
    open_chains: bool = False,
) -> str:
    """The clinician's report of `result` (the contract's JSON dict) as an HTML page.

    `standalone=False` returns only the `<main>` element (for a page that has its own head and
    includes `STYLE`); `open_chains=True` opens every inference chain.
    """
    from cramp_expert.explain.text import contract_dict

    typed = result if isinstance(result, Consultation) else None
    result = contract_dict(result)
    page = _Page(result, kb, open_chains, typed)
    main = page.main()
    if not standalone:
        return main
    who = e(result.get("patient_id") or "patient")
    meta = result["knowledge_base"]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>cramp-expert consultation: {who}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header>\n<h1>Night-time leg cramps: consultation {who}</h1>\n"
        f'<p class="meta">cramp-expert, knowledge base {e(meta["version"])} '
        f"({e(meta.get('rules', ''))} rules, {e(str(meta['digest'])[:19])}…). Decision support: "
        "the clinician decides.</p>\n"
        f"{page.nav()}</header>\n{main}\n</body>\n</html>\n"
    )


class _Page:
    def __init__(
        self,
        result: Mapping[str, Any],
        kb: KnowledgeBase,
        open_chains: bool,
        typed: Consultation | None = None,
    ):
        self.result = result
        self.typed = typed  # HOW reads the typed result; a bare dict gets no chains
        self.kb = kb
        self.open = " open" if open_chains else ""
        self.summary: Summary = summarise(result)
        self.reasons = Reasons(kb)
        self.cited: list[str] = []
        self.chain_cited: list[str] = []  # cited only inside the (collapsed) chains

    def nav(self) -> str:
        links = [("summary", "Summary")]
        for key, title in SECTIONS:
            if self.result.get(key):
                links.append((key.replace("_", "-"), title))
        links += [("input", "Input as read"), ("references", "References")]
        items = "".join(f'<li><a href="#{k}">{e(t)}</a></li>' for k, t in links)
        return f'<nav aria-label="Sections"><ul>{items}</ul></nav>\n'

    def main(self) -> str:
        parts = [
            self.summary_section(),
            self.red_flags(),
            self.causes(),
            self.excluded(),
            self.differentials(),
            self.recommendations(),
            self.investigations(),
            self.input_as_read(),
            self.unknown(),
            self.references(),
        ]
        return "<main>\n" + "\n".join(p for p in parts if p) + "\n</main>"

    # -- pieces -----------------------------------------------------------------------------
    def keys(self, item: Mapping[str, Any], most: int = 3) -> str:
        keys = cited_keys(self.kb, item)[:most]
        self.cited += keys
        if not keys:
            return ""
        links = ", ".join(f'<a href="#ref-{e(k)}">{e(k)}</a>' for k in keys)
        return f' <span class="refs">[{links}]</span>'

    def because(self, item: Mapping[str, Any], where: str, finding_only: bool = False) -> str:
        fresh, pointers = self.reasons.split(item, where, finding_only)
        out = ""
        if len(fresh) == 1:
            out += f'<p class="because">Because: {e(fresh[0])}</p>'
        elif fresh:
            items = "".join(f"<li>{e(t)}</li>" for t in fresh)
            out += f'<p class="because">Because:</p><ul class="because">{items}</ul>'

        if pointers:
            out += f'<p class="because">Because: as for {e(", ".join(pointers))}.</p>'
        return out

    def chain(self, cid: str) -> str:
        if self.typed is None:
            return ""
        answer = how(self.kb, self.typed, cid)
        steps = answer.get("rules", [])
        if not steps:
            return ""
        tree = "".join(self.step(s) for s in steps)
        return (
            f"<details{self.open}><summary>How this was concluded: the rules and the facts they "
            f'matched</summary><ul class="tree" aria-label="Inference chain for {e(cid)}">'
            f"{tree}</ul></details>"
        )

    def step(self, step: Mapping[str, Any]) -> str:
        refs = ", ".join(step["references"])
        self.chain_cited += list(step["references"])
        head = (
            f'<span class="rule">{e(step["title"])}</span> <code>{e(step["rule"])}</code> '
            f'<span class="grade">certainty {step["certainty"]:g}, evidence '
            f"{e(grade(step['evidence']))}{', ' + e(refs) if refs else ''}</span>"
        )
        if step.get("repeated"):
            return f'<li>{head} <span class="muted">(shown above)</span></li>'
        chains = {c["id"]: c for c in step["chains"]}
        facts = []
        for fact in step["facts"]:
            sub = chains.get(fact.get("concluded", ""))
            inner = ""
            if sub is not None and not fact.get("negated"):
                inner = "<ul>" + "".join(self.step(s) for s in sub["rules"]) + "</ul>"
            facts.append(f'<li><span class="fact">{e(fact["text"])}</span>{inner}</li>')
        return f"<li>{head}<ul>{''.join(facts)}</ul></li>"

    def section(self, key: str, title: str, body: str) -> str:
        return (
            f'<section id="{key}" aria-labelledby="h-{key}">\n<h2 id="h-{key}">{e(title)}</h2>\n'
            f"{body}\n</section>"
        )

    # -- sections ---------------------------------------------------------------------------
    def summary_section(self) -> str:
        s = self.summary
        out = []
        if s.red_flags:
            items = "".join(
                f'<li class="{e(f["urgency"])}"><span class="tier">'
                f"{e(URGENCY_TEXT.get(f['urgency'], f['urgency']))}</span> "
                f'<strong>{e(f["label"])}</strong>: <span class="action">'
                f"{e(first_sentence(f['action']))}</span></li>"
                for f in s.red_flags
            )
            out.append(f'<h3>Red flags</h3><ul class="flaglist">{items}</ul>')
        else:
            note = (
                f"; {len(s.not_ruled_out)} not ruled out (their findings were not assessed)"
                if s.not_ruled_out
                else ""
            )
            out.append(
                f'<p class="noflag">No red flag found among the findings given{e(note)}.</p>'
            )
        if s.causes:
            rows = "".join(self.cause_row(c) for c in s.causes)
            more = len(self.result["causes"]) - len(s.causes)
            extra = f'<p class="muted">and {more} more below.</p>' if more > 0 else ""
            out.append(f'<h3>Likely causes</h3><table class="causes">{rows}</table>{extra}')
        else:
            out.append(
                "<p><strong>Likely causes:</strong> none concluded from the facts given.</p>"
            )
        if s.next is not None:
            tests = f"; tests: {', '.join(s.next.tests)}" if s.next.tests else ""
            out.append(f"<p><strong>Next step:</strong> {e(s.next.text + tests)}</p>")
        if s.confirm:
            out.append(
                "<p><strong>Please confirm:</strong> "
                + e("; ".join(c.text for c in s.confirm))
                + "</p>"
            )
        return (
            '<section id="summary" class="summary" aria-labelledby="h-summary">\n'
            '<h2 id="h-summary">Summary</h2>\n' + "\n".join(out) + "\n</section>"
        )

    def bar(self, cause: Mapping[str, Any]) -> str:
        """The certainty as a bar, with the number beside it (the bar alone says nothing)."""
        cf = max(0.0, min(1.0, float(cause["certainty"])))
        return (
            f'<span class="bar" role="img" aria-label="certainty {cf:.2f}">'
            f'<span style="width:{cf * 100:.0f}%"></span></span>{cf:.2f}'
        )

    def cause_row(self, cause: Mapping[str, Any]) -> str:
        return (
            f'<tr><td class="cf">{self.bar(cause)}</td>'
            f'<td>{e(cause["label"])} <span class="grade">{e(grade(cause["evidence"]))} evidence'
            "</span></td></tr>"
        )

    def red_flags(self) -> str:
        flags = self.result["red_flags"]
        if not flags:
            return ""
        body = []
        for number, flag in enumerate(flags, 1):
            tier = URGENCY_TEXT.get(flag["urgency"], flag["urgency"])
            body.append(
                f'<article class="flag {e(flag["urgency"])}" aria-labelledby="rf-{number}">'
                f'<h3 id="rf-{number}"><span class="tier">{e(tier)}</span> {e(flag["label"])}</h3>'
                f"<p><strong>Action:</strong> {e(flag['action'])}</p>"
                f"{self.because(flag, f'red flag {number}', finding_only=True)}"
                f'<p class="grade">{e(grade(flag["evidence"]))} evidence{self.keys(flag)} '
                f"<code>{e(flag['id'])}</code></p>{self.chain(flag['id'])}</article>"
            )
        return self.section("red-flags", "Red flags", "\n".join(body))

    def causes(self) -> str:
        causes = self.result["causes"]
        if not causes:
            return ""
        body = []
        for rank, cause in enumerate(causes, 1):
            note = (
                " (risk modifier, not a treatable cause)"
                if cause.get("nature") == "risk_modifier"
                else ""
            )
            body.append(
                f'<article aria-labelledby="c-{rank}"><h3 id="c-{rank}">{rank}. {e(cause["label"] + note)} '
                f'<span class="cf">{self.bar(cause)} <span class="grade">{e(grade(cause["evidence"]))} '
                f'evidence</span>{self.keys(cause, 2)} <code class="grade">{e(cause["id"])}</code>'
                f"</span></h3>{self.because(cause, f'cause {rank}')}"
                f"{self.chain(cause['id'])}</article>"
            )
        medicines = medicines_note(self.result)
        if medicines:
            body.append(f'<p class="muted">{e(medicines)}</p>')
        return self.section("causes", "Likely causes (ranked by certainty)", "\n".join(body))

    def excluded(self) -> str:
        items = self.result["excluded"]
        if not items:
            return ""
        rows = "".join(
            f"<li><strong>{e(i['label'])}</strong>: {e(i['reason'])} {self.chain(i['id'])}</li>"
            for i in items
        )
        return self.section("excluded", "Excluded by a measurement", f"<ul>{rows}</ul>")

    def differentials(self) -> str:
        items = self.result["differentials"]
        if not items:
            return ""
        body = []
        for number, item in enumerate(items, 1):
            action = (
                f"<p><strong>Action:</strong> {e(item['action'])}</p>" if item.get("action") else ""
            )
            body.append(
                f"<article><h3>{e(item['label'])}</h3>{action}"
                f"{self.because(item, f'differential {number}')}"
                f'<p class="grade">{self.keys(item)}</p>{self.chain(item["id"])}</article>'
            )
        return self.section("differentials", "Differential diagnoses (mimics)", "\n".join(body))

    def recommendations(self) -> str:
        items = self.result["recommendations"]
        if not items:
            return ""
        standing = [r for r in items if is_standing(r, self.result)]
        body = []
        for number, item in enumerate([r for r in items if r not in standing], 1):
            text = "" if item["id"] == GENERIC_REVIEW else f"<p>{e(item['text'])}</p>"
            body.append(
                f'<article><h3>{e(item["label"])} <span class="grade">'
                f"{e(grade(item['evidence']))} evidence</span></h3>{text}"
                f"{self.because(item, f'recommendation {number}')}"
                f'<p class="grade">{self.keys(item, 2)}</p>{self.chain(item["id"])}</article>'
            )
        if standing:
            rows = []
            for item in standing:
                note = specific_note(item, self.result)
                rows.append(
                    f"<li>{e(item['label'])}{('; ' + e(note)) if note else ''} "
                    f'<span class="grade">{e(grade(item["evidence"]))} evidence</span>'
                    f"{self.keys(item, 1)} <details{self.open}><summary>full text</summary>"
                    f"<p>{e(item['text'])}</p></details> {self.chain(item['id'])}</li>"
                )
            body.append('<h3>Standing advice</h3><ul class="standing">' + "".join(rows) + "</ul>")
        return self.section("recommendations", "Recommendations", "\n".join(body))

    def investigations(self) -> str:
        items = self.result["investigations"]
        if not items:
            return ""
        body = []
        for number, item in enumerate(items, 1):
            body.append(
                f"<article><h3>{e(item['label'])}</h3>{self.because(item, f'test {number}')}"
                f'<p class="grade">{self.keys(item, 2)}</p>{self.chain(item["id"])}</article>'
            )
        return self.section("investigations", "Investigations", "\n".join(body))

    def input_as_read(self) -> str:
        interpreted = self.result["interpreted"]
        rows = []
        for med in interpreted["medications"]:
            if med["match"] == "unknown":
                read = "not recognised"
            else:
                read = med["drug"] + (" (please confirm)" if med["match"] == "fuzzy" else "")
            rows.append(("Medicine", med["input"], read))
        for condition in interpreted["conditions"]:
            read = ", ".join(condition["conditions"]) or "not recognised"
            if condition["match"] in ("fuzzy", "partial"):
                read += " (please confirm)"
            rows.append(("Condition", condition["input"], read))
        for name, lab in interpreted["labs"].items():
            rows.append((f"Lab: {name}", lab["input"], quantity(lab["value"], lab["unit"])))
        # The other facts as the rules read them (age, pregnancy, the cramps, findings): from the
        # trace, so only facts some fired rule looked at, each once.
        seen: dict[str, str] = {}
        for entry in self.result["trace"]:
            for fact in entry["facts"]:
                name = fact.get("fact", "")
                other = name and not name.startswith(("labs.", "meds.", "conditions."))
                if other and fact.get("shown", "unknown") != "unknown":
                    seen.setdefault(name, fact["shown"])

        body = (
            '<table><thead><tr><th scope="col">Item</th><th scope="col">As written</th>'
            '<th scope="col">Read as</th></tr></thead><tbody>'
            + "".join(f"<tr><td>{e(k)}</td><td>{e(a)}</td><td>{e(b)}</td></tr>" for k, a, b in rows)
            + "</tbody></table>"
            if rows
            else "<p>No medicines, conditions or labs were given.</p>"
        )
        if seen:
            facts = "; ".join(f"{name} = {shown}" for name, shown in sorted(seen.items()))
            body += f'<p class="facts"><strong>Other facts as the rules read them:</strong> {e(facts)}</p>'
        warnings = self.result["warnings"]
        if warnings:
            body += (
                "<h3>Warnings</h3><ul>"
                + "".join(
                    f"<li><code>{e(w['code'])}</code> {e(w['where'])}: {e(w['message'])}</li>"
                    for w in warnings
                )
                + "</ul>"
            )
        return self.section("input", "The input as read", body)

    def unknown(self) -> str:
        robust = self.result.get("robustness")
        if not robust:
            return ""
        kinds = self.kb.knowledge.conclusions
        flags = [
            kinds[d["id"]].label
            for d in robust["depends_on_unknowns"]
            if not d["concluded"] and d["id"] in kinds and kinds[d["id"]].kind == "red_flag"
        ]
        out = []
        if flags:
            out.append(f"<p>Red flags not ruled out (findings unknown): {e('; '.join(flags))}.</p>")
        best = robust.get("most_informative")
        if best:
            out.append(f"<p>Most informative next step: {e(best['text'])}</p>")
        return self.section("unknown", "Still unknown", "\n".join(out)) if out else ""

    def references(self) -> str:
        shown = set(self.cited)
        keys = [
            k
            for k in dict.fromkeys([*self.cited, *self.chain_cited])
            if k in self.kb.knowledge.references
        ]
        items = []
        for key in keys:
            link = reference_link(self.kb, key)
            anchor = f' <a href="{e(link)}">{e(link)}</a>' if link else ""
            # A source cited only inside a chain is not printed: the chains are folded on paper.
            where = "" if key in shown else ' class="chain-only"'
            items.append(
                f'<li id="ref-{e(key)}"{where}><strong>[{e(key)}]</strong> '
                f"{e(self.kb.knowledge.references[key].citation)}{anchor}</li>"
            )
        return self.section(
            "references", "References", f'<ul class="refs-list">{"".join(items)}</ul>'
        )


SECTIONS = (
    ("red_flags", "Red flags"),
    ("causes", "Causes"),
    ("excluded", "Excluded"),
    ("differentials", "Differentials"),
    ("recommendations", "Recommendations"),
    ("investigations", "Investigations"),
)


__all__ = ["STYLE", "render_html"]
