"""Patient files: validation errors with locations, units, medications and conditions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cramp_expert.errors import PatientFileError
from cramp_expert.patient import read_patient
from cramp_expert.patient.medications import _SPLIT, match_medication, split_parts
from cramp_expert.source import parse


def _read(knowledge, text: str):
    return read_patient(parse("p.yaml", text), knowledge)


def _problems(knowledge, text: str):
    with pytest.raises(PatientFileError) as info:
        _read(knowledge, text)
    return info.value.problems


def test_unknown_key_suggests_the_nearest(knowledge):
    (problem,) = _problems(knowledge, "age: 70\nlabs:\n  potasium: 3.1 mmol/L\n")
    assert problem.location.line == 3 and problem.location.key == "labs.potasium"
    assert "'potassium'" in problem.hint


def test_unknown_top_level_key(knowledge):
    (problem,) = _problems(knowledge, "agee: 70\n")
    assert "'age'" in problem.hint and problem.location.line == 1


def test_wrong_types_and_ranges_are_all_reported(knowledge):
    problems = _problems(
        knowledge, "age: 400\nsex: mael\npregnant: maybe\ncramps: {nights_per_week: 9}\n"
    )
    codes = {(p.location.key, p.code) for p in problems}
    assert ("age", "P204") in codes
    assert ("sex", "P204") in codes
    assert ("pregnant", "P201") in codes
    assert ("cramps.nights_per_week", "P204") in codes
    assert any("'male'" in p.hint for p in problems)


def test_top_level_must_be_a_mapping(knowledge):
    (problem,) = _problems(knowledge, "- age: 70\n")
    assert "mapping" in problem.message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("magnesium: 1.4 mg/dL", 0.58),
        ("magnesium: 0.62", 0.62),
        ("magnesium: 1.2 mEq/L", 0.6),
        ("potassium: 3.3 mEq/L", 3.3),
        ("calcium: 9.2 mg/dL", 2.3),
        ("albumin: 4.0 g/dL", 40.0),
        ("creatinine: 1.2 mg/dL", 106.0),
        ("hba1c: 6.5 %", 48.0),
        ("glucose: 90 mg/dL", 5.0),
        ("creatinine: 95 µmol/L", 95.0),
        ("ck: {value: 420, unit: U/L}", 420.0),
    ],
)
def test_lab_units_are_converted(knowledge, text, value):
    patient = _read(knowledge, f"labs:\n  {text}\n")
    analyte = text.split(":")[0]
    assert patient.values[f"labs.{analyte}"] == pytest.approx(value, rel=1e-3)


def test_converted_values_keep_thresholds_across_units(knowledge):
    # 0.70 mmol/L = 1.70 mg/dL and 48 mmol/mol = 6.5 %: a value at a threshold in one unit is at
    # the same threshold in the other; values given in the default unit are kept as given.
    patient = _read(
        knowledge, "labs:\n  magnesium: 1.70 mg/dL\n  hba1c: 6.5 %\n  potassium: 3.45 mEq/L\n"
    )
    assert patient.values["labs.magnesium"] == 0.70
    assert patient.values["labs.hba1c"] == 48.0
    assert patient.values["labs.potassium"] == 3.45


def test_egfr_is_calculated_from_creatinine_when_not_given(knowledge):
    patient = _read(knowledge, "age: 75\nsex: female\nlabs:\n  creatinine: 420 umol/L\n")
    assert patient.values["labs.egfr_calculated"] == pytest.approx(9, abs=1)
    patient = _read(knowledge, "age: 50\nsex: male\nlabs:\n  creatinine: 1.0 mg/dL\n")
    assert patient.values["labs.egfr_calculated"] == pytest.approx(92, abs=1)
    assert (
        "labs.egfr_calculated"
        not in _read(knowledge, "age: 50\nlabs:\n  creatinine: 88 umol/L\n").values
    )


def test_bare_number_implausible_in_the_default_unit_asks_for_the_unit(knowledge):
    (problem,) = _problems(knowledge, "labs:\n  magnesium: 1.9\n")
    assert (
        problem.location.line == 2
        and "not plausible" in problem.message
        and "mg/dL" in problem.hint
    )


def test_unknown_unit_lists_the_accepted_ones(knowledge):
    (problem,) = _problems(knowledge, "labs:\n  potassium: 3.1 furlongs\n")
    assert "unknown unit" in problem.message and "mmol/L, mEq/L" in problem.hint


def test_a_unit_of_another_analyte_says_whose_it_is(knowledge):
    # U/L under sodium is most likely a CK value typed under the wrong name.
    (problem,) = _problems(knowledge, "labs:\n  sodium: 140 U/L\n")
    assert problem.code == "P205" and problem.location.line == 2
    assert "'U/L' is a unit of ck, not of sodium" in problem.message
    assert "accepted units: mmol/L, mEq/L" in problem.hint


@pytest.mark.parametrize("text", ["magnesium: 1e400 mg/dL", "magnesium: 1e308 mg/dL", "age: 1e400"])
def test_absurd_numbers_are_input_errors(knowledge, text):
    labs = text.startswith("magnesium")
    problems = _problems(knowledge, f"labs:\n  {text}\n" if labs else f"{text}\n")
    assert problems[0].code in ("P201", "P204", "P205", "E105")


def test_a_number_with_hundreds_of_digits(knowledge):
    (problem,) = _problems(knowledge, "age: " + "9" * 400 + "\n")
    assert "too large" in problem.message


def test_negative_and_huge_lab_values(knowledge):
    assert _problems(knowledge, "labs:\n  potassium: -3 mmol/L\n")[0].code == "P204"
    assert _problems(knowledge, "labs:\n  sodium: 1e9 mmol/L\n")[0].code == "P205"
    assert _problems(knowledge, "labs:\n  sodium: 900 mmol/L\n")[0].code == "P204"


def test_corrected_calcium_and_ck_multiple(knowledge):
    patient = _read(
        knowledge,
        "labs:\n  calcium: 2.0 mmol/L\n  albumin: 30 g/L\n  ck: {value: 2400, unit: U/L, uln: 200}\n",
    )
    assert patient.values["labs.calcium_corrected"] == pytest.approx(2.2)
    assert patient.values["labs.ck_xuln"] == pytest.approx(12.0)


@pytest.mark.parametrize(
    ("typed", "drugs", "cls"),
    [
        ("Lasix 80 mg mane", ("furosemide",), "med_diuretic_loop"),
        ("frusemide 40mg", ("furosemide",), "med_diuretic_loop"),
        ("HCTZ 25 mg", ("hydrochlorothiazide",), "med_diuretic_thiazide"),
        ("Losec 20 mg od", ("omeprazole",), "med_ppi"),
        ("Symbicort 200/6 two puffs bd", ("budesonide", "formoterol"), "med_laba"),
        ("Seretide 250 evohaler", ("fluticasone", "salmeterol"), "med_laba"),
        ("losartan/HCTZ 50/12.5 mg", ("losartan", "hydrochlorothiazide"), "med_diuretic_thiazide"),
        ("quinine sulfate 300 mg nocte", None, "med_quinine"),
        ("atorvastatine 20 mg", ("atorvastatin",), "med_statin"),
        ("Salbutamol inhaler prn", ("salbutamol",), "med_saba"),
        ("albuterol", ("salbutamol",), "med_saba"),
    ],
)
def test_medications_as_clinicians_type_them(knowledge, typed, drugs, cls):
    match = match_medication(typed, knowledge)
    assert match.matched in ("exact", "fuzzy"), typed
    if drugs is not None:
        assert match.drugs == drugs
    assert cls in match.classes


@pytest.mark.parametrize(
    "typed",
    [
        "warfarin 3 mg",
        "paracetamol 1 g qds",
        "ramipril 5 mg",
        "bisoprolol 5 mg",
        "amlodipine 5 mg",
        "folic acid 400 micrograms",
        "metformin 500 mg bd",
        "clarithromycin 500 mg",
    ],
)
def test_everyday_drugs_are_recognised(knowledge, typed):
    assert match_medication(typed, knowledge).matched == "exact"


def test_amlodipine_is_not_a_nifedipine_cause(knowledge):
    assert "med_nifedipine" not in match_medication("amlodipine 5 mg", knowledge).classes


def test_misspelling_is_accepted_with_a_warning(knowledge):
    patient = _read(knowledge, "medications: [furosmide 40 mg]\n")
    assert patient.values["meds.med_diuretic_loop"] is True
    assert patient.warnings and patient.warnings[0].code == "W002"


def test_unknown_medication_is_a_warning_and_leaves_classes_unknown(knowledge):
    patient = _read(knowledge, "medications: [zzqxy 10 mg, furosemide 40 mg]\n")
    assert patient.warnings[0].code == "W001" and patient.warnings[0].where == "medications[0]"
    assert patient.values["meds.med_diuretic_loop"] is True
    assert "meds.med_statin" not in patient.values  # unknown, not false


def test_medication_list_makes_absent_classes_false(knowledge):
    patient = _read(knowledge, "medications: []\n")
    assert patient.values["meds.med_statin"] is False
    patient = _read(knowledge, "age: 70\n")
    assert "meds.med_statin" not in patient.values


def test_recent_start_is_the_most_recent_of_the_class(knowledge):
    patient = _read(
        knowledge,
        "medications:\n  - {name: furosemide, started_months_ago: 30}\n  - {name: bumetanide, started_months_ago: 3}\n",
    )
    assert patient.values["meds.med_diuretic_loop.started_months_ago"] == 3


@given(st.text(alphabet="andwith/+& .1x", max_size=24))
def test_an_entry_splits_into_its_parts_as_the_separators_pattern_splits_it(text):
    assert split_parts(text) == _SPLIT.split(text)


@pytest.mark.parametrize("text", ["a/b", "a + b", "a&b", "x and y", "x with y", "sand", "x"])
def test_an_entry_is_split_only_where_a_separator_is(text):
    assert split_parts(text) == _SPLIT.split(text)


@pytest.mark.parametrize("unknown", ["", "  - zzqxy 10 mg\n"])
@pytest.mark.parametrize(
    "dated", ["  - simvastatin 40 mg\n", "  - {name: simvastatin 40 mg, started_months_ago: 4}\n"]
)
def test_drug_class_facts_come_in_the_dictionarys_order(knowledge, unknown, dated):
    # Every class (or, beside an unrecognised entry, every class listed) in the dictionary's
    # order, with a class's start and dose right after it, however the list is written.
    text = f"medications:\n  - furosemide 40 mg\n{unknown}{dated}  - amlodipine 5 mg\n"
    patient = _read(knowledge, text)
    keys = [key for key in patient.values if key.startswith("meds.")]
    listed = {f"meds.{c}" for entry in patient.medications for c in entry["classes"]}
    assert {"meds.med_diuretic_loop", "meds.med_statin"} <= listed
    classes = [f"meds.{class_id}" for class_id in knowledge.drug_classes]
    assert [key for key in keys if key.count(".") == 1] == [
        key for key in classes if key in listed or not unknown
    ]
    for statin in ("meds.med_simvastatin", "meds.med_statin"):
        after = keys[keys.index(statin) + 1 :]
        facts = [k for k in after if k.startswith(statin + ".")]
        assert after[: len(facts)] == facts  # right after the class itself
        assert (statin + ".started_months_ago" in keys) == ("started" in dated)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ESRF on haemodialysis", {"end_stage_kidney_disease"}),
        ("heart failure (NYHA III)", {"heart_failure"}),
        ("type 2 diabetes with peripheral neuropathy", {"diabetes", "peripheral_neuropathy"}),
    ],
)
def test_conditions_inside_longer_text_are_read_with_a_warning(knowledge, typed, expected):
    patient = _read(knowledge, f"conditions: ['{typed}']\n")
    assert {
        k.removeprefix("conditions.") for k, v in patient.values.items() if v is True
    } == expected
    assert "W004" in [w.code for w in patient.warnings]
    assert patient.values["conditions.unrecognised"] is False


@pytest.mark.parametrize(
    "typed", ["no diabetes", "?PAD", "suspected cirrhosis", "family history of diabetes"]
)
def test_negated_or_doubted_conditions_are_not_read_as_present(knowledge, typed):
    patient = _read(knowledge, f"conditions: ['{typed}']\n")
    present = [k for k, v in patient.values.items() if k.startswith("conditions.") and v is True]
    assert present == ["conditions.unrecognised"]


def test_conditions_by_synonym_and_unknown_condition_warns(knowledge):
    patient = _read(knowledge, "conditions: [CHF, Type 2 diabetes, frobnitz syndrome]\n")
    assert patient.values["conditions.heart_failure"] is True
    assert patient.values["conditions.diabetes"] is True
    assert [w.code for w in patient.warnings] == ["W003"]


def test_missing_is_unknown_not_false(knowledge):
    patient = _read(knowledge, "findings: {calf_tenderness: null}\n")
    assert "findings.calf_tenderness" not in patient.values


def test_null_medications_are_unknown_not_an_empty_list(knowledge):
    patient = _read(knowledge, "medications: null\n")
    assert "meds.med_statin" not in patient.values and "medications.count" not in patient.values


def test_gestation_weeks_imply_pregnancy_with_a_warning(knowledge):
    patient = _read(knowledge, "sex: female\ngestation_weeks: 30\n")
    assert patient.values["pregnant"] is True
    assert [w.code for w in patient.warnings] == ["W005"]
    assert _problems(knowledge, "pregnant: false\ngestation_weeks: 30\n")[0].code == "P206"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("conditions: [ESRD on haemodialysis]\n", "haemodialysis"),
        ("conditions: [CAPD]\n", "peritoneal"),
        ("cramps: {during_dialysis: true}\n", "haemodialysis"),
    ],
)
def test_dialysis_said_elsewhere_is_read_with_a_warning(knowledge, text, kind):
    patient = _read(knowledge, text)
    assert patient.values["dialysis"] == kind
    assert "W007" in [w.code for w in patient.warnings]


def test_dialysis_none_contradicted_is_an_input_error(knowledge):
    (problem,) = _problems(knowledge, "dialysis: none\ncramps: {during_dialysis: true}\n")
    assert problem.code == "P206" and problem.location.key == "cramps.during_dialysis"


def test_a_stopped_medicine_is_not_taken_but_remembered(knowledge):
    patient = _read(
        knowledge, "medications: [quinine sulfate 200 mg - stopped last week, furosemide 40 mg]\n"
    )
    assert patient.values["meds.med_quinine"] is False
    assert patient.values["meds.med_quinine.stopped"] is True
    assert patient.values["medications.count"] == 1
    assert "W006" in [w.code for w in patient.warnings]


@pytest.mark.parametrize(
    "typed", ["furosemide + spironolactone", "Lasix 40 mg and spironolactone 25 mg"]
)
def test_combined_entries_keep_every_component(knowledge, typed):
    patient = _read(knowledge, f"medications: ['{typed}']\n")
    assert patient.values["meds.med_diuretic_loop"] is True
    assert patient.values["meds.med_diuretic_potassium_sparing"] is True


def test_a_bare_lab_number_of_hundreds_of_digits_is_an_input_error(knowledge):
    # Found by the fuzz tests: float() of such an integer raised OverflowError.
    (problem,) = _problems(knowledge, "labs:\n  abi: 1" + "0" * 400 + "\n")
    assert problem.code == "P205" and "401-digit number" in problem.message


@pytest.mark.parametrize(
    ("line", "dose"),
    [
        ("simvastatin 40 mg nocte", 40.0),
        ("Inegy 10/40 mg", 40.0),  # ezetimibe 10 mg, simvastatin 40 mg
        ("Vytorin 10mg/80mg one at night", 80.0),
        ("ezetimibe/simvastatin 10/20 mg", 20.0),
        ("simvastatin/ezetimibe 40/10", 40.0),  # the names' order gives the strengths' order
        ("ezetimibe 10 mg + simvastatin 20 mg nocte", 20.0),
        ("simvastatin 40 mg/amlodipine 10 mg", 40.0),
        ("Inegy", None),  # no strength written: the dose limit is not judged
        ("Inegy 10/40/80", None),  # three numbers for two drugs: not guessed
    ],
)
def test_simvastatin_strength_is_read_from_combination_lines(knowledge, line, dose):
    facts = _read(knowledge, f"medications: ['{line}']")
    assert facts.values.get("meds.med_simvastatin.dose_mg") == dose


def test_each_drug_of_a_combination_line_gets_its_own_strength(knowledge):
    match = match_medication("ezetimibe/simvastatin 10/40 mg", knowledge)
    assert dict(match.strengths) == {"ezetimibe": 10.0, "simvastatin": 40.0}
    match = match_medication("simvastatin 40 mg and amlodipine 5 mg", knowledge)
    assert dict(match.strengths) == {"simvastatin": 40.0, "amlodipine": 5.0}
