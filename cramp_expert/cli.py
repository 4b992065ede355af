"""The `cramp-expert` command line: parses arguments and prints; `commands` does the work.

One convention for every command: the knowledge base is `--kb DIR` (default: the bundled one);
formats are named alike (`text` for people, the default; `json` for programs; a few commands
add their own, such as `parsable`, `github`, `mermaid`, `dot`); `-` is standard input or output
wherever a file is read or written; the exit statuses are `commands.EXIT_CODES`:

\b
  0  success: consulted, written, or checked with no error (warnings are printed)
  1  bad input (patient file, batch input, rule or knowledge file, --kb folder: missing,
     unreadable or invalid, each problem with file, line and key); a check found errors;
     examples failed; some batch records had errors
  2  usage: unknown command or option, a value not allowed, a missing argument, options that
     cannot go together, or a rule, example, conclusion, topic or revision that does not exist
  3  internal error (a bug): one line; CRAMP_EXPERT_DEBUG=1 shows the traceback
130  interrupted (Ctrl-C); nothing half-written is left behind

Never a traceback for bad input. Only this module imports click.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from cramp_expert import commands
from cramp_expert.commands import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    JSON,
    STDIO,
    TEXT,
    Output,
)

if TYPE_CHECKING:
    pass

Command = TypeVar("Command", bound=Callable[..., None])


@contextmanager
def input_errors() -> Iterator[None]:
    """Bad input as one line per problem on stderr and exit 1; a name naming nothing as usage (2)."""
    from cramp_expert.errors import BadArgument, CrampExpertError, InputError

    try:
        yield
    except BadArgument as exc:
        raise click.UsageError(commands.visible(str(exc))) from None
    except InputError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem.render()}", err=True)
        sys.exit(EXIT_INPUT)
    except CrampExpertError as exc:
        click.echo(f"error: {commands.visible(str(exc))}", err=True)
        sys.exit(EXIT_INPUT)


def emit(output: Output) -> None:
    """Print a command's output and notes, and end with its status."""
    if output.text:
        click.echo(output.text, nl=False)
    for note in output.notes:
        click.echo(note, err=True)
    sys.exit(output.status)


kb_option = click.option(
    "--kb",
    "kb_root",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder holding rules/ and knowledge/ (default: the bundled knowledge base).",
)


