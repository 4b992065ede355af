"""The rule catalogue on the command line: `kb list`, `kb show RULE`, and example selection.

`kb list` is one line a rule (like `ansible-lint -L`); `kb show` is one rule in full: what it
concludes from what, why (rationale, references, evidence grade), where it sits in the chain of
rules, and its examples. Both read the knowledge base; neither compiles it.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from cramp_expert.authoring import BadArgument
from cramp_expert.errors import did_you_mean
from cramp_expert.kb import Example, KnowledgeBase, Rule
from cramp_expert.kb.model import Condition, ConditionGroup

WIDTH = 96
GROUP_TEXT = {"all": "all of", "any": "any of", "none": "none of"}


def find_rule(kb: KnowledgeBase, rule_id: str) -> Rule:
    """The rule with this id.

    Raises:
        BadArgument: no rule has this id (the message names the nearest).
    """
    rule = kb.rule(rule_id)
    if rule is None:
        hint = did_you_mean(rule_id, [r.id for r in kb.rules])
        raise BadArgument(f"unknown rule '{rule_id}'" + (f"; {hint}" if hint else ""))
    return rule


def select_examples(kb: KnowledgeBase, selectors: tuple[str, ...]) -> list[tuple[Rule, Example]]:
    """The examples that `RULE` or `RULE::EXAMPLE` selectors name (all of them when none).

    The `RULE::EXAMPLE` form is the id pytest shows for the same example.

    Raises:
        BadArgument: a selector names no rule or no example of its rule.
    """
    if not selectors:
        return [(rule, example) for rule in kb.rules for example in rule.examples]
    chosen: list[tuple[Rule, Example]] = []
    for selector in selectors:
        rule_id, _, name = selector.partition("::")
        rule = find_rule(kb, rule_id)
        examples = [e for e in rule.examples if not name or e.name == name]
        if name and not examples:
            names = [e.name for e in rule.examples]
            hint = did_you_mean(name, names) or "examples: " + "; ".join(names)
            raise BadArgument(f"rule '{rule_id}' has no example '{name}'; {hint}")
        chosen.extend((rule, e) for e in examples if (rule, e) not in chosen)
    return chosen


# --- kb list ----------------------------------------------------------------------------------
def list_rules(kb: KnowledgeBase, topic: str | None = None) -> list[dict[str, Any]]:
    """One summary a rule, by topic then id.

    Raises:
        BadArgument: `topic` is not a topic of the rule base.
    """
    topics = sorted({r.topic for r in kb.rules})
    if topic is not None and topic not in topics:
        hint = did_you_mean(topic, topics) or "topics: " + ", ".join(topics)
        raise BadArgument(f"unknown topic '{topic}'; {hint}")
    return [
        {
            "id": rule.id,
            "topic": rule.topic,
            "tier": rule.tier,
            "evidence": rule.evidence,
            "title": rule.title,
            "concludes": list(rule.then.conclude),
            "excludes": list(rule.then.exclude),
            "examples": len(rule.examples),
            "path": rule.path,
        }
        for rule in sorted(kb.rules, key=lambda r: (r.topic, r.id))
        if topic is None or rule.topic == topic
    ]


def render_list(rows: list[dict[str, Any]], output_format: str = "text") -> str:
    """The catalogue as aligned columns, or as JSON."""
    if output_format == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    columns = ("id", "topic", "tier", "evidence", "title")
    widths = {c: max([len(c), *(len(str(row[c])) for row in rows)]) for c in columns[:-1]}
    lines = ["  ".join(c.upper().ljust(widths.get(c, 0)) for c in columns).rstrip()]
    for row in rows:
        lines.append("  ".join(str(row[c]).ljust(widths.get(c, 0)) for c in columns).rstrip())
    lines.append(f"{len(rows)} rule{'s' * (len(rows) != 1)}")
    return "\n".join(lines) + "\n"


# --- kb show ----------------------------------------------------------------------------------
def show_rule(kb: KnowledgeBase, rule: Rule) -> str:
    """One rule in full, for a reviewer: logic, justification, place in the chain, examples."""
    knowledge = kb.knowledge
    out = [f"{rule.id}: {rule.title}", ""]
    out += _fields(
        ("file", rule.path),
        ("topic", rule.topic),
        ("tier", f"{rule.tier} (chaining stratum {kb.strata.get(rule.id, 0)})"),
        ("evidence", rule.evidence),
    )
    out += ["", "Rationale", *_wrap(rule.rationale, "  ")]
    out += ["", "When (all of)", *when_lines(rule.when)]
    out += ["", "Then"]
    for verb, ids in (("concludes", rule.then.conclude), ("excludes", rule.then.exclude)):
        for cid in ids:
            definition = knowledge.conclusions.get(cid)
            label = (
                f" ({definition.kind.replace('_', ' ')}: {definition.label})" if definition else ""
            )
            out.append(f"  {verb} {cid}{label}")
    out.append(f"  certainty {rule.then.certainty:g}")
    if rule.then.reason:
        out += _wrap(f"reason: {rule.then.reason}", "  ")
    used_by = sorted({r.id for r in kb.rules if rule.id != r.id and r.consumed() & rule.produced()})
    if rule.consumed() or used_by:
        out += ["", "Chaining"]
        for cid in sorted(rule.consumed()):
            producers = sorted(p.id for p in kb.producers(cid))
            named = ", ".join(producers) if len(producers) <= 5 else f"{len(producers)} rules"
            out += _wrap(f"tests {cid}, concluded or excluded by {named}", "  ", "    ")
        if used_by:
            out += _wrap("its conclusions are tested by " + ", ".join(used_by), "  ", "    ")
    out += ["", "References"]
    for key in rule.references:
        reference = knowledge.references.get(key)
        out += _wrap(f"[{key}] {reference.citation if reference else '(unknown)'}", "  ", "    ")
    out += ["", f"Examples ({len(rule.examples)})"]
    for example in rule.examples:
        out += example_lines(example, "  ")
    return "\n".join(out) + "\n"


def when_lines(when: ConditionGroup, indent: str = "  ") -> list[str]:
    """A rule's `when` as an indented list: its parts must all hold, so they are listed plainly."""
    items = when.items if when.kind == "all" else (when,)
    return [line for item in items for line in condition_lines(item, indent)]


