"""The contract's `never:` rules as a test oracle over a consultation result.

These are checks only: the knowledge base enforces them through its own rules, and nothing in
the package filters a result afterwards.
"""

from __future__ import annotations

import re
from typing import Any

ELECTROLYTE_LABS = {
    "hypokalemia": "potassium",
    "hypomagnesemia": "magnesium",
    "hypocalcemia": "calcium",
    "hyponatremia": "sodium",
}
LOW_BELOW = {"potassium": 3.5, "magnesium": 0.70, "calcium": 2.2, "sodium": 135}
QUININE_IDS = {"rec_avoid_quinine", "rec_quinine_review", "rec_stop_quinine"}


def _ids(result: dict[str, Any], section: str) -> set[str]:
    return {item["id"] for item in result[section]}


def never_violations(result: dict[str, Any], patient: dict[str, Any]) -> list[str]:
    """Every `never:` rule of the contract that `result` breaks for `patient` (a patient file dict)."""
    problems: list[str] = []
    recs = _ids(result, "recommendations")
    causes = _ids(result, "causes")
    flags = {item["id"]: item["urgency"] for item in result["red_flags"]}
    labs = result["interpreted"]["labs"]
    lifestyle = patient.get("lifestyle") or {}
    conditions = {c for item in result["interpreted"]["conditions"] for c in item["conditions"]}
    classes = {c for med in result["interpreted"]["medications"] for c in med["classes"]}

    for rec in result["recommendations"]:
        text = (rec.get("text", "") + " " + rec.get("label", "")).lower()
        if "quinine" in text and rec["id"] not in QUININE_IDS:
            problems.append(f"{rec['id']} names quinine")
    on_dialysis = patient.get("dialysis") in ("haemodialysis", "peritoneal")
    restricted = lifestyle.get("fluid_restriction_litres_per_day") is not None
    hf_on_diuretic = "heart_failure" in conditions and classes & {
        "med_diuretic_loop",
        "med_diuretic_thiazide",
        "med_diuretic_potassium_sparing",
    }
    if "rec_maintain_fluids" in recs and (on_dialysis or restricted or hf_on_diuretic):
        problems.append(
            "rec_maintain_fluids under dialysis, a fluid restriction or heart failure on a diuretic"
        )
    egfr = labs.get("egfr", labs.get("egfr_calculated", {})).get("value")
    if "rec_diet_electrolytes" in recs and (on_dialysis or (egfr is not None and egfr < 30)):
        problems.append("rec_diet_electrolytes on dialysis or with eGFR < 30")
    for cause, lab in ELECTROLYTE_LABS.items():
        if cause in causes:
            values = [labs.get(lab, {}).get("value")]
            if lab == "calcium":
                values.append(labs.get("calcium_corrected", {}).get("value"))
            measured = [v for v in values if v is not None]
            if not measured or min(measured) >= LOW_BELOW[lab]:
                problems.append(f"{cause} without a measured low {lab}")
    urgent = [f for f, u in flags.items() if u in ("emergency", "urgent")]
    if urgent and ({"idiopathic"} & causes or "rec_reassurance" in recs):
        problems.append(f"idiopathic or reassurance beside {urgent}")
    if "rf_dvt_suspected" in flags and recs & {
        "rec_calf_stretch_nightly",
        "rec_acute_stretch_massage",
    }:
        problems.append("stretching or massage beside suspected DVT")
    for rec in result["recommendations"]:
        text = rec.get("text", "").lower()
        if rec["id"] not in {"rec_stop_statin_pending_review", "rec_stop_quinine"} and (
            "stop taking" in text or "stop your" in text
        ):
            problems.append(f"{rec['id']} advises stopping a medicine")
    for rec in result["recommendations"]:
        if rec["id"] in {
            "rec_correct_deficiency",
            "rec_second_line_options",
            "rec_diet_electrolytes",
        }:
            text = rec.get("text", "").lower()
            if (
                "magnesium" in text
                and re.search(r"\beffective\b", text)
                and not re.search(r"\bnot\b|\bno\b", text)
            ):
                problems.append(f"{rec['id']} presents magnesium as effective")
    problems += round_two_violations(result, patient)
    problems += round_three_violations(result)
    return problems


LIFESTYLE = {
    "rec_stress_management",
    "rec_bedding_posture",
    "rec_diet_electrolytes",
    "rec_regular_activity",
    "rec_calf_stretch_nightly",
}
KEEPS = re.compile(r"not a reason to stop|keep taking|continue (it|taking)")
# Which drug a holding action holds: the red flag or recommendation, and the cause id.
HELD_BY = {
    "rec_stop_statin_pending_review": "med_statin",
    "rec_stop_quinine": "med_quinine",
}
THYROID_LIKE = {"hypoparathyroidism", "hyperthyroidism"}
VASCULAR = {"peripheral_artery_disease", "cardiovascular_disease"}


