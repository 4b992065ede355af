"""What each `cramp-expert` command does, without the command line: cli.py parses and prints.

Every function here takes parsed arguments and returns an `Output` (the text for standard
output, lines for standard error, the exit status) or a library object; none reads
`sys.argv` or prints. Bad input raises `InputError` (exit 1), an argument that names nothing
raises `BadArgument` (exit 2); both are in `cramp_expert.errors`. The library is imported inside each function, so that `--help`
and a plain consultation load only what they use.

The exit statuses of every command are `EXIT_CODES`; the formats every command names the same
way are `TEXT` and `JSON`; `-` is standard input or output wherever a file is read or written
(`STDIO`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, NamedTuple

if TYPE_CHECKING:
    from cramp_expert.api import Consultant
    from cramp_expert.batch import Summary
    from cramp_expert.interview import Interview, InterviewIO
    from cramp_expert.kb import KnowledgeBase
    from cramp_expert.patient import PatientFacts
    from cramp_expert.result import Consultation

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "success: consulted, written, or checked with no error (warnings are printed)"),
    (
        EXIT_INPUT,
        "bad input: a patient file, batch input, rule or knowledge file, or --kb folder is "
        "missing, unreadable or invalid (each problem printed with file, line and key); a check "
        "found errors; examples failed; some batch records had errors",
    ),
    (
        EXIT_USAGE,
        "usage: unknown command or option, a value not allowed, a missing argument, options "
        "that cannot go together, or a rule, example, conclusion, topic or revision that does "
        "not exist",
    ),
    (EXIT_INTERNAL, "internal error (a bug): one line; CRAMP_EXPERT_DEBUG=1 shows the traceback"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C); nothing half-written is left behind"),
)
"""The exit statuses every command honours, with what each means (shown by `--help`)."""

TEXT = "text"
"""The format for people, the default of every command that has formats."""
JSON = "json"
"""The format for programs."""
STDIO = "-"
"""As a file name: standard input where a file is read, standard output where one is written."""


def visible(text: str) -> str:
    """Input-derived text as it may be printed (control and bidi characters shown as escapes)."""
    from cramp_expert.render.safe import visible as shown

    return shown(text)


def lines(text: str) -> str:
    """A rendered text for the terminal: its line breaks kept, nothing else unsafe emitted."""
    from cramp_expert.render.safe import visible_lines

    return visible_lines(text)


def exit_code_table(width: int = 88) -> str:
    """The exit statuses as the lines `--help` shows, each meaning wrapped under itself."""
    import textwrap

    return "\n".join(
        textwrap.fill(meaning, width, initial_indent=f"{code:>3}  ", subsequent_indent=" " * 5)
        for code, meaning in EXIT_CODES
    )


class Output(NamedTuple):
    """What a command prints and how it ends."""

    text: str = ""
    """For standard output, printed as is."""
    notes: tuple[str, ...] = ()
    """Lines for standard error."""
    status: int = EXIT_OK


# --- the knowledge base -------------------------------------------------------------------------
def kb_folder(path: Path | None) -> Path | None:
    """`--kb`: a folder holding rules/ or knowledge/; None is the bundled knowledge base.

    Raises:
        KnowledgeBaseError: the folder does not exist or holds neither rules/ nor knowledge/.
    """
    from cramp_expert.errors import KnowledgeBaseError, Location, Problem

    if path is None:
        return None
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "no such folder"
        raise KnowledgeBaseError([Problem("E100", f"--kb: {what}", Location(str(path)))])
    if not (path / "rules").is_dir() and not (path / "knowledge").is_dir():
        message = "--kb: not a knowledge base: it has no rules/ or knowledge/ folder"
        raise KnowledgeBaseError([Problem("E100", message, Location(str(path)))])
    return path


def consultant(kb: Path | None) -> Consultant:
    """A consultant on the knowledge base of `--kb` (raises KnowledgeBaseError)."""
    from cramp_expert.api import Consultant

    return Consultant(kb_folder(kb))


def knowledge_base(kb: Path | None) -> KnowledgeBase:
    """The knowledge base of `--kb`, loaded without compiling it (raises KnowledgeBaseError)."""
    from cramp_expert.kb import load_knowledge_base

    return load_knowledge_base(kb_folder(kb))


def engine_versions() -> list[str]:
    """`--version`, first: cramp-expert's version and source digest, experta's version."""
    from cramp_expert.audit import engine_identity

    package, source, experta = engine_identity()
    return [f"{package} ({source})", experta]


def kb_versions() -> list[str]:
    """`--version`, then: the bundled knowledge base's version and digests (KnowledgeBaseError)."""
    from cramp_expert.api import about

    info = about()
    return [
        f"knowledge base {info['knowledge_base']} ({info['rules']} rules), "
        f"content {info['content_digest']}",
        f"digest {info['digest']} (knowledge base and engine: every result names it)",
    ]


