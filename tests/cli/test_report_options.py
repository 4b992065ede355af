"""The clinician's report through the command line: --brief, --width and --format html."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, columns: str = "100") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cramp_expert", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env={**__import__("os").environ, "COLUMNS": columns},
    )


def test_brief_is_the_summary_that_opens_the_full_report():
    brief = run("consult", "examples/V16.yaml", "--brief")
    full = run("consult", "examples/V16.yaml")
    assert brief.returncode == 0 and full.returncode == 0, brief.stderr + full.stderr
    assert 2 <= len(brief.stdout.splitlines()) <= 12
    assert full.stdout.startswith(brief.stdout)
    assert len(full.stdout.splitlines()) > len(brief.stdout.splitlines())


@pytest.mark.parametrize("width", [60, 100])
def test_width_option_bounds_every_line(width):
    out = run("consult", "examples/V06.yaml", "--width", str(width), columns="200")
    assert out.returncode == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) <= width
    assert max(len(line) for line in out.stdout.splitlines()) > width - 10


def test_width_is_kept_within_60_to_100():
    narrow = run("consult", "examples/V06.yaml", "--width", "20")
    assert narrow.returncode == 0, narrow.stderr
    assert max(len(line) for line in narrow.stdout.splitlines()) == 60


def test_format_html_is_the_clinicians_page_with_every_red_flag():
    page = run("consult", "examples/V22.yaml", "--format", "html")
    data = run("consult", "examples/V22.yaml", "--format", "json")
    assert page.returncode == 0, page.stderr
    assert page.stdout.startswith("<!DOCTYPE html>") and page.stdout.rstrip().endswith("</html>")
    import json

    result = json.loads(data.stdout)
    assert result["red_flags"]
    for flag in result["red_flags"]:
        assert flag["id"] in page.stdout or flag["label"] in page.stdout
    # the patient's handout is a different page
    handout = run("consult", "examples/V22.yaml", "--for", "patient", "--format", "html")
    assert handout.stdout != page.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--brief", "--explain"),
        ("--brief", "--format", "json"),
        ("--width", "80", "--format", "html"),
        ("--width", "0"),
    ],
)
def test_options_that_do_not_fit_are_usage_errors(args):
    out = run("consult", "examples/V16.yaml", *args)
    assert out.returncode == 2 and "Error:" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""
