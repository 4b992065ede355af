"""The question engine without a terminal: answer grammars, natural answers, applicability,
progress, back, the data a web form reads, and the prompt counts of the examples."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from cramp_expert.interview import AnswerError, Interview
from cramp_expert.patient import normalise_patient
from cramp_expert.source import load_file
from cramp_expert.testing import PatientAnswers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _answer_until(interview: Interview, prompt_id: str, answers: dict[str, str]) -> None:
    """Answer every prompt from `answers` (by prompt id; unknown otherwise) until `prompt_id`."""
    while (prompt := interview.current()) is not None and prompt.id != prompt_id:
        interview.submit(answers.get(prompt.id, ""))
    assert prompt is not None, f"{prompt_id} was never asked"


def outcome(result):
    listed = [*result.items(), *(("excluded", item) for item in result.excluded)]
    return {(key, item.id, getattr(item, "certainty", None)) for key, item in listed}


def test_the_examples_take_at_most_15_prompts_at_the_median_and_end_with_their_result(
    consultant,
):
    counts = {}
    for path in EXAMPLES:
        data = load_file(path).data
        interview = Interview(consultant)
        io = PatientAnswers(data)
        result = interview.run(io)
        assert outcome(result) == outcome(consultant.consult_path(path)), path.name
        counts[path.stem] = len(io.prompts)
    assert len(counts) == 8
    assert statistics.median(counts.values()) <= 15, counts
    assert max(counts.values()) <= 20, counts


def test_a_checklist_takes_present_absent_and_unknown_items(consultant):
    interview = Interview(consultant)
    _answer_until(interview, "dvt", {"patient": "60, man, none", "medications": "none"})
    prompt = interview.current()
    assert prompt.kind == "checklist" and len(prompt.items) >= 4
    rendered = prompt.render()
    assert rendered.endswith(f"[{', '.join(prompt.keys)}]: ")
    assert "  1. One calf/leg visibly larger or swollen" in rendered
    first, second, third = prompt.keys[:3]
    interview.submit(f"1, ?{second}")
    values = interview.history[-1].values
    assert values[first] is True and values[second] is None and values[third] is False
    assert all(values[key] is False for key in prompt.keys[3:])
    data = interview.patient_data()["findings"]
    assert data[first.split(".")[1]] is True and second.split(".")[1] not in data


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("none", False), ("", None), ("unknown", None), ("no", False)],
)
def test_a_checklist_answered_as_a_whole(consultant, typed, expected):
    interview = Interview(consultant)
    _answer_until(interview, "dvt", {})
    interview.submit(typed)
    assert set(interview.history[-1].values.values()) == {expected}


@pytest.mark.parametrize("typed", ["9", "?x", "1 ?1", "calf"])
def test_a_bad_checklist_answer_is_refused_with_an_example(consultant, typed):
    interview = Interview(consultant)
    _answer_until(interview, "dvt", {})
    with pytest.raises(AnswerError, match=r"e\.g\. '1"):
        interview.submit(typed)
    assert interview.current().id == "dvt"  # nothing recorded


def test_labs_on_one_line_by_key_or_short_name_with_optional_units(consultant):
    interview = Interview(consultant)
    _answer_until(interview, "labs", {"patient": "70, f, none"})
    said = interview.submit("K 3.1; labs.sodium 128, Mg 1.4 mg/dL; eGFR 25; CK 900 U/L uln 200")
    labs = interview.patient_data()["labs"]
    assert labs == {
        "potassium": "3.1",
        "sodium": "128",
        "magnesium": "1.4 mg/dL",
        "egfr": "25",
        "ck": {"value": 900.0, "uln": 200.0, "unit": "U/L"},
    }
    assert "Serum magnesium 1.4 mg/dL = 0.58 mmol/L" in said
    given = {k for k, v in interview.history[-1].values.items() if v is not None}
    assert all(  # every lab not given is unknown (settled), not asked again
        value is None for key, value in interview.history[-1].values.items() if key not in given
    )
    with pytest.raises(AnswerError, match="name"):
        Interview(consultant).read(interview.history[-1].prompt, "3.4")


def test_fields_take_values_with_or_without_names_and_natural_words(consultant):
    interview = Interview(consultant)
    prompt = interview.current()
    assert prompt.id == "patient" and prompt.keys == ("age", "sex", "dialysis")
    assert interview.read(prompt, "72 woman") == {"age": 72, "sex": "female", "dialysis": None}
    assert interview.read(prompt, "72, f, no dialysis") == {
        "age": 72,
        "sex": "female",
        "dialysis": "none",
    }
    assert interview.read(prompt, "sex m; age 45 years")["sex"] == "male"
    assert interview.read(prompt, "age ?, man") == {"age": None, "sex": "male", "dialysis": None}
    with pytest.raises(AnswerError, match="fits no item left"):
        interview.read(prompt, "seventy")


def _cramps_prompt(consultant):
    interview = Interview(consultant)
    _answer_until(interview, "cramps", {"patient": "50, man, none"})
    return interview, interview.current()


def test_numbers_with_units_and_plural_sites(consultant):
    interview, prompt = _cramps_prompt(consultant)
    read = interview.read(prompt, "3 nights a week, 30 s, calves and feet, 2 years")
    assert read["cramps.nights_per_week"] == 3
    assert read["cramps.episode_minutes"] == 0.5
    assert read["cramps.sites"] == ["calf", "foot"]
    assert read["cramps.months"] == 24
    assert interview.read(prompt, "length 5 min; sites thighs")["cramps.episode_minutes"] == 5
    with pytest.raises(AnswerError, match=r"e\.g\."):
        interview.read(prompt, "nights 5 bananas")


def test_a_yes_no_question_takes_natural_answers(consultant):
    question = next(q for q in Interview(consultant).catalogue if q.key == "findings.back_pain")
    assert [question.read(t) for t in ("yes", "y", "Y", "no", "n", "none")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    with pytest.raises(AnswerError, match=r"not yes or no; e\.g\. 'yes'"):
        question.read("maybe")


def test_pregnancy_is_asked_only_of_a_woman_of_12_to_55_and_gestation_only_after_yes(
    consultant,
):
    def asked(patient: str, pregnant: str = "") -> list[str]:
        interview = Interview(consultant)
        ids = []
        while (prompt := interview.current()) is not None and len(ids) < 8:
            ids.append(prompt.id)
            typed = {"patient": patient, "pregnant": pregnant}.get(prompt.id, "")
            interview.submit(typed)
        return ids

    assert "pregnant" not in asked("72, woman")
    assert "pregnant" not in asked("30, man")
    assert "pregnant" not in asked("10, girl")
    assert "pregnant" in asked("30, woman") and "gestation_weeks" not in asked("30, woman", "no")
    assert "gestation_weeks" not in asked("30, woman", "")
    assert "gestation_weeks" in asked("30, woman", "yes")
    assert "pregnant" in asked("?, woman")  # an unknown age does not rule it out


def test_a_file_that_gives_pregnancy_where_it_does_not_apply_gets_a_warning(kb):
    facts = normalise_patient({"age": 72, "sex": "female", "pregnant": True}, kb.knowledge)
    (warning,) = [w for w in facts.warnings if w.code == "W008"]
    assert warning.where == "pregnant" and "12 to 55" in warning.message
    assert facts.values["pregnant"] is True  # read as written, and said back
    fine = normalise_patient({"age": 30, "sex": "female", "pregnant": True}, kb.knowledge)
    assert not [w for w in fine.warnings if w.code == "W008"]


def test_fluid_restriction_takes_none_and_refuses_zero(consultant):
    question = next(
        q
        for q in Interview(consultant).catalogue
        if q.key == "lifestyle.fluid_restriction_litres_per_day"
    )
    assert question.read("none") is None and question.read("1.5 L") == 1.5
    assert question.read("1500 ml") == 1.5
    with pytest.raises(AnswerError) as refused:
        question.read("0")
    assert str(refused.value) == "a limit of 0 L/day is not possible; answer none"


def test_progress_back_and_the_previous_answer(consultant):
    interview = Interview(consultant)
    first = interview.current()
    assert first.number == 1 and first.render().startswith(f"(1 of about {first.about}) ")
    interview.submit("72, woman, none")
    second = interview.current()
    assert second.number == 2
    again = interview.back()
    assert again.id == "patient" and again.previous == "72, woman, none"
    assert "(before: 72, woman, none)" in again.render()
    assert interview.patient_data() == {}
    assert Interview(consultant).back() is None


def test_a_web_form_reads_prompts_as_data_and_answers_item_by_item(consultant):
    interview = Interview(consultant)
    data = interview.current().as_dict()
    assert data["id"] == "patient" and [i["key"] for i in data["items"]] == [
        "age",
        "sex",
        "dialysis",
    ]
    assert data["items"][1]["values"] == ["female", "male", "other", "unknown"]
    interview.submit_items({"age": "72", "sex": "woman", "dialysis": None})
    assert interview.patient_data() == {"age": 72, "sex": "female"}
    with pytest.raises(AnswerError, match="not asked here"):
        interview.submit_items({"labs.potassium": "3.4"})
    while not interview.finished:
        prompt = interview.current()
        if prompt.kind == "checklist":
            interview.submit_items({prompt.keys[0]: "no"})
        else:
            interview.submit_items({})
    assert interview.result().patient_id is None


def test_an_interview_file_with_mistakes_is_reported_with_locations(tmp_path):
    import shutil

    from cramp_expert.authoring import lint

    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    path = tmp_path / "knowledge" / "interview.yaml"
    text = path.read_text()
    text = text.replace("- findings.calf_tenderness\n", "- findings.calf_tendernes\n", 1)
    text = text.replace("- cramps.daytime\n", "- cramps.months\n", 1)
    path.write_text(text)
    problems = lint.validate(tmp_path).problems
    shown = [p.render() for p in problems]
    assert any(
        "interview.yaml" in s
        and "unknown input fact 'findings.calf_tendernes'" in s
        and "findings.calf_tenderness" in s
        for s in shown
    ), shown
    assert any("already asked in prompt 'cramps'" in s for s in shown), shown


def test_a_transcript_replays_to_the_same_interview(consultant):
    data = load_file(ROOT / "examples" / "V16.yaml").data
    interview = Interview(consultant)
    interview.skip()  # the first prompt answered last
    result = interview.run(PatientAnswers(data))
    again = Interview.replay(consultant, interview.transcript())
    assert again.finished and again.patient_data() == interview.patient_data()
    assert outcome(again.result()) == outcome(result)
    with pytest.raises(AnswerError, match="is asked there"):
        Interview.replay(consultant, [{"prompt": "no-such-prompt", "typed": ""}])


def test_an_empty_list_answer_is_unknown_and_none_is_an_empty_list(consultant):
    interview = Interview(consultant)
    _answer_until(interview, "medications", {})
    assert interview.submit("") == "  noted as unknown"
    assert "medications" not in interview.patient_data()
    interview.back()
    assert interview.submit("none") == "  noted: no regular medicines"
    assert interview.patient_data()["medications"] == []


def test_a_list_in_a_line_may_use_commas_and_a_lone_item_takes_its_groups_grammar(consultant):
    interview, prompt = _cramps_prompt(consultant)
    read = interview.read(prompt, "cramps.sites calf, foot; cramps.nights_per_week 2")
    assert read["cramps.sites"] == ["calf", "foot"] and read["cramps.nights_per_week"] == 2
    interview = Interview(consultant)
    _answer_until(interview, "dvt", {})
    checklist = interview.current()
    single = type(checklist)(
        id="dvt",
        kind="question",
        text=checklist.items[0].text,
        items=checklist.items[:1],
        number=1,
        about=1,
    )
    key = checklist.items[0].key
    assert interview.read(single, key) == {key: True}
    assert interview.read(single, f"?{key}") == {key: None}
    assert interview.read(single, "no") == {key: False}
