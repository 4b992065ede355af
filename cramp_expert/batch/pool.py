"""The worker pool: records consulted in several processes, outcomes back in input order.

Each worker is a spawned process (nothing shared but the knowledge base's folder) that builds its
own consultant once and then consults chunks of records sent over its own pipe. Only plain
values cross a process boundary: records out, `Outcome`s back (`RecordConsultant.consult` turns
every per-record failure into an error line), so nothing a worker raises ever has to be rebuilt
in the parent.

The parent watches every worker's pipe and its process at once
(`multiprocessing.connection.wait`), so a worker that dies (killed, out of memory, a crash in C)
ends the run with `WorkerFailed` naming it and the records it held, never a hang. Each worker
holds at most one chunk: the parent only writes to a worker that is waiting for work, so neither
side can block the other on a full pipe. Workers are started as work arrives, up to the number
asked for: one record never starts forty processes.

On any exit from the run (the end, Ctrl-C, SIGTERM turned into SystemExit, an error) the workers
are told to stop, then terminated, then killed, and always waited for. A worker whose parent is
gone (killed with SIGKILL) finds its pipe closed and exits quietly, with no traceback.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from cramp_expert.api import Consultant
from cramp_expert.batch.readers import Record
from cramp_expert.batch.records import Outcome, RecordConsultant
from cramp_expert.errors import CrampExpertError
from cramp_expert.screen.records import Mode

CHUNK = 32
"""Records sent to a worker at a time: enough to make the hand-over cheap, few enough to keep
the progress bar moving."""
AHEAD = 4
"""Chunks per worker that may be done ahead of the one the output waits for."""
STOP_SECONDS = 5.0
"""How long a worker is given to stop, then to die of SIGTERM, before SIGKILL."""
START_METHOD = "spawn"
"""How worker processes start (`fork` starts them faster where it exists; tests use both)."""


class WorkerFailed(CrampExpertError):
    """A worker process could not start or died: the run cannot finish."""


def chunks(records: Iterator[Record], size: int = CHUNK) -> Iterator[list[Record]]:
    """`records` in lists of `size` (the last shorter)."""
    while chunk := list(islice(records, size)):
        yield chunk


def consult_here(
    records: Iterator[Record], input_name: str, consultant: Consultant, mode: Mode | None = None
) -> Iterator[list[Outcome]]:
    """Consult every record in this process, a chunk at a time."""
    here = RecordConsultant(consultant, input_name, mode)
    gc.freeze()  # as in a worker: the knowledge base and engine, out of the collector's sight
    for chunk in chunks(records):
        yield [here.consult(record) for record in chunk]


def serve(
    connection: Connection, kb_root: Path | None, input_name: str, mode: Mode | None = None
) -> None:
    """A worker's life: build a consultant, then consult each chunk sent until told to stop."""
    # Ctrl-C reaches every process of the terminal's group; the parent handles it and stops
    # the workers, and a worker interrupted mid-record would only add a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the run's SIGTERM handler (`run._terminate_as_exit`), which
    # would turn the pool's SIGTERM at shutdown into a SystemExit inside the worker: workers
    # end as SIGTERM's default does.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        try:
            here = RecordConsultant(Consultant(kb_root), input_name, mode)
        except BaseException as exc:
            connection.send(("failed", f"{type(exc).__name__}: {exc}"))
            return
        # The knowledge base and engine live as long as the worker: out of the collector's
        # sight, they are not scanned again at every collection.
        gc.freeze()
        connection.send(("ready", None))
        while (task := connection.recv()) is not None:
            index, records = task
            connection.send(("done", (index, [here.consult(record) for record in records])))
    except (EOFError, OSError):
        pass  # the parent is gone (its end of the pipe closed): leave quietly
    finally:
        connection.close()


@dataclass
class _Worker:
    number: int
    process: BaseProcess
    connection: Connection
    ready: bool = False
    task: tuple[int, list[Record]] | None = None

    def held(self) -> str:
        if self.task is None or not self.task[1]:
            return "no records"
        first, last = self.task[1][0].number, self.task[1][-1].number
        return f"records {first} to {last}" if first != last else f"record {first}"


