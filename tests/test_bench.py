"""The committed benchmark runs (on tiny sizes: it prints numbers, nothing here times anything)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_every_section_and_writes_its_figures(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "benchmark.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert set(figures) == {
        "environment",
        "startup",
        "latency",
        "full",
        "batch",
        "scaling",
        "screening",
        "service",
    }
    assert figures["service"]["in process"]["p50_ms"] > 0
    assert figures["service"]["http"]["errors"] == 0 and figures["service"]["http"]["requests"] > 0
    # one HTTP run per worker count asked (--quick: one worker)
    assert [run["workers"] for run in figures["service"]["http runs"]] == [1]
    for group in ("vignettes", "generated"):
        assert figures["latency"][group]["agreement"]["mismatches"] == 0
        assert figures["latency"][group]["engine (experta)"]["p50_ms"] > 0
    for group in ("examples", "generated"):
        full = figures["full"][group]
        assert full["full consultation, patients per CPU s"] > 0
        assert full["CPU ms per patient"]["robustness"] > 0
    assert "Full consultation, CPU ms per patient" in done.stdout
    assert figures["batch"]["outputs identical"] is True
    assert figures["scaling"]["100"]["mismatches"] == 0
    runs = figures["screening"]["runs"]
    assert runs["compiled, outputs identical to 1 worker"] is True
    assert runs["experta, outputs identical to 1 worker"] is True
    for dask in figures["screening"]["dask"].values():
        assert dask["Dask, 1 local worker"]["output identical to batch"] is True
        assert dask["Dask, 2 local workers"]["output identical to batch"] is True
        # The host's own 2-process capacity beside each ratio: two plain loops' figure.
        host = dask["the host's own 2 processes / 1, a plain loop, just before and just after"]
        assert len(host) == 2 and all(0.5 < figure < 2.6 for figure in host)
    assert "the host itself, 2 processes / 1" in done.stdout
    assert "One million patients" in done.stdout
    assert "Synthetic rule sets" in done.stdout and "CLI start-up" in done.stdout
    assert "CDS Hooks patient-view" in done.stdout and "cramp-expert serve --port" in done.stdout
