"""The evaluation over every world, held to the three-valued evaluator it replaces in robustness.

- Every bit: in each world (one open fact set to one candidate value, the others open), each
  rule's truth and each conclusion's is what `PartialEvaluator.evaluate` gives on those facts,
  and the base world's open facts per id are `open_facts_by_conclusion`'s.
- The whole robustness section equals `robustness_reference` (the search that tries values one
  at a time) on seeded generated patients, on hypothesis's patients, on the vignettes and on
  the examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cramp_expert.kb import load_knowledge_base
from cramp_expert.patient import normalise_patient
from cramp_expert.reasoning import worlds as worlds_module
from cramp_expert.reasoning.robustness import (
    NOT_NEXT_WHEN_PRESSING,
    file_is_open,
    robustness,
    robustness_reference,
)
from cramp_expert.reasoning.worlds import Worlds, worlds_of
from cramp_expert.result import Robustness
from cramp_expert.testing import patient_files
from cramp_expert.verify.sampler import Sampler

KB = load_knowledge_base()
PATIENTS = patient_files(KB)
ROOT = Path(__file__).resolve().parents[2]
VIGNETTES = sorted((ROOT / "tests" / "acceptance" / "vignettes").rglob("*.yaml"))
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _truth(t: int, f: int, bit: int) -> bool | None:
    assert not t & f & bit, "a world where a condition is both True and False"
    return True if t & bit else False if f & bit else None


def _vignette(path: Path):
    return normalise_patient(yaml.safe_load(path.read_text())["patient"], KB.knowledge)


def _generated(seed: int, count: int):
    return [normalise_patient(p, KB.knowledge) for p in Sampler.for_kb(KB, seed).patients(count)]


def test_every_world_of_every_rule_is_the_three_valued_evaluation(consultant):
    evaluator = consultant.evaluator
    worlds = worlds_of(evaluator)
    tested = evaluator.facts_tested()
    patients = _generated(3, 40) + [_vignette(p) for p in VIGNETTES[::6]]
    checked = 0
    for facts in patients:
        values = facts.values
        open_facts = worlds.open_facts(values)
        is_open = file_is_open(values, tested)
        assert open_facts == frozenset(f for f in tested if is_open(f))
        state = worlds.evaluate(values, open_facts)
        base = evaluator.evaluate(values, is_open)
        trials = [(1, base)]
        for fact_id in sorted(open_facts):
            for bit, value in worlds._values.get(fact_id, ()):
                # `reevaluate` is `evaluate` on the changed facts (test_properties holds them
                # equal), on the rules the fact reaches only: more patients in the same time.
                still_open = frozenset(open_facts - {fact_id}).__contains__
                changed = {**values, fact_id: value}
                trials.append((bit, evaluator.reevaluate(base, changed, still_open, [fact_id])))
        for bit, outcome in trials:
            for i, rule in enumerate(evaluator.order):
                t, f, _ = state.truths[i]
                assert _truth(t, f, bit) == outcome.rule_truth[rule.id], (rule.id, bit)
            for cid in KB.knowledge.conclusions:
                t, f, _ = state.conclusion(cid)
                assert _truth(t, f, bit) == outcome.concluded(cid), (cid, bit)
            checked += 1
        # The base world's open facts of each id: what the interview's collection finds.
        facts_of = evaluator.open_facts_by_conclusion(base)
        for cid, open_of in facts_of.items():
            assert worlds.fact_names(state.conclusion(cid)[2]) == tuple(sorted(open_of)), cid
    assert checked > 1000  # every world of every patient above, not a handful


def _pressing(evaluator, values) -> bool:
    """Whether a red flag keeps lifestyle and cramp-history questions out of the next step."""
    outcome = evaluator.evaluate(values, file_is_open(values, evaluator.facts_tested()))
    return any(
        outcome.concluded(flag.id) is True
        and (
            flag.urgency in ("emergency", "urgent")
            or (flag.emergency_if and outcome.concluded(flag.emergency_if) is True)
        )
        for flag in KB.knowledge.conclusions_of("red_flag")
    )


def _same_section(consultant, facts) -> Robustness:
    evaluator = consultant.evaluator
    concluded = consultant.consult_facts(facts, with_robustness=False).concluded
    fast = robustness(evaluator, facts.values, concluded)
    assert fast == robustness_reference(evaluator, facts.values, concluded)
    return fast


@pytest.mark.parametrize("seed", [0, 1])
def test_robustness_equals_the_reference_search_on_generated_patients(consultant, seed):
    seen = {"next step": 0, "no next step": 0, "pressing, a question held back": 0}
    for facts in _generated(seed, 150):
        section = _same_section(consultant, facts)
        seen["no next step" if section.most_informative is None else "next step"] += 1
        if _pressing(consultant.evaluator, facts.values) and any(
            f.startswith(NOT_NEXT_WHEN_PRESSING)
            for d in section.depends_on_unknowns
            for f in d.facts
        ):
            seen["pressing, a question held back"] += 1
    # The comparison reached the search's branches, not only its easy cases.
    assert seen["next step"] > 100, seen
    assert seen["pressing, a question held back"] > 0, seen


@pytest.mark.parametrize(
    "path", [*VIGNETTES, *EXAMPLES], ids=[p.stem for p in [*VIGNETTES, *EXAMPLES]]
)
def test_robustness_equals_the_reference_search_on_vignettes_and_examples(consultant, path):
    facts = _vignette(path) if path in VIGNETTES else consultant.read_path(path)
    _same_section(consultant, facts)


@given(PATIENTS)
def test_robustness_equals_the_reference_search_on_any_patient(consultant, patient):
    _same_section(consultant, normalise_patient(patient, KB.knowledge))


@given(st.integers(min_value=0, max_value=2**200))
def test_the_names_of_a_set_of_facts_are_its_bits_in_order(consultant, bits):
    worlds = worlds_of(consultant.evaluator)
    bits &= (1 << len(worlds.facts)) - 1
    expected = tuple(f for i, f in enumerate(worlds.facts) if bits >> i & 1)
    assert worlds.fact_names(bits) == expected
    assert worlds.fact_names(bits) == expected  # kept, the same
    assert worlds.fact_names(sum(worlds.fact_bit[f] for f in expected)) == expected


def test_what_worlds_keep_between_patients_changes_no_mask(consultant, monkeypatch):
    # A group's open leaves are combined once per set of open facts among them, and an id's
    # rules' masks once per set of masks (`_LeafPlans`, `Worlds.conclusion`). Patients met
    # after others, from what was kept, get every mask a fresh Worlds (nothing kept) gives;
    # so do they when a tiny bound empties what is kept all the time.
    evaluator = consultant.evaluator
    patients = [*_generated(5, 30), *_generated(5, 30)]  # each patient twice: kept the 2nd time
    ids = list(KB.knowledge.conclusions)

    def masks(worlds: Worlds, values) -> tuple:
        state = worlds.evaluate(values, worlds.open_facts(values))
        return tuple(state.truths), tuple(state.conclusion(cid) for cid in ids)

    kept = Worlds(evaluator)
    expected = [masks(Worlds(evaluator), p.values) for p in patients[:30]] * 2
    assert [masks(kept, p.values) for p in patients] == expected
    assert any(kept._combinations.values()), "the ids' combinations were kept"
    monkeypatch.setattr(worlds_module, "COMBINATIONS_KEPT", 1)
    monkeypatch.setattr(worlds_module._LeafPlans, "LIMIT", 1)
    tiny = Worlds(evaluator)
    assert [masks(tiny, p.values) for p in patients] == expected
    assert max(map(len, tiny._combinations.values())) <= 1
