"""The knowledge base as a whole: coverage of the contract's vocabulary and rule hygiene."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cramp_expert.kb.knowledge import CONCLUSION_SECTIONS

VOCABULARY = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "acceptance" / "vocabulary.yaml").read_text()
)


def _output_ids() -> list[tuple[str, str]]:
    return [(section, cid) for section, ids in VOCABULARY["outputs"].items() for cid in ids]


@pytest.mark.parametrize(("section", "conclusion_id"), _output_ids())
def test_every_contract_output_is_defined_and_reachable(kb, section, conclusion_id):
    definition = kb.knowledge.conclusions.get(conclusion_id)
    assert definition is not None, f"{conclusion_id} missing from knowledge/conclusions.yaml"
    assert definition.kind == CONCLUSION_SECTIONS[section]
    assert definition.label and definition.evidence, conclusion_id
    assert definition.references or definition.evidence_note, (
        f"{conclusion_id} has neither references nor a note on why"
    )
    producers = [r.id for r in kb.rules if conclusion_id in r.then.conclude]
    assert producers, f"no rule concludes {conclusion_id}"


def test_red_flag_urgencies_match_the_contract(kb):
    for flag_id, spec in VOCABULARY["outputs"]["red_flags"].items():
        assert kb.knowledge.conclusions[flag_id].urgency == spec["urgency"], flag_id


def test_contract_evidence_grades_are_kept(kb):
    for section in VOCABULARY["outputs"].values():
        for cid, spec in section.items():
            if "evidence" in spec:
                assert kb.knowledge.conclusions[cid].evidence == spec["evidence"], cid


@pytest.mark.parametrize(
    "fact_id",
    [
        *(f"findings.{k}" for k in VOCABULARY["inputs"]["findings"]),
        *(f"cramps.{k}" for k in VOCABULARY["inputs"]["cramps"]),
        *(f"labs.{k}" for k in VOCABULARY["inputs"]["labs"]),
        *(f"lifestyle.{k}" for k in VOCABULARY["inputs"]["lifestyle"]),
        *(f"conditions.{k}" for k in VOCABULARY["inputs"]["conditions"]),
        *(k for k in VOCABULARY["inputs"]["top_level"] if k != "medications"),
    ],
)
def test_every_contract_input_is_a_fact(knowledge, fact_id):
    assert knowledge.fact(fact_id) is not None


def test_every_medication_cause_class_exists(knowledge):
    for cid in VOCABULARY["outputs"]["causes"]:
        if cid.startswith("med_"):
            assert knowledge.drug_classes[cid].cause, cid
            assert f"meds.{cid}" in knowledge.facts


def test_every_rule_has_references_evidence_and_both_kinds_of_example(consultant):
    problems = []
    for rule in consultant.kb.rules:
        if not rule.references or not rule.evidence:
            problems.append(f"{rule.id}: references and evidence are required")
        fired = {consultant.run_example(rule, example).fired for example in rule.examples}
        if fired != {True, False}:
            problems.append(
                f"{rule.id}: needs an example where it fires and one where it does not (has {sorted(fired)})"
            )
    assert not problems, "\n".join(problems)


def test_urgent_red_flag_state_lists_every_urgent_red_flag(kb):
    rule = kb.rule("urgent-red-flag")
    urgent = {
        c.id
        for c in kb.knowledge.conclusions_of("red_flag")
        if c.urgency in ("emergency", "urgent")
    }
    assert rule.consumed() == urgent


def test_secondary_cause_state_lists_every_secondary_cause(kb):
    not_secondary = {
        "idiopathic",
        "older_age",
        "sedentary_lifestyle",
        "prolonged_standing",
        "muscle_fatigue",
        "alcohol",
    }
    drug_causes = {c.id for c in kb.knowledge.conclusions_of("cause") if c.id.startswith("med_")}
    expected = {c.id for c in kb.knowledge.conclusions_of("cause")} - not_secondary - drug_causes
    assert kb.rule("secondary-cause").consumed() == expected


def test_every_drug_cause_rule_also_concludes_the_umbrella(kb):
    for rule in kb.rules:
        if any(
            c.startswith("med_")
            for c in rule.then.conclude
            if kb.knowledge.conclusions[c].kind == "cause"
        ):
            assert "medication" in rule.then.conclude, rule.id


def test_only_the_three_quinine_recommendations_name_quinine(kb):
    allowed = {"rec_avoid_quinine", "rec_quinine_review", "rec_stop_quinine"}
    for rec in kb.knowledge.conclusions_of("recommendation"):
        if rec.id not in allowed:
            assert "quinine" not in (rec.text + rec.label).lower(), rec.id


def test_rule_files_are_named_after_their_ids(kb):
    for rule in kb.rules:
        assert Path(rule.path).stem == rule.id


def test_emergency_red_flag_state_lists_every_emergency(kb):
    # Urgency is per result (clinical brief 8.1): a flag listed as an emergency, or lifted to one
    # by its `emergency_if` state, sends the patient to the emergency department.
    flags = kb.knowledge.conclusions_of("red_flag")
    expected = {c.id for c in flags if c.urgency == "emergency"} | {
        c.emergency_if for c in flags if c.emergency_if
    }
    rule = kb.rule("emergency-red-flag")
    assert rule.consumed() == expected
    assert {"state_emergency_red_flag", "rec_emergency_referral"} <= set(rule.then.conclude)


def test_every_contract_emergency_when_has_an_emergency_state(kb):
    for flag_id, spec in VOCABULARY["outputs"]["red_flags"].items():
        definition = kb.knowledge.conclusions[flag_id]
        if "emergency_when" in spec:
            assert definition.emergency_if and definition.emergency_action, flag_id


def test_every_emergency_state_is_concluded_only_with_its_red_flag(kb):
    # A rule that lifts a flag concludes the flag, or fires only once it is concluded: so the
    # `{red_flag: [emergency]}` of knowledge/properties.yaml can stand for the states.
    for flag in kb.knowledge.conclusions_of("red_flag"):
        if not flag.emergency_if:
            continue
        lifters = [r for r in kb.rules if flag.emergency_if in r.then.conclude]
        assert lifters, flag.id
        for rule in lifters:
            assert flag.id in rule.then.conclude or flag.id in rule.consumed(), rule.id


def test_lifestyle_advice_is_held_back_beside_an_emergency(kb):
    lifestyle = {
        "rec_stress_management",
        "rec_bedding_posture",
        "rec_diet_electrolytes",
        "rec_regular_activity",
        "rec_calf_stretch_nightly",
    }
    for rule in kb.rules:
        if lifestyle & set(rule.then.conclude):
            assert "state_emergency_red_flag" in rule.consumed(), rule.id
