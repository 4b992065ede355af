"""A drug that a red flag holds is said to be held everywhere (clinical brief 8.2).

The cause line of a held drug says "held"; the footnote under the causes (text and HTML
reports), the JSON `held` key and the patient's handout agree with it, and never tell the reader
that the held drug must not be stopped. A drug that is not held keeps the routine footnote.
"""

from __future__ import annotations

import re

import pytest

from cramp_expert.explain.text import contract_dict, render_text
from cramp_expert.kb.handout import load_handout_wording
from cramp_expert.render.handout import build_handout, render_handout_text
from cramp_expert.render.html import render_html

ROUTINE = "a temporal association only; never stop one without the prescriber"

HELD = {
    # a statin in rhabdomyolysis (EAS15), with a loop diuretic that is not held
    "statin": (
        {
            "id": "held-statin",
            "age": 75,
            "sex": "male",
            "medications": ["rosuvastatin 40 mg", "furosemide 40 mg od"],
            "findings": {"muscle_weakness": True, "dark_urine": True},
            "labs": {"ck": "44400 U/L", "creatinine": "480 umol/L"},
        },
        "med_statin",
        "med_diuretic_loop",
    ),
    # indapamide with sodium 104 (EJE14)
    "thiazide": (
        {
            "id": "held-thiazide",
            "age": 79,
            "sex": "female",
            "medications": ["indapamide 2.5 mg od"],
            "labs": {"sodium": "104 mmol/L"},
        },
        "med_diuretic_thiazide",
        None,
    ),
}


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def render_handout(result, kb) -> str:
    wording = load_handout_wording(kb.knowledge.root.parent)
    return render_handout_text(build_handout(result, kb.knowledge, wording))


@pytest.mark.parametrize("case", sorted(HELD))
def test_a_held_drug_is_held_in_json_text_html_and_handout(consultant, case):
    patient, held_id, kept_id = HELD[case]
    result = contract_dict(consultant.consult_data(patient))
    causes = {c["id"]: c for c in result["causes"]}
    # JSON: the held drug says so, in its reason and in the `held` key
    assert causes[held_id]["held"] is True
    assert "held" in causes[held_id]["reason"]
    assert "not a reason to stop" not in causes[held_id]["reason"]
    if kept_id:
        assert causes[kept_id]["held"] is False
        assert causes["medication"]["held"] is False  # the umbrella holds a kept drug too
    else:
        assert causes["medication"]["held"] is True
    label = causes[held_id]["label"]
    # text report: the footnote names the held drug as held, and keeps the routine words
    # only for the other drugs
    text = flat(render_text(result, consultant.kb, width=100))
    assert f"Medicines: {label} held because of the red flag above" in text
    assert ("Any other medicine: " + ROUTINE in text) is bool(kept_id)
    assert "Medicines: " + ROUTINE not in text
    # HTML report: the same footnote
    page = flat(render_html(result, consultant.kb))
    assert f"Medicines: {label} held because of the red flag above" in page
    assert "Medicines: " + ROUTINE not in page
    # handout: the medicine's line says to leave it out, and "what not to do" agrees
    handout = flat(render_handout(result, consultant.kb))
    assert "your doctor has said to leave it out for now" in handout
    assert "Leave out only the medicine your doctor has told you to leave out" in handout
    assert "Keep taking both" not in handout


def test_a_drug_that_is_not_held_keeps_the_routine_footnote(consultant):
    result = contract_dict(
        consultant.consult_data(
            {"age": 70, "medications": ["bendroflumethiazide 2.5 mg"], "labs": {"sodium": 131}}
        )
    )
    assert all(c["held"] is False for c in result["causes"])
    text = flat(render_text(result, consultant.kb, width=100))
    assert "Medicines: " + ROUTINE in text
    assert " held because of the red flag above" not in text
    page = flat(render_html(result, consultant.kb))
    assert "Medicines: " + ROUTINE in page
    handout = flat(render_handout(result, consultant.kb))
    assert "Do not stop or change any of your medicines on your own" in handout
    assert "leave it out for now" not in handout
