"""`batch --summary`, `--engine compiled` and `--cluster dask`, as a user runs them.

The screening record of each patient is the projection of the full result on the same input;
CSV rows are one line each whatever the input's strings hold, and resume like JSON Lines; an
audit disagreement is an error line (exit 3), never a silent difference; Dask's output is byte
for byte that of one local worker.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from cramp_expert import batch
from cramp_expert.cli import cli
from cramp_expert.kb import load_knowledge_base
from cramp_expert.screen.compiled import CompiledRules
from cramp_expert.screen.records import CSV_COLUMNS
from cramp_expert.screen.summary import summary_of
from cramp_expert.verify.sampler import Sampler

KB = load_knowledge_base()


def run(*args: str):
    return CliRunner().invoke(cli, ["batch", *args])


@pytest.fixture(scope="module")
def register(tmp_path_factory) -> Path:
    """120 generated patients, one with control characters in its id (refused), one invalid."""
    path = tmp_path_factory.mktemp("register") / "register.jsonl"
    patients = [{"id": f"P{n}", **p} for n, p in enumerate(Sampler.for_kb(KB, 11).patients(120))]
    patients[5]["id"] = "evil\x1b[2J\nRED FLAGS: none\r"
    lines = [json.dumps(p) for p in patients]
    lines.insert(7, '{"age": "seventy"}')
    path.write_text("\n".join(lines) + "\n")
    return path


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_summary_is_the_full_results_projection_and_small(register, tmp_path):
    full, short = tmp_path / "full.jsonl", tmp_path / "short.jsonl"
    assert run(str(register), "-o", str(full)).exit_code == 1  # one invalid record
    result = run(str(register), "-o", str(short), "--summary")
    assert result.exit_code == 1, result.output
    for whole, summary in zip(records(full), records(short), strict=True):
        assert summary["source"] == whole["source"]
        if "error" in whole:
            assert summary["error"] == whole["error"]
        else:
            assert {k: v for k, v in summary.items() if k != "source"} == summary_of(whole)
    assert short.stat().st_size / 121 < 1024  # bytes per patient
    assert "robustness" not in short.read_text() and "trace" not in short.read_text()


def test_the_compiled_back_end_gives_the_same_records_and_says_which_were_audited(
    register, tmp_path
):
    on_experta, compiled = tmp_path / "experta.jsonl", tmp_path / "compiled.jsonl"
    run(str(register), "-o", str(on_experta), "--summary")
    result = run(str(register), "-o", str(compiled), "--summary", "--engine", "compiled")
    assert result.exit_code == 1, result.output
    audited = 0
    for mine, theirs in zip(records(compiled), records(on_experta), strict=True):
        audited += mine.pop("audited", False)
        assert mine == theirs
    assert 1 <= audited < 121
    assert records(compiled)[0]["audited"] is True  # record 1 always


def test_the_compiled_engine_screens_only(register, tmp_path):
    result = run(str(register), "-o", str(tmp_path / "x.jsonl"), "--engine", "compiled")
    assert result.exit_code == 2
    assert "--engine compiled screens only" in result.output
    result = run(str(register), "-o", str(tmp_path / "x.jsonl"), "--scheduler", "tcp://x:1")
    assert result.exit_code == 2
    assert "--scheduler needs --cluster dask" in result.output


def test_an_audit_disagreement_is_an_error_line_and_exit_3(register, tmp_path, monkeypatch):
    real = CompiledRules.fired

    def forgets_the_last_rule(self, values):
        return real(self, values)[:-1]

    monkeypatch.setattr(CompiledRules, "fired", forgets_the_last_rule)
    out = tmp_path / "out.jsonl"
    result = run(str(register), "-o", str(out), "--summary", "--engine", "compiled")
    assert result.exit_code == 3, result.output
    errors = [r for r in records(out) if "error" in r and r["error"]["codes"] == ["audit"]]
    assert errors and errors[0]["source"]["record"] == 1
    assert "rules fired by experta only" in errors[0]["error"]["problems"][0]
    assert "audit" in result.output


def test_csv_rows_are_one_line_each_with_input_text_escaped(register, tmp_path):
    out = tmp_path / "screen.csv"
    result = run(str(register), "-o", str(out), "--summary", "--engine", "compiled")
    assert result.exit_code == 1, result.output
    text = out.read_text()
    assert "\x1b" not in text and "\r" not in text
    physical = text.splitlines()
    assert physical[0] == ",".join(CSV_COLUMNS) and len(physical) == 122
    rows = list(csv.DictReader(physical))
    # Control characters are refused in a patient file (P207); the row naming the problem
    # shows them as escapes, on one line.
    assert "P207" in rows[5]["error_codes"] and "\\x1b" in rows[5]["error"]
    assert rows[7]["error_codes"] == "P201" and "seventy" in rows[7]["error"]
    jsonl = tmp_path / "screen.jsonl"
    run(str(register), "-o", str(jsonl), "--summary")
    for row, record in zip(rows, records(jsonl), strict=True):
        assert int(row["record"]) == record["source"]["record"]
        if "error" not in record:
            assert row["red_flags"] == ";".join(
                f"{f['id']}:{f['urgency']}" for f in record["red_flags"]
            )
            assert row["causes"] == ";".join(
                f"{c['id']}:{c['certainty']}" for c in record["causes"]
            )


@pytest.mark.parametrize("name", ["screen.csv", "screen.jsonl"])
def test_a_screening_run_resumes_after_its_last_whole_line(register, tmp_path, name):
    out = tmp_path / name
    assert run(str(register), "-o", str(out), "--summary").exit_code == 1
    whole = out.read_bytes()
    # An interrupted run: the header (for CSV), 40 whole lines and half of the next.
    lines = whole.split(b"\n")
    cut = 41 if name.endswith(".csv") else 40
    batch.partial_path(out).write_bytes(b"\n".join(lines[:cut]) + b"\n" + lines[cut][:9])
    options = {"summary": True, "engine": "experta", "csv": name.endswith(".csv")}
    batch.key_path(out).write_text(batch.RunKey.of(register, KB.digest, options).text())
    out.unlink()
    result = run(str(register), "-o", str(out), "--summary", "--resume")
    assert result.exit_code == 1, result.output
    assert out.read_bytes() == whole
    assert "121 records: 119 consulted, 2 with errors" in result.output


@pytest.mark.parametrize("via", ["local", "scheduler"])
def test_dask_writes_what_one_local_worker_writes(register, tmp_path, via):
    pytest.importorskip("dask.distributed")
    alone, on_dask = tmp_path / "alone.csv", tmp_path / "dask.csv"
    run(str(register), "-o", str(alone), "--summary", "--engine", "compiled")
    args = [str(register), "-o", str(on_dask), "--summary", "--engine", "compiled"]
    if via == "local":
        result = run(*args, "--cluster", "dask", "--workers", "2")
    else:
        from dask.distributed import LocalCluster

        with LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            dashboard_address=None,
            host="127.0.0.1",
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster:
            result = run(*args, "--cluster", "dask", "--scheduler", cluster.scheduler_address)
    assert result.exit_code == 1, result.output
    assert on_dask.read_bytes() == alone.read_bytes()
    assert not batch.partial_path(on_dask).exists()


EXPORT = Path(__file__).resolve().parents[1] / "data" / "synthea_style" / "export"


@pytest.fixture(scope="module")
def bulk(tmp_path_factory) -> Path:
    """The committed FHIR Bulk Data export, plus a line that is not JSON and an orphan resource."""
    folder = tmp_path_factory.mktemp("bulk") / "export"
    folder.mkdir()
    for path in sorted(EXPORT.glob("*.ndjson")):
        (folder / path.name).write_bytes(path.read_bytes())
    with (folder / "Observation.ndjson").open("a") as stream:
        stream.write("{not json\n")
        stream.write(
            '{"resourceType":"Observation","id":"o-orphan","status":"final",'
            '"subject":{"reference":"Patient/nobody"}}\n'
        )
    return folder


@pytest.fixture(scope="module")
def two_workers():
    """One cluster of two worker processes for the module's FHIR runs (a start each would double
    the test's time, and on a loaded machine its chances of a slow start)."""
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        dashboard_address=None,
        host="127.0.0.1",
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:
        yield cluster.scheduler_address


