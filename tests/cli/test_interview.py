"""The interview and the explain command, driven as a clinician or a script would drive them.

The interview runs through a real pseudo-terminal (as at a bedside), through piped standard
input (as a script drives it), and in-process; `explain` answers HOW and WHY NOT from a file.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cramp_expert.cli import cli
from cramp_expert.interview import Interview
from cramp_expert.source import load_file
from cramp_expert.testing import PatientAnswers, ScriptedIO

ROOT = Path(__file__).resolve().parents[2]
V16 = str(ROOT / "examples" / "V16.yaml")
COMMAND = [sys.executable, "-m", "cramp_expert"]


class Terminal:
    """A child process on a pseudo-terminal: read until some text appears, type a line."""

    def __init__(self, *args: str):
        self.master, slave = pty.openpty()
        env = {**os.environ, "COLUMNS": "200", "TERM": "dumb"}
        self.process = subprocess.Popen(
            [*COMMAND, *args], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"did not see {text!r}; last output:\n{self.seen[-2000:]}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"process ended before {text!r}:\n{self.seen[-2000:]}")
                self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        found, self.seen = self.seen, self.seen[self.seen.index(text) + len(text) :]
        return found

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def close(self) -> int:
        code = self.process.wait(timeout=60)
        os.close(self.master)
        return code


def test_interview_on_a_real_terminal_with_why_back_a_bad_answer_and_quit(tmp_path):
    saved = tmp_path / "answers.yaml"
    term = Terminal("consult", "--save", str(saved))
    term.expect("Age in years [age]: ")
    term.type("seventy")
    term.expect("Not understood: type a number in years")
    term.expect("[age]: ")
    term.type("71")
    term.expect("[sex]: ")
    term.type("male")
    term.expect("[dialysis]: ")
    term.type("why")
    why = term.expect("[dialysis]: ")
    assert "The answer to [dialysis] can settle:" in why and "rule dialysis-cause" in why
    term.type("why")
    up = term.expect("[dialysis]: ")
    assert "Those matter because they are tested by:" in up
    term.type("back")
    term.expect("Back to [sex].")
    term.expect("[sex]: ")
    term.type("female")
    term.expect("Is the patient pregnant? (yes/no) [pregnant]: ")
    term.type("no")
    term.expect("[dialysis]: ")
    term.type("none")
    term.expect("]: ")
    term.type("quit")
    report = term.expect("[explain]: ")
    assert "Stopped asking" in report and "RED FLAGS" in report and "older_age" in report
    term.type("why-not hypokalemia")
    answer = term.expect("[explain]: ")
    assert "WHY NOT hypokalemia" in answer and "labs.potassium: unknown -> 3.4 mmol/L" in answer
    term.type("how older_age")
    assert "rule older-age" in term.expect("[explain]: ")
    term.type("")
    assert term.close() == 0
    assert load_file(saved).data == {
        "age": 71,
        "sex": "female",
        "pregnant": False,
        "dialysis": "none",
    }


def _run(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_a_script_drives_the_interview_through_piped_stdin_and_gets_clean_json():
    done = _run("consult", "--format", "json", stdin="71\nmale\nnone\nquit\n")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # the conversation went to stderr
    assert [c["id"] for c in result["causes"]] == ["older_age"]
    assert "Age in years [age]: 71" in done.stderr  # piped answers are echoed in the transcript
    assert "(4 questions asked of 73)" in done.stderr


def test_an_interview_ends_at_end_of_input_and_reports(tmp_path):
    done = _run("consult", stdin="71\n")
    assert done.returncode == 0
    assert "end of input" in done.stdout and "LIKELY CAUSES" in done.stdout


def test_saved_answers_give_the_same_result_when_consulted(consultant, tmp_path):
    data = load_file(V16).data
    interview = Interview(consultant)
    result = interview.run(PatientAnswers(data))
    path = tmp_path / "saved.yaml"
    path.write_text(interview.saved_file())
    again = consultant.consult_path(path)
    for key in ("red_flags", "causes", "excluded", "recommendations", "investigations"):
        assert again[key] == result[key]
    assert path.read_text().startswith("# Patient file written by `cramp-expert consult`")


def test_skip_asks_again_at_the_end_and_unknown_is_never_false(consultant):
    interview = Interview(consultant)
    io = ScriptedIO(["skip", "male", "unknown", "quit"])
    interview.run(io)
    keys = [p.rsplit("[", 1)[1] for p in io.prompts]
    assert keys[:2] == ["age]: ", "sex]: "]
    assert interview.patient_data() == {"sex": "male"}  # 'unknown' leaves dialysis absent
    assert "skipped: asked again at the end" in io.said[1]


def test_a_question_skipped_twice_is_left_unknown(consultant):
    interview = Interview(consultant)
    io = ScriptedIO(["skip"] * 200)
    interview.run(io)
    assert interview.patient_data() == {}
    assert io.prompts.count("Age in years [age]: ") == 2


def test_an_answer_the_patient_file_would_refuse_is_asked_again(consultant):
    io = ScriptedIO(["400", "71", "quit"])
    interview = Interview(consultant)
    interview.run(io)
    assert io.prompts[0] == io.prompts[1] == "Age in years [age]: "
    refused = [s for s in io.said if "Not understood" in s]
    assert refused and "age" in refused[0] and "allowed: 0 to 120" in refused[0]
    assert interview.patient_data() == {"age": 71}


def test_back_at_the_first_question_says_there_is_nothing_to_go_back_to(consultant):
    io = ScriptedIO(["back", "quit"])
    Interview(consultant).run(io)
    assert "Nothing to go back to." in io.said[1]


def test_help_shows_the_question_help_and_the_commands(consultant):
    io = ScriptedIO(["help", "quit"])
    Interview(consultant).run(io)
    assert "A number from 0 to 120 years." in io.said[1] and "'why'" in io.said[1]


def test_the_medication_follow_up_asks_when_each_medicine_was_started(consultant):
    data = {
        "age": 70,
        "medications": ["atorvastatin 20 mg", {"name": "omeprazole", "started_months_ago": 30}],
    }
    interview = Interview(consultant)
    io = PatientAnswers(data)
    interview.run(io)
    asked = " ".join(io.prompts)
    assert (
        "How many months ago was 'atorvastatin 20 mg' started? [medications.0.started_months_ago]"
        in asked
    )
    assert interview.patient_data()["medications"][1] == {
        "name": "omeprazole",
        "started_months_ago": 30,
    }


# --- explain ------------------------------------------------------------------------------------


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_explain_how_names_rules_facts_and_references():
    result = invoke("explain", V16, "--how", "hypomagnesemia")
    assert result.exit_code == 0, result.output
    assert "rule hypomagnesemia-measured" in result.output
    assert "labs.magnesium = 1.4 mg/dL = 0.58 mmol/L" in result.output and "PCNMG" in result.output


def test_explain_how_follows_the_chain_down_to_input_facts():
    answer = json.loads(invoke("explain", V16, "--how", "med_ppi", "--format", "json").output)
    steps = answer["how"][0]["rules"]

    def facts(step):
        yield from (f for f in step["facts"] if "fact" in f)
        for chain in step["chains"]:
            for sub in chain["rules"]:
                yield from facts(sub)

    assert any(step["chains"] for step in steps)
    assert {f["fact"] for step in steps for f in facts(step)} >= {"labs.magnesium"}


def test_explain_why_not_in_json_gives_the_failed_condition_and_a_verified_change():
    result = invoke("explain", V16, "--why-not", "hypokalemia", "--format", "json")
    answer = json.loads(result.output)["why_not"][0]
    assert answer["status"] == "excluded"
    failed = answer["rules"][0]["failed"]
    assert failed["fact"] == "labs.potassium" and failed["value"] == 3.6
    assert failed["needs"] == "labs.potassium < 3.5 mmol/L"
    change = answer["smallest_change"]
    assert change["verified"] and change["changes"][0]["to"] == 3.4


def test_why_not_shows_the_threshold_in_the_patients_own_unit(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("age: 50\nlabs: {magnesium: 1.9 mg/dL}\n")
    out = invoke("explain", str(path), "--why-not", "hypomagnesemia").output
    assert "labs.magnesium < 0.7 mmol/L (= < 1.7 mg/dL as given)" in out
    assert "(= 1.68 mg/dL as given)" in out


def test_explain_refuses_an_unknown_id_with_the_nearest_one():
    result = invoke("explain", V16, "--why-not", "hypokalaemia")
    assert result.exit_code == 2 and "did you mean 'hypokalemia'" in result.output


def test_explain_needs_a_question():
    assert invoke("explain", V16).exit_code == 2


@pytest.mark.parametrize("flag", ["--how", "--why-not"])
def test_explain_reads_a_bad_patient_file_as_bad_input(tmp_path, flag):
    path = tmp_path / "p.yaml"
    path.write_text("age: 400\n")
    result = invoke("explain", str(path), flag, "older_age")
    assert result.exit_code == 1 and "p.yaml:1:" in result.output
