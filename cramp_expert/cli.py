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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
_STDIN_CLOSED = False
"""Set by `main` when the command was started with standard input closed."""


def _visible(text: str) -> str:
    """Input-derived text for the terminal: control, escape and bidi characters shown escaped."""
    from cramp_expert.render.safe import visible

    return visible(text)


def _lines(text: str) -> str:
    """A rendered text for the terminal: its line breaks kept, nothing else unsafe emitted."""
    from cramp_expert.render.safe import visible_lines

    return visible_lines(text)


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
        click.echo(f"error: {_visible(str(exc))}", err=True)
        sys.exit(EXIT_INPUT)


@contextmanager
def usage_errors() -> Iterator[None]:
    """Turn an argument that names nothing (`authoring.BadArgument`) into a usage error (2)."""
    from cramp_expert.authoring import BadArgument

    try:
        yield
    except BadArgument as exc:
        raise click.UsageError(_visible(str(exc))) from None


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


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """`--version`: the engine's versions, then the bundled knowledge base's version and digest."""
    if not value or ctx.resilient_parsing:
        return
    from cramp_expert.audit import engine_identity

    package, source, experta = engine_identity()
    click.echo(f"{package} ({source})\n{experta}")
    with input_errors():
        from cramp_expert.api import about

        info = about()
    click.echo(
        f"knowledge base {info['knowledge_base']} ({info['rules']} rules), "
        f"content {info['content_digest']}\n"
        f"digest {info['digest']} (knowledge base and engine: every result names it)"
    )
    ctx.exit(EXIT_OK)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
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
    patient, and shows which rules and which evidence led there.
    """


@cli.command()
@click.argument("patient_file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="Report for a clinician, or the contract's JSON; with --for patient, text or html "
    "(a page that prints on one A4 sheet).",
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
    "--save",
    "save_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Interview only: write the answers as a patient file that gives the same result "
    "(checked before the first question; Ctrl-C saves the answers so far there).",
)
@click.option("--force", is_flag=True, help="Interview only: let --save replace an existing file.")
@kb_option
def consult(
    patient_file: str | None,
    output_format: str,
    audience: str,
    explain: bool,
    save_path: Path | None,
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
        if output_format == "json" or explain:
            raise click.UsageError("--for patient writes --format text or html (no --explain)")
    elif output_format == "html":
        raise click.UsageError("--format html is the patient's handout: add --for patient")
    if _STDIN_CLOSED and patient_file in (None, "-"):
        click.echo("error: standard input is closed: there is nothing to read", err=True)
        sys.exit(EXIT_INPUT)
    if patient_file is None:
        _interview(output_format, explain, save_path, force, kb_root)
        return
    if save_path is not None or force:
        raise click.UsageError("--save writes an interview's answers; it needs no PATIENT_FILE")
    with input_errors():
        consultant = _consultant(kb_root)
        if patient_file == "-":
            from cramp_expert.source import read_limited

            result = consultant.consult_bytes("<stdin>", read_limited(sys.stdin.buffer))
        else:
            result = consultant.consult_path(patient_file)
    if audience == "patient":
        with input_errors():
            click.echo(_lines(_handout(consultant, result, output_format)), nl=False)
        return
    if output_format == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    from cramp_expert.explain.text import render_text

    click.echo(_lines(render_text(result, consultant.kb, explain=explain)), nl=False)


def _handout(consultant: Any, result: dict[str, Any], output_format: str) -> str:
    from cramp_expert.kb.handout import load_handout_wording
    from cramp_expert.render.handout import (
        build_handout,
        render_handout_html,
        render_handout_text,
    )

    knowledge = consultant.kb.knowledge
    handout = build_handout(result, knowledge, load_handout_wording(knowledge.root.parent))
    render = render_handout_html if output_format == "html" else render_handout_text
    text: str = render(handout)
    return text


class _TerminalIO:
    """The interview's prompts and answers on the terminal or piped standard input.

    With --format json the conversation goes to stderr so that stdout holds only the JSON.
    When the answers are piped, each is echoed after its prompt so that the transcript reads
    as a conversation.
    """

    def __init__(self, to_stderr: bool):
        self.err = to_stderr
        self.interactive = sys.stdin.isatty()

    def ask(self, prompt: str) -> str | None:
        click.echo(_lines(prompt), nl=False, err=self.err)
        line = sys.stdin.readline()
        if not line:
            click.echo("", err=self.err)
            return None
        if not self.interactive:
            click.echo(_visible(line.rstrip("\n")), err=self.err)
        return line.rstrip("\r\n")

    def say(self, text: str) -> None:
        click.echo(_lines(text), err=self.err)


def _check_save_path(save_path: Path, force: bool) -> None:
    """Refuse, before the first question, a --save file that could not be written."""
    folder = save_path.parent
    if not folder.is_dir():
        raise click.BadParameter(f"folder '{folder}' does not exist", param_hint="--save")
    if save_path.is_dir():
        raise click.BadParameter(f"'{save_path}' is a folder", param_hint="--save")
    if save_path.exists() and not force:
        raise click.BadParameter(
            f"'{save_path}' exists; choose another file, or add --force to replace it",
            param_hint="--save",
        )
    if not os.access(folder, os.W_OK | os.X_OK) or (
        save_path.exists() and not os.access(save_path, os.W_OK)
    ):
        raise click.BadParameter(f"'{save_path}' cannot be written", param_hint="--save")


def _save_interrupted(interview: Any, save_path: Path | None) -> str:
    """Write the answers so far after Ctrl-C: to --save, or to a new file; say where."""
    from cramp_expert.files import write_atomically

    text = interview.saved_file()
    if save_path is not None:
        write_atomically(save_path, text)
        return str(save_path)
    import tempfile
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        try:
            # A new file only readable by its owner: the answers are a patient's.
            handle, name = tempfile.mkstemp(
                prefix=f"cramp-interview-{stamp}-", suffix=".yaml", dir=folder
            )
        except OSError:
            continue
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        return name
    raise OSError("no folder to write the answers in")


def _interview(
    output_format: str, explain: bool, save_path: Path | None, force: bool, kb_root: Path | None
) -> None:
    from cramp_expert.explain.text import render_text
    from cramp_expert.files import write_atomically
    from cramp_expert.interview import Interview, converse, explain_after

    if save_path is not None:
        _check_save_path(save_path, force)
    with input_errors():
        consultant = _consultant(kb_root)
    interview = Interview(consultant)
    io = _TerminalIO(to_stderr=output_format == "json")
    try:
        result = converse(interview, io)
    except KeyboardInterrupt:
        try:
            where = _save_interrupted(interview, save_path)
        except OSError as exc:
            click.echo(f"\ninterrupted: the answers could not be saved: {exc}", err=True)
            sys.exit(130)
        click.echo(
            f"\ninterrupted: {len(interview.history)} answers saved to {where} "
            f"('cramp-expert consult {where}' concludes from them)",
            err=True,
        )
        sys.exit(130)
    io.say(f"({len(interview.asked)} prompts)")
    if save_path is not None:
        try:
            write_atomically(save_path, interview.saved_file())
        except OSError as exc:
            click.echo(f"error: cannot write {_visible(str(save_path))}: {exc.strerror}", err=True)
            sys.exit(EXIT_INPUT)
        io.say(
            f"Answers saved to {save_path}: 'cramp-expert consult {save_path}' gives this result."
        )
    if output_format == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo(_lines(render_text(result, consultant.kb, explain=explain)), nl=False)
    try:
        explain_after(interview, result, io)
    except KeyboardInterrupt:
        click.echo("", err=True)
        sys.exit(130)


def _conclusion_ids(consultant: Any, ids: tuple[str, ...], option: str) -> None:
    """Refuse an unknown conclusion id as a usage error, naming the nearest one."""
    from cramp_expert.errors import did_you_mean

    known = consultant.kb.knowledge.conclusions
    for cid in ids:
        if cid not in known:
            hint = did_you_mean(cid, known)
            raise click.BadParameter(
                f"unknown conclusion id '{_visible(cid)}'" + (f"; {hint}" if hint else ""),
                param_hint=option,
            )


def _worker_count(asked: int) -> int:
    """`--workers`: 0 means one per CPU; more than the CPUs this process may use is refused."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    if asked > cpus:
        raise click.BadParameter(
            f"{asked} is more than the {cpus} CPUs this machine gives the run: each worker is a "
            f"process with its own knowledge base, and more than {cpus} only add memory "
            f"(use --workers 0 for {cpus})",
            param_hint="--workers",
        )
    return asked or cpus


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON Lines of results, in input order; replaced only when the run ends.",
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
@kb_option
def batch(
    input_path: Path, output_path: Path, workers: int, resume: bool, kb_root: Path | None
) -> None:
    """Consult every patient of INPUT; write one JSON result per line to OUTPUT.

    INPUT is JSON Lines (each line a patient file as one JSON object), a CSV file (a header
    row of patient-file keys), or a folder of patient files (*.yaml, *.yml, *.json); the kind
    is decided by the content, and anything else is refused. Each OUTPUT line is the result of
    `consult --format json` with "source" (input, record number, line or file) added, or, for
    a record that cannot be consulted, "source" and "error" with every problem located on
    the input's own lines; the run goes on. A summary follows (counts per red flag, cause and
    error). Exit status: 0 all consulted, 1 some records had errors (or the input or
    knowledge base cannot be read), 3 a record met a bug.

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
    """
    from cramp_expert import batch as screening
    from cramp_expert.kb import load_knowledge_base
    from cramp_expert.render import visible

    if output_path.resolve() == input_path.resolve():
        raise click.UsageError("OUTPUT would overwrite INPUT; choose another file")
    workers = _worker_count(workers)
    with input_errors():
        consultant = _consultant(kb_root) if workers == 1 else None
        kb = consultant.kb if consultant else load_knowledge_base(kb_root)
        arguments: dict[str, Any] = {
            "knowledge": kb.knowledge,
            "workers": workers,
            "kb_root": kb_root,
            "consultant": consultant,
            "resume": resume,
            "kb_digest": kb.digest,
        }
        try:
            if sys.stderr.isatty():
                total = screening.count_records(input_path, kb.knowledge)
                with click.progressbar(length=total, label="Consulting", file=sys.stderr) as bar:
                    summary = screening.run_batch(
                        input_path, output_path, progress=bar.update, **arguments
                    )
            else:
                summary = screening.run_batch(input_path, output_path, **arguments)
        except screening.BatchInputError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem.render()}", err=True)
            sys.exit(EXIT_INPUT)
        except (screening.OutputBusy, screening.ResumeRefused) as exc:
            click.echo(f"error: {visible(str(exc))}", err=True)
            sys.exit(EXIT_INPUT)
        except screening.WorkerFailed as exc:
            click.echo(f"error: {visible(str(exc))}", err=True)
            sys.exit(EXIT_INTERNAL)
        except OSError as exc:
            click.echo(f"error: cannot write {visible(str(output_path))}: {exc.strerror}", err=True)
            sys.exit(EXIT_INPUT)
        except KeyboardInterrupt:
            click.echo(
                f"\ninterrupted: {visible(str(output_path))} was not written; run again with "
                "--resume to carry on from the last whole record",
                err=True,
            )
            sys.exit(130)
    click.echo(_lines(summary.render(str(output_path))), nl=False)
    sys.exit(EXIT_INTERNAL if summary.internal else EXIT_INPUT if summary.failed else EXIT_OK)


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
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@kb_option
def explain(
    patient_file: str,
    how_ids: tuple[str, ...],
    why_not_ids: tuple[str, ...],
    output_format: str,
    kb_root: Path | None,
) -> None:
    """Explain a consultation: HOW a conclusion was reached, or WHY NOT.

    \b
    Examples:
        cramp-expert explain examples/V16.yaml --how hypomagnesemia
        cramp-expert explain examples/V16.yaml --why-not hypokalemia --format json
    """
    if not how_ids and not why_not_ids:
        raise click.UsageError("give at least one --how ID or --why-not ID")
    with input_errors():
        consultant = _consultant(kb_root)
        _conclusion_ids(consultant, how_ids, "--how")
        _conclusion_ids(consultant, why_not_ids, "--why-not")
        if patient_file == "-":
            from cramp_expert.source import read_limited

            patient = consultant.read_bytes("<stdin>", read_limited(sys.stdin.buffer))
        else:
            patient = consultant.read_path(patient_file)
        result = consultant.consult_facts(patient)
        hows = [consultant.how(result, cid) for cid in how_ids]
        why_nots = [consultant.why_not(patient, result, cid) for cid in why_not_ids]
    if output_format == "json":
        answer = {"patient_id": result["patient_id"], "how": hows, "why_not": why_nots}
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    from cramp_expert.explain.text import render_how, render_why_not

    text = "\n".join([*map(render_how, hows), *map(render_why_not, why_nots)])
    click.echo(_lines(text), nl=False)


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
    from cramp_expert.authoring.catalogue import select_examples

    with input_errors(), usage_errors():
        consultant = _consultant(kb_root)
        chosen = select_examples(consultant.kb, selectors)
        failed = 0
        for rule, example in chosen:
            outcome = consultant.run_example(rule, example)
            if outcome.failures:
                failed += 1
                click.echo(_lines(outcome.describe()))
            elif verbose:
                click.echo(_visible(f"ok {rule.id}::{example.name}"))
    rules = len({rule.id for rule, _ in chosen})
    click.echo(f"{len(chosen) - failed} passed, {failed} failed ({rules} rules)")
    sys.exit(EXIT_INPUT if failed else EXIT_OK)