@pytest.mark.parametrize("output", ["full", "summary-compiled"])
def test_dask_reads_fhir_bulk_data_joined_per_patient_as_one_worker_does(
    bulk, two_workers, tmp_path, output
):
    extra = [] if output == "full" else ["--summary", "--engine", "compiled"]
    alone, on_dask = tmp_path / "alone.jsonl", tmp_path / "dask.jsonl"
    first = run(str(bulk), "-o", str(alone), "--workers", "1", *extra)
    second = run(
        str(bulk), "-o", str(on_dask), "--cluster", "dask", "--scheduler", two_workers, *extra
    )
    assert first.exit_code == second.exit_code == 1, (first.output, second.output)
    assert on_dask.read_bytes() == alone.read_bytes()
    lines = records(on_dask)
    patients = (EXPORT / "Patient.ndjson").read_text().splitlines()
    consulted = [line for line in lines if "error" not in line]
    # One record per Patient, its resources joined from every file, then the error records.
    assert [line["patient_id"] for line in consulted] == [json.loads(p)["id"] for p in patients]
    assert any(line["red_flags"] or line["causes"] for line in consulted)
    assert len(lines) == len(patients) + 2
    assert all(line["source"]["file"].endswith(".ndjson") for line in lines)


def test_forked_workers_end_at_pool_shutdown(register, tmp_path):
    # A forked worker inherits the run's SIGTERM handler; the pool's shutdown must still end it.
    out = tmp_path / "out.jsonl"
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from cramp_expert import batch
        from cramp_expert.batch import pool
        from cramp_expert.kb import load_knowledge_base
        from cramp_expert.screen.records import Mode
        pool.START_METHOD = "fork"
        summary = batch.run_batch(
            Path({str(register)!r}), Path({str(out)!r}),
            knowledge=load_knowledge_base().knowledge, workers=2, mode=Mode(summary=True),
        )
        print(summary.records)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "121"
    assert len(out.read_text().splitlines()) == 121
