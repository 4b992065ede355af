"""Facts computed from other facts: corrected calcium, CK as a multiple of ULN, calculated eGFR.

Applied to every patient, whether its facts come from a patient file or from a rule example's
`given:` block, so that the two never disagree about what the rules see. A derived fact that is
already known (given directly) is left as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cramp_expert.patient.labs import number

if TYPE_CHECKING:
    from cramp_expert.patient.normalise import PatientFacts

DEFAULT_CK_ULN = 200.0
"""CK upper limit of normal (U/L) when the lab gives none (contract, vocabulary.yaml)."""


def corrected_calcium(calcium: float, albumin: float) -> float:
    """Albumin-corrected calcium (mmol/L): calcium + 0.02 x (40 - albumin g/L) (brief 1.0)."""
    return round(calcium + 0.02 * (40.0 - albumin), 2)


def ckd_epi_2021(creatinine_umol: float, age: float, sex: str) -> float:
    """EGFR (mL/min/1.73 m2) by the race-free CKD-EPI 2021 creatinine equation."""
    kappa, alpha, factor = (0.7, -0.241, 1.012) if sex == "female" else (0.9, -0.302, 1.0)
    ratio = (creatinine_umol / 88.4) / kappa
    return float(
        round(142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.200 * 0.9938**age * factor)
    )


def apply_derived(patient: PatientFacts) -> None:
    """Add the derived facts that can be computed and are not already known."""
    values, shown = patient.values, patient.shown
    calcium, albumin = values.get("labs.calcium"), values.get("labs.albumin")
    if "labs.calcium_corrected" not in values and calcium is not None and albumin is not None:
        corrected = corrected_calcium(calcium, albumin)
        values["labs.calcium_corrected"] = corrected
        shown["labs.calcium_corrected"] = (
            f"{corrected:.3g} mmol/L (calcium {calcium:.3g} mmol/L, albumin {albumin:g} g/L)"
        )
        patient.labs["calcium_corrected"] = {
            "input": "calculated",
            "value": corrected,
            "unit": "mmol/L",
        }
    ck = values.get("labs.ck")
    if "labs.ck_xuln" not in values and ck is not None:
        multiple = round(ck / DEFAULT_CK_ULN, 3)
        values["labs.ck_xuln"] = multiple
        shown["labs.ck_xuln"] = f"{number(multiple)} x ULN, ULN {DEFAULT_CK_ULN:g} U/L"
    creatinine, age, sex = values.get("labs.creatinine"), values.get("age"), values.get("sex")
    if (
        "labs.egfr" not in values
        and "labs.egfr_calculated" not in values
        and creatinine is not None
        and age is not None
        and age >= 18
        and sex in ("female", "male")
    ):
        egfr = ckd_epi_2021(creatinine, age, sex)
        values["labs.egfr_calculated"] = egfr
        shown["labs.egfr_calculated"] = (
            f"{egfr:g} mL/min/1.73m2 (CKD-EPI 2021 from creatinine {creatinine:g} umol/L, "
            f"age {age:g}, {sex})"
        )
        patient.labs["egfr_calculated"] = {
            "input": "calculated",
            "value": egfr,
            "unit": "mL/min/1.73m2",
        }