@kb.command("list")
@click.option("--topic", help="Only the rules of one topic (a folder of rules/).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@kb_option
def kb_list(topic: str | None, output_format: str, kb_root: Path | None) -> None:
    """List the rules: id, topic, tier, evidence grade and title."""
    from cramp_expert.authoring.catalogue import list_rules, render_list
    from cramp_expert.kb import load_knowledge_base

    with input_errors(), usage_errors():
        rows = list_rules(load_knowledge_base(kb_root), topic)
    click.echo(_lines(render_list(rows, output_format)), nl=False)


@kb.command("show")
@click.argument("rule_id")
@kb_option
def kb_show(rule_id: str, kb_root: Path | None) -> None:
    """Show one rule in full: conditions, conclusions, rationale, references, examples."""
    from cramp_expert.authoring.catalogue import find_rule, show_rule
    from cramp_expert.kb import load_knowledge_base

    with input_errors(), usage_errors():
        kb = load_knowledge_base(kb_root)
        text = show_rule(kb, find_rule(kb, rule_id))
    click.echo(_lines(text), nl=False)


def generated_output(command: Any) -> Any:
    """`-o/--output FILE` and `--check`, for commands that write a generated, committed file."""
    command = click.option(
        "--check",
        is_flag=True,
        help="Do not write: exit 1 if OUTPUT differs from what it would be.",
    )(command)
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write to this file instead of standard output.",
    )(command)