def text_or_json(help_text: str = "Text for people, or JSON.") -> Callable[[Command], Command]:
    """`--format text|json`, the formats every command that has formats shares."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice([TEXT, JSON]),
        default=TEXT,
        show_default=True,
        help=help_text,
    )


class AliasedChoice(click.Choice[str]):
    """A choice that still accepts a former name of one of its values (not shown in --help)."""

    def __init__(self, choices: list[str], aliases: dict[str, str]):
        super().__init__(choices)
        self.aliases = aliases

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        """The value, or the value a former name stands for."""
        if isinstance(value, str):
            value = self.aliases.get(value, value)
        converted: str = super().convert(value, param, ctx)
        return converted


def old_kb_dir(command: Command) -> Command:
    """The knowledge base given as an argument, as before `--kb` (still read, with a note)."""
    return click.argument("kb_dir", required=False, metavar="", type=click.Path(path_type=Path))(
        command
    )


def _kb(kb_root: Path | None, kb_dir: Path | None) -> Path | None:
    if kb_dir is not None:
        if kb_root is not None:
            raise click.UsageError("give the knowledge base once, as --kb DIR")
        click.echo(f"note: give the knowledge base as --kb {kb_dir}", err=True)
    return kb_root if kb_root is not None else kb_dir


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """`-V/--version`: the engine's versions, then the bundled knowledge base's version and digest."""
    if not value or ctx.resilient_parsing:
        return
    click.echo("\n".join(commands.engine_versions()))
    with input_errors():
        lines = commands.kb_versions()
    click.echo("\n".join(lines))
    ctx.exit(EXIT_OK)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="\b\nExit status:\n" + commands.exit_code_table(),
)
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the versions of cramp-expert and experta, and the knowledge base's version and "
    "digest, then exit.",
)
def cli() -> None:
    """Explainable expert system for nocturnal leg cramps.

    Finds likely causes, red flags, differentials, recommendations and investigations for a
    patient, and shows which rules and which evidence led there. Every command takes the
    knowledge base as --kb DIR, names its formats alike (text, json) and reads '-' as
    standard input or output.
    """


@cli.command()
@click.argument("patient_file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "output_format",
    type=click.Choice([TEXT, JSON, "html"]),
    default=TEXT,
    show_default=True,
    help="The clinician's report as text, or as one self-contained HTML page (printable on "
    "A4), or the contract's JSON; with --for patient, the handout as text or html (one A4 "
    "sheet).",
)
@click.option(
    "--for",
    "audience",
    type=click.Choice(["clinician", "patient"]),
    default="clinician",
    show_default=True,
    help="Who reads it: the clinician's report, or a handout for the patient in plain words, "
    "made from the same result.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Text report: add the chain behind every conclusion (rules fired, facts matched, "
    "references). The JSON always carries the trace.",
)
@click.option(
    "--brief",
    is_flag=True,
    help="Text report: the summary block alone (red flags with tier and action, top causes, "
    "the next step, anything to confirm; at most 12 lines).",
)
@click.option(
    "--width",
    type=click.IntRange(min=1),
    default=None,
    help="Text report: wrap to this many columns, kept within 60..100 (default: the "
    "terminal's width, or COLUMNS).",
)
@click.option(
    "--save",
    "save_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="Interview only: write the answers as a patient file that gives the same result "
    "(checked before the first question; Ctrl-C saves the answers so far there; '-': to "
    "standard output, the conversation and report then go to standard error).",
)
@click.option("--force", is_flag=True, help="Interview only: let --save replace an existing file.")
@kb_option
def consult(
    patient_file: str | None,
    output_format: str,
    audience: str,
    explain: bool,
    brief: bool,
    width: int | None,
    save_path: str | None,
    force: bool,
    kb_root: Path | None,
) -> None:
    """Consult the knowledge base about a patient file, or interview when no file is given.

    PATIENT_FILE is YAML or JSON ('-' reads standard input). Without it, an interview asks only
    what can still change a conclusion: single questions, checklists of findings and one line
    of labs; at any prompt type 'why', 'back', 'skip', 'unknown', 'quit' or 'help' (which also
    gives each prompt's answer grammar). Each prompt ends with its keys in brackets, so a
    script can drive it through standard input. Ctrl-C saves the answers so far (to --save,
    or to a new file it names) and exits with status 130.

    \b
    Examples:
        cramp-expert consult examples/V16.yaml
        cramp-expert consult examples/V16.yaml --brief
        cramp-expert consult examples/V16.yaml --format html > report.html
        cramp-expert consult examples/V16.yaml --format json
        cramp-expert consult examples/V16.yaml --for patient --format html > handout.html
        cat patient.json | cramp-expert consult - --explain
        cramp-expert consult --save answers.yaml
    """
    if audience == "patient":
        if patient_file is None:
            raise click.UsageError(
                "--for patient needs PATIENT_FILE: interview with --save FILE, then "
                "'cramp-expert consult FILE --for patient'"
            )
        if output_format == JSON or explain or brief or width is not None:
            raise click.UsageError(
                "--for patient writes --format text or html (no --explain, --brief or --width)"
            )
    if brief and explain:
        raise click.UsageError(
            "--brief (the summary alone) and --explain (everything) exclude each other"
        )
    if (brief or width is not None) and output_format != TEXT:
        raise click.UsageError(
            "--brief and --width shape the text report: use them with --format text"
        )
    view = commands.ReportView(explain=explain, brief=brief, width=width)
    if _STDIN_CLOSED and patient_file in (None, STDIO):
        click.echo("error: standard input is closed: there is nothing to read", err=True)
        sys.exit(EXIT_INPUT)
    if patient_file is None:
        _interview(output_format, view, save_path, force, kb_root)
        return
    if save_path is not None or force:
        raise click.UsageError("--save writes an interview's answers; it needs no PATIENT_FILE")
    with input_errors():
        expert = commands.consultant(kb_root)
        output = commands.consult(
            expert, patient_file, sys.stdin.buffer, output_format, view, audience
        )
    emit(output)


class _TerminalIO:
    """The interview's questions and answers on the terminal or piped standard input.

    With --format json the conversation goes to stderr so that stdout holds only the JSON.
    When the answers are piped, each is echoed after its prompt so that the transcript reads
    as a conversation.
    """

    def __init__(self, to_stderr: bool):
        self.err = to_stderr
        self.interactive = sys.stdin.isatty()

    def ask(self, prompt: str) -> str | None:
        click.echo(commands.lines(prompt), nl=False, err=self.err)
        line = sys.stdin.readline()
        if not line:
            click.echo("", err=self.err)
            return None
        if not self.interactive:
            click.echo(commands.visible(line.rstrip("\n")), err=self.err)
        return line.rstrip("\r\n")

    def say(self, text: str) -> None:
        click.echo(commands.lines(text), err=self.err)


def _interview(
    output_format: str,
    view: commands.ReportView,
    save_path: str | None,
    force: bool,
    kb_root: Path | None,
) -> None:
    to_stdout = save_path == STDIO
    if save_path is not None and not to_stdout:
        with input_errors():
            commands.check_save_path(Path(save_path), force)
    with input_errors():
        expert = commands.consultant(kb_root)
    interview = commands.interview(expert)
    io = _TerminalIO(to_stderr=output_format == JSON or to_stdout)
    try:
        result = commands.converse(interview, io)
    except KeyboardInterrupt:
        try:
            where = commands.save_interrupted(
                interview, None if save_path in (None, STDIO) else Path(save_path)
            )
        except OSError as exc:
            click.echo(f"\ninterrupted: the answers could not be saved: {exc}", err=True)
            sys.exit(EXIT_INTERRUPTED)
        click.echo(
            f"\ninterrupted: {len(interview.history)} answers saved to {where} "
            f"('cramp-expert consult {where}' concludes from them)",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    io.say(f"({len(interview.asked)} prompts)")
    if to_stdout:
        io.say(commands.render_consultation(result, expert.kb, output_format, view))
        click.echo(interview.saved_file(), nl=False)
        return
    if save_path is not None:
        try:
            commands.write_text(interview.saved_file(), Path(save_path))
        except OSError as exc:
            click.echo(
                f"error: cannot write {commands.visible(save_path)}: {exc.strerror}", err=True
            )
            sys.exit(EXIT_INPUT)
        io.say(
            f"Answers saved to {save_path}: 'cramp-expert consult {save_path}' gives this result."
        )
    click.echo(commands.render_consultation(result, expert.kb, output_format, view), nl=False)
    if output_format == JSON:
        return
    try:
        commands.explain_after(interview, result, io)
    except KeyboardInterrupt:
        click.echo("", err=True)
        sys.exit(EXIT_INTERRUPTED)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(allow_dash=True))
@click.option(
    "-o",
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON Lines of results, in input order; replaced only when the run ends ('-': "
    "standard output, the summary then goes to standard error).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Processes consulting in parallel (0: one per CPU; at most the CPUs).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an interrupted run: keep the records it finished, consult the rest.",
)
@click.option(
    "--summary/--full",
    "screening",
    default=False,
    help="One compact screening record per patient (CSV if OUTPUT ends in .csv), or the full "
    "result (the default).",
)
@click.option(
    "--engine",
    type=click.Choice(["experta", "compiled"]),
    default="experta",
    show_default=True,
    help="With --summary: 'compiled' runs the rules as plain Python, audited against experta.",
)
@click.option(
    "--cluster",
    type=click.Choice(["dask"]),
    default=None,
    help="Consult on a Dask cluster: a local one of --workers processes, or --scheduler's.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="With --cluster dask: an existing scheduler (tcp://host:8786) instead of a local one.",
)
@kb_option
def batch(
    input_path: str,
    output_path: str,
    workers: int,
    resume: bool,
    screening: bool,
    engine: str,
    cluster: str | None,
    scheduler: str | None,
    kb_root: Path | None,
) -> None:
    """Consult every patient of INPUT; write one JSON result per line to OUTPUT.

    INPUT is JSON Lines (each line a patient file as one JSON object; '-' reads them from
    standard input), a CSV file (a header row of patient-file keys), or a folder of patient
    files (*.yaml, *.yml, *.json); the kind is decided by the content, and anything else is
    refused. Each OUTPUT line is the result of `consult --format json` with "source" (input,
    record number, line or file) added, or, for a record that cannot be consulted, "source"
    and "error" with every problem located on the input's own lines; the run goes on. A
    summary follows (counts per red flag, cause and error). Exit status: 0 all consulted, 1
    some records had errors (or the input or knowledge base cannot be read), 3 a record met
    a bug.

    OUTPUT is replaced only when every record is done; until then the lines go to a hidden
    partial file beside it (.OUTPUT.partial). Killed or interrupted at any moment, a run leaves
    the previous OUTPUT (or none); run it again with --resume to carry on from the last whole
    line. --resume refuses when the input, the knowledge base or the options changed since
    the interrupted run; a second run writing the same OUTPUT refuses to start.

    CSV columns are patient-file keys: id, age, sex, pregnant, gestation_weeks, dialysis;
    section keys as section.key (cramps.nights_per_week, findings.unilateral_leg_swelling,
    lifestyle.activity); labs as labs.NAME, written as in a patient file ("3.1 mmol/L");
    medications and conditions, several in a cell separated by ';' (start dates need JSON
    Lines); list facts (cramps.sites) also ';'-separated; yes/no as true/false or yes/no. An
    empty cell is unknown.

    \b
    Examples:
        cramp-expert batch patients.jsonl -o results.jsonl --workers 0
        cramp-expert batch clinic.csv -o results.jsonl
        cramp-expert batch patient-files/ -o results.jsonl
        cat patients.jsonl | cramp-expert batch - -o - > results.jsonl
    """
    bars = ExitStack()

    def progress(total: int) -> Callable[[int], None]:
        bar = bars.enter_context(
            click.progressbar(length=total, label="Consulting", file=sys.stderr)
        )
        return bar.update

    with bars, input_errors():
        try:
            output = commands.batch(
                input_path,
                output_path,
                workers=workers,
                resume=resume,
                kb=kb_root,
                stdin=sys.stdin.buffer,
                stdout=sys.stdout.buffer,
                progress=progress if sys.stderr.isatty() else None,
                screening_records=screening,
                engine=engine,
                cluster=cluster,
                scheduler=scheduler,
            )
        except KeyboardInterrupt:
            click.echo(
                f"\ninterrupted: {commands.visible(output_path)} was not written; run again "
                "with --resume to carry on from the last whole record",
                err=True,
            )
            sys.exit(EXIT_INTERRUPTED)
    emit(output)


@cli.command()
@click.argument("patient_file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--how", "how_ids", multiple=True, metavar="ID", help="How ID was concluded.")
@click.option(
    "--why-not",
    "why_not_ids",
    multiple=True,
    metavar="ID",
    help="Why ID was not concluded, and the smallest change to the facts that would conclude it.",
)
@text_or_json()
@kb_option
def explain(
    patient_file: str,
    how_ids: tuple[str, ...],
    why_not_ids: tuple[str, ...],
    output_format: str,
    kb_root: Path | None,
) -> None:
    """Explain a consultation: HOW a conclusion was reached, or WHY NOT.

    PATIENT_FILE is YAML or JSON ('-' reads standard input).

    \b
    Examples:
        cramp-expert explain examples/V16.yaml --how hypomagnesemia
        cramp-expert explain examples/V16.yaml --why-not hypokalemia --format json
    """
    if not how_ids and not why_not_ids:
        raise click.UsageError("give at least one --how ID or --why-not ID")
    with input_errors():
        expert = commands.consultant(kb_root)
        output = commands.explain(
            expert, patient_file, sys.stdin.buffer, how_ids, why_not_ids, output_format
        )
    emit(output)


@cli.group()
def kb() -> None:
    """Tools for knowledge authors."""


@kb.command("test")
@click.argument("selectors", nargs=-1, metavar="[RULE[::EXAMPLE]]...")
@click.option("-v", "--verbose", is_flag=True, help="Name every example run, not only failures.")
@kb_option
def kb_test(selectors: tuple[str, ...], verbose: bool, kb_root: Path | None) -> None:
    """Run the rules' embedded examples: all of them, a rule's, or one (`RULE::EXAMPLE`).

    A failure says what was expected, what was concluded and which rules fired. pytest runs
    the same examples with the same ids (`pytest -k RULE`).

    \b
    Examples:
        cramp-expert kb test
        cramp-expert kb test hypokalemia-measured
        cramp-expert kb test "hypokalemia-measured::potassium 4.2 is not hypokalaemia"
    """
    with input_errors():
        output = commands.kb_test(kb_root, selectors, verbose)
    emit(output)


@kb.command("list")
@click.option("--topic", help="Only the rules of one topic (a folder of rules/).")
@text_or_json()
@kb_option
def kb_list(topic: str | None, output_format: str, kb_root: Path | None) -> None:
    """List the rules: id, topic, tier, evidence grade and title."""
    with input_errors():
        output = commands.kb_list(kb_root, topic, output_format)
    emit(output)


@kb.command("show")
@click.argument("rule_id")
@kb_option
def kb_show(rule_id: str, kb_root: Path | None) -> None:
    """Show one rule in full: conditions, conclusions, rationale, references, examples."""
    with input_errors():
        output = commands.kb_show(kb_root, rule_id)
    emit(output)


def generated_output(command: Command) -> Command:
    """`-o/--output FILE` and `--check`, for commands that write a generated, committed file."""
    command = click.option(
        "--check",
        is_flag=True,
        help="Do not write: exit 1 if OUTPUT differs from what it would be.",
    )(command)
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, allow_dash=True),
        help="Write to this file instead of standard output ('-': standard output).",
    )(command)


@kb.command("docs")
@generated_output
@kb_option
@click.option(
    "--problems",
    is_flag=True,
    help="Write the reference of every problem code (docs/problems.md) instead.",
)
def kb_docs(output: str | None, check: bool, kb_root: Path | None, problems: bool) -> None:
    """Write the rule catalogue in Markdown: rules by topic, references, evidence grades.

    \b
    Examples:
        cramp-expert kb docs -o docs/rules.md
        cramp-expert kb docs -o docs/rules.md --check
        cramp-expert kb docs --problems -o docs/problems.md
    """
    with input_errors():
        text = commands.kb_problems() if problems else commands.kb_docs(kb_root)
        emitted = commands.generated(text, output, check)
    emit(emitted)


@kb.command("graph")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="Mermaid (GitHub draws it in Markdown) or Graphviz DOT (`dot -Tsvg`).",
)
@click.option(
    "--focus",
    "focus_ids",
    multiple=True,
    metavar="ID",
    help="Keep only what leads to and follows from this rule, fact or conclusion (repeatable).",
)
@click.option(
    "--depth", type=click.IntRange(min=0), help="With --focus: at most this many rule steps."
)
@click.option("--topic", help="Only the rules of one topic, with what they test and conclude.")
@kb_option
def kb_graph(
    output_format: str,
    focus_ids: tuple[str, ...],
    depth: int | None,
    topic: str | None,
    kb_root: Path | None,
) -> None:
    """Draw how facts, rules, intermediate facts and conclusions chain.

    \b
    Examples:
        cramp-expert kb graph --focus state_fluid_restricted --depth 1
        cramp-expert kb graph --format dot | dot -Tsvg > rules.svg
    """
    with input_errors():
        output = commands.kb_graph(kb_root, output_format, focus_ids, depth, topic)
    emit(output)


@kb.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--cases",
    "cases_dir",
    type=click.Path(path_type=Path),
    help="A folder of patient files (or vignettes) to consult with both knowledge bases.",
)
@text_or_json("Markdown for people (ready for a pull request), or JSON.")
def kb_diff(old: str, new: str, cases_dir: Path | None, output_format: str) -> None:
    """Compare two knowledge bases: rules added, removed, changed, and what cases conclude.

    OLD and NEW are folders holding rules/ and knowledge/, or git revisions of this
    repository (rules/ and knowledge/ are taken from the revision). The text is Markdown,
    ready for a pull request.

    \b
    Examples:
        cramp-expert kb diff main . --cases examples
        cramp-expert kb diff HEAD~1 HEAD --cases tests/acceptance/vignettes
    """
    with input_errors():
        output = commands.kb_diff(old, new, cases_dir, output_format)
    emit(output)


@kb.command("schema")
@click.argument("kind", type=click.Choice(["rule", "patient"]))
@generated_output
@kb_option
def kb_schema(kind: str, output: str | None, check: bool, kb_root: Path | None) -> None:
    """Write the JSON Schema of rule files or patient files (for editors; see schemas/).

    \b
    Examples:
        cramp-expert kb schema rule -o schemas/rule.schema.json
        cramp-expert kb schema patient -o schemas/patient.schema.json --check
    """
    with input_errors():
        emitted = commands.generated(commands.kb_schema(kb_root, kind), output, check)
    emit(emitted)


def report_options(format_help: str) -> Callable[[Command], Command]:
    """`--format text|parsable|json|github` and `--color/--no-color`, for kb validate and check."""

    def decorate(command: Command) -> Command:
        command = click.option(
            "--color/--no-color",
            default=None,
            help="Colour the text format (default: on a terminal, unless NO_COLOR is set).",
        )(command)
        return click.option(
            "--format",
            "output_format",
            # `human` was the text format's name before every command called it `text`.
            type=AliasedChoice([TEXT, "parsable", JSON, "github"], {"human": TEXT}),
            default=TEXT,
            show_default=True,
            help=format_help,
        )(command)

    return decorate


@kb.command("validate")
@old_kb_dir
@kb_option
@report_options(
    "Grouped by file for people; file:line:col lines for editors; JSON; GitHub annotations."
)
def kb_validate(
    kb_dir: Path | None, kb_root: Path | None, output_format: str, color: bool | None
) -> None:
    """Check every rule and knowledge file and report every problem at once.

    Exit status 0 when clean, 1 when there are problems.

    \b
    Examples:
        cramp-expert kb validate
        cramp-expert kb validate --format parsable
        cramp-expert kb validate --kb path/to/kb --format github
    """
    colored = commands.color_default(color)
    with input_errors():
        output = commands.kb_validate(_kb(kb_root, kb_dir), output_format, colored)
    click.echo(output.text, nl=False, color=colored)
    sys.exit(output.status)


@kb.command("check")
@old_kb_dir
@kb_option
@report_options("As kb validate; a finding's patient follows it.")
@click.option(
    "--witnesses",
    "witness_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each finding's patient to this folder as a patient file, to consult.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="Random patients generated before searching.",
)
def kb_check(
    kb_dir: Path | None,
    kb_root: Path | None,
    output_format: str,
    color: bool | None,
    witness_dir: Path | None,
    samples: int,
) -> None:
    """Verify the rule base as a whole: every finding with a patient that shows it.

    Everything kb validate reports, then: rules no patient makes fire, conclusions no patient
    reaches, rules that add nothing, conclusions that exclude each other reached together,
    rules that can break a never-rule of knowledge/properties.yaml, certainties below the
    threshold. Exit status 0 when clean, 1 when there are problems.

    \b
    Examples:
        cramp-expert kb check
        cramp-expert kb check --format parsable --witnesses /tmp/witnesses
        cramp-expert kb check --kb path/to/kb --format github
    """
    colored = commands.color_default(color)
    with input_errors():
        output = commands.kb_check(
            _kb(kb_root, kb_dir), output_format, colored, witness_dir, samples
        )
    click.echo(output.text, nl=False, color=colored)
    for note in output.notes:
        click.echo(note, err=True)
    sys.exit(output.status)


@kb.command("coverage")
@old_kb_dir
@kb_option
@text_or_json()
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Random patients generated.",
)
def kb_coverage(
    kb_dir: Path | None, kb_root: Path | None, output_format: str, samples: int
) -> None:
    """Show, for every rule, the embedded examples and the generated patients it fires on.

    A rule no random patient fires is searched for. Exit status 1 when a rule fires on no
    example, or on no generated patient.

    \b
    Examples:
        cramp-expert kb coverage
        cramp-expert kb coverage --format json --samples 2000
    """
    with input_errors():
        output = commands.kb_coverage(_kb(kb_root, kb_dir), output_format, samples)
    emit(output)


_STDIN_CLOSED = False
"""Set by `main` when the command was started with standard input closed."""


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="Write the Questionnaire here ('-' or absent: standard output).",
)
@kb_option
def questionnaire(output: Path | None, kb_root: Path | None) -> None:
    """Export the cramp history questions as a FHIR R4 Questionnaire (JSON).

    One item per question of the interview that the record does not hold coded (the cramps,
    findings, lifestyle, pregnancy, dialysis), each item's linkId the fact id. A completed
    QuestionnaireResponse to it, in a Bundle given to 'consult' or in the prefetch of the CDS
    Hooks service, is read as those answers.

    \b
    Examples:
        cramp-expert questionnaire -o cramp-history.json
    """
    with input_errors():
        consultant = commands.consultant(kb_root)
    text = commands.questionnaire_json(consultant)
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    try:
        commands.write_text(text, output)
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror}", err=True)
        sys.exit(EXIT_INPUT)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port to bind."
)
@click.option(
    "--jwks",
    "jwks_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JWK Set (JSON) of the CDS clients: every CDS Hooks call must then carry a JWT "
    "signed by one of its keys.",
)
@click.option(
    "--issuer",
    "issuers",
    multiple=True,
    help="Trusted JWT issuer (iss); repeat for several (default: any issuer in --jwks).",
)
@click.option(
    "--public-url",
    default=None,
    help="The URL clients use to reach the service (JWT audience, report links); "
    "default: the URL of each request.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes, each with its own consultant (one per core for throughput).",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="Origin allowed to call from a browser; repeat for several (default: any).",
)
@kb_option
def serve(
    host: str,
    port: int,
    jwks_path: Path | None,
    issuers: tuple[str, ...],
    public_url: str | None,
    workers: int,
    cors_origins: tuple[str, ...],
    kb_root: Path | None,
) -> None:
    """Run the CDS Hooks service and the web page (Ctrl-C stops it).

    CDS Hooks 2.0: discovery at /cds-services; patient-view at /cds-services/cramp-consult;
    order-select and order-sign at /cds-services/cramp-order-select and cramp-order-sign. The
    web page at / asks the interview's questions as a form and shows the report.

    \b
    Examples:
        cramp-expert serve
        cramp-expert serve --workers 2
        cramp-expert serve --port 9000 --jwks clients.jwks.json --issuer https://ehr.example.org
    """
    jwks = None
    if jwks_path is not None:
        try:
            jwks = json.loads(jwks_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            click.echo(f"error: {jwks_path}: not a readable JWK Set: {exc}", err=True)
            sys.exit(EXIT_INPUT)
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            click.echo(f"error: {jwks_path}: a JWK Set is an object with a 'keys' list", err=True)
            sys.exit(EXIT_INPUT)
    with input_errors():
        commands.consultant(kb_root)  # a broken knowledge base is reported before binding
    settings = commands.serve_settings(
        kb_root=kb_root,
        jwks=jwks,
        issuers=frozenset(issuers),
        public_url=public_url,
        cors_origins=cors_origins or ("*",),
    )
    click.echo(
        f"cramp-expert serving on http://{host}:{port}/ (CDS Hooks discovery: /cds-services)"
    )
    try:
        commands.serve(settings, host, port, workers)
    except OSError as exc:
        click.echo(f"error: cannot serve on {host}:{port}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_INPUT)


def main() -> None:
    """Entry point of the `cramp-expert` command."""
    if sys.stdin is None:  # started with standard input closed (`<&-`)
        global _STDIN_CLOSED
        _STDIN_CLOSED = True
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - reads as end of input
    try:
        cli(prog_name="cramp-expert")
    except OSError as exc:
        # Writing the output failed (a full disk, a closed pipe, a quota): bad circumstances,
        # not a bug. Nothing more is written to that output, so exit does not fail again.
        _quiet_stdout()
        click.echo(f"error: cannot write the output: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_INPUT)
    except Exception as exc:  # a bug, not bad input: one line, never a traceback
        if os.environ.get("CRAMP_EXPERT_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} "
            "(please report it; set CRAMP_EXPERT_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, dropping what is buffered for it."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
