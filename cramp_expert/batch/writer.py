"""The resumable writer: whole lines to a locked partial file, OUTPUT replaced only at the end.

A run writes its lines to a hidden partial file beside OUTPUT (`partial_path`), a chunk of whole
lines at a time, and renames it over OUTPUT only when every record is done: OUTPUT is only ever
the previous output (or absent) or the complete new one.

- **One run per OUTPUT.** The partial file is locked (`flock`, exclusive) for the whole run; a
  second run writing the same OUTPUT refuses to start (`OutputBusy`) instead of mixing its lines
  into the first one's.
- **Resume only what this run would write.** Beside the partial file, its key file
  (`key_path`) records the SHA-256 of the input's content, the knowledge base's digest and the
  options that change the output. `--resume` carries on only when all three are the same;
  otherwise it refuses (`ResumeRefused`), naming what changed, and a run without `--resume`
  starts afresh.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cramp_expert.batch.readers import PATIENT_SUFFIXES
from cramp_expert.batch.records import Outcome
from cramp_expert.errors import CrampExpertError, InputError
from cramp_expert.screen.records import LineFormat
from cramp_expert.source import open_regular

KEY_FORMAT = 1


class OutputBusy(CrampExpertError):
    """Another run is writing the same OUTPUT."""


class ResumeRefused(CrampExpertError):
    """`--resume` of a partial file written for another input, knowledge base or options."""


def partial_path(output_path: Path) -> Path:
    """Where a run writes its lines until it ends: beside OUTPUT, hidden, one per OUTPUT.

    Its name is fixed (not random) so that `--resume` finds the lines of an interrupted run.
    """
    return output_path.parent / f".{output_path.name}.partial"


def key_path(output_path: Path) -> Path:
    """Where the partial file's key (what it was written for) is kept."""
    return output_path.parent / f".{output_path.name}.partial.key"


def input_digest(path: Path) -> str:
    """SHA-256 of the input's content.

    A file's bytes, or a folder's patient files (names and bytes, in name order).
    """
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.iterdir() if p.suffix.lower() in PATIENT_SUFFIXES):
            digest.update(file.name.encode("utf-8", "surrogateescape") + b"\0")
            _hash_file(file, digest)
            digest.update(b"\0")
    else:
        _hash_file(path, digest)
    return digest.hexdigest()


def _hash_file(path: Path, digest: hashlib._Hash) -> None:
    try:
        with open_regular(path) as stream:  # a FIFO is not waited on
            while block := stream.read(1 << 20):
                digest.update(block)
    except (InputError, OSError):
        digest.update(b"<unreadable>")


@dataclass(frozen=True)
class RunKey:
    """What a run's output depends on: its input's content, the knowledge base, the options."""

    input: str
    knowledge_base: str
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, input_path: Path, kb_digest: str, options: Mapping[str, object]) -> RunKey:
        """The key of a run over `input_path`."""
        return cls(
            input_digest(input_path),
            kb_digest,
            tuple(sorted((name, str(value)) for name, value in options.items())),
        )

    def text(self) -> str:
        """The key file's content."""
        return json.dumps(
            {
                "format": KEY_FORMAT,
                "input_sha256": self.input,
                "knowledge_base": self.knowledge_base,
                "options": dict(self.options),
            },
            sort_keys=True,
        )

    def changed(self, stored: str) -> list[str]:
        """What differs from a stored key (everything, when it cannot be read)."""
        try:
            before = json.loads(stored)
            if not isinstance(before, dict) or before.get("format") != KEY_FORMAT:
                raise ValueError
        except ValueError:
            return ["the partial file's key"]
        changes = []
        if before.get("input_sha256") != self.input:
            changes.append("the input's content")
        if before.get("knowledge_base") != self.knowledge_base:
            changes.append("the knowledge base")
        if before.get("options") != dict(self.options):
            changes.append("the options")
        return changes


def _lock(stream: IO[bytes], path: Path, output: Path) -> None:
    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EACCES, errno.EAGAIN):
            raise OutputBusy(
                f"another run is writing {output} (its partial file {path} is locked): "
                "wait for it to end, or choose another OUTPUT"
            ) from None
        raise


@contextmanager
def locked_partial(output_path: Path) -> Iterator[IO[bytes]]:
    """The partial file, opened for reading and writing and locked for this run.

    The lock is taken on the file the path names at that moment: if another run renamed it
    over OUTPUT in between, the lock is on OUTPUT's file, so the path is opened again.
    """
    path = partial_path(output_path)
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        stream = os.fdopen(descriptor, "r+b")
        try:
            _lock(stream, path, output_path)
            same = os.fstat(descriptor).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        except BaseException:
            stream.close()
            raise
        if same:
            break
        stream.close()
    try:
        yield stream
    finally:
        stream.close()  # releases the lock