@kb.command("docs")
@generated_output
@kb_option
def kb_docs(output: Path | None, check: bool, kb_root: Path | None) -> None:
    """Write the rule catalogue in Markdown: rules by topic, references, evidence grades.

    \b
    Examples:
        cramp-expert kb docs -o docs/rules.md
        cramp-expert kb docs -o docs/rules.md --check
    """
    from cramp_expert.authoring.docs import render_catalogue
    from cramp_expert.kb import load_knowledge_base

    with input_errors():
        text = render_catalogue(load_knowledge_base(kb_root))
    _write_or_check(text, output, check)


def _write_or_check(text: str, output: Path | None, check: bool) -> None:
    """Print `text`, write it to `output`, or with `check` exit 1 if `output` differs."""
    if check and output is None:
        raise click.UsageError("--check needs --output FILE")
    text = _lines(text)  # a rule's text reaches the terminal or a committed file
    if output is None:
        click.echo(text, nl=False)
    elif check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            click.echo(f"{output} is stale: regenerate it (make docs)", err=True)
            sys.exit(EXIT_INPUT)
        click.echo(f"{output} is up to date")
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


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
    from cramp_expert.authoring import graph
    from cramp_expert.authoring.catalogue import list_rules
    from cramp_expert.kb import load_knowledge_base

    with input_errors(), usage_errors():
        kb = load_knowledge_base(kb_root)
        chosen = {row["id"] for row in list_rules(kb, topic)}
        drawn = graph.build_graph(kb, [r for r in kb.rules if r.id in chosen])
        if focus_ids:
            drawn = graph.focus(drawn, focus_ids, depth)
    click.echo(_lines(graph.render(drawn, output_format)), nl=False)


