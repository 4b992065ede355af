"""The search finds patients the engine agrees with, proves what no patient can do, and says
when it does not know."""

from __future__ import annotations

import pytest

from cramp_expert.errors import Location
from cramp_expert.kb.model import ConcludedCondition, FactCondition
from cramp_expert.patient import normalise_patient
from cramp_expert.verify.search import Solver, all_of, any_of, none_of

HERE = Location("test")


def fact(fact_id, op, value):
    return FactCondition(fact_id, op, value, HERE)


def concluded(cid):
    return ConcludedCondition(cid, HERE)


@pytest.fixture(scope="module")
def solver(kb):
    return Solver(kb)


def test_every_rule_has_a_patient_and_the_engine_fires_the_rule_on_it(solver, consultant, kb):
    for rule in kb.rules:
        found = solver.find(rule.when)
        assert found.status == "found", rule.id
        facts = normalise_patient(found.witness.patient, kb.knowledge)
        assert facts.values == found.witness.facts
        fired = {firing.rule_id for firing in consultant.engine.run(facts.values)}
        assert rule.id in fired, (rule.id, found.witness.patient)


def test_contradictory_tests_of_one_fact_are_proved_impossible(solver):
    found = solver.find(
        all_of(fact("labs.potassium", "lt", 3.0), fact("labs.potassium", "ge", 3.0))
    )
    assert (found.status, found.logical) == ("impossible", True)


def test_a_contradiction_through_a_chain_is_proved_impossible(solver):
    # hypokalaemia is concluded only from a potassium below 3.5 (and excluded from 3.5 up).
    target = all_of(concluded("hypokalemia"), fact("labs.potassium", "ge", 3.5))
    assert solver.find(target).status == "impossible"
    assert (
        solver.find(all_of(concluded("hypokalemia"), fact("labs.potassium", "lt", 3.5))).status
        == "found"
    )


def test_facts_no_patient_file_gives_together_are_impossible_but_not_logically(solver):
    # A start date is known only for a drug on the list.
    target = all_of(
        fact("meds.med_statin.started_months_ago", "le", 12.0), fact("meds.med_statin", "is", False)
    )
    found = solver.find(target)
    assert (found.status, found.logical) == ("impossible", False)


def test_a_witness_is_a_patient_file_giving_derived_facts_through_their_inputs(solver):
    target = all_of(
        fact("labs.calcium", "ge", 2.2),
        fact("labs.calcium_corrected", "lt", 2.2),
        fact("labs.egfr_calculated", "lt", 30.0),
        fact("labs.ck_xuln", "gt", 10.0),
        fact("meds.med_statin.started_months_ago", "le", 12.0),
    )
    found = solver.find(target)
    assert found.status == "found"
    patient = found.witness.patient
    assert {"calcium", "albumin", "creatinine", "ck"} <= set(patient["labs"])
    assert "egfr" not in patient["labs"]
    assert any(
        isinstance(m, dict) and m["started_months_ago"] <= 12 for m in patient["medications"]
    )


def test_alternatives_are_split_into_cases(solver):
    target = all_of(
        any_of(fact("dialysis", "in", ("haemodialysis",)), fact("labs.egfr", "lt", 30.0)),
        concluded("state_advanced_kidney_disease"),
        none_of(fact("dialysis", "in", ("haemodialysis", "peritoneal"))),
    )
    found = solver.find(target)
    assert found.status == "found"
    assert found.witness.facts["labs.egfr"] < 30


def test_a_search_out_of_budget_is_undecided_not_impossible(kb):
    solver = Solver(kb, budget=1)
    assert solver.find(kb.rule("idiopathic-typical-cramps").when).status == "undecided"
