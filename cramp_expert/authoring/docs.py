"""The rule catalogue in Markdown (`cramp-expert kb docs`), committed as docs/rules.md.

One section per topic (a folder of rules/), one entry per rule: title, tier, evidence grade,
what it concludes, its rationale, its conditions, its references and how many examples it
has; then the bibliography of everything cited. Each topic carries a Mermaid picture of its
rules, and the catalogue opens with pictures of the main chains. The output depends only on
the knowledge base (no dates, no paths of the machine), so a test can compare it with the
committed file and fail when it is stale.
"""

from __future__ import annotations

import re
from collections import Counter

from cramp_expert.authoring import graph
from cramp_expert.authoring.catalogue import when_lines
from cramp_expert.kb import KnowledgeBase, Rule
from cramp_expert.kb.model import EVIDENCE_GRADES

COMMAND = "cramp-expert kb docs -o docs/rules.md"

CHAINS = (
    ("state_urgent_red_flag", "An urgent red flag holds back reassurance and the idiopathic label"),
    ("state_fluid_restricted", "A fluid restriction holds back advice to drink more"),
)
"""States pictured at the top of the catalogue (one rule step each way)."""


def render_catalogue(kb: KnowledgeBase) -> str:
    """The whole catalogue as Markdown."""
    knowledge = kb.knowledge
    topics: dict[str, list[Rule]] = {}
    for rule in sorted(kb.rules, key=lambda r: (r.topic, r.id)):
        topics.setdefault(rule.topic, []).append(rule)
    grades = Counter(rule.evidence for rule in kb.rules)
    out = [
        f"<!-- Generated from rules/ and knowledge/ by `{COMMAND}`: do not edit by hand.",
        "     tests/test_docs.py fails when this file is stale. -->",
        "# Rule catalogue",
        "",
        f"Knowledge base version {knowledge.version}: {len(kb.rules)} rules in {len(topics)} "
        "topics. Each entry gives the rule's evidence grade (the strength of the literature "
        "behind the inference), its rationale, its conditions and its references. "
        "How to write rules: [authoring.md](authoring.md).",
        "",
        "| topic | rules |",
        "|---|---|",
        *(f"| [{topic}](#{_anchor(topic)}) | {len(rules)} |" for topic, rules in topics.items()),
        "",
        "Evidence grades: "
        + ", ".join(f"{grade} {grades[grade]}" for grade in EVIDENCE_GRADES if grades[grade])
        + ".",
        "",
        "## How the rules chain",
        "",
        "Rules test input facts (blue) and what other rules concluded; a rule concludes "
        "intermediate facts (yellow hexagons, `knowledge/states.yaml`) and conclusions: causes "
        "(orange), red flags (red), differentials (purple), recommendations (green) and "
        "investigations (teal). A dashed arrow is a test under `none` (it must not hold). "
        "`cramp-expert kb graph --focus ID` draws the chain around any rule, fact or conclusion.",
        "",
    ]
    drawn = graph.build_graph(kb)
    for state, caption in CHAINS:
        if any(node.label == state for node in drawn.nodes.values()):
            out += [
                f"**{caption}** (`kb graph --focus {state} --depth 1`):",
                "",
                *_mermaid(graph.focus(drawn, [state], depth=1)),
                "",
            ]
    for topic, rules in topics.items():
        out += [f"## {topic}", ""]
        out += [
            "<details><summary>Picture of these rules</summary>",
            "",
            *_mermaid(graph.build_graph(kb, rules)),
            "",
            "</details>",
            "",
        ]
        for rule in rules:
            out += _rule(kb, rule)
    out += _bibliography(kb)
    return "\n".join(out).rstrip("\n") + "\n"


def _rule(kb: KnowledgeBase, rule: Rule) -> list[str]:
    conclusions = kb.knowledge.conclusions
    fires = sum(1 for e in rule.examples if e.fires is True)
    does_not = sum(1 for e in rule.examples if e.fires is False)
    out = [
        f"### `{rule.id}`",
        "",
        f"**{_md(rule.title)}**",
        "",
        f"Tier `{rule.tier}`, evidence **{rule.evidence}**, certainty {rule.then.certainty:g}. "
        f"Source: [`{rule.path}`](../{rule.path}).",
        "",
        _md(rule.rationale),
        "",
        "When:",
        "",
        *(_code_item(line) for line in when_lines(rule.when, "")),
        "",
        "Then:",
        "",
    ]
    for verb, ids in (("concludes", rule.then.conclude), ("excludes", rule.then.exclude)):
        for cid in ids:
            definition = conclusions.get(cid)
            kind = definition.kind.replace("_", " ") if definition else ""
            label = f" ({kind}: {_md(definition.label)})" if definition else ""
            out.append(f"- {verb} `{cid}`{label}")
    if rule.then.reason:
        out.append(f"- reason: {_md(rule.then.reason)}")
    out += [
        "",
        "References: "
        + ", ".join(f"[{key}](#{_reference_anchor(key)})" for key in rule.references)
        + f". Examples: {len(rule.examples)} ({fires} where it fires, {does_not} where it "
        "does not).",
        "",
    ]
    return out


def _code_item(line: str) -> str:
    """`  - labs.potassium < 3.5` -> `  - `labs.potassium < 3.5``; group headers stay plain."""
    indent, _, text = line.partition("- ")
    if text.endswith(":") and text.removesuffix(":") in ("all of", "any of", "none of"):
        return f"{indent}- {text}"
    return f"{indent}- `{text}`"


def _bibliography(kb: KnowledgeBase) -> list[str]:
    cited = Counter(key for rule in kb.rules for key in rule.references)
    out = ["## References", ""]
    for key in sorted(cited):
        reference = kb.knowledge.references.get(key)
        if reference is None:
            continue
        links = []
        if reference.pmid:
            links.append(
                f"[PMID {reference.pmid}](https://pubmed.ncbi.nlm.nih.gov/{reference.pmid}/)"
            )
        if reference.doi:
            links.append(f"[doi:{reference.doi}](https://doi.org/{reference.doi})")
        extra = f" {'; '.join(links)}." if links else ""
        out += [
            f'- <a id="{_reference_anchor(key)}"></a>**{key}**: {_md(reference.citation)}{extra} '
            f"Cited by {cited[key]} rule{'s' * (cited[key] != 1)}.",
        ]
    return [*out, ""]


def _mermaid(drawn: graph.Graph) -> list[str]:
    return ["```mermaid", *graph.to_mermaid(drawn).rstrip("\n").split("\n"), "```"]


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


def _reference_anchor(key: str) -> str:
    return "ref-" + key.lower()


def _md(text: str) -> str:
    """Escape what Markdown would read as markup in a text from a YAML file."""
    return re.sub(r"([\\`*_\[\]<>|])", r"\\\1", text)
