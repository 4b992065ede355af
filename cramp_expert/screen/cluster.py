"""`batch --cluster dask`: the records of one input consulted on a Dask cluster, in input order.

The client (the `cramp-expert batch` process) reads the input, cuts it into partitions of
`PARTITION` records and submits each to the cluster; each Dask worker builds one consultant the
first time it gets a partition of a run (kept per worker thread: experta engines are not
thread-safe) and turns the partition's records into output lines exactly as `batch` does in a
process of its own. The client takes the partitions back in input order and hands them to
`batch.run_batch`'s writer, so progress, error records, the hidden partial file replaced at the
end and `--resume` are those of any batch run, and the output is byte for byte that of `batch`
with one worker.

Without a scheduler address, a `LocalCluster` of `workers` processes (one thread each) is started
on this machine and closed at the end. With one (`--scheduler tcp://host:8786`), the run uses
that cluster: its workers must be able to import this package (the same version) and, for a
knowledge base other than the bundled one or a folder of patient files, read the same paths.
At most `IN_FLIGHT` partitions per worker are outstanding at a time, so an input of any size
streams through in bounded memory.

`dask.distributed` is imported here only, when a run asks for Dask.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cramp_expert.batch import CHUNK, Outcome, Record, RecordConsultant, WorkerFailed
from cramp_expert.batch.pool import chunks
from cramp_expert.screen.records import Mode

PARTITION = 8 * CHUNK
"""Records per Dask task: large enough that the scheduler's cost per task (a few ms) is small
beside the records' own, small enough to keep the progress bar moving and the workers even."""
IN_FLIGHT = 3
"""Partitions submitted ahead per worker."""
QUIET_HTTP = "127.0.0.1:0"
"""Where a local cluster's scheduler serves its HTTP routes (any free port, this machine only)."""
START_SECONDS = 120
"""How long the cluster (or the connection to a scheduler) may take to start."""

_LOCAL = threading.local()


def _consultant_for(kb_root: str | None, input_name: str, mode: Mode) -> RecordConsultant:
    """This worker thread's consultant for a run, built once (the knowledge base, the engine)."""
    import gc

    from cramp_expert.api import Consultant

    key = (kb_root, input_name, mode)
    cached = getattr(_LOCAL, "consultants", None)
    if cached is None:
        cached = _LOCAL.consultants = {}
    consultant: RecordConsultant | None = cached.get(key)
    if consultant is None:
        root = Path(kb_root) if kb_root is not None else None
        cached.clear()  # one run at a time per thread: a previous run's consultant can go
        consultant = cached[key] = RecordConsultant(Consultant(root), input_name, mode)
        gc.freeze()  # long-lived: out of the collector's sight, as in batch's workers
    return consultant


def consult_partition(
    records: list[Record], kb_root: str | None, input_name: str, mode: Mode
) -> list[Outcome]:
    """One partition's outcomes, in order (runs on a Dask worker)."""
    consultant = _consultant_for(kb_root, input_name, mode)
    return [consultant.consult(record) for record in records]


class DaskOutcomes:
    """`batch.run_batch`'s source of outcomes, consulted on a Dask cluster.

    The cluster (or the connection to one) is opened when the first records come and closed
    when the last are done or the run stops, unless the caller opened it (`with`), in which
    case it serves every run until the caller closes it (each worker keeps its consultant).
    """

    def __init__(self, scheduler: str | None, workers: int):
        self.scheduler = scheduler
        self.workers = workers
        self.client: Any = None
        self.cluster: Any = None

    def __enter__(self) -> DaskOutcomes:
        import dask
        from dask.distributed import Client, LocalCluster

        # A loaded machine starts processes slowly: Dask's defaults (seconds) would fail a run
        # that only needed to wait.
        dask.config.set({"distributed.comm.timeouts.connect": f"{START_SECONDS}s"})
        # A local cluster's workers take their configuration from this process. Their
        # statistical profiler (a stack sample every 10 ms) feeds only the dashboard, which is
        # off; it cost each idle worker about 20 ms of CPU per second of wall, measured.
        dask.config.set({"distributed.worker.profile.enabled": False})
        try:
            if self.scheduler:
                self.client = Client(self.scheduler, timeout=START_SECONDS)  # type: ignore[no-untyped-call]
            else:
                self.cluster = LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    # No dashboard, and the scheduler's HTTP routes on a free port of 127.0.0.1:
                    # its default, 8787, is taken by any other cluster on the machine, and the
                    # warning that says so fails runs that treat warnings as errors.
                    scheduler_kwargs={"dashboard_address": QUIET_HTTP},
                    host="127.0.0.1",
                    timeout=START_SECONDS,
                )
                self.client = Client(self.cluster)  # type: ignore[no-untyped-call]
        except (OSError, RuntimeError) as exc:  # TimeoutError is an OSError
            self.__exit__()
            where = self.scheduler or "a local cluster"
            raise WorkerFailed(f"Dask: cannot start or reach {where}: {exc}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def warm(self, input_name: str, kb_root: Path | None, mode: Mode) -> None:
        """Have every worker build its consultant for a run now.

        The benchmark times runs on warm workers; a run does not need this (each worker builds
        its consultant on its first partition).
        """
        root = str(kb_root) if kb_root is not None else None
        futures = [
            self.client.submit(
                consult_partition, [], root, input_name, mode, workers=[address], pure=False
            )
            for address in self.client.scheduler_info().get("workers", {})
        ]
        self.client.gather(futures)

    def width(self) -> int:
        """How many workers the cluster has now (at least 1)."""
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def __call__(
        self, records: Iterator[Record], input_name: str, kb_root: Path | None, mode: Mode
    ) -> Iterator[list[Outcome]]:
        """Every record's outcome, a partition at a time, in input order."""
        root = str(kb_root) if kb_root is not None else None
        pending: deque[Any] = deque()
        partitions = chunks(records, PARTITION)
        # A cluster opened by the caller (`with DaskOutcomes(...) as outcomes:`, several runs on
        # warm workers, as the benchmark does) stays open; otherwise it is this run's own.
        own = self.client is None
        if own:
            self.__enter__()
        try:
            ahead = IN_FLIGHT * self.width()
            yield from self._in_order(partitions, pending, ahead, root, input_name, mode)
        finally:
            if own:
                self.__exit__()

    def _in_order(
        self,
        partitions: Iterator[list[Record]],
        pending: deque[Any],
        ahead: int,
        root: str | None,
        input_name: str,
        mode: Mode,
    ) -> Iterator[list[Outcome]]:
        try:
            for partition in partitions:
                pending.append(
                    self.client.submit(
                        consult_partition, partition, root, input_name, mode, pure=False
                    )
                )
                if len(pending) >= ahead:
                    yield from _in_chunks(pending.popleft().result())
            while pending:
                yield from _in_chunks(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()


def _in_chunks(outcomes: list[Outcome]) -> Iterator[list[Outcome]]:
    # The writer flushes and reports progress per chunk, as with batch's own workers.
    for start in range(0, len(outcomes), CHUNK):
        yield outcomes[start : start + CHUNK]


__all__ = ["IN_FLIGHT", "PARTITION", "QUIET_HTTP", "DaskOutcomes", "consult_partition"]
