"""`cramp-expert kb check` and `kb coverage` on the command line: formats, patients, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cramp_expert.api import Consultant
from cramp_expert.cli import cli

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "tests" / "kb_fixtures" / "_base"
PLANTED = ROOT / "tests" / "planted_defects"


def run(*args: str):
    return CliRunner().invoke(cli, ["kb", *args])


@pytest.fixture
def never_broken(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(BASE, root)
    shutil.copytree(PLANTED / "never-violation", root, dirs_exist_ok=True)
    return root


def test_the_real_knowledge_base_passes(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("check")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("No problems: 11 knowledge files and ")
    assert "generated patients" in result.output


def test_a_finding_comes_with_the_patient_that_shows_it(never_broken, monkeypatch):
    monkeypatch.chdir(never_broken)
    result = run("check", "--kb", ".", "--samples", "20")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "rules/t/calf-stretch-nightly.yaml"
    assert "R407  rule calf-stretch-nightly can conclude rec_calf_stretch_nightly" in lines[1]
    assert lines[3].strip().startswith("patient: {")
    assert "calf_tenderness: true" in lines[3]


def test_parsable_github_and_json_carry_the_patient(never_broken, monkeypatch):
    monkeypatch.chdir(never_broken)
    parsable = run("check", "--kb", ".", "--samples", "20", "--format", "parsable").output
    assert parsable.startswith("rules/t/calf-stretch-nightly.yaml:5:1: [error] R407 ")
    assert " patient: {" in parsable and parsable.count("\n") == 1
    github = run("check", "--kb", ".", "--samples", "20", "--format", "github").output
    assert github.startswith("::error file=rules/t/calf-stretch-nightly.yaml,title=R407,line=5")
    assert "%0Apatient: {" in github
    data = json.loads(run("check", "--kb", ".", "--samples", "20", "--format", "json").output)
    problem = data["problems"][0]
    assert problem["code"] == "R407" and problem["confirmed"] is True
    assert problem["patient"]["findings"] == {"calf_tenderness": True}
    assert data["verified"] is True and data["verification"]["searches"] >= 1


def test_the_patients_written_out_show_the_problem_when_consulted(never_broken, tmp_path):
    out = tmp_path / "witnesses"
    result = run("check", "--kb", str(never_broken), "--samples", "20", "--witnesses", str(out))
    assert result.exit_code == 1
    files = sorted(out.glob("*.yaml"))
    assert [f.name for f in files] == ["R407-1.yaml"]
    header = files[0].read_text().splitlines()[0]
    assert header.startswith("# ") and "rules/t/calf-stretch-nightly.yaml:5:1: R407" in header
    consulted = Consultant(never_broken).consult_path(files[0])
    assert {"rec_calf_stretch_nightly", "rf_dvt_suspected"} <= consulted.concluded


def test_usage_errors_exit_2(tmp_path):
    assert run("check", "--kb", str(tmp_path)).exit_code == 1  # neither rules/ nor knowledge/
    assert run("check", "--format", "xml").exit_code == 2
    assert run("check", "--samples", "-1").exit_code == 2


def test_coverage_of_the_real_knowledge_base(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("coverage", "--samples", "200")
    assert result.exit_code == 0, result.output
    assert "rules fire on an embedded example" in result.output
    data = json.loads(run("coverage", "--samples", "50", "--format", "json").output)
    assert data["samples"] == 50 and all(r["fires"] for r in data["rules"])


def test_coverage_exits_1_when_a_rule_fires_on_no_patient(tmp_path):
    root = tmp_path / "kb"
    shutil.copytree(BASE, root)
    shutil.copytree(PLANTED / "dead-rule", root, dirs_exist_ok=True)
    result = run("coverage", "--kb", str(root), "--samples", "50")
    assert result.exit_code == 1
    assert "Not covered: potassium-test-when-low" in result.output


@pytest.fixture
def subsumed(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(BASE, root)
    shutil.copytree(PLANTED / "subsumed-rule", root, dirs_exist_ok=True)
    return root


def test_a_warning_is_shown_but_does_not_fail_the_check(subsumed):
    # R405 (a rule that adds nothing) is a warning: reported in every format, exit status 0.
    result = run("check", "--kb", str(subsumed), "--samples", "20", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(p["code"], p["severity"]) for p in data["problems"]] == [("R405", "warning")]
    assert (data["error_count"], data["warning_count"], data["suppressed_count"]) == (0, 1, 0)
    github = run("check", "--kb", str(subsumed), "--samples", "20", "--format", "github")
    assert github.output.startswith("::warning file=") and "title=R405" in github.output
    text = run("check", "--kb", str(subsumed), "--samples", "20").output
    assert "R405  warning: rule potassium-test-on-loop-diuretic" in text
    assert "Found 1 problem (0 errors, 1 warning) in 1 file" in text


def test_kb_check_honours_a_suppression_and_reports_a_stale_one(subsumed):
    rule = subsumed / "rules" / "t" / "potassium-test-on-loop-diuretic.yaml"
    rule.write_text(
        rule.read_text()
        + "suppress:\n"
        + "  - {code: R405, reason: kept apart to show the age threshold in the catalogue}\n"
        + "  - {code: R411, reason: no other family}\n"
    )
    # kb validate cannot judge R405 or R411 (only kb check looks for them): nothing to say.
    validated = run("validate", "--kb", str(subsumed))
    assert validated.exit_code == 0 and validated.output.startswith("No problems: ")
    result = run("check", "--kb", str(subsumed), "--samples", "20", "--format", "json")
    data = json.loads(result.output)
    assert result.exit_code == 0, result.output
    assert [(p["code"], p["line"], p["severity"]) for p in data["problems"]] == [
        ("R603", 26, "warning")
    ]
    assert data["suppressed_count"] == 1
    text = run("check", "--kb", str(subsumed), "--samples", "20").output
    assert "1 suppressed" in text and "R411 is suppressed, but this run found no R411" in text