def condition_lines(condition: Condition, indent: str) -> list[str]:
    """A condition tree as an indented list."""
    if isinstance(condition, ConditionGroup):
        lines = [f"{indent}- {GROUP_TEXT[condition.kind]}:"]
        for item in condition.items:
            lines += condition_lines(item, indent + "  ")
        return lines
    return [f"{indent}- {condition.describe()}"]


def example_lines(example: Example, indent: str) -> list[str]:
    """One example: its facts and what it expects."""
    fires = {True: "fires", False: "does not fire", None: ""}[example.fires]
    lines = [f"{indent}- {example.name}" + (f" ({fires})" if fires else "")]
    facts = ", ".join(f"{k}={_value(v)}" for k, v in example.given.items())
    for label, text in (
        ("given", facts),
        ("patient", json.dumps(example.patient, ensure_ascii=False) if example.patient else ""),
        ("expect", ", ".join(example.expect)),
        ("expect not", ", ".join(example.expect_not)),
        ("expect excluded", ", ".join(example.expect_excluded)),
    ):
        if text:
            lines += _wrap(f"{label}: {text}", indent + "    ", indent + "      ")
    return lines


def _fields(*pairs: tuple[str, str]) -> list[str]:
    width = max(len(name) for name, _ in pairs) + 1
    return [f"  {(name + ':').ljust(width)} {value}" for name, value in pairs]


def _wrap(text: str, indent: str, subsequent: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent if subsequent is None else subsequent,
        break_on_hyphens=False,
    )


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