# --- consulting ---------------------------------------------------------------------------------
def read_patient(expert: Consultant, path: str, stdin: BinaryIO) -> PatientFacts:
    """A patient file (`-`: standard input), read, validated and normalised."""
    if path == STDIO:
        from cramp_expert.source import read_limited

        return expert.read_bytes("<stdin>", read_limited(stdin))
    return expert.read_path(path)


class ReportView(NamedTuple):
    """How much of the clinician's text report to show, and at what width."""

    explain: bool = False
    """Everything: the chain behind every conclusion, full texts and citations."""
    brief: bool = False
    """The summary block alone."""
    width: int | None = None
    """Columns to wrap to (kept within 60..100); None: the terminal's."""


def render_consultation(
    result: Consultation, kb: KnowledgeBase, output_format: str, view: ReportView
) -> str:
    """A result as the clinician's text report, the HTML page, or the contract's JSON."""
    if output_format == JSON:
        return result.to_json() + "\n"
    if output_format == "html":
        from cramp_expert.render.html import render_html

        # The page escapes every text itself (HTML escaping after visible()); lines() would
        # only reach its own markup.
        return render_html(result, kb)
    from cramp_expert.explain.text import render_text

    return lines(render_text(result, kb, explain=view.explain, brief=view.brief, width=view.width))


def consult(
    expert: Consultant,
    path: str,
    stdin: BinaryIO,
    output_format: str,
    view: ReportView,
    audience: str = "clinician",
) -> Output:
    """`consult PATIENT_FILE` (`--for patient`: the patient's handout, text or html)."""
    result = expert.consult_facts(read_patient(expert, path, stdin))
    if audience == "patient":
        return Output(lines(handout(expert, result, output_format)))
    return Output(render_consultation(result, expert.kb, output_format, view))


def handout(expert: Consultant, result: Consultation, output_format: str) -> str:
    """The patient's handout of a result, as text or html."""
    from cramp_expert.kb.handout import load_handout_wording
    from cramp_expert.render.handout import (
        build_handout,
        render_handout_html,
        render_handout_text,
    )

    knowledge = expert.kb.knowledge
    made = build_handout(result.to_dict(), knowledge, load_handout_wording(knowledge.root.parent))
    render = render_handout_html if output_format == "html" else render_handout_text
    text: str = render(made)
    return text


def unknown_conclusion(kb: KnowledgeBase, cid: str) -> str | None:
    """Why `cid` names no conclusion, with the nearest one; None when it names one."""
    from cramp_expert.errors import did_you_mean

    known = kb.knowledge.conclusions
    if cid in known:
        return None
    hint = did_you_mean(cid, known)
    return f"unknown conclusion id '{visible(cid)}'" + (f"; {hint}" if hint else "")


def conclusion_ids(kb: KnowledgeBase, ids: tuple[str, ...], option: str) -> None:
    """Refuse an unknown conclusion id, naming the nearest one (raises BadArgument)."""
    from cramp_expert.errors import BadArgument

    for cid in ids:
        problem = unknown_conclusion(kb, cid)
        if problem is not None:
            raise BadArgument(f"{option}: {problem}")


