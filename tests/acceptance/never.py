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
    return problems
