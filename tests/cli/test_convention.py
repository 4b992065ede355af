"""One command-line convention, checked on every command: `--kb`, format names, exit statuses,
`-` for standard input and output, `-V`.

The commands are found by walking click's own command tree, so a command added later is held
to the same convention without a line here.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cramp_expert import commands
from cramp_expert.cli import cli

ROOT = Path(__file__).resolve().parent.parent.parent
V16 = ROOT / "examples" / "V16.yaml"


def _walk(
    group: click.Group, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _walk(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


COMMANDS = _walk(cli)
IDS = [" ".join(path) for path, _ in COMMANDS]
# `kb diff` compares two knowledge bases named by its arguments (folders or git revisions).
NO_KB = {("kb", "diff")}
# The arguments each command needs to get as far as reading the knowledge base.
NEEDS = {
    ("consult",): [str(V16)],
    ("explain",): [str(V16), "--how", "hypomagnesemia"],
    ("batch",): [str(V16), "-o", "-"],
    ("kb", "show"): ["hypokalemia-measured"],
    ("kb", "schema"): ["rule"],
}


def run(*args: str, stdin: str | bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin)


def _option(command: click.Command, flag: str) -> click.Option | None:
    return next((p for p in command.params if isinstance(p, click.Option) and flag in p.opts), None)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_command_takes_the_knowledge_base_as_kb(path, command):
    if path in NO_KB:
        return
    assert _option(command, "--kb") is not None, f"{' '.join(path)} has no --kb"
    # An argument left for scripts written before --kb is not shown in the usage line.
    usage = command.collect_usage_pieces(click.Context(command))
    assert not any("KB" in piece for piece in usage), usage


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_formats_are_named_alike(path, command):
    option = _option(command, "--format")
    if option is None:
        return
    assert isinstance(option.type, click.Choice)
    choices = list(option.type.choices)
    if path == ("kb", "graph"):  # two drawing languages, neither text nor JSON
        assert choices == ["mermaid", "dot"]
        return
    assert choices[0] == commands.TEXT and option.default == commands.TEXT, choices
    assert commands.JSON in choices, choices
    assert "human" not in choices  # the former name of `text`


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_a_kb_folder_that_is_missing_is_bad_input_for_every_command(tmp_path, path, command):
    if path in NO_KB:
        return
    result = run(*path, *NEEDS.get(path, []), "--kb", str(tmp_path / "nowhere"))
    assert result.exit_code == commands.EXIT_INPUT, result.output
    assert f"{tmp_path / 'nowhere'}: E100 --kb: no such folder" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_a_format_not_allowed_is_a_usage_error_for_every_command(path, command):
    if _option(command, "--format") is None:
        return
    result = run(*path, *NEEDS.get(path, []), "--format", "xml")
    assert result.exit_code == commands.EXIT_USAGE


@pytest.mark.parametrize(
    "args",
    [
        ["consult", "{missing}"],
        ["explain", "{missing}", "--how", "hypomagnesemia"],
        ["batch", "{missing}", "-o", "{out}"],
    ],
    ids=["consult", "explain", "batch"],
)
def test_a_missing_input_file_is_bad_input_for_every_command(tmp_path, args):
    names = {"missing": str(tmp_path / "missing.jsonl"), "out": str(tmp_path / "out.jsonl")}
    result = run(*(a.format(**names) for a in args))
    assert result.exit_code == commands.EXIT_INPUT, result.output
    assert "no such file" in result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_help_shows_the_exit_status_table():
    text = run("--help").output
    assert "Exit status:" in text
    for code, meaning in commands.EXIT_CODES:
        assert f"{code:>3}  {meaning.split()[0]}" in text, code


def test_short_version_flag_is_the_long_one():
    long, short = run("--version"), run("-V")
    assert long.exit_code == short.exit_code == 0
    assert short.output == long.output and "experta" in short.output


def test_consult_and_explain_read_standard_input():
    text = V16.read_text()
    from_file = run("consult", str(V16), "--format", "json").output
    assert run("consult", "-", "--format", "json", stdin=text).output == from_file
    explained = run("explain", str(V16), "--how", "hypomagnesemia").output
    assert run("explain", "-", "--how", "hypomagnesemia", stdin=text).output == explained


def test_batch_reads_standard_input_and_writes_standard_output(tmp_path):
    patient = json.dumps(json.loads(json.dumps(__import__("yaml").safe_load(V16.read_text()))))
    records = f"{patient}\n{patient}\n"
    source = tmp_path / "in.jsonl"
    source.write_text(records)
    to_file = run("batch", str(source), "-o", str(tmp_path / "out.jsonl"))
    assert to_file.exit_code == 0, to_file.output
    written = (tmp_path / "out.jsonl").read_text().splitlines()
    piped = run("batch", "-", "-o", "-", stdin=records)
    assert piped.exit_code == 0, piped.output
    lines = piped.stdout.splitlines()
    assert len(lines) == 2
    # The same results; only the name of the input differs.
    for got, expected in zip(lines, written, strict=True):
        got_entry, expected_entry = json.loads(got), json.loads(expected)
        assert got_entry.pop("source")["record"] == expected_entry.pop("source")["record"]
        assert got_entry == expected_entry
    assert "2 records: 2 consulted" in piped.stderr  # the summary stays out of the results
    assert not Path("-").exists()


def test_batch_refuses_resume_with_standard_input_or_output(tmp_path):
    result = run("batch", "-", "-o", str(tmp_path / "out.jsonl"), "--resume", stdin="")
    assert result.exit_code == commands.EXIT_USAGE
    assert "--resume needs INPUT and OUTPUT to be files" in result.output


@pytest.mark.parametrize("args", [["kb", "docs"], ["kb", "schema", "rule"]], ids=["docs", "schema"])
def test_generated_files_go_to_standard_output_with_dash(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    plain = run(*args)
    dashed = run(*args, "-o", "-")
    assert dashed.exit_code == 0 and dashed.output == plain.output
    assert not (tmp_path / "-").exists()
    assert run(*args, "-o", "-", "--check").exit_code == commands.EXIT_USAGE
