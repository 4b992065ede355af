"""CDS Hooks 2.0 cards from a consultation: one per red flag, the top causes, order warnings.

A card's summary is under 140 characters (the specification's limit); its detail is Markdown
carrying the action, the how-chain (the rules and the facts they matched, as `how` shows it in
the terminal) and the references; its source names the knowledge base and links to the
service's page; a link opens the full HTML report. Every input-derived text goes through
`render.visible`, so a control or bidi character in a record cannot disguise a card.
"""

from __future__ import annotations

import uuid
from typing import Any

from cramp_expert.render.safe import visible

SUMMARY_LIMIT = 139
"""CDS Hooks 2.0: a "<140-character summary" (the issue asks at most 140: both hold)."""
TOP_CAUSES = 3
INDICATOR = {"emergency": "critical", "urgent": "warning", "soon": "warning", "routine": "info"}
"""Red-flag urgency -> card indicator (CDS Hooks 2.0: info, warning, critical)."""


def contract(result: Any) -> dict[str, Any]:
    """The contract's JSON object of a consultation's result (a typed result's `to_dict()`)."""
    return result if isinstance(result, dict) else dict(result.to_dict())


def summary(text: str) -> str:
    """One line of at most SUMMARY_LIMIT characters, cut at a word with an ellipsis."""
    line = " ".join(visible(text).split())
    if len(line) <= SUMMARY_LIMIT:
        return line
    cut = line[: SUMMARY_LIMIT - 1]
    if " " in cut[SUMMARY_LIMIT // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…"


def _how_markdown(how: dict[str, Any]) -> list[str]:
    lines: list[str] = []

    def step(item: dict[str, Any], depth: int) -> None:
        indent = "  " * depth
        lines.append(
            f"{indent}- rule `{item['rule']}`: {visible(item['title'])} "
            f"(certainty {item['certainty']:g}, evidence {item['evidence']}"
            + (f", refs {', '.join(item['references'])}" if item["references"] else "")
            + ")"
        )
        if item.get("repeated"):
            return
        chains = {chain["id"]: chain for chain in item.get("chains", [])}
        for fact in item.get("facts", []):
            lines.append(f"{indent}  - {visible(fact['text'])}")
            chain = chains.get(fact.get("concluded", ""))
            if chain is not None and not fact.get("negated"):
                for sub in chain["rules"]:
                    step(sub, depth + 2)

    for item in how.get("rules", []):
        step(item, 0)
    return lines


def _references(result: dict[str, Any], keys: list[str]) -> list[str]:
    citations = {ref["key"]: ref["citation"] for ref in result.get("references", [])}
    return [f"- [{key}] {visible(citations.get(key, key))}" for key in keys]


def _card(
    summary_text: str,
    indicator: str,
    detail: list[str],
    source: dict[str, Any],
    report_url: str | None,
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary(summary_text),
        "indicator": indicator,
        "detail": "\n".join(detail).strip(),
        "source": source,
    }
    if report_url:
        card["links"] = [
            {"label": "Full cramp-expert report", "url": report_url, "type": "absolute"}
        ]
    return card


def patient_cards(
    consultant: Any,
    result: Any,
    source: dict[str, Any],
    report_url: str | None = None,
) -> list[dict[str, Any]]:
    """Cards for a patient-view: each red flag, then the top causes, each explained."""
    data = contract(result)
    cards = []
    for flag in data["red_flags"]:
        label = consultant.kb.knowledge.conclusions[flag["id"]].label
        urgency = flag.get("urgency", "urgent")
        detail = [
            f"**{visible(label)}** ({urgency})",
            "",
            visible(flag.get("action", "")),
            *_how_and_references(
                consultant,
                result,
                data,
                flag["id"],
                list(flag.get("references", [])) or _rule_refs(consultant, flag),
            ),
        ]
        text = f"{label}: {flag.get('action', '')}".strip(": ")
        cards.append(_card(text, INDICATOR.get(urgency, "warning"), detail, source, report_url))
    for cause in data["causes"][:TOP_CAUSES]:
        detail = [
            f"**{visible(cause['label'])}**: certainty {cause['certainty']:g}, evidence {cause['evidence']}",
            "",
            visible(cause.get("reason", "")),
            *_how_and_references(
                consultant, result, data, cause["id"], list(cause.get("references", []))
            ),
        ]
        text = (
            f"Possible cause of night cramps: {cause['label']} (certainty {cause['certainty']:g})"
        )
        cards.append(_card(text, "info", detail, source, report_url))
    return cards


def _how_and_references(
    consultant: Any, result: Any, data: dict[str, Any], item_id: str, keys: list[str]
) -> list[str]:
    """A card detail's closing sections: the how-chain of the item, then its references."""
    return [
        "",
        "**How this was concluded**",
        "",
        *_how_markdown(consultant.how(result, item_id)),
        "",
        "**References**",
        "",
        *_references(data, keys),
    ]


def _rule_refs(consultant: Any, item: dict[str, Any]) -> list[str]:
    refs: list[str] = []
    for rule_id in item.get("because", []):
        rule = consultant.kb.rule(rule_id)
        if rule is not None:
            refs += [r for r in rule.references if r not in refs]
    return refs


def order_card(
    consultant: Any,
    result: Any,
    order: dict[str, Any],
    drug: str,
    concern: str,
    conclusion_ids: list[str],
    source: dict[str, Any],
    report_url: str | None = None,
) -> dict[str, Any]:
    """A card on one draft order, with the suggestion to remove it (the prescriber decides)."""
    knowledge = consultant.kb.knowledge
    data = contract(result)
    critical = any(
        item.get("urgency") == "emergency"
        for item in data["red_flags"]
        if item["id"] in conclusion_ids
    )
    detail = [f"**{visible(drug)}**: {visible(concern)}", ""]
    refs: list[str] = []
    for cid in conclusion_ids:
        definition = knowledge.conclusions[cid]
        detail += [f"**{visible(definition.label)}**", ""]
        text = definition.text or definition.description
        refs += [r for r in definition.references if r not in refs]
        if text:
            detail += [visible(" ".join(str(text).split())), ""]
        detail += ["How this was concluded:", "", *_how_markdown(consultant.how(result, cid)), ""]
        for item in (*data["red_flags"], *data["recommendations"]):
            if item["id"] == cid:
                refs += [
                    r
                    for r in item.get("references", []) or _rule_refs(consultant, item)
                    if r not in refs
                ]
    if refs:
        detail += ["**References**", "", *_references(data, refs)]
    card = _card(
        f"{drug}: {concern}", "critical" if critical else "warning", detail, source, report_url
    )
    resource_id = f"{order.get('resourceType', 'MedicationRequest')}/{order.get('id', '')}"
    card["suggestions"] = [
        {
            "label": summary(f"Remove the {drug} order"),
            "uuid": str(uuid.uuid4()),
            "actions": [
                {
                    "type": "delete",
                    "description": summary(
                        f"Remove the draft {drug} order (the prescriber may choose another treatment)"
                    ),
                    "resourceId": resource_id,
                }
            ],
        }
    ]
    card["selectionBehavior"] = "at-most-one"
    card["overrideReasons"] = [
        {
            "code": "benefit-outweighs-risk",
            "system": "https://cramp-expert.example/fhir/CodeSystem/override",
            "display": "Benefit outweighs the risk for this patient",
        },
        {
            "code": "already-reviewed",
            "system": "https://cramp-expert.example/fhir/CodeSystem/override",
            "display": "Already reviewed with the patient",
        },
    ]
    return card


__all__ = ["INDICATOR", "SUMMARY_LIMIT", "contract", "order_card", "patient_cards", "summary"]
