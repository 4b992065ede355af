"""The `cramp-expert` command line: a thin shell over `cramp_expert.api`.

Exit codes: 0 success, 1 bad input (patient file, rule or knowledge file) or failed examples,
2 usage errors (click's own), 3 an internal error (a bug: reported in one line; the traceback
only with CRAMP_EXPERT_DEBUG=1). Every input error is printed as one line per problem, naming
the file, line, column and key; never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


@contextmanager
def input_errors() -> Iterator[None]:
    """Turn the package's input errors into a message on stderr and exit status 1."""
    from cramp_expert.errors import CrampExpertError, InputError

    try:
        yield
    except InputError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem.render()}", err=True)
        sys.exit(EXIT_INPUT)
    except CrampExpertError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INPUT)


def _consultant(kb_root: Path | None) -> Any:
    from cramp_expert.api import Consultant

    return Consultant(kb_root)


kb_option = click.option(
    "--kb",
    "kb_root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder holding rules/ and knowledge/ (default: the bundled knowledge base).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cramp-expert", prog_name="cramp-expert")
def cli() -> None:
    """Explainable expert system for nocturnal leg cramps.

    Finds likely causes, red flags, differentials, recommendations and investigations for a
    patient, and shows which rules and which evidence led there.
    """


@cli.command()
@click.argument("patient_file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report for a clinician, or the contract's JSON.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Text report: add the chain behind every conclusion (rules fired, facts matched, "
    "references). The JSON always carries the trace.",
)
@kb_option
def consult(patient_file: str, output_format: str, explain: bool, kb_root: Path | None) -> None:
    r"""Consult the knowledge base about one patient file (YAML or JSON; '-' reads stdin).

    \b
    Examples:
        cramp-expert consult examples/V16.yaml
        cramp-expert consult examples/V16.yaml --format json
        cat patient.json | cramp-expert consult - --explain
    """
    with input_errors():
        consultant = _consultant(kb_root)
        if patient_file == "-":
            result = consultant.consult_bytes("<stdin>", sys.stdin.buffer.read())
        else:
            result = consultant.consult_path(patient_file)
    if output_format == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    from cramp_expert.explain.text import render_text

    click.echo(render_text(result, consultant.kb, explain=explain), nl=False)


@cli.group()
def kb() -> None:
    """Tools for knowledge authors."""


@kb.command("test")
@click.argument("rule_ids", nargs=-1)
@kb_option
def kb_test(rule_ids: tuple[str, ...], kb_root: Path | None) -> None:
    """Run the rules' embedded examples (all rules, or the RULE_IDS given)."""
    from cramp_expert.errors import did_you_mean

    with input_errors():
        consultant = _consultant(kb_root)
        rules = consultant.kb.rules
        unknown = [r for r in rule_ids if consultant.kb.rule(r) is None]
        if unknown:
            hint = did_you_mean(unknown[0], [r.id for r in rules])
            raise click.UsageError(f"unknown rule '{unknown[0]}'" + (f"; {hint}" if hint else ""))
        selected = [r for r in rules if not rule_ids or r.id in rule_ids]
        failed = 0
        total = 0
        for rule in selected:
            for example in rule.examples:
                total += 1
                outcome = consultant.run_example(rule, example)
                if outcome.failures:
                    failed += 1
                    click.echo(outcome.describe())
    click.echo(f"{total - failed} passed, {failed} failed ({len(selected)} rules)")
    sys.exit(EXIT_INPUT if failed else EXIT_OK)


def main() -> None:
    """Entry point of the `cramp-expert` command."""
    try:
        cli(prog_name="cramp-expert")
    except Exception as exc:  # a bug, not bad input: one line, never a traceback
        if os.environ.get("CRAMP_EXPERT_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} "
            "(please report it; set CRAMP_EXPERT_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
