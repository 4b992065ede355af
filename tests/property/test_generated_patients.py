"""The property suite: what must hold for every patient, checked on generated patients.

Patients come from `cramp_expert.testing.patient_files`: any subset of entries known, numbers on
both sides of every threshold a rule tests, labs in any accepted unit, medicines under generic,
brand, alias or misspelt names; half of them grow from a patient the verifier found for some
rule, so that rules random patients rarely reach are exercised too. The properties themselves
are `cramp_expert.testing.Properties` (tests/verify/ shows each can fail, on knowledge bases with
planted defects). CI runs the `ci` hypothesis profile (derandomized); `HYPOTHESIS_PROFILE=nightly`
runs many more.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cramp_expert.kb import load_knowledge_base
from cramp_expert.result import ConclusionMatch
from cramp_expert.testing import (
    Properties,
    in_other_units,
    monotone_changes,
    patient_files,
    seeds,
    shuffled,
    under_other_names,
)
from tests.acceptance.never import never_violations

KB = load_knowledge_base()
PATIENTS = patient_files(KB, seeds=seeds(KB))


@pytest.fixture(scope="module")
def properties(consultant):
    return Properties(consultant=consultant)


@given(PATIENTS)
def test_the_contracts_never_rules_hold(properties, patient):
    # An oracle written from the contract's words, independent of knowledge/properties.yaml.
    _, result = properties.consult(patient)
    assert never_violations(result.to_dict(), patient) == []


@settings(max_examples=30)
@given(PATIENTS)
def test_the_next_step_follows_the_urgency(properties, consultant, patient):
    # Never-rule of round 2 that is the reasoning's, not the rule base's: while an emergency or
    # urgent red flag stands, the most informative next step is never a lifestyle or
    # cramp-history question (clinical brief 8.7). It needs the robustness analysis, which the
    # other properties leave out.
    facts, _ = properties.consult(patient)
    result = consultant.consult_facts(facts).to_dict()
    pressing = [f["id"] for f in result["red_flags"] if f["urgency"] in ("emergency", "urgent")]
    step = (result.get("robustness") or {}).get("most_informative") or {}
    if pressing:
        assert not str(step.get("fact", "")).startswith(("lifestyle.", "cramps.")), (pressing, step)


@given(PATIENTS)
def test_the_declared_never_rules_hold(properties, patient):
    assert properties.never(patient) == []


@given(PATIENTS)
def test_exclusive_conclusions_are_never_reached_together(properties, patient):
    assert properties.exclusive(patient) == []


@given(PATIENTS)
def test_explanations_are_faithful(properties, patient):
    assert properties.faithful(patient) == []


@given(PATIENTS)
def test_the_engine_settles_and_certainties_stay_in_bounds(properties, patient):
    assert properties.bounded(patient) == []


@given(PATIENTS)
def test_experta_fires_what_the_reference_evaluator_says(properties, patient):
    assert properties.differential(patient) == []


@given(PATIENTS, st.integers(0, 2**16))
def test_the_order_of_entries_and_of_rules_does_not_matter(properties, patient, seed):
    variant = shuffled(patient, seed)
    assert properties.same_result(patient, variant, shuffled_rules=True) == []


@given(PATIENTS, st.data())
def test_the_same_values_in_other_units_give_the_same_result(properties, patient, data):
    variant = data.draw(in_other_units(KB, patient))
    assert properties.same_result(patient, variant) == []


@given(PATIENTS, st.data())
def test_the_same_medicines_under_other_names_give_the_same_result(properties, patient, data):
    variant = data.draw(under_other_names(KB, patient))
    assert properties.same_result(patient, variant) == []


@given(PATIENTS, st.data())
def test_a_change_in_a_declared_direction_never_removes_what_it_keeps(properties, patient, data):
    declaration, _, before, after = data.draw(
        monotone_changes(KB, properties.declarations.monotone, patient)
    )
    assert properties.monotone(declaration, before, after) == []


@given(PATIENTS)
def test_the_trace_agrees_with_what_experta_handed_each_rule(properties, patient):
    _, result = properties.consult(patient)
    for entry in result.trace:
        rule = KB.rule(entry.rule)
        handed = set(entry.conclusion_facts)
        assert handed <= rule.consumed() and handed <= result.asserted, entry.rule
        held = {
            f.concluded
            for f in entry.facts
            if isinstance(f, ConclusionMatch) and f.holds and not f.negated
        }
        assert handed <= held, entry.rule


def test_a_finding_that_reveals_a_cause_replaces_the_frequent_unexplained_red_flag(properties):
    # Found by the nightly profile: absent foot pulses make cramps three nights a week
    # explained (peripheral artery disease), so "frequent cramps, no cause found" goes. The
    # monotonicity declaration exempts that red flag, with this reason.
    before = {"cramps": {"nights_per_week": 3.0}, "findings": {"absent_foot_pulses": False}}
    after = {"cramps": {"nights_per_week": 3.0}, "findings": {"absent_foot_pulses": True}}
    red_flags = next(d for d in properties.declarations.monotone if d.fact == "findings.*")
    assert properties.monotone(red_flags, before, after) == []
    _, first = properties.consult(before)
    _, second = properties.consult(after)
    assert "rf_frequent_unexplained" in {f.id for f in first.red_flags}
    assert "rf_frequent_unexplained" not in {f.id for f in second.red_flags}
    assert "peripheral_artery_disease" in {c.id for c in second.causes}
