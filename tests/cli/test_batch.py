"""`cramp-expert batch`: JSON Lines, CSV and folders in; results in order, errors located, output
written whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cramp_expert import batch as screening
from cramp_expert.api import Consultant
from cramp_expert.cli import cli
from tests.acceptance.contract import PROJECT_KEYS, RESULT_KEYS

ROOT = Path(__file__).resolve().parents[2]
V16 = {
    "id": "V16",
    "age": 71,
    "sex": "male",
    "cramps": {"nights_per_week": 3, "sites": ["calf"]},
    "medications": [{"name": "Losec 20 mg od", "started_months_ago": 48}, "furosemide 40 mg"],
    "labs": {"magnesium": "1.4 mg/dL", "potassium": "3.6 mEq/L"},
}


def run(*args: str):
    return CliRunner().invoke(cli, ["batch", *args])


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def jsonl(path: Path, *records: Any) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def without_source(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key != "source"}


def test_each_line_is_the_consult_json_result_in_input_order(tmp_path, consultant):
    patients = [dict(V16, id=f"P{n}", age=40 + n) for n in range(5)]
    source = jsonl(tmp_path / "in.jsonl", *patients)
    result = run(str(source), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 0, result.output
    out = lines(tmp_path / "out.jsonl")
    assert [r["patient_id"] for r in out] == [f"P{n}" for n in range(5)]
    assert set(out[0]) == RESULT_KEYS | PROJECT_KEYS | {"source"}
    assert out[2]["source"] == {"input": str(source), "record": 3, "line": 3}
    assert without_source(out[0]) == json.loads(consultant.consult_data(patients[0]).to_json())
    assert "5 records: 5 consulted, 0 with errors" in result.output


def test_a_bad_record_is_one_located_error_line_and_the_run_goes_on(tmp_path):
    source = jsonl(
        tmp_path / "in.jsonl",
        V16,
        "",
        {"age": 70, "agee": 3},
        '{"age": 70, "sex": ',
        {"age": 70, "labs": {"potassium": 31}},
        V16,
    )
    result = run(str(source), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    out = lines(tmp_path / "out.jsonl")
    assert len(out) == 5  # the blank line is not a record
    assert [("error" in r, r["source"]["line"]) for r in out] == [
        (False, 1),
        (True, 3),
        (True, 4),
        (True, 5),
        (False, 6),
    ]
    unknown_key = out[1]["error"]["problems"][0]
    assert unknown_key.startswith(f"{source}:3:") and "[agee]" in unknown_key
    assert "did you mean 'age'" in unknown_key
    assert out[2]["error"]["problems"][0].startswith(f"{source}:4:")
    assert "[labs.potassium]" in out[3]["error"]["problems"][0]
    assert "2 consulted, 3 with errors" in result.output
    assert "Errors (records):" in result.output and "E101" in result.output
    assert "Traceback" not in result.output


def test_csv_columns_are_patient_file_keys(tmp_path, consultant):
    source = tmp_path / "clinic.csv"
    source.write_text(
        "id,age,sex,cramps.nights_per_week,cramps.sites,labs.magnesium,labs.potassium,medications\n"
        "V16,71,male,3,calf,1.4 mg/dL,3.6 mEq/L,Losec 20 mg od; furosemide 40 mg\n"
        "\n"
        "X,seventy,male,,,,,\n"
        "short,71\n"
    )
    result = run(str(source), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1, result.output
    out = lines(tmp_path / "out.jsonl")
    expected = dict(V16, medications=["Losec 20 mg od", "furosemide 40 mg"])
    assert without_source(out[0]) == json.loads(consultant.consult_data(expected).to_json())
    assert out[1]["source"] == {"input": str(source), "record": 2, "line": 4}
    assert out[1]["error"]["problems"][0].startswith(f"{source}:4:")
    assert "[age]" in out[1]["error"]["problems"][0]
    assert "B203" in out[2]["error"]["problems"][0] and out[2]["source"]["line"] == 5


def test_an_unknown_csv_column_stops_the_run_before_any_output(tmp_path):
    source = tmp_path / "clinic.csv"
    source.write_text("id,agee,labs.potasium\nA,70,3.1\n")
    result = run(str(source), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    assert f"{source}:1:1: B201 column 2 'agee'" in result.output
    assert "did you mean 'age'?" in result.output and "'labs.potassium'" in result.output
    assert list(tmp_path.iterdir()) == [source]


def test_a_csv_column_named_twice_stops_the_run(tmp_path):
    source = tmp_path / "clinic.csv"
    source.write_text("id,age,age\nA,70,71\n")
    result = run(str(source), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    assert f"{source}:1:1: B202 column 'age' appears twice" in result.output


def test_a_folder_of_patient_files_in_name_order(tmp_path):
    folder = tmp_path / "patients"
    folder.mkdir()
    (folder / "b.yaml").write_text("id: B\nage: 50\n")
    (folder / "a.json").write_text(json.dumps(V16))
    (folder / "c.yaml").write_text("id: C\nage: [1\n")
    (folder / "notes.txt").write_text("not a patient")
    result = run(str(folder), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    out = lines(tmp_path / "out.jsonl")
    assert [r["source"]["file"] for r in out] == [
        str(folder / n) for n in ("a.json", "b.yaml", "c.yaml")
    ]
    assert out[0]["patient_id"] == "V16" and out[1]["patient_id"] == "B"
    assert out[2]["error"]["problems"][0].startswith(f"{folder / 'c.yaml'}:")


def test_workers_give_the_same_output_as_one_process(tmp_path):
    patients = [dict(V16, id=f"P{n}", age=30 + n) for n in range(70)]
    source = jsonl(tmp_path / "in.jsonl", *patients[:40], {"agee": 1}, *patients[40:])
    assert run(str(source), "-o", str(tmp_path / "one.jsonl")).exit_code == 1
    result = run(str(source), "-o", str(tmp_path / "two.jsonl"), "--workers", "2")
    assert result.exit_code == 1, result.output
    assert (tmp_path / "one.jsonl").read_text() == (tmp_path / "two.jsonl").read_text()


def test_an_interrupted_run_leaves_the_previous_output(tmp_path, monkeypatch):
    source = jsonl(tmp_path / "in.jsonl", *[V16] * 100)
    output = tmp_path / "out.jsonl"
    output.write_text("previous\n")
    calls = []
    real = screening.RecordConsultant.consult

    def interrupted(self, record):  # type: ignore[no-untyped-def]
        calls.append(record)
        if len(calls) == 50:
            raise KeyboardInterrupt
        return real(self, record)

    monkeypatch.setattr(screening.RecordConsultant, "consult", interrupted)
    result = run(str(source), "-o", str(output))
    assert result.exit_code == 130
    assert "was not written" in result.output and "--resume" in result.output
    assert output.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".out.jsonl.partial",
        ".out.jsonl.partial.key",
        "in.jsonl",
        "out.jsonl",
    ]
    # The partial file holds whole chunks of whole lines, the first records in order.
    kept = lines(tmp_path / ".out.jsonl.partial")
    assert [entry["source"]["record"] for entry in kept] == list(range(1, len(kept) + 1))

    monkeypatch.setattr(screening.RecordConsultant, "consult", real)
    resumed = run(str(source), "-o", str(output), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.output.startswith("100 records: 100 consulted")
    run(str(source), "-o", str(tmp_path / "whole.jsonl"))
    assert output.read_text() == (tmp_path / "whole.jsonl").read_text()
    assert not (tmp_path / ".out.jsonl.partial").exists()
    assert not (tmp_path / ".out.jsonl.partial.key").exists()


def test_resume_drops_a_line_cut_short_and_recounts_what_was_done(tmp_path):
    source = jsonl(tmp_path / "in.jsonl", V16, {"age": 400}, V16, V16)
    whole = tmp_path / "whole.jsonl"
    assert run(str(source), "-o", str(whole)).exit_code == 1
    done = whole.read_text().splitlines(keepends=True)
    output = tmp_path / "out.jsonl"
    partial = screening.partial_path(output)
    partial.write_text(done[0] + done[1] + done[2][:100])  # killed in the middle of a line
    key = screening.RunKey.of(source, Consultant().kb.digest, {})
    screening.key_path(output).write_text(key.text())
    result = run(str(source), "-o", str(output), "--resume")
    assert result.exit_code == 1
    assert output.read_text() == whole.read_text()
    assert "4 records: 3 consulted, 1 with errors" in result.output and "P204" in result.output


def test_without_resume_a_stale_partial_file_is_started_afresh(tmp_path):
    source = jsonl(tmp_path / "in.jsonl", V16)
    (tmp_path / ".out.jsonl.partial").write_text('{"source": {"input": "other", "record": 1}}\n')
    assert run(str(source), "-o", str(tmp_path / "out.jsonl")).exit_code == 0
    assert len(lines(tmp_path / "out.jsonl")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{input}", "-o", "{input}"], "would overwrite INPUT"),
        (["{input}"], "Missing option '-o'"),
        (["{input}", "-o", "{tmp}"], "is a directory"),
        (["{input}", "-o", "{tmp}/out.jsonl", "--workers", "-1"], "--workers"),
    ],
)
def test_usage_errors(tmp_path, args, message):
    source = jsonl(tmp_path / "in.jsonl", V16)
    result = run(*(a.format(input=source, tmp=tmp_path) for a in args))
    assert result.exit_code == 2
    assert message in result.output


def test_an_output_folder_that_does_not_exist_is_bad_input(tmp_path):
    source = jsonl(tmp_path / "in.jsonl", V16)
    result = run(str(source), "-o", str(tmp_path / "no" / "out.jsonl"))
    assert result.exit_code == 1
    assert "cannot write" in result.output and "Traceback" not in result.output
