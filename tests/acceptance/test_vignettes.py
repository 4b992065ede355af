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
    for section in ("causes", "red_flags", "recommendations", "investigations")
    for suffix in ("", "_not")
} | {"no_red_flags"}
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
        for key in ("causes", "red_flags", "recommendations", "investigations", "differentials")
    }
    failures = []
    for key, section in (
        ("causes", "causes"),
        ("red_flags", "red_flags"),
        ("recommendations", "recommendations"),
        ("investigations", "investigations"),
    ):
        missing = set(expect.get(key, [])) - ids[section]
        if missing:
            failures.append(f"{key}: missing {sorted(missing)}")
        present = set(expect.get(f"{key}_not", [])) & ids[section]
        if present:
            failures.append(f"{key}_not: present {sorted(present)}")
    if expect.get("no_red_flags") and ids["red_flags"]:
        failures.append(f"no_red_flags: got {sorted(ids['red_flags'])}")
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
