"""Domains: values on both sides of every threshold, the realisability rules the search trusts,
and patient files that give any value of any fact."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cramp_expert.compile.predicates import predicate
from cramp_expert.kb.derived import ckd_epi_2021
from cramp_expert.patient import normalise_patient
from cramp_expert.testing import patient_files
from cramp_expert.verify.domains import ABSENT, Domains, creatinine_for
from cramp_expert.verify.sampler import Sampler


@pytest.fixture(scope="module")
def domains(kb):
    return Domains(kb)


def test_every_test_of_a_fact_is_both_true_and_false_on_some_value(domains):
    for fact_id in sorted(domains.variables):
        values = [*domains.values(fact_id)]
        for test in domains.tests[fact_id]:
            if test.op == "known":
                continue
            outcomes = {predicate(test)(v) for v in values}
            # (and false when unknown, which the search also tries)
            assert True in outcomes, (fact_id, test.describe(), values)


def test_every_value_of_every_fact_comes_from_some_patient_file(domains, knowledge):
    for fact_id in sorted(domains.variables):
        for value in domains.values(fact_id):
            patient = domains.patient_file({fact_id: value})
            assert patient is not None, (fact_id, value)
            facts = normalise_patient(patient, knowledge).values
            assert facts.get(fact_id) == value, (fact_id, value, patient, facts.get(fact_id))


def test_normalised_patients_are_always_consistent(domains, knowledge):
    # The search drops what `consistent` refuses: it must refuse nothing a patient file gives.
    sampler = Sampler(domains, seed=7)
    for _ in range(400):
        facts = normalise_patient(sampler.patient(), knowledge).values
        assigned = {f: facts.get(f, ABSENT) for f in domains.variables}
        assert domains.consistent(assigned), facts


@pytest.mark.parametrize(
    ("facts", "why"),
    [
        ({"pregnant": True, "sex": "male"}, "a pregnancy in a man"),
        ({"gestation_weeks": 30.0, "pregnant": ABSENT}, "weeks of gestation without a pregnancy"),
        (
            {"meds.med_statin.started_months_ago": 3.0, "meds.med_statin": False},
            "a start date off the list",
        ),
        (
            {"labs.calcium_corrected": 2.0, "labs.calcium": ABSENT},
            "a corrected calcium without calcium",
        ),
        ({"labs.calcium_corrected": 2.0, "labs.calcium": 3.5}, "a correction no albumin gives"),
        ({"labs.ck_xuln": 3.0, "labs.ck": ABSENT}, "a CK multiple without a CK"),
        (
            {"labs.egfr_calculated": 40.0, "labs.egfr": 50.0},
            "a calculated eGFR beside a reported one",
        ),
        (
            {"conditions.heart_failure": True, "conditions.unrecognised": ABSENT},
            "a condition without a list",
        ),
        (
            {"meds.med_statin": False, "meds.med_ppi": ABSENT, "medications.count": 1.0},
            "one list, a class both false and unknown",
        ),
    ],
)
def test_combinations_no_file_gives_are_refused(domains, facts, why):
    assert not domains.consistent(facts), why


def test_a_creatinine_is_found_for_any_calculated_egfr():
    for egfr in (5.0, 29.0, 30.0, 59.0, 60.0, 90.0):
        for sex in ("female", "male"):
            creatinine = creatinine_for(egfr, 50.0, sex)
            assert creatinine is not None and ckd_epi_2021(creatinine, 50.0, sex) == egfr


@given(st.data())
def test_generated_patients_are_consistent_too(kb, domains, data):
    # The same as above with hypothesis driving the generator's choices (and shrinking).
    facts = normalise_patient(data.draw(patient_files(kb)), kb.knowledge).values
    assert domains.consistent({f: facts.get(f, ABSENT) for f in domains.variables}), facts
