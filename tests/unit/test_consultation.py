"""Certainty combination (MYCIN) and reason templates."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cramp_expert.consultation import combine, render_reason
from cramp_expert.patient import PatientFacts


def test_two_positive_certainties_combine_mycin_style():
    assert combine([0.6, 0.5]) == pytest.approx(0.8)


def test_exclusion_wins_over_any_positive_certainty():
    assert combine([0.9, -1.0]) == -1.0
    assert combine([-1.0, 0.3, 0.9]) == -1.0


def test_mixed_signs():
    assert combine([0.6, -0.4]) == pytest.approx((0.6 - 0.4) / (1 - 0.4))


# Rules contribute a certainty in (0, 1] or, for an exclusion, exactly -1: on that domain the
# combination is order-free (MYCIN's mixed-sign formula is not associative in general).
CONTRIBUTIONS = st.one_of(st.floats(min_value=0.01, max_value=1), st.just(-1.0))


@given(st.lists(CONTRIBUTIONS, min_size=1, max_size=5))
def test_combination_is_bounded_and_order_free(values):
    result = combine(values)
    assert -1.0 <= result <= 1.0
    for permutation in itertools.islice(itertools.permutations(values), 6):
        assert combine(permutation) == pytest.approx(result, abs=1e-9)


@given(st.lists(st.floats(min_value=0.01, max_value=1), min_size=1, max_size=6))
def test_more_positive_evidence_never_lowers_certainty(values):
    assert combine(values) >= max(values) - 1e-12


def test_reason_template_shows_values_as_given():
    patient = PatientFacts(
        None, {"labs.magnesium": 0.58}, {"labs.magnesium": "1.4 mg/dL = 0.58 mmol/L"}
    )
    assert render_reason("magnesium {labs.magnesium} is low; K {labs.potassium}", patient) == (
        "magnesium 1.4 mg/dL = 0.58 mmol/L is low; K unknown"
    )


# --- The trace built by the closures compiled once per knowledge base ---------------------------


def _reference_facts(kb, patient, concluded):
    from cramp_expert.consultation import matched_facts

    return {rule.id: tuple(matched_facts(rule.when, patient, concluded)) for rule in kb.rules}


def _compiled_facts(kb, patient, concluded):
    from cramp_expert.consultation import _plan

    out = {}
    for rule in kb.rules:
        plan = _plan(kb).rule(rule.id)
        entries: list = []
        plan.compiled()(patient.values, patient.shown, concluded, entries)
        out[rule.id] = tuple(entries)
    return out


def test_the_compiled_trace_of_every_rule_is_matched_facts(consultant):
    # Every rule, fired or not, on generated patients: `any` items that fail, `none` groups,
    # unknown facts, every operator; twice, so that entries shared between results are reused.
    from cramp_expert.patient import normalise_patient
    from cramp_expert.verify.sampler import Sampler

    kb = consultant.kb
    for data in Sampler.for_kb(kb, 3).patients(40) * 2:
        patient = normalise_patient(data, kb.knowledge)
        result = consultant.consult_facts(patient, with_robustness=False)
        for concluded in (result.asserted, frozenset()):
            assert _compiled_facts(kb, patient, concluded) == _reference_facts(
                kb, patient, concluded
            )


def test_a_shared_trace_entry_never_stands_for_an_equal_value_shown_otherwise(consultant):
    # 0.0 and -0.0 are equal (and hash alike) but show as "0" and "-0"; True equals 1.
    kb = consultant.kb
    numeric = next(
        c for rule in kb.rules for c in rule.fact_conditions() if c.fact.startswith("labs.")
    )
    flag = next(
        c
        for rule in kb.rules
        for c in rule.fact_conditions()
        if c.op == "is" and isinstance(c.value, bool)
    )
    for fact, values in ((numeric.fact, (0.0, -0.0, 0.0)), (flag.fact, (True, 1, True))):
        for value in values:
            patient = PatientFacts(None, {fact: value})
            assert _compiled_facts(kb, patient, frozenset()) == _reference_facts(
                kb, patient, frozenset()
            )


def test_results_sharing_trace_entries_are_those_made_afresh(consultant):
    # Each result computed twice, the second time after the other patients (their entries
    # shared by then), equals the first; and each firing's facts are still matched_facts'.
    from cramp_expert.consultation import matched_facts
    from cramp_expert.patient import normalise_patient
    from cramp_expert.verify.sampler import Sampler

    kb = consultant.kb
    patients = [normalise_patient(d, kb.knowledge) for d in Sampler.for_kb(kb, 5).patients(30)]
    first = [consultant.consult_facts(p, with_robustness=False).to_dict() for p in patients]
    for patient, expected in zip(reversed(patients), reversed(first), strict=True):
        result = consultant.consult_facts(patient, with_robustness=False)
        assert result.to_dict() == expected
        for entry in result.trace:
            rule = kb.rule(entry.rule)
            assert entry.facts == tuple(matched_facts(rule.when, patient, result.asserted))


def test_a_full_consultation_leaves_no_reference_cycles(consultant):
    # Batch and screening consult patient after patient: garbage in reference cycles waits for
    # the collector, whose passes then cost every patient (a recursive closure in build_result
    # once kept each result's lists alive that way). Everything a consultation makes and drops
    # must be freed by reference counting alone.
    import gc

    from cramp_expert.patient import normalise_patient
    from cramp_expert.verify.sampler import Sampler

    kb = consultant.kb
    patients = [normalise_patient(d, kb.knowledge) for d in Sampler.for_kb(kb, 7).patients(60)]
    for patient in patients:  # lazily built caches are not garbage: build them first
        consultant.consult_facts(patient).to_dict()
    gc.collect()
    gc.disable()
    try:
        for patient in patients:
            consultant.consult_facts(patient).to_json(indent=None)  # the line batch writes
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_consultant_spaces_the_collectors_young_passes(consultant):
    # What a consultation drops is freed by reference counting alone (above), so a process that
    # consults raises the young generation's threshold: the collector stops walking every
    # patient's containers several times over. A larger threshold already set is kept.
    import gc

    from cramp_expert.api import YOUNG_COLLECTION, Consultant

    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, *saved[1:])
        Consultant(kb=consultant.kb)
        assert gc.get_threshold() == (YOUNG_COLLECTION, *saved[1:])
        gc.set_threshold(YOUNG_COLLECTION * 2, *saved[1:])
        Consultant(kb=consultant.kb)
        assert gc.get_threshold() == (YOUNG_COLLECTION * 2, *saved[1:])
    finally:
        gc.set_threshold(*saved)
