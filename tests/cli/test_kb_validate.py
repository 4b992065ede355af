"""`cramp-expert kb validate`: formats, exit codes, paths an editor can open, and speed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cramp_expert.cli import cli

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "kb_fixtures"


def run(*args: str, **kwargs):
    return CliRunner().invoke(cli, ["kb", "validate", *args], **kwargs)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """The fixture base with one unknown fact and one misspelt knowledge key."""
    root = tmp_path / "kb"
    shutil.copytree(FIXTURES / "_base", root)
    rule = root / "rules" / "base" / "hypokalemia-measured.yaml"
    rule.write_text(
        rule.read_text().replace("{fact: labs.potassium, lt", "{fact: labs.potasium, lt")
    )
    facts = root / "knowledge" / "facts.yaml"
    facts.write_text(facts.read_text().replace("    label: Age", "    lable: Age"))
    return root


def test_the_real_knowledge_base_is_clean():
    result = run()
    assert result.exit_code == 0, result.output
    assert result.output.startswith("No problems: 11 knowledge files and ")


def test_human_format_groups_by_file_with_the_fix(broken, monkeypatch):
    monkeypatch.chdir(broken)
    result = run("--kb", ".")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "knowledge/facts.yaml"
    assert "K202  unknown key 'lable'" in lines[1] and "did you mean 'label'?" in lines[2]
    assert "rules/base/hypokalemia-measured.yaml" in lines
    assert lines[-1].startswith("Found 2 problems in 2 files")
    assert "\033[" not in result.output  # not a terminal: no colour


def test_colour_on_request(broken):
    result = run("--kb", str(broken), "--color")
    assert "\033[1;31mR303\033[0m" in result.output


def test_parsable_format_names_file_line_and_column_from_the_current_folder(broken, monkeypatch):
    monkeypatch.chdir(broken.parent)
    result = run("--kb", "kb", "--format", "parsable")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "kb/knowledge/facts.yaml:6:5: [error] K202 unknown key 'lable' [facts.age.lable] "
        "(did you mean 'label'?)",
        "kb/rules/base/hypokalemia-measured.yaml:9:8: [error] R303 unknown fact 'labs.potasium' "
        "('potasium' is not a lab of knowledge/facts.yaml) [when.all[0].fact] "
        "(did you mean 'labs.potassium'?)",
    ]


def test_json_format(broken):
    result = run("--kb", str(broken), "--format", "json")
    data = json.loads(result.output)
    assert data["problem_count"] == 2 and data["rules"] == 4 and data["files_checked"] == 12
    first = data["problems"][0]
    assert (first["code"], first["line"], first["column"], first["hint"]) == (
        "K202",
        6,
        5,
        "did you mean 'label'?",
    )


def test_github_annotations_escape_their_separators(broken, monkeypatch):
    monkeypatch.chdir(broken)
    result = run("--kb", ".", "--format", "github")
    assert result.output.splitlines()[0] == (
        "::error file=knowledge/facts.yaml,title=K202,line=6,col=5::"
        "unknown key 'lable'%0Adid you mean 'label'?"
    )


def test_a_problem_without_a_line_is_placed_at_the_top_of_the_file(tmp_path):
    root = tmp_path / "kb"
    shutil.copytree(FIXTURES / "_base", root)
    (root / "rules" / "base" / "empty.yaml").write_text("")
    parsable = run("--kb", str(root), "--format", "parsable").output
    assert parsable.endswith("/rules/base/empty.yaml:1:1: [error] E101 file is empty\n")
    github = run("--kb", str(root), "--format", "github").output
    assert github.endswith("/rules/base/empty.yaml,title=E101::file is empty\n")


def test_a_folder_that_is_no_knowledge_base_is_bad_input_and_usage_errors_exit_2(tmp_path):
    assert run("--kb", str(tmp_path)).exit_code == 1  # neither rules/ nor knowledge/
    assert "not a knowledge base" in run("--kb", str(tmp_path)).output
    assert run("--kb", str(tmp_path / "nowhere")).exit_code == 1
    assert "no such folder" in run("--kb", str(tmp_path / "nowhere")).output
    assert run("--format", "xml").exit_code == 2
    assert run(".", "--kb", ".").exit_code == 2  # the knowledge base given twice


def test_the_knowledge_base_as_an_argument_is_still_read_with_a_note():
    result = CliRunner().invoke(cli, ["kb", "validate", "."])
    assert result.exit_code == 0, result.output
    assert "note: give the knowledge base as --kb ." in result.stderr


def test_validate_never_imports_experta():
    # The validator reads; it does not compile. Importing experta (and building the engine)
    # would cost most of a second at every run.
    code = (
        "import sys; from cramp_expert.cli import main; sys.argv = ['cramp-expert', 'kb', "
        "'validate']\ntry:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0\n"
        "assert 'experta' not in sys.modules, 'experta imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT)


def test_a_knowledge_base_without_rules(tmp_path):
    shutil.copytree(FIXTURES / "_base" / "knowledge", tmp_path / "knowledge")
    result = run("--kb", str(tmp_path), "--format", "parsable")
    assert result.exit_code == 1
    assert result.output.endswith("/rules:1:1: [error] R100 no rule files found\n")


def _base(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURES / "_base", root)
    return root


def test_one_run_reports_the_problems_of_every_stage(tmp_path):
    # An evidence grade in the wrong case stops the rule being loaded; the example check, a
    # later stage, still runs on what was read: both problems in one run.
    root = _base(tmp_path)
    rule = root / "rules" / "base" / "hypokalemia-measured.yaml"
    text = rule.read_text().replace("evidence: LOW", "evidence: low")
    rule.write_text(text.split("  - name: normal", 1)[0])
    result = run("--kb", str(root), "--format", "parsable")
    assert result.exit_code == 1
    assert [line.split(": ", 1)[1] for line in result.output.splitlines()] == [
        "[error] R204 evidence 'low' is not allowed [evidence] (did you mean 'LOW'?)",
        "[error] R502 rule hypokalemia-measured has no example where it does not fire "
        "[examples[0]] (add an example with 'fires: false' (the nearest case that must not "
        "fire))",
    ]


def test_warnings_are_shown_with_their_severity_and_do_not_fail(tmp_path):
    root = _base(tmp_path)
    shutil.copytree(FIXTURES / "threshold-in-another-unit", root, dirs_exist_ok=True)
    text = run("--kb", str(root))
    assert text.exit_code == 0, text.output
    assert "R410  warning: 'labs.potassium < 9.5'" in text.output
    assert "Found 1 problem (0 errors, 1 warning) in 1 file" in text.output
    parsable = run("--kb", str(root), "--format", "parsable").output
    assert ": [warning] R410 " in parsable
    github = run("--kb", str(root), "--format", "github").output
    assert github.startswith("::warning file=") and "title=R410" in github
    data = json.loads(run("--kb", str(root), "--format", "json").output)
    assert [p["severity"] for p in data["problems"]] == ["warning"]
    assert (data["error_count"], data["warning_count"]) == (0, 1)


def test_a_suppressed_finding_is_counted_not_reported(tmp_path):
    root = _base(tmp_path)
    rule = root / "rules" / "base" / "hypokalemia-measured.yaml"
    rule.write_text(
        rule.read_text().split("  - name: normal", 1)[0]
        + "suppress:\n  - code: R502\n    reason: every patient without a low potassium\n"
    )
    result = run("--kb", str(root))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("No problems (1 suppressed): ")
    data = json.loads(run("--kb", str(root), "--format", "json").output)
    assert (data["problem_count"], data["suppressed_count"]) == (0, 1)
    # Without its reason the suppression is a problem of its own, and silences nothing.
    rule.write_text(
        rule.read_text().replace("    reason: every patient without a low potassium\n", "")
    )
    result = run("--kb", str(root), "--format", "parsable")
    assert result.exit_code == 1
    assert [line.split(": ", 1)[1].split()[1] for line in result.output.splitlines()] == [
        "R502",
        "R601",
    ]