def round_two_violations(result: dict[str, Any], patient: dict[str, Any]) -> list[str]:
    """The never-rules added to the contract in 2026-12 (clinical round 2), read off the result."""
    problems: list[str] = []
    recs = _ids(result, "recommendations")
    causes = {item["id"]: item for item in result["causes"]}
    flags = {item["id"]: item["urgency"] for item in result["red_flags"]}
    conditions = {c for item in result["interpreted"]["conditions"] for c in item["conditions"]}
    classes = {c for med in result["interpreted"]["medications"] for c in med["classes"]}
    labs = result["interpreted"]["labs"]
    # a drug described as kept when a red flag or recommendation of the same result holds it
    for rec, drug in HELD_BY.items():
        if rec in recs and drug in causes and KEEPS.search(causes[drug].get("reason", "")):
            problems.append(f"{drug} is kept ('not a reason to stop') beside {rec}")
    if "rf_severe_electrolyte" in flags and "med_diuretic_thiazide" in causes:
        sodium = labs.get("sodium", {}).get("value")
        potassium = labs.get("potassium", {}).get("value")
        held = (sodium is not None and sodium < 125) or (potassium is not None and potassium < 2.5)
        if held and KEEPS.search(causes["med_diuretic_thiazide"].get("reason", "")):
            problems.append("a thiazide is kept beside a profound hyponatraemia or hypokalaemia")
    if "rf_quinine_toxicity" in flags and "rec_quinine_review" in recs:
        problems.append("routine quinine review beside quinine toxicity")
    # lifestyle advice beside an emergency; the next step while an urgent flag stands
    emergencies = [f for f, u in flags.items() if u == "emergency"]
    if emergencies and recs & LIFESTYLE:
        problems.append(f"lifestyle advice {sorted(recs & LIFESTYLE)} beside {emergencies}")
    if emergencies and "rec_emergency_referral" not in recs:
        problems.append(f"emergency {emergencies} without rec_emergency_referral")
    pressing = [f for f, u in flags.items() if u in ("emergency", "urgent")]
    step = (result.get("robustness") or {}).get("most_informative") or {}
    if pressing and str(step.get("fact", "")).startswith(("lifestyle.", "cramps.")):
        problems.append(f"next step {step['fact']} beside {pressing}")
    # a condition read as a different condition; a guess never used
    for item in result["interpreted"]["conditions"]:
        if item.get("match") == "fuzzy" and item["conditions"]:
            problems.append(f"the guess '{item['input']}' was used as {item['conditions']}")
        folded = item["input"].lower()
        if "hypothyroidism" in item["conditions"] and (
            "parathyroid" in folded or "hyperthyroid" in folded
        ):
            problems.append(f"'{item['input']}' was read as hypothyroidism")
    tsh = labs.get("tsh", {}).get("value")
    if "hypothyroidism" in causes and (
        (tsh is not None and tsh < 0.4)
        or (
            conditions & THYROID_LIKE
            and "hypothyroidism" not in conditions
            and not (tsh and tsh > 4.5)
        )
    ):
        problems.append("hypothyroidism concluded from another thyroid condition or a low TSH")
    # CKD from one value beside an acute cause; never first beside rhabdomyolysis
    known_ckd = conditions & {"chronic_kidney_disease", "end_stage_kidney_disease"}
    acute = (
        "rf_rhabdomyolysis" in flags
        or "acute_kidney_injury" in conditions
        or (patient.get("findings") or {}).get("vomiting_or_diarrhoea") is True
    )
    if "chronic_kidney_disease" in causes and acute and not known_ckd:
        problems.append("chronic_kidney_disease from one value beside an acute cause")
    if (
        "rf_rhabdomyolysis" in flags
        and result["causes"]
        and result["causes"][0]["id"] == ("chronic_kidney_disease")
        and not known_ckd
    ):
        problems.append("chronic_kidney_disease ranked first beside rhabdomyolysis")
    # a statin in vascular disease framed as a drug to weigh against the cramps
    if "med_statin" in causes and conditions & VASCULAR | (
        {"peripheral_artery_disease"} & set(causes)
    ):
        reason = causes["med_statin"].get("reason", "")
        if "not a reason to stop" in reason or "weigh" in reason:
            problems.append("a statin in vascular disease weighed against the cramps")
    # known MND, or any cause, together with idiopathic or reassurance
    mnd = "motor_neuron_disease" in conditions or "med_riluzole" in classes
    if mnd and ("idiopathic" in causes or "rec_reassurance" in recs):
        problems.append("known motor neurone disease reported as idiopathic or with reassurance")
    return problems


GIVEN_BY = {
    "test_potassium": ("potassium",),
    "test_magnesium": ("magnesium",),
    "test_calcium": ("calcium",),
    "test_renal_function": ("creatinine", "egfr"),
    "test_tsh": ("tsh",),
    "test_ck": ("ck",),
    "test_glucose_hba1c": ("hba1c",),
    "test_blood_count": ("platelets",),
    "test_abi": ("abi",),
}
"""Each investigation and the lab values that are its result."""


def round_three_violations(result: dict[str, Any]) -> list[str]:
    """Issue 11, round 3 (brief 8.1, 8.2, 8.6), read off the result without the rule base."""
    problems: list[str] = []
    recs = _ids(result, "recommendations")
    flags = {item["id"]: item["urgency"] for item in result["red_flags"]}
    labs = result["interpreted"]["labs"]
    conditions = {c for item in result["interpreted"]["conditions"] for c in item["conditions"]}
    # an emergency goes to the emergency department, not to a same-day assessment as well
    if "emergency" in flags.values() and "rec_urgent_assessment" in recs:
        problems.append("rec_urgent_assessment beside an emergency")
    # an action never asks for a test whose result was given
    for test in _ids(result, "investigations"):
        given = [lab for lab in GIVEN_BY.get(test, ()) if lab in labs]
        if given:
            problems.append(f"{test} asked for with {given} given")
    # one value is not CKD: CKD needs it on the problem list (NG203: more than 3 months)
    causes = {item["id"]: item for item in result["causes"]}
    if "chronic_kidney_disease" in causes and not conditions & {
        "chronic_kidney_disease",
        "end_stage_kidney_disease",
    }:
        problems.append("chronic_kidney_disease from one value, with no known CKD")
    # a cause marked held says so, and never that the drug is kept
    for cid, cause in causes.items():
        if cause.get("held") and (
            "held" not in cause.get("reason", "") or KEEPS.search(cause.get("reason", ""))
        ):
            problems.append(f"{cid} is marked held but its line does not say so")
    return problems
