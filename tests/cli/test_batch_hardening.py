"""`cramp-expert batch` against what stalled, hung or mixed results before (issue 12): errors are
values per record with 1 and 2 workers, a dead worker ends the run with a message, SIGTERM always
ends it, orphaned workers leave quietly, `--resume` refuses a changed input or knowledge base, a
second run on the same OUTPUT refuses to start, the input's kind comes from its content."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cramp_expert import batch as screening
from cramp_expert.api import Consultant
from cramp_expert.cli import cli

ROOT = Path(__file__).resolve().parents[2]
PATIENT = {"id": "P", "age": 60, "labs": {"potassium": "3.1 mmol/L"}}


def run(*args: str):
    return CliRunner().invoke(cli, ["batch", *args])


def out_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def process(*args: str, stderr=subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cramp_expert", "batch", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, seconds: float = 60) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("workers", ["1", "2"])
def test_bad_bytes_surrogates_and_oversized_records_are_error_lines(tmp_path, workers):
    good = json.dumps(PATIENT)
    padding = json.dumps(dict(PATIENT, id="x" * 100))
    lines = [good] * 40 + [padding] * 60  # past the first 8 KiB
    raw = "\n".join(lines).encode() + b"\n"
    raw += b'{"id": "bad\xff", "age": 60}\n'  # one invalid UTF-8 byte
    raw += b'{"id": "\\ud800", "age": 60}\n'  # a lone surrogate, escaped in JSON
    raw += b'{"id": "' + b"y" * (screening.MAX_RECORD + 10) + b'"}\n'  # over the record limit
    raw += good.encode() + b"\n"
    source = tmp_path / "in.jsonl"
    source.write_bytes(raw)
    output = tmp_path / "out.jsonl"
    result = run(str(source), "-o", str(output), "--workers", workers)
    assert result.exit_code == 1, result.output
    out = out_lines(output)
    assert len(out) == 104 and "error" not in out[-1]
    errors = {
        entry["source"]["record"]: entry["error"]["problems"][0]
        for entry in out
        if "error" in entry
    }
    assert sorted(errors) == [101, 102, 103]
    assert "not UTF-8 text (byte 0xff)" in errors[101] and errors[101].startswith(f"{source}:101:")
    assert "surrogate" in errors[102]
    assert f"longer than {screening.MAX_RECORD} bytes" in errors[103]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_csv_row_over_the_limit_and_a_bad_byte_are_error_lines(tmp_path, workers):
    source = tmp_path / "clinic.csv"
    big = "z" * (200 * 1024)  # over the csv module's own 128 KiB field limit
    huge = "w" * (screening.MAX_RECORD + 5)
    source.write_bytes(f"id,age\nA,60\n{big},61\n{huge},62\n".encode() + b"C\xfe,63\nD,64\n")
    output = tmp_path / "out.jsonl"
    result = run(str(source), "-o", str(output), "--workers", workers)
    assert result.exit_code == 1, result.output
    out = out_lines(output)
    assert [entry["source"]["line"] for entry in out] == [2, 3, 4, 5, 6]
    assert out[0]["patient_id"] == "A" and out[4]["patient_id"] == "D"
    assert "[id]" in out[1]["error"]["problems"][0]  # read, then refused as too long an id
    assert "longer than" in out[2]["error"]["problems"][0]
    assert "not UTF-8 text (byte 0xfe)" in out[3]["error"]["problems"][0]


def test_resume_refuses_a_changed_input_or_knowledge_base(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(PATIENT) + "\n" + json.dumps(dict(PATIENT, id="Q")) + "\n")
    output = tmp_path / "out.jsonl"
    knowledge = Consultant().kb
    # An interrupted run: its key and one whole line.
    key = screening.RunKey.of(source, knowledge.digest, {})
    screening.key_path(output).write_text(key.text())
    whole = tmp_path / "whole.jsonl"
    assert run(str(source), "-o", str(whole)).exit_code == 0
    screening.partial_path(output).write_text(whole.read_text().splitlines(keepends=True)[0])

    source.write_text(
        json.dumps(dict(PATIENT, id="R1")) + "\n" + json.dumps(dict(PATIENT, id="R2")) + "\n"
    )
    result = run(str(source), "-o", str(output), "--resume")
    assert result.exit_code == 1
    assert "cannot resume: the input's content changed" in result.output
    assert not output.exists()

    other = screening.RunKey.of(source, "sha256:another", {})
    screening.key_path(output).write_text(other.text())
    result = run(str(source), "-o", str(output), "--resume")
    assert result.exit_code == 1 and "the knowledge base changed" in result.output

    screening.key_path(output).unlink()
    result = run(str(source), "-o", str(output), "--resume")
    assert result.exit_code == 1 and "has no key" in result.output

    # Without --resume the run starts afresh and writes only this input's records.
    assert run(str(source), "-o", str(output)).exit_code == 0
    assert [entry["patient_id"] for entry in out_lines(output)] == ["R1", "R2"]
    assert [entry["source"]["record"] for entry in out_lines(output)] == [1, 2]


def test_a_second_run_on_the_same_output_refuses_to_start(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(PATIENT) + "\n")
    output = tmp_path / "out.jsonl"
    partial = screening.partial_path(output)
    with partial.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as a running batch holds it
        result = run(str(source), "-o", str(output))
    assert result.exit_code == 1
    assert "another run is writing" in result.output
    assert not output.exists()
    assert run(str(source), "-o", str(output)).exit_code == 0


def test_the_kind_of_input_comes_from_its_content(tmp_path):
    yaml_file = tmp_path / "patient.yaml"
    yaml_file.write_text("id: X\nage: 70\nlabs:\n  potassium: 3.1 mmol/L\n")
    result = run(str(yaml_file), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    assert "B200 the input is neither JSON Lines" in result.output
    assert "cramp-expert consult FILE" in result.output
    array = tmp_path / "patients.json"
    array.write_text(json.dumps([PATIENT]))
    result = run(str(array), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1 and "a JSON array, not JSON Lines" in result.output
    assert not (tmp_path / "out.jsonl").exists()
    # JSON Lines named .csv, and CSV named .txt, are read as what they hold.
    named_csv = tmp_path / "records.csv"
    named_csv.write_text(json.dumps(PATIENT) + "\n")
    assert run(str(named_csv), "-o", str(tmp_path / "a.jsonl")).exit_code == 0
    named_txt = tmp_path / "clinic.txt"
    named_txt.write_text("id,age\nA,60\n")
    assert run(str(named_txt), "-o", str(tmp_path / "b.jsonl")).exit_code == 0
    assert out_lines(tmp_path / "b.jsonl")[0]["patient_id"] == "A"


def test_workers_above_the_cpus_are_refused_with_the_count(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(PATIENT) + "\n")
    result = run(str(source), "-o", str(tmp_path / "out.jsonl"), "--workers", "100000")
    assert result.exit_code == 2
    cpus = len(os.sched_getaffinity(0))
    assert f"100000 is more than the {cpus} CPUs" in result.output


def test_fifos_are_refused_before_reading(tmp_path):
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    folder = tmp_path / "patients"
    folder.mkdir()
    (folder / "a.yaml").write_text("id: A\nage: 60\n")
    os.mkfifo(folder / "b.yaml")
    first = process(str(fifo), "-o", str(tmp_path / "one.jsonl"))
    second = process(str(folder), "-o", str(tmp_path / "two.jsonl"))
    _, err = first.communicate(timeout=60)
    assert first.returncode == 1 and b"is a FIFO (named pipe), not a file" in err
    _, err = second.communicate(timeout=60)
    assert second.returncode == 1, err
    out = out_lines(tmp_path / "two.jsonl")
    assert out[0]["patient_id"] == "A"
    assert "is a FIFO (named pipe), not a file" in out[1]["error"]["problems"][0]


def _patients(path: Path, count: int) -> Path:
    with path.open("w") as stream:
        for number in range(count):
            stream.write(json.dumps(dict(PATIENT, id=f"P{number}", age=30 + number % 60)) + "\n")
    return path


def _workers_started(pid: int, count: int) -> list[int]:
    found: list[int] = []

    def started() -> bool:
        found[:] = [c for c in children(pid) if alive(c)]
        return len(found) >= count

    assert wait_for(started), "the workers did not start"
    return found


def test_a_worker_that_dies_ends_the_run_with_a_message(tmp_path):
    source = _patients(tmp_path / "in.jsonl", 3000)
    output = tmp_path / "out.jsonl"
    run_ = process(str(source), "-o", str(output), "--workers", "2")
    workers = _workers_started(run_.pid, 2)
    # Wait until consulting has begun, then kill one worker as the OOM killer would.
    assert wait_for(
        lambda: (
            screening.partial_path(output).exists()
            and screening.partial_path(output).stat().st_size > 0
        )
    )
    os.kill(workers[-1], signal.SIGKILL)
    _, err = run_.communicate(timeout=120)
    assert run_.returncode == 3, err
    assert b"was killed by signal 9 while consulting" in err and b"--resume" in err
    assert b"Traceback" not in err
    assert not output.exists()
    assert wait_for(lambda: not any(alive(w) for w in workers), 30)


def test_sigterm_ends_a_run_with_workers_and_stops_them(tmp_path):
    source = _patients(tmp_path / "in.jsonl", 3000)
    output = tmp_path / "out.jsonl"
    run_ = process(str(source), "-o", str(output), "--workers", "2")
    workers = _workers_started(run_.pid, 2)
    run_.send_signal(signal.SIGTERM)
    _, err = run_.communicate(timeout=60)
    assert run_.returncode == 128 + signal.SIGTERM, err
    assert b"Traceback" not in err
    assert wait_for(lambda: not any(alive(w) for w in workers), 30)


def test_orphaned_workers_exit_quietly(tmp_path):
    source = _patients(tmp_path / "in.jsonl", 3000)
    output = tmp_path / "out.jsonl"
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as stream:
        run_ = process(str(source), "-o", str(output), "--workers", "2", stderr=stream)
        workers = _workers_started(run_.pid, 2)
        assert wait_for(
            lambda: (
                screening.partial_path(output).exists()
                and screening.partial_path(output).stat().st_size > 0
            )
        )
        run_.send_signal(signal.SIGKILL)
        run_.wait(timeout=30)
    assert wait_for(lambda: not any(alive(w) for w in workers), 60)
    text = errors.read_text()
    assert "Traceback" not in text and "BrokenPipeError" not in text


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # Escape-free ASCII lines: read by json alone unless a number reads as infinity.
        ('{"age": 70, "medications": [{"name": "x", "note": 1e999}]}', "E105 1e999"),
        ('{"labs": {"ck": {"value": ' + "9" * 400 + ".0}}}", "(it reads as inf) [labs.ck.value]"),
        ('{"a":' * 33 + "1" + "}" * 33, "E104 nesting deeper than 32 levels"),
        ('{"id": "\\ud800", "age": 60}', "unpaired UTF-16 surrogate"),
        ('{"age": 70, "age": 71}', "age"),
    ],
)
def test_a_record_json_alone_cannot_read_plainly_is_located_by_the_full_parser(text, said):
    from cramp_expert.batch.records import jsonl_document
    from cramp_expert.errors import InputError

    plain = jsonl_document(screening.Record("jsonl", 3, 3, text=json.dumps(PATIENT)), "in.jsonl")
    assert plain.positions == {} and plain.data == PATIENT
    with pytest.raises(InputError) as caught:
        jsonl_document(screening.Record("jsonl", 3, 3, text=text), "in.jsonl")
    assert str(caught.value).startswith("in.jsonl:3:") and said in str(caught.value)


@pytest.mark.parametrize(
    ("text", "printable"),
    [
        ('{"id": "p1", "medications": ["furosemide 40 mg"]}', True),
        ('{"id": "p1", "medications": ["furosemide\x7f 40 mg"]}', False),  # DEL, raw
        ('{"id": "p1", "medications": ["furosemide\\u0007 40 mg"]}', False),  # BEL, escaped
        ('{"id": "p1", "medications": ["furosemide\\t40 mg"]}', False),  # a tab, escaped
        ('{"id": "p1", "medications": ["furos\\u00e9mide"]}', False),  # printable, escaped
        ('{"id": "p1", "medications": ["furosémide"]}', False),  # printable, not ASCII
    ],
)
def test_a_line_is_known_printable_only_when_no_text_can_hold_a_control_character(text, printable):
    from cramp_expert.batch.records import RecordConsultant, jsonl_document
    from cramp_expert.patient.normalise import _printable

    record = screening.Record("jsonl", 3, 3, text=text)
    document = jsonl_document(record, "in.jsonl")
    assert document.printable is printable
    if printable:
        assert _printable(document.data)
    # Read either way, a control character is refused and named with its line.
    outcome = RecordConsultant(Consultant(), "in.jsonl").consult(record)
    refused = "P207" in outcome.errors
    assert refused is (not _printable(document.data))
    assert refused is ("\x7f" in text or "u0007" in text or "\\t" in text)
