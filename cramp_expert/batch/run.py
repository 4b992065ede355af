"""A whole batch run: records read, consulted (here or in workers), written resumably."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path
from typing import Any

from cramp_expert.api import Consultant
from cramp_expert.batch.pool import consult_here, consult_in_processes
from cramp_expert.batch.readers import Record, read_records
from cramp_expert.batch.records import Outcome
from cramp_expert.batch.summary import Joined, Summary
from cramp_expert.batch.writer import PartialWriter, RunKey, locked_partial
from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.screen.records import Mode

ConsultWith = Callable[[Iterator[Record], str, Path | None, Mode], Iterator[list[Outcome]]]
"""Consults records elsewhere (records left, input name, kb_root, mode -> chunks in order).

If it also has a `blocks` method (`screen.cluster.DaskOutcomes.blocks`: input path, input name,
kb_root, mode, records done -> `Joined` or chunks, in order), a JSON Lines input goes to it
instead, to be read where it is consulted: the records' lines come back joined, with their
counts, and are written as they come."""


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C: whole lines flushed, partial file kept, workers stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_batch(
    input_path: Path,
    output_path: Path,
    *,
    knowledge: Knowledge,
    workers: int = 1,
    kb_root: Path | None = None,
    consultant: Consultant | None = None,
    progress: Callable[[int], None] | None = None,
    resume: bool = False,
    kb_digest: str = "",
    options: Mapping[str, object] | None = None,
    input_name: str | None = None,
    mode: Mode | None = None,
    consult_with: ConsultWith | None = None,
) -> Summary:
    """Consult every record of `input_path` and write the JSON lines to `output_path`.

    `knowledge` reads the input (CSV columns); `consultant`, if given, consults in this process
    when `workers` is 1. `kb_digest` (the knowledge base's digest) and `options` (those that
    change the output) key the partial file with the input's content digest, so that `resume`
    refuses to mix records written for anything else (ResumeRefused).

    Raises BatchInputError when the input cannot be read, OutputBusy when another run writes
    OUTPUT, WorkerFailed when a worker dies, and OSError when the output cannot be written.
    Lines go to the locked partial file and replace OUTPUT only when every record is done.

    `mode` chooses what each line holds (`screen.records.Mode`: the full result by default, or
    the screening record as JSON Lines or CSV, on experta or the audited compiled back end); a
    mode other than the default keys the partial file too. `consult_with`, if given, consults
    the records instead of this machine's workers (`screen.cluster.DaskOutcomes`: on Dask).
    """
    name = input_name or str(input_path)  # `<stdin>` for standard input spooled to a file
    reader = read_records(input_path, knowledge, name)
    first = next(reader, None)  # an unreadable input fails here, before any output exists
    records: Iterator[Record] = reader if first is None else chain([first], reader)
    jsonl = first is not None and first.kind == "jsonl"
    blocks = getattr(consult_with, "blocks", None) if jsonl else None
    if not kb_digest and consultant is not None:
        kb_digest = consultant.kb.digest
    mode = mode or Mode()
    options = dict(options or {})
    if mode != Mode():
        options.update(summary=mode.summary, engine=mode.engine, csv=mode.csv)
    key = RunKey.of(input_path, kb_digest, options)
    summary = Summary()
    with _terminate_as_exit(), locked_partial(output_path) as stream:
        writer = PartialWriter(output_path, stream, key, mode.line_format())
        done = writer.resume(name) if resume else []
        if not done:
            writer.start_afresh()
        for outcome in done:
            summary.add(outcome)
        if progress is not None and done:
            progress(len(done))
        records = islice(records, len(done), None)
        batches: Iterator[list[Outcome] | Joined]
        if blocks is not None:
            reader.close()  # the input is read again, in blocks
            batches = blocks(input_path, name, kb_root, mode, len(done))
        elif consult_with is not None:
            batches = consult_with(records, name, kb_root, mode)
        elif workers <= 1:
            batches = consult_here(records, name, consultant or Consultant(kb_root), mode)
        else:
            batches = consult_in_processes(records, name, workers, kb_root, mode)
        try:
            for chunk in batches:
                if isinstance(chunk, Joined):
                    writer.write_joined(chunk.data)
                    summary.merge(chunk.summary)
                    count = chunk.summary.records
                else:
                    writer.write(chunk)
                    for outcome in chunk:
                        summary.add(outcome)
                    count = len(chunk)
                if progress is not None:
                    progress(count)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # stops the workers now, whatever ended the loop
        writer.finish()
    return summary


__all__ = ["run_batch"]