@kb.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--cases",
    "cases_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of patient files (or vignettes) to consult with both knowledge bases.",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
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
    from cramp_expert.authoring import diff

    with input_errors(), usage_errors():
        result = diff.diff(old, new, cases_dir)
    click.echo(_lines(diff.render(result, output_format)), nl=False)


@kb.command("schema")
@click.argument("kind", type=click.Choice(["rule", "patient"]))
@generated_output
@kb_option
def kb_schema(kind: str, output: Path | None, check: bool, kb_root: Path | None) -> None:
    """Write the JSON Schema of rule files or patient files (for editors; see schemas/).

    \b
    Examples:
        cramp-expert kb schema rule -o schemas/rule.schema.json
        cramp-expert kb schema patient -o schemas/patient.schema.json --check
    """
    from cramp_expert.authoring import schema
    from cramp_expert.kb import load_knowledge_base

    with input_errors():
        text = schema.render(schema.build(kind, load_knowledge_base(kb_root)))
    _write_or_check(text, output, check)


def report_options(format_help: str) -> Callable[[Any], Any]:
    """`--format human|parsable|json|github` and `--color/--no-color`, for kb validate and check."""

    def decorate(command: Any) -> Any:
        command = click.option(
            "--color/--no-color",
            default=None,
            help="Colour the human format (default: on a terminal, unless NO_COLOR is set).",
        )(command)
        return click.option(
            "--format",
            "output_format",
            type=click.Choice(["human", "parsable", "json", "github"]),
            default="human",
            show_default=True,
            help=format_help,
        )(command)

    return decorate


