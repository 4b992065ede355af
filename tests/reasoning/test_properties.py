"""Properties of reasoning on partial knowledge, on generated patients.

- With nothing open, the three-valued evaluation is exactly what the engine fired.
- Re-evaluating after one fact changes equals evaluating from scratch; deciding in place (what
  robustness asks of every candidate value) equals re-evaluating, and puts the outcome back.
- Robustness is sound: whatever values the unknown facts take, what "holds regardless" stays
  concluded, and what is neither concluded nor listed as depending on unknowns stays out.
- An interview answered from a patient file (unknown where the file has no value) ends with the
  conclusions of `consult` on the whole file, asking fewer questions than there are.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cramp_expert.interview import Interview
from cramp_expert.kb import load_knowledge_base
from cramp_expert.patient import normalise_patient
from cramp_expert.reasoning.robustness import candidate_values, file_is_open
from cramp_expert.testing import PatientAnswers, patient_files
from cramp_expert.testing.interview import interviewable

KB = load_knowledge_base()
PATIENTS = patient_files(KB)


def _never_open(fact_id: str) -> bool:
    return False


def _with_implied_pregnancy(patient):
    if "gestation_weeks" in patient and "pregnant" not in patient:
        return {**patient, "pregnant": True}
    return patient


def outcome_of(result):
    """What a result concludes: every list's ids with their certainties."""
    listed = [*result.items(), *(("excluded", item) for item in result.excluded)]
    return {(key, item.id, getattr(item, "certainty", None)) for key, item in listed}


@given(PATIENTS)
def test_with_nothing_open_three_valued_logic_is_what_the_engine_fired(consultant, patient):
    facts = normalise_patient(patient, KB.knowledge)
    result = consultant.consult_facts(facts)
    fired = set(result.rules_fired)
    outcome = consultant.evaluator.evaluate(facts.values, _never_open)
    assert {r for r, truth in outcome.rule_truth.items() if truth} == fired
    assert None not in outcome.rule_truth.values()
    for cid in KB.knowledge.conclusions:
        assert outcome.concluded(cid) is (cid in result.concluded | result.asserted), cid


@given(PATIENTS, st.data())
def test_reevaluating_after_a_change_equals_evaluating_afresh(consultant, patient, data):
    evaluator = consultant.evaluator
    values = normalise_patient(patient, KB.knowledge).values
    is_open = file_is_open(values)
    base = evaluator.evaluate(values, is_open)
    fact_id = data.draw(st.sampled_from(sorted(evaluator.facts_tested())))
    value = data.draw(st.sampled_from(candidate_values(KB.knowledge.facts[fact_id], evaluator)))
    changed = {**values, fact_id: value}

    def still_open(f: str) -> bool:
        return f != fact_id and is_open(f)

    incremental = evaluator.reevaluate(base, changed, still_open, [fact_id])
    fresh = evaluator.evaluate(changed, still_open)
    assert incremental.rule_truth == fresh.rule_truth
    for cid in KB.knowledge.conclusions:
        assert incremental.concluded(cid) == fresh.concluded(cid), cid


@given(PATIENTS, st.data())
def test_deciding_in_place_equals_reevaluating_and_leaves_the_outcome_as_it_was(
    consultant, patient, data
):
    evaluator = consultant.evaluator
    values = normalise_patient(patient, KB.knowledge).values
    # A function, or a set's membership test (what robustness uses): both paths.
    tested = evaluator.facts_tested() if data.draw(st.booleans()) else None
    is_open = file_is_open(values, tested)
    base = evaluator.evaluate(values, is_open)
    open_ids = [cid for cid in evaluator.reported if base.concluded(cid) is None]
    facts = sorted(f for f in evaluator.facts_tested() if is_open(f))
    if not open_ids or not facts:
        return
    fact_id = data.draw(st.sampled_from(facts))
    ids = frozenset(data.draw(st.lists(st.sampled_from(open_ids), min_size=1, unique=True)))
    truths = dict(base.rule_truth)
    for value in candidate_values(KB.knowledge.facts[fact_id], evaluator):

        def still_open(f: str) -> bool:
            return f != fact_id and is_open(f)

        trial = evaluator.reevaluate(base, {**values, fact_id: value}, still_open, [fact_id])
        expected = {cid for cid in ids if trial.concluded(cid) is not None}
        assert evaluator.decided_by(base, fact_id, value, ids) == expected
        assert base.rule_truth == truths and base.values is values and base.is_open is is_open
    fresh = evaluator.evaluate(values, is_open)
    for cid in KB.knowledge.conclusions:
        assert base.concluded(cid) == fresh.concluded(cid), cid


@given(PATIENTS, st.data())
def test_robustness_is_sound_whatever_the_unknown_facts_turn_out_to_be(consultant, patient, data):
    facts = normalise_patient(patient, KB.knowledge)
    result = consultant.consult_facts(facts)
    robust = result.robustness
    assert robust is not None
    concluded = result.concluded
    depends = {entry.id for entry in robust.depends_on_unknowns}
    assert set(robust.holds_regardless) <= concluded
    assert concluded - set(robust.holds_regardless) <= depends
    # Fill in some of the unknown facts, each with a value on some side of every threshold.
    is_open = file_is_open(facts.values)
    unknown = sorted(f for f in consultant.evaluator.facts_tested() if is_open(f))
    filled = dict(facts.values)
    for fact_id in data.draw(st.lists(st.sampled_from(unknown), unique=True)) if unknown else []:
        choices = candidate_values(KB.knowledge.facts[fact_id], consultant.evaluator)
        filled[fact_id] = data.draw(st.sampled_from(choices))
    later = consultant.concluded_for(filled)
    for cid in robust.holds_regardless:
        assert cid in later, f"{cid} was said to hold regardless"
    for cid in consultant.evaluator.reported:
        if cid not in concluded and cid not in depends:
            assert cid not in later, f"{cid} was said not to depend on unknown facts"
    best = robust.most_informative
    if best is not None:
        assert set(best.decides) <= depends


# An interview is about 60 consultations' worth of work: 40% of the profile's examples
# (40 in CI, 800 in the nightly profile).
@settings(max_examples=max(10, settings.default.max_examples * 2 // 5))
@given(PATIENTS)
def test_an_interview_answered_from_a_file_concludes_what_the_file_does(consultant, patient):
    # Answered through the documented grammar (checklists, the labs line, fields lines). What
    # the interview does not ask (pregnancy at 72) or refuses (a fluid limit of 0) is left out
    # of the file, and only that: such a file gets a W008 warning.
    taken = interviewable(patient, KB.knowledge)
    warned = {
        w.where for w in normalise_patient(patient, KB.knowledge).warnings if w.code == "W008"
    }
    assert (taken != _with_implied_pregnancy(patient)) == bool(warned)
    expected = consultant.consult_data(taken)
    interview = Interview(consultant)
    io = PatientAnswers(taken)
    result = interview.run(io)
    assert outcome_of(result) == outcome_of(expected)
    assert len(io.prompts) <= 20, [p.rsplit("[", 1)[-1] for p in io.prompts]
    # The answers saved as a file give the same result again.
    assert outcome_of(consultant.consult_data(interview.patient_data())) == outcome_of(expected)
