"""How the rules chain, as a graph: facts -> rules -> intermediate facts -> rules -> conclusions.

Nodes are the input facts the rules test, the rules, the states (intermediate facts that rules
conclude for other rules) and the conclusions. Edges go from what a rule tests to the rule
(labelled with the test; dashed when the test is under `none`) and from the rule to what it
concludes or excludes. `focus` keeps what leads to and follows from some nodes, up to a number
of rule steps. The graph renders as Graphviz DOT or as Mermaid, which GitHub draws in Markdown.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from cramp_expert.authoring import BadArgument
from cramp_expert.errors import did_you_mean
from cramp_expert.kb import KnowledgeBase
from cramp_expert.kb.model import ConcludedCondition, Condition, ConditionGroup, FactCondition, Rule

FORMATS = ("mermaid", "dot")

KIND_STYLE = {
    # kind: (DOT shape, fill colour, Mermaid shape opening and closing)
    "fact": ("ellipse", "#e8eef9", '(["', '"])'),
    "rule": ("box", "#ffffff", '["', '"]'),
    "state": ("hexagon", "#fff4c2", '{{"', '"}}'),
    "cause": ("box", "#fde2c8", '(["', '"])'),
    "red_flag": ("octagon", "#f8c9c4", '[["', '"]]'),
    "differential": ("box", "#e6dcf5", '(["', '"])'),
    "recommendation": ("box", "#d6f0d8", '(["', '"])'),
    "investigation": ("box", "#d3eef0", '(["', '"])'),
}


@dataclass(frozen=True)
class Node:
    """A fact, a rule, a state or a conclusion."""

    key: str
    """`fact:labs.potassium`, `rule:hypokalemia-measured`, `conclusion:hypokalemia`."""
    kind: str
    label: str


@dataclass(frozen=True)
class Edge:
    """What a rule tests (into the rule) or what it concludes (out of the rule)."""

    source: str
    target: str
    label: str = ""
    style: str = "solid"
    """`solid`, `negated` (a test under `none`) or `excludes`."""


@dataclass
class Graph:
    """Nodes by key, and edges in a stable order."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def subgraph(self, keys: set[str]) -> Graph:
        """The nodes in `keys` and the edges between them."""
        return Graph(
            {k: n for k, n in self.nodes.items() if k in keys},
            [e for e in self.edges if e.source in keys and e.target in keys],
        )


def build_graph(kb: KnowledgeBase, rules: Iterable[Rule] | None = None) -> Graph:
    """The graph of `rules` (default: every rule), with what they test and conclude."""
    graph = Graph()
    conclusions = kb.knowledge.conclusions

    def conclusion(cid: str) -> str:
        key = f"conclusion:{cid}"
        kind = conclusions[cid].kind if cid in conclusions else "state"
        graph.nodes.setdefault(key, Node(key, kind, cid))
        return key

    for rule in sorted(rules if rules is not None else kb.rules, key=lambda r: (r.topic, r.id)):
        rule_key = f"rule:{rule.id}"
        graph.nodes[rule_key] = Node(rule_key, "rule", rule.id)
        tests: dict[tuple[str, bool], list[str]] = {}
        for condition, negated in _tests(rule.when, False):
            if isinstance(condition, FactCondition):
                source = f"fact:{condition.fact}"
                graph.nodes.setdefault(source, Node(source, "fact", condition.fact))
                text = condition.describe().removeprefix(condition.fact).strip()
            elif isinstance(condition, ConcludedCondition):
                source, text = conclusion(condition.conclusion), ""
            else:  # pragma: no cover - _tests yields only tests, never groups
                continue
            tests.setdefault((source, negated), []).append(text)
        for (source, negated), texts in tests.items():
            label = "; ".join(t for t in dict.fromkeys(texts) if t)
            if negated:
                label = f"not: {label}" if label else "not"
            graph.edges.append(Edge(source, rule_key, label, "negated" if negated else "solid"))
        for cid in rule.then.conclude:
            graph.edges.append(Edge(rule_key, conclusion(cid)))
        for cid in rule.then.exclude:
            graph.edges.append(Edge(rule_key, conclusion(cid), "excludes", "excludes"))
    return graph


def _tests(condition: Condition, negated: bool) -> list[tuple[Condition, bool]]:
    """Every test in a condition tree, with whether it sits under an odd number of `none`s."""
    if isinstance(condition, ConditionGroup):
        inner = negated != (condition.kind == "none")
        return [pair for item in condition.items for pair in _tests(item, inner)]
    return [(condition, negated)]


