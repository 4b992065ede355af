"""The interview and the explain command, driven as a clinician or a script would drive them.

The interview runs through a real pseudo-terminal (as at a bedside), through piped standard
input (as a script drives it), and in-process; `explain` answers HOW and WHY NOT from a file.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cramp_expert.cli import cli
from cramp_expert.interview import Interview
from cramp_expert.source import load_file
from cramp_expert.testing import PatientAnswers, ScriptedIO
from cramp_expert.testing.interview import answer_prompt, prompt_keys

ROOT = Path(__file__).resolve().parents[2]
V16 = str(ROOT / "examples" / "V16.yaml")
DRIVEN = [ROOT / "examples" / f"{name}.yaml" for name in ("V08", "V16", "V22")]
"""Pregnancy and gestation; labs in other units and start dates; quinine (the in-process
test answers all eight examples)."""
COMMAND = [sys.executable, "-m", "cramp_expert"]


def _controlling_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty (stdin)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A child process on a pseudo-terminal: read until some text appears, type a line."""

    def __init__(self, *args: str, cwd: Path = ROOT):
        self.master, slave = pty.openpty()
        env = {**os.environ, "COLUMNS": "200", "TERM": "dumb", "PYTHONPATH": str(ROOT)}
        # The terminal is the child's controlling terminal, so that Ctrl-C typed on it
        # interrupts the child as at a bedside.
        self.process = subprocess.Popen(
            [*COMMAND, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            preexec_fn=_controlling_terminal,
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

    def interrupt(self) -> None:
        """Type Ctrl-C (the terminal sends SIGINT to the child)."""
        os.write(self.master, b"\x03")

    def close(self) -> int:
        code = self.process.wait(timeout=60)
        os.close(self.master)
        return code


def _keys(prompt: str) -> list[str]:
    return prompt_keys(prompt.rsplit("\n", 1)[-1] if prompt.endswith(": ") else prompt + ": ")


def test_a_clinician_session_on_a_real_terminal_with_ctrl_c_saving_the_answers(tmp_path):
    saved = tmp_path / "answers.yaml"
    term = Terminal("consult", "--save", str(saved))
    first = term.expect("[age, sex, dialysis]: ")
    assert "(1 of about " in first  # progress on every prompt
    term.type("seventy, woman")  # a bad answer: refused with the reason and an example
    refused = term.expect("[age, sex, dialysis]: ")
    assert "Not understood: 'seventy' fits no item left" in refused and "e.g. 'age " in refused
    term.type("72 woman, no dialysis")
    read = term.expect("[medications]: ")
    assert "read as: Age 72 years; Sex female; Dialysis none" in read
    assert "pregnant" not in read  # not asked of a woman of 72
    term.type("simvastatin 40 mg; bendroflumethiazide 2.5 mg")
    started = term.expect("]: ")
    assert "medications.0.started_months_ago" in started
    term.type("1 2 years")
    term.expect("[conditions]: ")
    term.type("none")
    labs = term.expect("]: ")
    assert "Recent blood results" in labs and "labs.potassium" in labs
    term.type("K 3.1; Na 138 mmol/L")
    term.expect("read as: ")
    assert "Serum potassium 3.1 mmol/L; Serum sodium 138 mmol/L" in term.expect("\n")
    cramps = term.expect("]: ")
    assert "The cramps" in cramps
    term.type("why")
    why = term.expect("]: ")
    assert "can settle:" in why and "rule " in why
    term.type("back")  # the previous answer is shown, and its prompt asked again
    back = term.expect("]: ")
    assert "Back to [labs.potassium" in back and "the answer was: K 3.1; Na 138 mmol/L" in back
    assert "(before: K 3.1; Na 138 mmol/L)" in back
    term.type("K 3.3; Na 138")
    term.expect("The cramps")
    term.expect("]: ")
    term.type("3 nights, 5 min, calves")
    term.expect("read as: ")
    assert "Sites of cramps calf" in term.expect("\n")
    checklist = term.expect("]: ")
    assert "which are present?" in checklist and "  1. " in checklist
    keys = _keys(checklist)
    assert len(keys) >= 3
    term.type("1 ?2")  # item 1 present, item 2 unknown, every other item absent
    term.expect("noted - present: ")
    term.expect("]: ")
    term.interrupt()  # Ctrl-C: the answers so far are saved to --save, exit 130
    out = term.expect("interrupted: ")
    assert term.close() == 130, out
    data = load_file(saved).data
    assert data["age"] == 72 and data["sex"] == "female" and data["dialysis"] == "none"
    assert data["medications"] == [
        {"name": "simvastatin 40 mg", "started_months_ago": 24},
        "bendroflumethiazide 2.5 mg",
    ]
    assert data["conditions"] == []
    assert data["labs"] == {"potassium": "3.3", "sodium": "138"}
    assert data["cramps"]["nights_per_week"] == 3 and data["cramps"]["sites"] == ["calf"]
    section, _, first_item = keys[0].partition(".")
    assert data[section][first_item] is True
    assert keys[1].partition(".")[2] not in data.get(keys[1].partition(".")[0], {})
    for key in keys[2:]:
        assert data[key.partition(".")[0]][key.partition(".")[2]] is False


def test_save_is_checked_before_the_first_question_on_a_real_terminal(tmp_path):
    existing = tmp_path / "answers.yaml"
    existing.write_text("age: 50\n")
    term = Terminal("consult", "--save", str(existing))
    out = term.expect("--force")
    assert "exists" in out
    assert term.close() == 2
    assert existing.read_text() == "age: 50\n"  # untouched
    term = Terminal("consult", "--save", str(tmp_path / "no-such-folder" / "a.yaml"))
    assert "does not exist" in term.expect("does not exist")
    assert term.close() == 2
    term = Terminal("consult", "--save", str(existing), "--force")
    term.expect("[age, sex, dialysis]: ")
    term.type("quit")
    term.expect("[explain]: ")
    term.type("")
    assert term.close() == 0
    assert existing.read_text().startswith("# Patient file written by")


def test_ctrl_c_without_save_says_where_the_answers_are(tmp_path):
    term = Terminal("consult", cwd=tmp_path)
    term.expect("[age, sex, dialysis]: ")
    term.type("71, male")
    term.expect("]: ")
    term.interrupt()
    out = term.expect(".yaml")
    assert term.close() == 130
    where = Path(out.split("answers saved to ", 1)[1].split(" ", 1)[0])
    assert load_file(where).data == {"age": 71, "sex": "male"}
    where.unlink()


def test_why_goes_up_the_chain_and_quit_concludes(consultant):
    interview = Interview(consultant)
    io = ScriptedIO(["why", "why", "quit"])
    interview.run(io)
    assert "can settle:" in io.said[1] and "rule " in io.said[1]
    assert "Those matter because they are tested by:" in io.said[2]
    assert "Stopped asking" in io.said[3]


def _run(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_a_script_drives_the_interview_through_piped_stdin_and_gets_clean_json():
    done = _run("consult", "--format", "json", stdin="71, male, none\nquit\n")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # the conversation went to stderr
    assert [c["id"] for c in result["causes"]] == ["older_age"]
    assert "[age, sex, dialysis]: 71, male, none" in done.stderr  # piped answers are echoed
    assert "(2 prompts)" in done.stderr


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
        assert getattr(again, key) == getattr(result, key)
    assert path.read_text().startswith("# Patient file written by `cramp-expert consult`")


def test_skip_asks_again_at_the_end_and_unknown_is_never_false(consultant):
    interview = Interview(consultant)
    io = ScriptedIO(["skip", "unknown", "quit"])
    interview.run(io)
    assert _keys(io.prompts[0]) == ["age", "sex", "dialysis"]
    assert _keys(io.prompts[1]) == ["medications"]
    assert interview.patient_data() == {}  # 'unknown' leaves the medication list absent
    assert "skipped: asked again at the end" in io.said[1]


def test_a_prompt_skipped_twice_is_left_unknown(consultant):
    interview = Interview(consultant)
    io = ScriptedIO(["skip"] * 200)
    interview.run(io)
    assert interview.patient_data() == {}
    assert sum(1 for p in io.prompts if p.endswith("[age, sex, dialysis]: ")) == 2


def test_an_answer_the_patient_file_would_refuse_is_asked_again(consultant):
    io = ScriptedIO(["age 400", "age 71", "quit"])
    interview = Interview(consultant)
    interview.run(io)
    assert io.prompts[0] == io.prompts[1]
    refused = [s for s in io.said if "Not understood" in s]
    assert refused and "age" in refused[0] and "0-120" in refused[0]
    assert interview.patient_data() == {"age": 71}


def test_back_at_the_first_question_says_there_is_nothing_to_go_back_to(consultant):
    io = ScriptedIO(["back", "quit"])
    Interview(consultant).run(io)
    assert "Nothing to go back to." in io.said[1]


def test_help_gives_the_answer_grammar_and_the_commands(consultant):
    io = ScriptedIO(["help", "quit"])
    Interview(consultant).run(io)
    assert "'name value'" in io.said[1] and "A number from 0 to 120 years" in io.said[1]
    assert "'why'" in io.said[1]


def test_the_medication_follow_up_asks_when_each_medicine_was_started(consultant):
    data = {
        "age": 70,
        "medications": ["atorvastatin 20 mg", {"name": "omeprazole", "started_months_ago": 30}],
    }
    interview = Interview(consultant)
    io = PatientAnswers(data)
    interview.run(io)
    asked = " ".join(io.prompts)
    assert "medications.0.started_months_ago" in asked
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


def test_the_examples_driven_through_a_real_terminal_with_the_documented_grammar():
    # As a held-back vignette is checked: the conversation on a pseudo-terminal (stdin and
    # stderr), each prompt answered from the file through the grammar `help` documents; the
    # result, as JSON on stdout, must be the file's own, in at most 20 prompts.
    for path in DRIVEN:
        data = load_file(path).data
        master, slave = pty.openpty()
        process = subprocess.Popen(
            [*COMMAND, "consult", "--format", "json"],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=slave,
            env={**os.environ, "COLUMNS": "200", "TERM": "dumb"},
            cwd=ROOT,
        )
        os.close(slave)
        prompts, seen, out = 0, "", b""
        deadline = time.monotonic() + 120
        assert process.stdout is not None
        streams = [master, process.stdout.fileno()]
        while streams and time.monotonic() < deadline and prompts <= 20:
            ready, _, _ = select.select(streams, [], [], 1)
            for stream in ready:
                try:
                    chunk = os.read(stream, 65536)
                except OSError:  # the child closed the terminal: the interview is over
                    chunk = b""
                if not chunk:
                    streams.remove(stream)
                elif stream != master:
                    out += chunk  # the JSON result (read as it comes: a pipe holds 64 KiB)
                else:
                    seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
                    if seen.endswith("]: "):
                        prompts += 1
                        typed = answer_prompt(data, seen.rsplit("\n", 1)[-1])
                        os.write(master, (typed + "\n").encode())
                        seen = ""
        process.wait(timeout=60)
        os.close(master)
        process.stdout.close()
        assert process.returncode == 0 and prompts <= 20, (path.name, prompts)
        result = json.loads(out)
        expected = json.loads(_run("consult", str(path), "--format", "json", stdin="").stdout)
        for key in ("red_flags", "causes", "excluded", "differentials", "recommendations"):
            assert result[key] == expected[key], (path.name, key)
        assert result["investigations"] == expected["investigations"], path.name