def interview(expert: Consultant) -> Interview:
    """An interview on the consultant's knowledge base (`consult` without a file)."""
    from cramp_expert.interview import Interview

    return Interview(expert)


def check_save_path(save_path: Path, force: bool) -> None:
    """Refuse, before the first question, a --save file that could not be written (BadArgument)."""
    from cramp_expert.errors import BadArgument

    folder = save_path.parent
    if not folder.is_dir():
        raise BadArgument(f"--save: folder '{visible(str(folder))}' does not exist")
    if save_path.is_dir():
        raise BadArgument(f"--save: '{visible(str(save_path))}' is a folder")
    if save_path.exists() and not force:
        raise BadArgument(
            f"--save: '{visible(str(save_path))}' exists; choose another file, or add --force "
            "to replace it"
        )
    if not os.access(folder, os.W_OK | os.X_OK) or (
        save_path.exists() and not os.access(save_path, os.W_OK)
    ):
        raise BadArgument(f"--save: '{visible(str(save_path))}' cannot be written")


def converse(interview: Interview, io: InterviewIO) -> Consultation:
    """Put the interview's prompts through `io` until done; the result."""
    from cramp_expert.interview import converse as run

    return run(interview, io)


def explain_after(interview: Interview, result: Consultation, io: InterviewIO) -> None:
    """After the report: `how ID` and `why-not ID` until the user is done."""
    from cramp_expert.interview import explain_after as answer

    answer(interview, result, io)


def save_interrupted(interview: Interview, save_path: Path | None) -> str:
    """Write the answers so far after Ctrl-C: to --save, or to a new file; say where."""
    import tempfile
    import time

    text = interview.saved_file()
    if save_path is not None:
        write_text(text, save_path)
        return str(save_path)
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


def explain(
    expert: Consultant,
    path: str,
    stdin: BinaryIO,
    how_ids: tuple[str, ...],
    why_not_ids: tuple[str, ...],
    output_format: str,
) -> Output:
    """`explain PATIENT_FILE --how ID --why-not ID`."""
    import json

    from cramp_expert.explain.text import render_how, render_why_not

    conclusion_ids(expert.kb, how_ids, "--how")
    conclusion_ids(expert.kb, why_not_ids, "--why-not")
    patient = read_patient(expert, path, stdin)
    result = expert.consult_facts(patient)
    hows = [expert.how(result, cid) for cid in how_ids]
    why_nots = [expert.why_not(patient, result, cid) for cid in why_not_ids]
    if output_format == JSON:
        answer = {"patient_id": result.patient_id, "how": hows, "why_not": why_nots}
        return Output(json.dumps(answer, indent=2, ensure_ascii=False) + "\n")
    return Output(lines("\n".join([*map(render_how, hows), *map(render_why_not, why_nots)])))


# --- writing ------------------------------------------------------------------------------------
def write_text(text: str, path: Path) -> None:
    """Write a whole file atomically: a reader never sees half of it (raises OSError)."""
    from cramp_expert.files import write_atomically

    write_atomically(path, text)


def generated(text: str, output: str | None, check: bool) -> Output:
    """Print `text` (no OUTPUT or `-`), write it to OUTPUT, or with `check` compare it."""
    from cramp_expert.errors import BadArgument

    if check and output in (None, STDIO):
        raise BadArgument("--check needs --output FILE")
    text = lines(text)  # a rule's text reaches the terminal or a committed file
    if output in (None, STDIO):
        return Output(text)
    target = Path(output)
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != text:
            shown = visible(str(target))
            return Output(notes=(f"{shown} is stale: regenerate it (make docs)",), status=1)
        return Output(f"{visible(str(target))} is up to date\n")
    try:
        write_text(text, target)
    except OSError as exc:
        return Output(
            notes=(f"error: cannot write {visible(str(target))}: {exc.strerror}",), status=1
        )
    return Output(f"wrote {visible(str(target))}\n")