def resolve(graph: Graph, name: str) -> list[str]:
    """The node keys a `--focus` name stands for (a rule, fact or conclusion id).

    Raises:
        BadArgument: nothing in the graph has this name.
    """
    keys = [key for key, node in graph.nodes.items() if node.label == name]
    if not keys:
        hint = did_you_mean(name, {node.label for node in graph.nodes.values()})
        raise BadArgument(
            f"'{name}' is not a rule, a tested fact or a conclusion" + (f"; {hint}" if hint else "")
        )
    return keys


def focus(graph: Graph, names: Iterable[str], depth: int | None = None) -> Graph:
    """What leads to and what follows from the named nodes, up to `depth` rule steps each way.

    Raises:
        BadArgument: a name is not in the graph.
    """
    starts = [key for name in names for key in resolve(graph, name)]
    forward: dict[str, list[str]] = {}
    backward: dict[str, list[str]] = {}
    for edge in graph.edges:
        forward.setdefault(edge.source, []).append(edge.target)
        backward.setdefault(edge.target, []).append(edge.source)
    keep = set(starts)
    for links in (forward, backward):
        steps = dict.fromkeys(starts, 0)
        queue = deque(starts)
        while queue:
            key = queue.popleft()
            for following in links.get(key, []):
                step = steps[key] + (graph.nodes[following].kind == "rule")
                if depth is not None and step > depth:
                    continue
                if following not in steps or step < steps[following]:
                    steps[following] = step
                    queue.append(following)
        keep |= set(steps)
    return graph.subgraph(keep)


def render(graph: Graph, output_format: str, title: str = "") -> str:
    """The graph in one of `FORMATS`."""
    if output_format == "dot":
        return to_dot(graph, title)
    if output_format == "mermaid":
        return to_mermaid(graph)
    raise ValueError(f"unknown format {output_format!r}; allowed: {', '.join(FORMATS)}")


# --- Graphviz ---------------------------------------------------------------------------------
def to_dot(graph: Graph, title: str = "") -> str:
    """Graphviz DOT: `dot -Tsvg` draws it."""
    lines = [
        "digraph knowledge_base {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10, style=filled];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    if title:
        lines.append(f"  label={_dot(title)}; labelloc=t;")
    for node in graph.nodes.values():
        shape, colour, _, _ = KIND_STYLE[node.kind]
        rounded = (
            ', style="rounded,filled"' if node.kind not in ("fact", "state", "red_flag") else ""
        )
        lines.append(
            f"  {_dot(node.key)} [label={_dot(node.label)}, shape={shape}, "
            f'fillcolor="{colour}"{rounded}];'
        )
    for edge in graph.edges:
        attributes = [f"label={_dot(edge.label)}"] if edge.label else []
        if edge.style == "negated":
            attributes.append("style=dashed")
        elif edge.style == "excludes":
            attributes += ["color=red", "arrowhead=tee"]
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {_dot(edge.source)} -> {_dot(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- Mermaid ----------------------------------------------------------------------------------
def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart (GitHub renders a ```mermaid block in Markdown as a picture)."""
    ids: dict[str, str] = {}
    for key in graph.nodes:
        base = re.sub(r"[^A-Za-z0-9]+", "_", key)
        candidate, number = base, 1
        while candidate in ids.values():
            number += 1
            candidate = f"{base}_{number}"
        ids[key] = candidate
    lines = ["flowchart LR"]
    for kind, (_, colour, _, _) in KIND_STYLE.items():
        lines.append(f"  classDef {kind} fill:{colour},stroke:#666,color:#111")
    for key, node in graph.nodes.items():
        _, _, opening, closing = KIND_STYLE[node.kind]
        lines.append(f"  {ids[key]}{opening}{_mermaid(node.label)}{closing}:::{node.kind}")
    for edge in graph.edges:
        arrow = "-->" if edge.style == "solid" else "-.->"
        label = f'|"{_mermaid(edge.label)}"|' if edge.label else ""
        lines.append(f"  {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _mermaid(text: str) -> str:
    # Mermaid reads entity codes inside quoted labels; raw quotes and angle brackets break it.
    return text.replace("&", "#38;").replace('"', "#34;").replace("<", "#60;").replace(">", "#62;")
