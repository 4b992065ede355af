"""The command line: reports, exit codes and error messages (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cramp_expert.cli import cli
from tests.acceptance.contract import PROJECT_KEYS, RESULT_KEYS

ROOT = Path(__file__).resolve().parents[2]
V16 = str(ROOT / "examples" / "V16.yaml")


def run(*args: str, stdin: str | bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin)


def test_text_report_has_red_flags_first_then_causes():
    result = run("consult", str(ROOT / "examples" / "V09.yaml"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("RED FLAGS") < out.index("LIKELY CAUSES") < out.index("RECOMMENDATIONS")
    assert "rf_dvt_suspected" in out and "URGENT" in out


def test_text_report_shows_interpretation_and_citations():
    out = run("consult", V16).output
    assert "'Losec 20 mg od' -> omeprazole" in out
    assert "magnesium 1.4 mg/dL -> 0.58 mmol/L" in out
    assert "EXCLUDED BY A MEASUREMENT" in out and "hypokalemia" in out
    assert "[PCNMG]" in out


def test_explain_shows_rules_facts_and_references():
    out = run("consult", V16, "--explain").output
    assert "HOW EACH CONCLUSION WAS REACHED" in out
    assert "labs.magnesium = 1.4 mg/dL = 0.58 mmol/L" in out
    assert "source: rules/" in out


def test_json_has_exactly_the_contract_keys():
    result = run("consult", V16, "--format", "json")
    data = json.loads(result.output)
    assert set(data) == RESULT_KEYS | PROJECT_KEYS
    assert data["interpreted"]["labs"]["magnesium"] == {
        "input": "1.4 mg/dL",
        "value": 0.58,
        "unit": "mmol/L",
    }


def test_stdin_is_read_with_dash():
    result = run(
        "consult",
        "-",
        "--format",
        "json",
        stdin='{"id": "S1", "age": 70, "labs": {"potassium": "3.0 mmol/L"}}',
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["patient_id"] == "S1"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("age: 70\nlabs: [potassium\n", "YAML syntax error"),
        ("agee: 70\n", "did you mean 'age'?"),
        ("age: old\n", "must be a number"),
        ("age: 400\n", "out of range"),
        ("labs: {potassium: 3.1 mg/dL}\n", "accepted units: mmol/L, mEq/L"),
        ("labs: {magnesium: 1.9}\n", "not plausible"),
        ("", "file is empty"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("[1, 2]", "must be a mapping"),
    ],
)
def test_bad_patient_files_exit_1_with_one_located_message(tmp_path, content, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = run("consult", str(path))
    assert result.exit_code == 1
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert str(path) in result.output


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("sex: f\u00e9male\n".encode("latin-1"))
    result = run("consult", str(path))
    assert result.exit_code == 1 and "not UTF-8" in result.output and ":1:" in result.output


def test_missing_file_exits_1():
    result = run("consult", "/no/such/patient.yaml")
    assert result.exit_code == 1 and "no such file" in result.output


def test_usage_errors_exit_2():
    assert run("consult", V16, "--save", "answers.yaml").exit_code == 2
    assert run("consult", V16, "--format", "xml").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_unknown_medication_is_a_warning_not_an_error(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("medications: [zzqxy 10 mg]\n")
    result = run("consult", str(path), "--format", "json")
    assert result.exit_code == 0
    warning = json.loads(result.output)["warnings"][0]
    assert warning["code"] == "W001" and warning["where"] == "medications[0]"


def test_kb_test_runs_the_examples():
    result = run("kb", "test", "hypokalemia-measured")
    assert result.exit_code == 0, result.output
    assert " passed, 0 failed (1 rules)" in result.output
    assert run("kb", "test", "no-such-rule").exit_code == 2


def test_broken_rule_file_is_reported_with_its_location(tmp_path):
    import shutil

    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    rule = tmp_path / "rules" / "electrolytes" / "hypokalemia-measured.yaml"
    rule.write_text(rule.read_text().replace("labs.potassium", "labs.potasium", 1))
    result = run("consult", V16, "--kb", str(tmp_path))
    assert result.exit_code == 1
    assert "rules/electrolytes/hypokalemia-measured.yaml:" in result.output
    assert "did you mean 'labs.potassium'?" in result.output


def test_a_vignette_file_is_explained_not_misread():
    vignette = ROOT / "tests" / "acceptance" / "vignettes" / "V16.yaml"
    result = run("consult", str(vignette))
    assert result.exit_code == 1
    assert "this is a vignette" in result.output and "'patient:'" in result.output


def test_version_names_the_package():
    result = run("--version")
    assert result.exit_code == 0 and "cramp-expert" in result.output


@pytest.mark.parametrize(
    "command", [["consult"], ["explain"], ["batch"], ["kb", "validate"], ["kb", "check"]]
)
def test_help_shows_examples_one_per_line(command):
    # click keeps a block unwrapped only after a line holding a real backspace character.
    out = run(*command, "--help").output
    assert "\\b" not in out
    examples = out.split("Examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(examples) >= 2 and all(
        line.startswith("      cramp-expert ") or line.startswith("      cat ") for line in examples
    )