@dataclass
class _Pool:
    size: int
    kb_root: Path | None
    input_name: str
    mode: Mode | None = None
    workers: list[_Worker] = field(default_factory=list)

    def start(self) -> _Worker:
        context: Any = multiprocessing.get_context(START_METHOD)
        parent, child = context.Pipe(duplex=True)
        process = context.Process(
            target=serve, args=(child, self.kb_root, self.input_name, self.mode), daemon=True
        )
        try:
            process.start()
        except OSError as exc:
            raise WorkerFailed(f"cannot start a worker process: {exc.strerror}") from None
        child.close()  # the worker's end: our copy closed, so its death reads as end of file
        worker = _Worker(len(self.workers) + 1, process, parent)
        self.workers.append(worker)
        return worker

    def died(self, worker: _Worker) -> WorkerFailed:
        worker.process.join(STOP_SECONDS)
        code = worker.process.exitcode
        how = (
            f"was killed by signal {-code}"
            if code is not None and code < 0
            else f"exited with status {code}"
        )
        return WorkerFailed(
            f"worker process {worker.number} {how} while consulting {worker.held()}; "
            "the records before them are kept: run again with --resume to carry on"
        )

    def stop(self) -> None:
        for worker in self.workers:
            try:
                if worker.process.is_alive() and worker.task is None:
                    worker.connection.send(None)
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join(STOP_SECONDS if worker.task is None else 0)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(STOP_SECONDS)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.connection.close()
            worker.process.close()
        self.workers.clear()


def consult_in_processes(
    records: Iterator[Record],
    input_name: str,
    workers: int,
    kb_root: Path | None,
    mode: Mode | None = None,
) -> Iterator[list[Outcome]]:
    """Consult every record in up to `workers` processes; chunks of outcomes in input order.

    Raises WorkerFailed when a worker cannot start or dies.
    """
    pool = _Pool(workers, kb_root, input_name, mode)
    pending = chunks(records)
    queue: deque[list[Record]] = deque()  # read, not yet handed out
    sent = 0  # chunks handed out (the next one's index)
    wanted = 0  # the chunk the output waits for
    finished: dict[int, list[Outcome]] = {}
    exhausted = False
    try:
        while True:
            while wanted in finished:
                yield finished.pop(wanted)
                wanted += 1
            while (
                not exhausted
                and len(queue) < workers
                and sent + len(queue) < wanted + AHEAD * workers
            ):
                chunk = next(pending, None)
                if chunk is None:
                    exhausted = True
                else:
                    queue.append(chunk)
            for worker in pool.workers:
                if queue and worker.ready and worker.task is None:
                    worker.task = (sent, queue.popleft())
                    worker.connection.send(worker.task)
                    sent += 1
            # One more process only for work no started worker will take.
            starting = sum(not worker.ready for worker in pool.workers)
            while len(pool.workers) < workers and starting < len(queue):
                pool.start()
                starting += 1
            if exhausted and not queue and all(w.task is None for w in pool.workers):
                return
            _receive(pool, finished)
    finally:
        pool.stop()


def _receive(pool: _Pool, finished: dict[int, list[Outcome]]) -> None:
    """Wait for any worker to answer or die, and take what it says."""
    waiting: dict[Any, _Worker] = {}
    for worker in pool.workers:
        waiting[worker.connection] = worker
        waiting[worker.process.sentinel] = worker
    answered = {id(waiting[ready]): waiting[ready] for ready in wait(list(waiting))}
    for worker in answered.values():
        try:
            if not worker.connection.poll():
                raise EOFError
            kind, value = worker.connection.recv()
        except (EOFError, OSError):
            raise pool.died(worker) from None
        if kind == "failed":
            raise WorkerFailed(f"worker process {worker.number} could not start: {value}")
        if kind == "ready":
            worker.ready = True
        else:
            index, outcomes = value
            finished[index] = outcomes
            worker.task = None


__all__ = ["CHUNK", "WorkerFailed", "chunks", "consult_here", "consult_in_processes", "serve"]
