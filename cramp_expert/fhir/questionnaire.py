"""The project's FHIR Questionnaire (the interview's history questions) and reading its answers.

`questionnaire()` builds an R4 Questionnaire from the interview's own question catalogue, one
item per patient-file entry that the record does not hold coded (the cramp history, findings,
lifestyle, pregnancy, dialysis), grouped by section, each item's `linkId` the fact id. A
QuestionnaireResponse to it is read back into those same patient-file entries, so a record that
keeps the answers gives the same consultation as the interview.
"""

from __future__ import annotations

from typing import Any

from cramp_expert.interview.questions import Question, questions
from cramp_expert.kb.knowledge import Knowledge

QUESTIONNAIRE_URL = "https://cramp-expert.example/fhir/Questionnaire/cramp-history"
ANSWER_SYSTEM = "https://cramp-expert.example/fhir/CodeSystem/answers"
"""The code system of the choice answers (the vocabulary's own values: `calf`, `both`)."""
_NOT_ASKED = ("age", "sex")
"""Given by the Patient resource, not the questionnaire."""
SECTION_TITLES = {
    "": "About the patient",
    "cramps": "The cramps",
    "findings": "Findings on history and examination",
    "lifestyle": "Lifestyle",
}


_ASKED: dict[int, tuple[Knowledge, list[Question]]] = {}
"""id(knowledge) -> (knowledge, its history questions): built once per knowledge base, not on
every QuestionnaireResponse read (a CDS Hooks request reads one; building them cost more than
reading it). The knowledge is kept with them so that its id cannot be reused."""


def history_questions(knowledge: Knowledge) -> list[Question]:
    """The interview's questions that the questionnaire asks (not labs, medicines, conditions)."""
    cached = _ASKED.get(id(knowledge))
    if cached is not None and cached[0] is knowledge:
        return list(cached[1])
    asked = [
        q
        for q in questions(knowledge)
        if q.kind in ("number", "bool", "choice", "list") and q.key not in _NOT_ASKED
    ]
    if len(_ASKED) > 8:  # knowledge bases of tests come and go
        _ASKED.clear()
    _ASKED[id(knowledge)] = (knowledge, asked)
    return list(asked)


def _item(question: Question) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": question.key, "text": question.text}
    if question.kind == "bool":
        item["type"] = "boolean"
    elif question.kind == "number":
        item["type"] = "decimal"
        if question.unit:
            item["text"] = f"{question.text} ({question.unit})"
    else:
        item["type"] = "choice"
        item["answerOption"] = [
            {"valueCoding": {"system": ANSWER_SYSTEM, "code": value, "display": value}}
            for value in question.values
        ]
        if question.kind == "list":
            item["repeats"] = True
    return item


def questionnaire(knowledge: Knowledge) -> dict[str, Any]:
    """The FHIR R4 Questionnaire of the cramp history (JSON-ready)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for question in history_questions(knowledge):
        section = question.key.split(".")[0] if "." in question.key else ""
        groups.setdefault(section, []).append(_item(question))
    return {
        "resourceType": "Questionnaire",
        "id": "cramp-history",
        "url": QUESTIONNAIRE_URL,
        "version": knowledge.version,
        "name": "CrampHistory",
        "title": "Night-time leg cramps: history for cramp-expert",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [
            {
                "linkId": section or "patient",
                "type": "group",
                "text": SECTION_TITLES.get(section, section),
                "item": items,
            }
            for section, items in groups.items()
        ],
    }


def _answer_value(question: Question, answer: dict[str, Any]) -> Any:
    if question.kind == "bool":
        return answer.get("valueBoolean")
    if question.kind == "number":
        for key in ("valueDecimal", "valueInteger"):
            if isinstance(answer.get(key), int | float):
                return answer[key]
        quantity = answer.get("valueQuantity")
        return quantity.get("value") if isinstance(quantity, dict) else None
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        return coding.get("code")
    return answer.get("valueString")


def answers(response: dict[str, Any], knowledge: Knowledge) -> tuple[dict[str, Any], list[str]]:
    """The patient-file entries a QuestionnaireResponse gives, and the linkIds not read."""
    by_key = {q.key: q for q in history_questions(knowledge)}
    data: dict[str, Any] = {}
    unread: list[str] = []

    def walk(items: Any) -> None:
        for item in items or []:
            if not isinstance(item, dict):
                continue
            link = str(item.get("linkId", ""))
            question = by_key.get(link)
            if item.get("item"):
                walk(item["item"])
            if question is None:
                if item.get("answer"):
                    unread.append(link)
                continue
            values = [
                _answer_value(question, a) for a in item.get("answer") or [] if isinstance(a, dict)
            ]
            values = [v for v in values if v is not None]
            if not values:
                continue
            value: Any = values if question.kind == "list" else values[0]
            if "." in link:
                section, key = link.split(".", 1)
                data.setdefault(section, {})[key] = value
            else:
                data[link] = value

    walk(response.get("item"))
    return data, unread


__all__ = ["ANSWER_SYSTEM", "QUESTIONNAIRE_URL", "answers", "history_questions", "questionnaire"]
