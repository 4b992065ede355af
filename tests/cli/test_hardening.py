"""Issue 12 through the command line: no input rewrites what is printed, no special file stalls a
command, no write error or closed input is an internal error, kb validate stays in its folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cramp_expert.cli import cli
from cramp_expert.render import visible_lines

ROOT = Path(__file__).resolve().parents[2]
ATTACK = "\x1b[2J\x1b[HRED FLAGS: None found\x9b\u202e"


def command(*args: str, stdin: int | None = None, stdout: int | None = subprocess.PIPE):
    return subprocess.run(
        [sys.executable, "-m", "cramp_expert", *args],
        cwd=ROOT,
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["consult", "{file}"],
        ["consult", "{file}", "--format", "json"],
        ["explain", "{file}", "--how", "hypokalemia"],
    ],
)
def test_control_characters_are_refused_in_every_command(tmp_path, args):
    patient = tmp_path / "p.json"
    patient.write_text(json.dumps({"id": ATTACK, "age": 70, "medications": [ATTACK]}))
    result = CliRunner().invoke(cli, [a.format(file=patient) for a in args])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("P207") == 2
    assert visible_lines(result.stderr) == result.stderr  # shown escaped, never emitted
    assert "(\\x1b, \\x9b, \\u202e)" in result.stderr


def test_control_characters_are_refused_in_batch_records(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": ATTACK, "age": 70}) + "\n")
    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["batch", str(source), "-o", str(output)])
    assert result.exit_code == 1
    (line,) = output.read_text().splitlines()
    assert json.loads(line)["error"]["codes"] == ["P207"]


def test_text_from_a_rule_file_is_shown_escaped(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", kb / "knowledge")
    shutil.copytree(ROOT / "rules", kb / "rules")
    rule = kb / "rules" / "lifestyle" / "older-age.yaml"
    text = rule.read_text()
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    rule.write_text(text.replace(title, 'title: "Older age\\e]0;pwned\\a\\u202e"', 1))
    result = CliRunner().invoke(cli, ["kb", "show", "older-age", "--kb", str(kb)])
    assert result.exit_code == 0, result.output
    assert "Older age\\x1b]0;pwned\\x07\\u202e" in result.output
    assert visible_lines(result.output) == result.output


def test_a_fifo_is_refused_as_a_patient_file_and_in_rules(tmp_path):
    fifo = tmp_path / "patient.yaml"
    os.mkfifo(fifo)
    result = command("consult", str(fifo))
    assert result.returncode == 1
    assert b"is a FIFO (named pipe), not a file: it is not read" in result.stderr
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", kb / "knowledge")
    shutil.copytree(ROOT / "rules", kb / "rules")
    os.mkfifo(kb / "rules" / "lifestyle" / "zz-fifo.yaml")
    result = command("kb", "validate", "--kb", str(kb))
    assert result.returncode == 1
    assert b"zz-fifo.yaml" in result.stdout and b"FIFO" in result.stdout


def test_kb_validate_never_reads_through_a_link_out_of_the_folder(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2-not-yaml-rule\n")
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", kb / "knowledge")
    shutil.copytree(ROOT / "rules", kb / "rules")
    (kb / "rules" / "lifestyle" / "leak.yaml").symlink_to(secret)
    result = CliRunner().invoke(cli, ["kb", "validate", "--kb", str(kb)])
    assert result.exit_code == 1
    assert "hunter2" not in result.output and "password" not in result.output
    assert "is a symbolic link to a file outside" in result.output
    # A link that stays inside the knowledge base is read as the file it names.
    (kb / "rules" / "lifestyle" / "leak.yaml").unlink()
    (kb / "rules" / "lifestyle" / "same.yaml").symlink_to(
        kb / "rules" / "lifestyle" / "older-age.yaml"
    )
    again = CliRunner().invoke(cli, ["kb", "validate", "--kb", str(kb)])
    assert "symbolic link" not in again.output


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_full_device_is_a_message_and_exit_1(tmp_path):
    with open("/dev/full", "wb") as full:
        result = command("consult", "examples/V16.yaml", stdout=full.fileno())
    assert result.returncode == 1
    assert result.stderr.decode() == "error: cannot write the output: No space left on device\n"


@pytest.mark.parametrize("args", ["consult -", "consult"])
def test_a_closed_standard_input_is_a_message_and_exit_1(args):
    process = subprocess.run(
        ["sh", "-c", f'exec "$0" -m cramp_expert {args} <&-', sys.executable],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 1, process.stderr
    assert process.stderr == b"error: standard input is closed: there is nothing to read\n"