def completed(
    stream: IO[bytes], input_name: str, lines: LineFormat | None = None
) -> tuple[list[Outcome], int]:
    """The records an interrupted run finished, and the length of the file that holds them.

    A record counts only when its line is whole (ends with a newline), is JSON (or, with
    `lines`, that format's line, after its header), belongs to this input and comes in order
    (record 1, 2, ...): a line cut by the interruption is dropped and its record consulted again.
    """
    done: list[Outcome] = []
    length = 0
    header = lines.header if lines is not None else None
    stream.seek(0)
    for raw in stream:
        if not raw.endswith(b"\n"):
            break
        try:
            line = raw.decode("utf-8").rstrip("\n")
            if header is not None and length == 0:
                if line != header:
                    break
                length += len(raw)
                continue
            source = lines.source_of(line) if lines else json.loads(line)["source"]
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            break
        if source.get("input") != input_name or source.get("record") != len(done) + 1:
            break
        done.append(outcome_of_line(line, lines))
        length += len(raw)
    if not done:
        return [], 0  # nothing to keep (a header alone is written again)
    return done, length


def outcome_of_line(line: str, lines: LineFormat | None = None) -> Outcome:
    """What the summary counts of an output line already written (a resumed run recounts)."""
    if lines is not None:
        counted = lines.counted(line)
        return Outcome(line, counted.causes, counted.red_flags, counted.errors)
    entry = json.loads(line)
    if "error" in entry:
        return Outcome(line, errors=tuple(entry["error"].get("codes", ["error"])))
    return Outcome(
        line,
        causes=tuple(item["id"] for item in entry.get("causes", [])),
        red_flags=tuple(item["id"] for item in entry.get("red_flags", [])),
    )


def joined_lines(outcomes: Iterable[Outcome]) -> bytes:
    """Outcomes' lines as the output holds them: each with its newline, UTF-8.

    Raises UnicodeEncodeError for a line that is not UTF-8 text.
    """
    return "".join(outcome.line + "\n" for outcome in outcomes).encode("utf-8")


class PartialWriter:
    """Writes one run's lines to its locked partial file and, at the end, replaces OUTPUT."""

    def __init__(
        self, output_path: Path, stream: IO[bytes], key: RunKey, lines: LineFormat | None = None
    ):
        self.output = output_path
        self.stream = stream
        self.key = key
        self.lines = lines
        """The lines' format (`screen.records`): its header first, and how to read them back."""

    def resume(self, input_name: str) -> list[Outcome]:
        """The records a previous run for the same key finished (raises ResumeRefused)."""
        keys = key_path(self.output)
        try:
            stored = keys.read_text(encoding="utf-8")
        except FileNotFoundError:
            stored = None
        self.stream.seek(0, os.SEEK_END)
        if stored is None:
            if self.stream.tell() == 0:
                return []  # nothing to resume: a fresh run
            raise ResumeRefused(
                f"cannot resume: {partial_path(self.output)} has no key saying which input, "
                "knowledge base and options it was written for; run without --resume to start "
                "afresh"
            )
        changes = self.key.changed(stored)
        if changes:
            raise ResumeRefused(
                f"cannot resume: {' and '.join(changes)} changed since the interrupted run "
                f"(the records in {partial_path(self.output)} were written for other ones); run "
                "without --resume to start afresh"
            )
        done, length = completed(self.stream, input_name, self.lines)
        self.stream.truncate(length)  # drop a line the interruption cut short
        self.stream.seek(length)
        return done

    def start_afresh(self) -> None:
        """Empty the partial file and record what it is being written for."""
        self.stream.seek(0)
        self.stream.truncate(0)
        keys = key_path(self.output)
        temporary = keys.with_name(keys.name + ".tmp")
        temporary.write_text(self.key.text(), encoding="utf-8")
        os.replace(temporary, keys)
        if self.lines is not None and self.lines.header is not None:
            self.stream.write((self.lines.header + "\n").encode("utf-8"))
            self.stream.flush()

    def write(self, outcomes: Iterable[Outcome]) -> None:
        """Append whole lines and flush them: a resumed run can trust every line it finds."""
        self.write_joined(joined_lines(outcomes))

    def write_joined(self, data: bytes) -> None:
        """Append lines already joined (`joined_lines`, made elsewhere) and flush them."""
        self.stream.write(data)
        self.stream.flush()

    def finish(self) -> None:
        """Every record done: the partial file, synced, becomes OUTPUT; its key goes."""
        self.stream.flush()
        os.fsync(self.stream.fileno())
        os.replace(partial_path(self.output), self.output)
        key_path(self.output).unlink(missing_ok=True)


__all__ = [
    "OutputBusy",
    "PartialWriter",
    "ResumeRefused",
    "RunKey",
    "completed",
    "input_digest",
    "joined_lines",
    "key_path",
    "locked_partial",
    "outcome_of_line",
    "partial_path",
]
