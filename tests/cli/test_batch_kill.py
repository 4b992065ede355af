"""A batch run killed at any moment (SIGKILL, no chance to clean up) leaves the previous output
untouched, never a partial one, and `--resume` then finishes exactly what an uninterrupted run
would have written."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDS = 400


def _patients(path: Path) -> Path:
    # Distinct patients, so that a record consulted twice or skipped would show in the output.
    with path.open("w") as stream:
        for number in range(RECORDS):
            patient = {
                "id": f"P{number}",
                "age": 30 + number % 60,
                "labs": {"potassium": f"{2.8 + (number % 15) / 10:.1f} mmol/L"},
                "medications": ["furosemide 40 mg"] if number % 3 else [],
            }
            stream.write(json.dumps(patient) + "\n")
    return path


def _batch(source: Path, output: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cramp_expert", "batch", str(source), "-o", str(output), *extra],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _kill_after(process: subprocess.Popen[bytes], partial: Path, lines: int) -> int:
    """SIGKILL the run once its partial file holds at least `lines` lines; the lines it held.

    The run is first frozen (SIGSTOP), so that it cannot finish between the check that it is
    still running with records left to write and the kill: the kill provably lands mid-run,
    on a fast machine too. A run that ended before the file held `lines` lines fails the test.
    """
    deadline = time.monotonic() + 120
    while process.poll() is None and _lines(partial) < lines and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGSTOP)
    held = _lines(partial)
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert running, f"the run ended before its partial file held {lines} lines"
    assert process.returncode == -signal.SIGKILL
    assert held < RECORDS, "every record was written: the kill was not mid-run"
    return held


@pytest.mark.parametrize("workers", ["1", "2"])
def test_killed_at_any_moment_the_output_is_whole_or_previous_and_resume_completes(
    tmp_path, workers
):
    source = _patients(tmp_path / "in.jsonl")
    expected = tmp_path / "expected.jsonl"
    assert _batch(source, expected).wait(timeout=300) == 0
    output = tmp_path / "out.jsonl"
    output.write_text("previous output\n")
    partial = tmp_path / ".out.jsonl.partial"

    # Killed before any line, after some whole chunks, and during a resumed run: OUTPUT is
    # always the previous file or the complete new one.
    _kill_after(_batch(source, output, "--workers", workers), partial, 0)
    assert output.read_text() == "previous output\n"
    reached = _kill_after(_batch(source, output, "--workers", workers), partial, 70)
    assert 70 <= reached < RECORDS  # some whole chunks written, not all
    assert output.read_text() == "previous output\n"
    again = _kill_after(
        _batch(source, output, "--workers", workers, "--resume"), partial, reached + 40
    )
    assert reached + 40 <= again < RECORDS  # the resumed run went on, and was killed mid-run
    assert output.read_text() == "previous output\n"

    finished = _batch(source, output, "--workers", workers, "--resume")
    assert finished.wait(timeout=300) == 0
    assert output.read_text() == expected.read_text()
    assert not partial.exists()
    records = [json.loads(line)["source"]["record"] for line in output.read_text().splitlines()]
    assert records == list(range(1, RECORDS + 1))
