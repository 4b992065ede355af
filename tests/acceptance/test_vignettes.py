"""The contract's example vignettes, run through the CLI's JSON output (`consult FILE --format json`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cramp_expert.cli import cli
from tests.acceptance.contract import RESULT_KEYS
from tests.acceptance.never import never_violations

EXPECT_KEYS = {
    f"{section}{suffix}"
    for section in ("causes", "red_flags", "recommendations", "investigations", "excluded")
    for suffix in ("", "_not")
} | {"no_red_flags", "differentials"}
"""What a vignette may expect. `differentials` is the exact list (none when not given): a mimic
that nobody expected is as wrong in a report as one that is missing."""
VIGNETTES = sorted((Path(__file__).resolve().parent / "vignettes").glob("*.yaml"))


def _consult_json(tmp_path: Path, patient: dict) -> dict:
    path = tmp_path / "patient.yaml"
    path.write_text(yaml.safe_dump(patient, sort_keys=False))
    result = CliRunner().invoke(cli, ["consult", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("path", VIGNETTES, ids=[p.stem for p in VIGNETTES])
def test_vignette(tmp_path, path):
    vignette = yaml.safe_load(path.read_text())
    patient, expect = vignette["patient"], vignette["expect"]
    assert set(expect) <= EXPECT_KEYS, f"unknown expectation keys {set(expect) - EXPECT_KEYS}"
    result = _consult_json(tmp_path, patient)
    assert set(result) >= RESULT_KEYS
    assert result["patient_id"] == patient["id"]
    ids = {
        key: {item["id"] for item in result[key]}
        for key in (
            "causes",
            "red_flags",
            "recommendations",
            "investigations",
            "differentials",
            "excluded",
        )
    }
    failures = []
    for key in ("causes", "red_flags", "recommendations", "investigations", "excluded"):
        missing = set(expect.get(key, [])) - ids[key]
        if missing:
            failures.append(f"{key}: missing {sorted(missing)}")
        present = set(expect.get(f"{key}_not", [])) & ids[key]
        if present:
            failures.append(f"{key}_not: present {sorted(present)}")
    if expect.get("no_red_flags") and ids["red_flags"]:
        failures.append(f"no_red_flags: got {sorted(ids['red_flags'])}")
    if ids["differentials"] != set(expect.get("differentials", [])):
        failures.append(
            f"differentials: expected {sorted(expect.get('differentials', []))}, "
            f"got {sorted(ids['differentials'])}"
        )
    failures += never_violations(result, patient)
    assert not failures, f"{path.stem}: {failures}\nconcluded: {ids}"


@pytest.mark.parametrize("path", VIGNETTES, ids=[p.stem for p in VIGNETTES])
def test_vignette_result_shape(tmp_path, path):
    result = _consult_json(tmp_path, yaml.safe_load(path.read_text())["patient"])
    for cause in result["causes"]:
        assert {"id", "label", "certainty", "evidence", "because", "references"} <= set(cause)
        assert 0 < cause["certainty"] <= 1
        assert cause["because"], cause
    for flag in result["red_flags"]:
        assert (
            flag["urgency"] in ("emergency", "urgent", "soon", "routine")
            and flag["action"]
            and flag["because"]
        )
    for item in result["recommendations"]:
        assert {"id", "text", "evidence", "references", "because"} <= set(item)
    for item in result["investigations"]:
        assert item["reason"] and item["because"]
    for item in result["excluded"]:
        assert item["reason"]
    for entry in result["trace"]:
        assert {"rule", "matched", "asserted"} <= set(entry)
    assert result["knowledge_base"]["digest"].startswith("sha256:")


def test_bundled_example_patients_are_the_vignettes():
    examples = Path(__file__).resolve().parent.parent.parent / "examples"
    for path in VIGNETTES:
        assert (
            yaml.safe_load((examples / path.name).read_text())
            == yaml.safe_load(path.read_text())["patient"]
        )


@pytest.mark.parametrize(
    ("finding", "differential"),
    [
        ("urge_to_move_legs", "restless_legs_syndrome"),
        ("claudication", "claudication"),
    ],
)
def test_a_mimic_in_a_vignette_is_listed_as_a_differential_with_its_action(
    tmp_path, finding, differential
):
    # The contract's vignettes name no mimic; the same patients with one added must list it
    # (the differential assertion above would otherwise only ever see empty lists).
    patient = yaml.safe_load((Path(__file__).parent / "vignettes" / "V16.yaml").read_text())[
        "patient"
    ]
    patient.setdefault("findings", {})[finding] = True
    result = _consult_json(tmp_path, patient)
    listed = {item["id"]: item for item in result["differentials"]}
    assert set(listed) == {differential}
    assert listed[differential]["action"] and listed[differential]["because"]


# Clinical round 2 (issue 11): vignettes written from published case reports (the source is in
# each file's comment) before they were run. Besides the ids, they check the per-result urgency,
# the wording of a cause's line, how conditions were read, warnings and the next step.
ROUND_TWO = sorted((Path(__file__).resolve().parent / "vignettes" / "round2").glob("*.yaml"))
ROUND_TWO_KEYS = EXPECT_KEYS | {
    "emergency",
    "not_emergency",
    "reason_has",
    "reason_not",
    "conditions_read",
    "warnings",
    "next_step_not",
    # round 3 (issue 11): drug lines held in the JSON `held` key, how a medicine and a lab were read
    "held",
    "drugs_read",
    "labs_read",
}


def round_two_failures(result: dict, expect: dict) -> list[str]:
    """What `result` gets wrong against a round-2 expectation block (beyond the ids)."""
    failures = []
    urgency = {flag["id"]: flag["urgency"] for flag in result["red_flags"]}
    failures += [
        f"{flag} is {urgency.get(flag)}, not emergency"
        for flag in expect.get("emergency", [])
        if urgency.get(flag) != "emergency"
    ]
    failures += [
        f"{flag} is an emergency"
        for flag in expect.get("not_emergency", [])
        if urgency.get(flag) == "emergency"
    ]
    reasons = {item["id"]: item.get("reason", "") for item in result["causes"]}
    for cid, phrase in expect.get("reason_has", {}).items():
        if phrase.lower() not in reasons.get(cid, "").lower():
            failures.append(f"{cid}'s line lacks '{phrase}': {reasons.get(cid)!r}")
    for cid, phrase in expect.get("reason_not", {}).items():
        if phrase.lower() in reasons.get(cid, "").lower():
            failures.append(f"{cid}'s line says '{phrase}': {reasons.get(cid)!r}")
    read = {item["input"]: item["conditions"] for item in result["interpreted"]["conditions"]}
    for text, condition in expect.get("conditions_read", {}).items():
        if read.get(text) != [condition]:
            failures.append(f"'{text}' read as {read.get(text)}, not [{condition}]")
    codes = {w["code"] for w in result["warnings"]}
    failures += [f"no warning {c}" for c in expect.get("warnings", []) if c not in codes]
    held = {item["id"] for item in result["causes"] if item.get("held")}
    failures += [f"{cid} is not marked held" for cid in expect.get("held", []) if cid not in held]
    drugs = {item["input"]: item.get("drug") for item in result["interpreted"]["medications"]}
    for text, drug in expect.get("drugs_read", {}).items():
        if drugs.get(text) != drug:
            failures.append(f"'{text}' read as {drugs.get(text)!r}, not {drug!r}")
    labs = result["interpreted"].get("labs", {})
    for analyte, (low, high) in expect.get("labs_read", {}).items():
        value = (labs.get(analyte) or {}).get("value")
        if value is None or not low <= value <= high:
            failures.append(f"{analyte} read as {value}, not within [{low}, {high}]")
    step = (result.get("robustness") or {}).get("most_informative") or {}
    if str(step.get("fact", "")).startswith(tuple(expect.get("next_step_not", ()))):
        failures.append(f"next step is {step['fact']}")
    return failures


@pytest.mark.parametrize("path", ROUND_TWO, ids=[p.stem for p in ROUND_TWO])
def test_round_two_vignette(tmp_path, path):
    vignette = yaml.safe_load(path.read_text())
    patient, expect = vignette["patient"], vignette["expect"]
    assert set(expect) <= ROUND_TWO_KEYS, f"unknown expectation keys {set(expect) - ROUND_TWO_KEYS}"
    result = _consult_json(tmp_path, patient)
    ids = {
        key: {item["id"] for item in result[key]}
        for key in ("causes", "red_flags", "recommendations", "investigations")
    }
    failures = []
    for key in ids:
        missing = set(expect.get(key, [])) - ids[key]
        present = set(expect.get(f"{key}_not", [])) & ids[key]
        failures += [f"{key}: missing {sorted(missing)}"] if missing else []
        failures += [f"{key}_not: present {sorted(present)}"] if present else []
    if expect.get("no_red_flags") and ids["red_flags"]:
        failures.append(f"no_red_flags: got {sorted(ids['red_flags'])}")
    failures += round_two_failures(result, expect)
    failures += never_violations(result, patient)
    assert not failures, f"{path.stem}: {failures}\nconcluded: {ids}"


def test_round_two_has_at_least_twenty_case_report_vignettes():
    assert len(ROUND_TWO) >= 20
    for path in ROUND_TWO:
        assert path.read_text().startswith("# Source:"), path.name


def test_round_three_oracle_catches_each_breach():
    from tests.acceptance.never import round_three_violations

    broken = {
        "recommendations": [{"id": "rec_urgent_assessment"}],
        "red_flags": [{"id": "rf_rhabdomyolysis", "urgency": "emergency"}],
        "investigations": [{"id": "test_blood_count"}, {"id": "test_renal_function"}],
        "interpreted": {
            "labs": {"platelets": {"value": 1}, "egfr": {"value": 48}},
            "conditions": [],
        },
        "causes": [
            {"id": "chronic_kidney_disease", "reason": "eGFR 48"},
            {
                "id": "med_statin",
                "held": True,
                "reason": "may be contributing; not a reason to stop it",
            },
        ],
    }
    found = round_three_violations(broken)
    assert len(found) == 5, found
    fixed = {
        **broken,
        "recommendations": [{"id": "rec_emergency_referral"}],
        "investigations": [{"id": "test_repeat_renal_function"}],
        "causes": [{"id": "med_statin", "held": True, "reason": "held: see the red flag above"}],
    }
    assert round_three_violations(fixed) == []
