"""Properties that hold for every patient, checked on generated patients.

Patients are generated from the knowledge base itself (`cramp_expert.testing`): any subset of
facts known, numbers on both sides of every rule threshold, labs in any accepted unit, medicines
as generic, brand, combination or misspelt names.
"""

from __future__ import annotations

import random

from hypothesis import given

from cramp_expert.compile.predicates import evaluate
from cramp_expert.kb import load_knowledge_base
from cramp_expert.patient import normalise_patient
from cramp_expert.testing import patient_files
from tests.acceptance.never import never_violations
from tests.helpers import visible_conclusions

KB = load_knowledge_base()
PATIENTS = patient_files(KB)
SECTIONS = ("red_flags", "causes", "excluded", "differentials", "recommendations", "investigations")


@given(PATIENTS)
def test_the_never_rules_hold(consultant, patient):
    result = consultant.consult_data(patient)
    assert never_violations(result, patient) == []


@given(PATIENTS)
def test_engine_fires_exactly_the_rules_whose_conditions_hold(consultant, patient):
    facts = normalise_patient(patient, consultant.kb.knowledge)
    result = consultant.consult_facts(facts)
    fired = {entry["rule"] for entry in result["trace"]}
    asserted = visible_conclusions(result)
    for rule in consultant.kb.rules:
        assert evaluate(rule.when, facts.values, asserted) == (rule.id in fired), rule.id


@given(PATIENTS)
def test_results_do_not_depend_on_the_order_of_facts(consultant, patient):
    baseline = consultant.consult_data(patient)
    rng = random.Random(0)
    shuffled = dict(rng.sample(list(patient.items()), len(patient)))
    for key, value in shuffled.items():
        if isinstance(value, dict):
            shuffled[key] = dict(rng.sample(list(value.items()), len(value)))
        elif isinstance(value, list):
            shuffled[key] = rng.sample(value, len(value))
    again = consultant.consult_data(shuffled)
    for section in SECTIONS:
        assert again[section] == baseline[section], section


@given(PATIENTS)
def test_certainties_are_bounded_and_every_conclusion_is_explained(consultant, patient):
    result = consultant.consult_data(patient)
    fired = {entry["rule"] for entry in result["trace"]}
    threshold = result["knowledge_base"]["certainty_threshold"]
    for cause in result["causes"]:
        assert threshold <= cause["certainty"] <= 1
    for section in SECTIONS:
        for item in result[section]:
            assert item["because"] and set(item["because"]) <= fired, (section, item)


@given(PATIENTS)
def test_the_trace_agrees_with_what_experta_handed_each_rule(consultant, patient):
    result = consultant.consult_data(patient)
    visible = visible_conclusions(result)
    for entry in result["trace"]:
        rule = consultant.kb.rule(entry["rule"])
        handed = set(entry["activation"]["conclusion_facts"])
        assert handed <= rule.consumed() and handed <= visible, entry["rule"]
        held = {
            f["concluded"]
            for f in entry["facts"]
            if "concluded" in f and f["holds"] and not f.get("negated")
        }
        assert handed <= held, entry["rule"]