# --- batch --------------------------------------------------------------------------------------
@contextmanager
def batch_files(input_path: str, output_path: str, stdin: IO[bytes]) -> Iterator[tuple[Path, Path]]:
    """The files a batch run reads and writes: standard input or output spooled to a folder.

    Standard input is copied to a file first (batch reads its input more than once); results for
    standard output are written to a file and copied out when the run is whole, so that a run
    that fails prints no half of its results.
    """
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cramp-expert-batch-") as spool:
        source = Path(input_path)
        if input_path == STDIO:
            source = Path(spool) / "stdin.jsonl"
            with source.open("wb") as stream:
                shutil.copyfileobj(stdin, stream)
        target = Path(spool) / "results.jsonl" if output_path == STDIO else Path(output_path)
        yield source, target


def batch(
    input_path: str,
    output_path: str,
    *,
    workers: int,
    resume: bool,
    kb: Path | None,
    stdin: IO[bytes],
    stdout: IO[bytes],
    progress: Callable[[int], Callable[[int], None]] | None = None,
    screening_records: bool = False,
    engine: str = "experta",
    cluster: str | None = None,
    scheduler: str | None = None,
) -> Output:
    """`batch INPUT -o OUTPUT`: consult every record; `-` for standard input or output.

    `screening_records`: screening records (CSV when OUTPUT ends in .csv) on `engine` (`compiled`: audited
    against experta); `cluster="dask"`: on a Dask cluster (`scheduler`'s, or a local one).

    `progress(total)`, if given, is called once with the number of records and returns what to
    call with each number done (a progress bar on a terminal).
    """
    import shutil

    from cramp_expert import batch as screening
    from cramp_expert.errors import BadArgument, InputError
    from cramp_expert.kb import load_knowledge_base

    if STDIO in (input_path, output_path) and resume:
        raise BadArgument("--resume needs INPUT and OUTPUT to be files, not '-'")
    if (
        STDIO not in (input_path, output_path)
        and Path(output_path).resolve() == Path(input_path).resolve()
    ):
        raise BadArgument("OUTPUT would overwrite INPUT; choose another file")
    from cramp_expert.screen.records import Mode

    if engine == "compiled" and not screening_records:
        raise BadArgument(
            "--engine compiled screens only (--summary): full results, traces and "
            "explanations are experta's"
        )
    if scheduler and cluster != "dask":
        raise BadArgument("--scheduler needs --cluster dask")
    csv_out = screening_records and output_path.lower().endswith(".csv")
    mode = Mode(screening_records, engine, csv_out)
    root = kb_folder(kb)
    workers = worker_count(workers)
    on_cluster: Any = None
    if cluster == "dask":
        from cramp_expert.screen.cluster import DaskOutcomes

        on_cluster = DaskOutcomes(scheduler, workers)
    expert = consultant(root) if workers == 1 and on_cluster is None else None
    loaded = expert.kb if expert else load_knowledge_base(root)
    name = "<stdin>" if input_path == STDIO else None
    shown = visible("standard output" if output_path == STDIO else output_path)
    with batch_files(input_path, output_path, stdin) as (source, target):
        try:
            update = None
            if progress is not None:
                update = progress(screening.count_records(source, loaded.knowledge, name))
            summary: Summary = screening.run_batch(
                source,
                target,
                knowledge=loaded.knowledge,
                workers=workers,
                kb_root=root,
                consultant=expert,
                progress=update,
                resume=resume,
                kb_digest=loaded.digest,
                input_name=name,
                mode=mode,
                consult_with=on_cluster,
            )
        except screening.BatchInputError as exc:
            raise InputError(exc.problems) from None
        except (screening.OutputBusy, screening.ResumeRefused) as exc:
            return Output(notes=(f"error: {visible(str(exc))}",), status=EXIT_INPUT)
        except screening.WorkerFailed as exc:
            return Output(notes=(f"error: {visible(str(exc))}",), status=EXIT_INTERNAL)
        except OSError as exc:
            return Output(notes=(f"error: cannot write {shown}: {exc.strerror}",), status=1)
        if output_path == STDIO:
            with target.open("rb") as results:
                shutil.copyfileobj(results, stdout)
            stdout.flush()
    text = lines(summary.render(shown))
    status = EXIT_INTERNAL if summary.internal else EXIT_INPUT if summary.failed else EXIT_OK
    # With results on standard output, the summary goes to standard error.
    if output_path == STDIO:
        return Output(notes=tuple(text.splitlines()), status=status)
    return Output(text, status=status)