@kb.command("validate")
@click.argument(
    "kb_dir",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@report_options(
    "Grouped by file for people; file:line:col lines for editors; JSON; GitHub annotations."
)
def kb_validate(kb_dir: Path | None, output_format: str, color: bool | None) -> None:
    """Check every rule and knowledge file and report every problem at once.

    KB_DIR holds rules/ and knowledge/ (default: the bundled knowledge base). Exit status 0
    when clean, 1 when there are problems.

    \b
    Examples:
        cramp-expert kb validate
        cramp-expert kb validate --format parsable
        cramp-expert kb validate path/to/kb --format github
    """
    from cramp_expert.authoring import lint, report

    with usage_errors():
        validation = lint.validate(kb_dir).relative_to(Path.cwd())
    if color is None:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    click.echo(report.render(validation, output_format, color=color), nl=False, color=color)
    sys.exit(EXIT_OK if validation.ok else EXIT_INPUT)


@kb.command("check")
@click.argument(
    "kb_dir",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
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
        cramp-expert kb check path/to/kb --format github
    """
    from cramp_expert.verify import report
    from cramp_expert.verify.checks import check, write_witnesses

    with usage_errors():
        result = check(kb_dir, samples=samples).relative_to(Path.cwd())
    if color is None:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    click.echo(report.render(result, output_format, color=color), nl=False, color=color)
    if witness_dir is not None:
        try:
            written = write_witnesses(result, witness_dir)
        except OSError as exc:
            click.echo(
                f"error: cannot write {_visible(str(witness_dir))}: {exc.strerror}", err=True
            )
            sys.exit(EXIT_INPUT)
        if written:
            click.echo(f"{len(written)} patient files written to {witness_dir}", err=True)
    sys.exit(EXIT_OK if result.ok else EXIT_INPUT)


@kb.command("coverage")
@click.argument(
    "kb_dir",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Random patients generated.",
)
def kb_coverage(kb_dir: Path | None, output_format: str, samples: int) -> None:
    """Show, for every rule, the embedded examples and the generated patients it fires on.

    A rule no random patient fires is searched for. Exit status 1 when a rule fires on no
    example, or on no generated patient.

    \b
    Examples:
        cramp-expert kb coverage
        cramp-expert kb coverage --format json --samples 2000
    """
    from cramp_expert.authoring.lint import knowledge_base_root
    from cramp_expert.kb import load_knowledge_base
    from cramp_expert.verify.coverage import coverage, render

    with input_errors(), usage_errors():
        table = coverage(load_knowledge_base(knowledge_base_root(kb_dir)), samples=samples)
    click.echo(_lines(render(table, output_format)), nl=False)
    covered = all(entry.examples and entry.witness is not None for entry in table.rules)
    sys.exit(EXIT_OK if covered else EXIT_INPUT)


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
    from cramp_expert.fhir.questionnaire import questionnaire as build
    from cramp_expert.files import write_atomically

    with input_errors():
        consultant = _consultant(kb_root)
    text = json.dumps(build(consultant.kb.knowledge), indent=2, ensure_ascii=False) + "\n"
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    try:
        write_atomically(output, text)
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
    from cramp_expert.service.app import Settings, run

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
        _consultant(kb_root)  # a broken knowledge base is reported before binding
    settings = Settings(
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
        run(settings, host, port, workers)
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
