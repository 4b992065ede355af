"""`kb graph` and `kb docs`: the chain of rules as DOT and Mermaid, and the catalogue."""

from __future__ import annotations

import re

from click.testing import CliRunner

from cramp_expert.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, ["kb", *args])


def test_mermaid_focus_shows_what_leads_to_and_follows_from_a_state():
    result = run("graph", "--focus", "state_fluid_restricted", "--depth", "1")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("flowchart LR\n")
    assert 'conclusion_state_fluid_restricted{{"state_fluid_restricted"}}:::state' in out
    # a producer with its inputs, and consumers under `none` (dashed, "not")
    assert "rule_fluid_restricted --> conclusion_state_fluid_restricted" in out
    assert 'fact_dialysis -->|"is one of [haemodialysis, peritoneal]"| rule_fluid_restricted' in out
    assert 'conclusion_state_fluid_restricted -.->|"not"| rule_maintain_fluids' in out
    assert "rule_maintain_fluids --> conclusion_rec_maintain_fluids" in out
    # depth 1: the producers of state_on_diuretic (two rule steps away) are left out
    assert "rule_loop_diuretic_" not in out and "conclusion_state_on_diuretic" in out
    assert "#60; 130" in out and "< 130" not in out  # Mermaid-safe label


def test_dot_output_with_exclusions():
    result = run("graph", "--format", "dot", "--focus", "hypokalemia-excluded")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("digraph knowledge_base {") and out.rstrip().endswith("}")
    assert (
        '"rule:hypokalemia-excluded" -> "conclusion:hypokalemia" '
        '[label="excludes", color=red, arrowhead=tee];'
    ) in out
    assert re.search(r'"fact:labs.potassium" \[label="labs.potassium", shape=ellipse', out)


def test_unknown_focus_is_a_usage_error():
    result = run("graph", "--focus", "state_fluid_restrictd")
    assert result.exit_code == 2 and "did you mean 'state_fluid_restricted'?" in result.output


def test_whole_graph_has_every_rule(kb):
    out = run("graph").output
    assert out.count(":::rule\n") == len(kb.rules)


def test_docs_check_reports_a_stale_file(tmp_path):
    target = tmp_path / "rules.md"
    assert run("docs", "-o", str(target)).exit_code == 0
    assert run("docs", "-o", str(target), "--check").exit_code == 0
    target.write_text(target.read_text() + "edited by hand\n")
    assert run("docs", "-o", str(target), "--check").exit_code == 1
    assert run("docs", "--check").exit_code == 2
