"""WHY NOT on the example vignettes, compared with golden outputs reviewed by reading them.

Each pair is a conclusion the vignette's expectations say must not be reached. To accept a
deliberate change, run with UPDATE_GOLDEN=1, read the diff of tests/reasoning/golden/, and
commit it with the change that caused it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cramp_expert.cli import cli

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = [
    ("V01", "hypokalemia"),
    ("V01", "medication"),
    ("V02", "idiopathic"),
    ("V02", "hypomagnesemia"),
    ("V06", "rec_maintain_fluids"),
    ("V08", "older_age"),
    ("V09", "rec_reassurance"),
    ("V15", "hypokalemia"),
    ("V16", "hypokalemia"),
    ("V16", "hypocalcemia"),
    ("V22", "rec_calf_stretch_nightly"),
]


@pytest.mark.parametrize(("vignette", "conclusion"), CASES, ids=[f"{v}-{c}" for v, c in CASES])
def test_why_not_matches_the_reviewed_output(vignette, conclusion):
    patient = f"examples/{vignette}.yaml"
    result = CliRunner().invoke(cli, ["explain", patient, "--why-not", conclusion])
    assert result.exit_code == 0, result.output
    golden = GOLDEN / f"{vignette}.{conclusion}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(result.output)
    assert result.output == golden.read_text()