def worker_count(asked: int) -> int:
    """`--workers`: 0 means one per CPU; more than the CPUs this process may use is refused."""
    from cramp_expert.errors import BadArgument

    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    if asked > cpus:
        raise BadArgument(
            f"--workers: {asked} is more than the {cpus} CPUs this machine gives the run: each "
            f"worker is a process with its own knowledge base, and more than {cpus} only add "
            f"memory (use --workers 0 for {cpus})"
        )
    return asked or cpus


# --- kb -----------------------------------------------------------------------------------------
def kb_test(kb: Path | None, selectors: tuple[str, ...], verbose: bool) -> Output:
    """`kb test`: run the rules' embedded examples."""
    from cramp_expert.authoring.catalogue import select_examples

    expert = consultant(kb)
    chosen = select_examples(expert.kb, selectors)
    shown: list[str] = []
    failed = 0
    for rule, example in chosen:
        outcome = expert.run_example(rule, example)
        if outcome.failures:
            failed += 1
            shown.append(lines(outcome.describe()))
        elif verbose:
            shown.append(visible(f"ok {rule.id}::{example.name}"))
    rules = len({rule.id for rule, _ in chosen})
    shown.append(f"{len(chosen) - failed} passed, {failed} failed ({rules} rules)")
    return Output("\n".join(shown) + "\n", status=EXIT_INPUT if failed else EXIT_OK)


def kb_list(kb: Path | None, topic: str | None, output_format: str) -> Output:
    """`kb list`: id, topic, tier, evidence grade and title of every rule."""
    from cramp_expert.authoring.catalogue import list_rules, render_list

    rows = list_rules(knowledge_base(kb), topic)
    return Output(lines(render_list(rows, output_format)))


def kb_show(kb: Path | None, rule_id: str) -> Output:
    """`kb show RULE`: one rule in full."""
    from cramp_expert.authoring.catalogue import find_rule, show_rule

    loaded = knowledge_base(kb)
    return Output(lines(show_rule(loaded, find_rule(loaded, rule_id))))


def kb_docs(kb: Path | None) -> str:
    """`kb docs`: the rule catalogue in Markdown."""
    from cramp_expert.authoring.docs import render_catalogue

    return render_catalogue(knowledge_base(kb))


def kb_problems() -> str:
    """`kb docs --problems`: the reference of every problem code in Markdown."""
    from cramp_expert.authoring.problems_doc import render_reference

    return render_reference()


def kb_schema(kb: Path | None, kind: str) -> str:
    """`kb schema rule|patient`: the JSON Schema."""
    from cramp_expert.authoring import schema

    return schema.render(schema.build(kind, knowledge_base(kb)))


def kb_graph(
    kb: Path | None,
    output_format: str,
    focus_ids: tuple[str, ...],
    depth: int | None,
    topic: str | None,
) -> Output:
    """`kb graph`: how facts, rules, intermediate facts and conclusions chain."""
    from cramp_expert.authoring import graph
    from cramp_expert.authoring.catalogue import list_rules

    loaded = knowledge_base(kb)
    chosen = {row["id"] for row in list_rules(loaded, topic)}
    drawn = graph.build_graph(loaded, [r for r in loaded.rules if r.id in chosen])
    if focus_ids:
        drawn = graph.focus(drawn, focus_ids, depth)
    return Output(lines(graph.render(drawn, output_format)))


