"""HOW: the chain of rules and facts that led to one conclusion, down to the input facts.

Read from the result's trace: each rule that concluded (or excluded) the id, with its certainty,
evidence grade, references and the facts it matched; a `concluded: X` it matched is followed to
the rules that concluded X, so every step ends in facts the patient file gave or the normaliser
derived from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.result import ConclusionMatch, Consultation, Excluded, TraceEntry


def _rule_step(
    kb: KnowledgeBase, trace: Mapping[str, TraceEntry], rule_id: str, seen: set[str]
) -> dict[str, Any]:
    entry, rule = trace[rule_id], kb.rule(rule_id)
    assert rule is not None  # the trace names only rules of this knowledge base
    step: dict[str, Any] = {
        "rule": rule_id,
        "title": rule.title,
        "where": str(rule.location),
        "certainty": rule.then.certainty,
        "evidence": rule.evidence,
        "references": list(rule.references),
        "facts": [fact.to_dict() for fact in entry.facts],
        "chains": [],
    }
    if rule_id in seen:
        step["repeated"] = True
        return step
    seen.add(rule_id)
    for fact in entry.facts:
        if isinstance(fact, ConclusionMatch) and not fact.negated:
            concluded = fact.concluded
            producers = [
                r.id
                for r in kb.producers(concluded)
                if r.id in trace and concluded in r.then.conclude
            ]
            step["chains"].append(
                {
                    "id": concluded,
                    "rules": [_rule_step(kb, trace, p, seen) for p in producers],
                }
            )
    return step


def how(kb: KnowledgeBase, result: Consultation, cid: str) -> dict[str, Any]:
    """How `cid` was concluded (or excluded), or that it was not."""
    definition = kb.knowledge.conclusions[cid]
    out: dict[str, Any] = {"id": cid, "label": definition.label, "kind": definition.kind}
    found = result.find(cid)
    trace = {entry.rule: entry for entry in result.trace}
    if found is None:
        # An intermediate state is not listed in the result; the trace still shows it.
        producers = [r.id for r in kb.producers(cid) if r.id in trace and cid in r.then.conclude]
        if not producers:
            out["status"] = "not concluded"
            out["text"] = f"{cid} was not concluded; ask why-not instead"
            return out
        out["status"] = "concluded"
        out["rules"] = [_rule_step(kb, trace, p, set()) for p in producers]
        return out
    section, item = found
    out["status"] = "excluded" if section == "excluded" else "concluded"
    shown = item.to_dict()
    for key in ("certainty", "evidence", "urgency"):
        if key in shown:
            out[key] = shown[key]
    seen: set[str] = set()
    out["rules"] = [_rule_step(kb, trace, rule_id, seen) for rule_id in item.because]
    out["references"] = [] if isinstance(item, Excluded) else list(item.references)
    return out


__all__ = ["how"]
