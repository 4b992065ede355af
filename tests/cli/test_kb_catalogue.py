"""`kb list`, `kb show` and the example selectors of `kb test`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cramp_expert.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, ["kb", *args])


def test_list_has_one_line_per_rule(kb):
    result = run("list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "TOPIC", "TIER", "EVIDENCE", "TITLE"]
    assert len(lines) == len(kb.rules) + 2 and lines[-1] == f"{len(kb.rules)} rules"
    row = next(line for line in lines if line.startswith("hypokalemia-measured "))
    assert row.split()[1:4] == ["electrolytes", "cause", "LOW"]


def test_list_by_topic_as_json(kb):
    rows = json.loads(run("list", "--topic", "states", "--format", "json").output)
    assert {r["id"] for r in rows} == {r.id for r in kb.rules if r.topic == "states"}
    assert {r["topic"] for r in rows} == {"states"}
    assert run("list", "--topic", "electrolyte").exit_code == 2
    assert "did you mean 'electrolytes'?" in run("list", "--topic", "electrolyte").output


def test_show_gives_the_rule_in_full(kb):
    result = run("show", "hypokalemia-measured")
    assert result.exit_code == 0, result.output
    out = result.output
    for fragment in (
        "hypokalemia-measured: Measured low potassium",
        "file:     rules/electrolytes/hypokalemia-measured.yaml",
        "evidence: LOW",
        "Rationale\n  A measured serum potassium below 3.5 mmol/L",
        "When (all of)\n  - labs.potassium < 3.5\n",
        "concludes hypokalemia (cause: Hypokalaemia",
        "[AK12] Allen RE, Kirby KA. Nocturnal leg cramps.",
        f"Examples ({len(kb.rule('hypokalemia-measured').examples)})",
        "- potassium 4.2 is not hypokalaemia (does not fire)\n      given: labs.potassium=4.2",
        "its conclusions are tested by ",
    ):
        assert fragment in out, fragment


def test_show_names_the_rules_it_waits_for():
    out = run("show", "idiopathic-typical-cramps").output
    assert "tests state_urgent_red_flag, concluded or excluded by " in out
    assert "- none of:" in out


def test_show_unknown_rule_is_a_usage_error():
    result = run("show", "hypokalemia-measurd")
    assert result.exit_code == 2
    assert "did you mean 'hypokalemia-measured'?" in result.output


def test_kb_test_runs_one_example_by_its_pytest_id():
    result = run("test", "-v", "hypokalemia-measured::potassium 4.2 is not hypokalaemia")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "ok hypokalemia-measured::potassium 4.2 is not hypokalaemia",
        "1 passed, 0 failed (1 rules)",
    ]
    missing = run("test", "hypokalemia-measured::potassium 9")
    assert missing.exit_code == 2 and "has no example 'potassium 9'" in missing.output


def test_kb_test_failure_says_expected_concluded_and_fired(tmp_path):
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "knowledge", tmp_path / "knowledge")
    shutil.copytree(root / "rules", tmp_path / "rules")
    path = tmp_path / "rules" / "electrolytes" / "hypokalemia-measured.yaml"
    path.write_text(
        path.read_text().replace("given: {labs.potassium: 4.2}", "given: {labs.potassium: 3.2}")
    )
    result = run("test", "--kb", str(tmp_path), "hypokalemia-measured")
    assert result.exit_code == 1
    assert "hypokalemia-measured::potassium 4.2 is not hypokalaemia" in result.output
    assert "  - expected hypokalemia not to be concluded" in result.output
    assert "  - expected rule hypokalemia-measured not to fire" in result.output
    assert "  concluded: hypokalemia, " in result.output
    assert "  rules fired: hypokalemia-measured" in result.output
    assert result.output.endswith("3 passed, 1 failed (1 rules)\n")