def kb_diff(old: str, new: str, cases: Path | None, output_format: str) -> Output:
    """`kb diff OLD NEW`: rules added, removed, changed, and what cases conclude."""
    from cramp_expert.authoring import diff
    from cramp_expert.errors import KnowledgeBaseError, Location, Problem

    if cases is not None and not cases.is_dir():
        what = "is not a folder" if cases.exists() else "no such folder"
        raise KnowledgeBaseError([Problem("E100", f"--cases: {what}", Location(str(cases)))])
    result = diff.diff(old, new, cases)
    return Output(lines(diff.render(result, output_format)))


def kb_validate(kb: Path | None, output_format: str, color: bool) -> Output:
    """`kb validate`: every problem of every rule and knowledge file."""
    from cramp_expert.authoring import lint, report

    validation = lint.validate(kb_folder(kb)).relative_to(Path.cwd())
    return Output(
        report.render(validation, output_format, color=color),
        status=EXIT_OK if validation.ok else EXIT_INPUT,
    )


def kb_check(
    kb: Path | None, output_format: str, color: bool, witnesses: Path | None, samples: int
) -> Output:
    """`kb check`: kb validate, then the rule base verified as a whole."""
    from cramp_expert.verify import report
    from cramp_expert.verify.checks import check, write_witnesses

    result = check(kb_folder(kb), samples=samples).relative_to(Path.cwd())
    text = report.render(result, output_format, color=color)
    status = EXIT_OK if result.ok else EXIT_INPUT
    if witnesses is None:
        return Output(text, status=status)
    try:
        written = write_witnesses(result, witnesses)
    except OSError as exc:
        message = f"error: cannot write {visible(str(witnesses))}: {exc.strerror}"
        return Output(text, (message,), EXIT_INPUT)
    notes = (f"{len(written)} patient files written to {witnesses}",) if written else ()
    return Output(text, notes, status)


def kb_coverage(kb: Path | None, output_format: str, samples: int) -> Output:
    """`kb coverage`: the examples and generated patients each rule fires on."""
    from cramp_expert.verify.coverage import coverage, render

    table = coverage(knowledge_base(kb), samples=samples)
    covered = all(entry.examples and entry.witness is not None for entry in table.rules)
    return Output(lines(render(table, output_format)), status=EXIT_OK if covered else EXIT_INPUT)


def color_default(color: bool | None) -> bool:
    """Colour on a terminal unless NO_COLOR is set, when `--color/--no-color` is not given."""
    if color is not None:
        return color
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


__all__ = [
    "EXIT_CODES",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "JSON",
    "STDIO",
    "TEXT",
    "Output",
    "ReportView",
    "batch",
    "batch_files",
    "check_save_path",
    "color_default",
    "conclusion_ids",
    "consult",
    "consultant",
    "converse",
    "engine_versions",
    "exit_code_table",
    "explain",
    "explain_after",
    "generated",
    "handout",
    "interview",
    "kb_check",
    "kb_coverage",
    "kb_diff",
    "kb_docs",
    "kb_folder",
    "kb_graph",
    "kb_list",
    "kb_problems",
    "kb_schema",
    "kb_show",
    "kb_test",
    "kb_validate",
    "kb_versions",
    "knowledge_base",
    "lines",
    "read_patient",
    "render_consultation",
    "save_interrupted",
    "unknown_conclusion",
    "visible",
    "worker_count",
    "write_text",
]


# --- FHIR questionnaire and the CDS Hooks service (issue 16) -------------------------------------
def questionnaire_json(consultant: Consultant) -> str:
    """The project's FHIR Questionnaire as indented JSON text."""
    import json

    from cramp_expert.fhir.questionnaire import questionnaire

    return json.dumps(questionnaire(consultant.kb.knowledge), indent=2, ensure_ascii=False) + "\n"


def serve_settings(**options: object) -> object:
    """The service's settings from `serve`'s options."""
    from cramp_expert.service.app import Settings

    return Settings(**options)  # type: ignore[arg-type]


def serve(settings: object, host: str, port: int, workers: int) -> None:
    """Run the CDS Hooks service and web page until interrupted."""
    from cramp_expert.service.app import Settings, run

    assert isinstance(settings, Settings)
    run(settings, host, port, workers)
