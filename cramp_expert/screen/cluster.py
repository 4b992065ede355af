"""`batch --cluster dask`: the records of one input consulted on a Dask cluster, in input order.

A JSON Lines input (`DaskOutcomes.blocks`) is read where it is consulted. The client reads it in
blocks of whole lines (`BLOCK_BYTES` each, the last ones cut evenly: `blocks`) and works out each
block's first line and first record from the block's bytes as a whole (`batch.readers
.JsonlBlocks`); a worker turns the block into the very records `read_records` gives, numbered
alike (`batch.readers.block_records`, the reader's own code), consults them, and answers one
value: their output lines joined as the output holds them, with what the run's summary counts
(`consult_block`). The client writes those bytes as they come and adds the counts: its work per
record is nothing but a share of a copy (measured: the client and scheduler's CPU 0.014-0.017 ->
0.004-0.006 ms per compiled patient on 2 workers). The block's bytes go to the worker, never a
path: a `--scheduler` cluster's workers need not see this machine's files.

Any other input (CSV, a folder, FHIR Bulk Data) is read by the client into records, cut into
partitions (`partitions`): at most `PARTITION` records or about `PARTITION_BYTES` of record
text each, and, once the input's end is among the records read ahead, the rest cut into equal
partitions, a multiple of the number of workers, so that the workers finish together. Each
partition crosses to a worker as one value and its outcomes come back as one (`pack`:
MessagePack bytes, which Dask passes on as they are): one frame per task, never an object per
record (measured: Dask serialised a returned list element by element, one frame and one socket
read per record, and the scheduler read and rewrote every record on its way to a worker; its
client and scheduler cost about 15 ms of CPU per 256-record task).

Each Dask worker builds one consultant the first time it gets a block or partition of a run
(kept per worker thread: experta engines are not thread-safe) and turns the records into output
lines exactly as `batch` does in a process of its own. The client takes the answers back in
input order and hands them to `batch.run_batch`'s writer, so progress, error records, the
hidden partial file replaced at the end and `--resume` (the records done read past, then blocks)
are those of any batch run, and the output is byte for byte that of `batch` with one worker.

Without a scheduler address, a `LocalCluster` of `workers` processes (one thread each) is started
on this machine and closed at the end, with `LOCAL_CONFIG`: its periodic housekeeping slowed or
off, because on a machine of few cores the client process (client, scheduler, nannies) shares
the cores with the workers and every idle millisecond it spends is taken from them. With an
address (`--scheduler tcp://host:8786`), the run uses that cluster as its owner configured it:
its workers must be able to import this package (the same version) and, for a knowledge base
other than the bundled one or a folder of patient files, read the same paths. At most
`IN_FLIGHT` blocks or partitions per worker are outstanding at a time, and at most a round of
partitions (one per worker) is read ahead, so an input of any size streams through in bounded
memory.

`dask.distributed` is imported here only, when a run asks for Dask.
"""

from __future__ import annotations

import gc
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from cramp_expert.batch import CHUNK, Outcome, Record, RecordConsultant, Summary, WorkerFailed
from cramp_expert.batch.readers import Block, JsonlBlocks, block_records, jsonl_blocks
from cramp_expert.batch.summary import Joined
from cramp_expert.batch.writer import joined_lines
from cramp_expert.screen.records import Mode

PARTITION = 64 * CHUNK
"""Most records per Dask task (2,048). Dask's client and scheduler cost about 5-7 ms of CPU per
task, whatever its size (measured on the benchmark's register, 2 local workers: 0.036-0.044 ms
per patient with tasks of 256 records, 0.019-0.026 with 1,024, 0.017-0.021 with 2,048), against a
worker's 0.1-0.3 ms per compiled screening record. Big enough to matter only on a large
input: a smaller one is cut evenly over the workers (`partitions`)."""
PARTITION_BYTES = 2 * 1024 * 1024
"""About the most record text per task (at least one record: a record's own limit is 2 MiB), so
that a partition of large records (FHIR patients, long CSV rows) stays small in memory."""
BLOCK_BYTES = 1024 * 1024
"""Bytes of a JSON Lines input per Dask task (and the rest of its last line; at most a record's
own limit, 2 MiB): about 6,000 of the benchmark's register patients (175 bytes each). The
client's cost is now Dask's per task (submitting, relaying the bytes, the answer: 10-20 ms
measured), so tasks are large; an input of a few blocks is cut evenly over the workers."""
FULL_BLOCK_BYTES = 128 * 1024
"""The same for `--full`, whose lines are 100 times a screening record's (a block of 1 MiB
would answer with hundreds of megabytes): about 750 register patients, a few seconds of a
worker's experta, beside which Dask's cost per task is nothing."""
IN_FLIGHT = 3
"""Partitions submitted ahead per worker: one being consulted, one waiting on the worker, one in
the scheduler's queue for whichever worker frees up first."""
LOCAL_CONFIG: dict[str, object] = {
    # The statistical profiler (a stack sample every 10 ms in each worker) feeds only the
    # dashboard, which is off: 20 ms of CPU per second per idle worker, measured.
    "distributed.worker.profile.enabled": False,
    # The event-loop health check (every 20 ms in the scheduler, each worker and each nanny)
    # only warns of a blocked loop, after 3 s (`admin.tick.limit`); once a second still does.
    # Measured idle on 2 workers: the client process 48-52 -> 20-26 ms CPU per second of wall,
    # each worker 18-28 -> 8-10.
    "distributed.admin.tick.interval": "1s",
    # Resource figures (psutil, every 500 ms in each server) feed the dashboard and heartbeats.
    "distributed.admin.system-monitor.interval": "5s",
    # Memory checks (every 100 ms in each worker and nanny): a run holds a few partitions per
    # worker, so a check a second still pauses or restarts a runaway worker in time.
    "distributed.worker.memory.monitor-interval": "1s",
    # Work stealing (every 100 ms) evens out uneven tasks; these are even by construction, and
    # the scheduler's queue hands each worker its next one as it frees up.
    "distributed.scheduler.work-stealing": False,
}
"""Dask configuration of a local cluster started here (not of a `--scheduler` cluster): with all
four slowed or off, an idle 2-worker cluster cost the client process 6-12 ms of CPU per second
of wall instead of 48-58, and each worker 2-6 instead of 18-28 (measured)."""
QUIET_HTTP = "127.0.0.1:0"
"""Where a local cluster's scheduler serves its HTTP routes (any free port, this machine only)."""
START_SECONDS = 120
"""How long the cluster (or the connection to a scheduler) may take to start."""

_LOCAL = threading.local()


def _consultant_for(kb_root: str | None, input_name: str, mode: Mode) -> RecordConsultant:
    """This worker thread's consultant for a run, built once (the knowledge base, the engine)."""
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


@dataclass(frozen=True)
class Partition:
    """A partition's records or outcomes as one object, for those MessagePack cannot carry.

    Its strings must be UTF-8: a lone surrogate (an undecodable byte of a file name, kept as
    Python keeps it) cannot be. Dask then serialises this object as a whole, once (a list or
    tuple it is handed would be serialised element by element).
    """

    values: tuple[Any, ...]


_ENCODER = msgspec.msgpack.Encoder()
_RECORDS = msgspec.msgpack.Decoder(list[Record])
_OUTCOMES = msgspec.msgpack.Decoder(list[Outcome])


def pack(values: list[Record] | list[Outcome]) -> bytes | Partition:
    """A partition's records, or their outcomes, as the one value that crosses to or from a worker.

    MessagePack bytes (data only, read back into the same dataclasses, their checks run), or a
    `Partition` if a string is not UTF-8.
    """
    try:
        return _ENCODER.encode(values)
    except UnicodeEncodeError:
        return Partition(tuple(values))


def unpack_records(payload: bytes | Partition) -> list[Record]:
    """The records `pack` was given, equal and in order."""
    if isinstance(payload, Partition):
        return list(payload.values)
    return _RECORDS.decode(payload)


def unpack_outcomes(payload: bytes | Partition) -> list[Outcome]:
    """The outcomes `pack` was given, equal and in order."""
    if isinstance(payload, Partition):
        return list(payload.values)
    return _OUTCOMES.decode(payload)


def consult_partition(
    payload: bytes | Partition, kb_root: str | None, input_name: str, mode: Mode
) -> bytes | Partition:
    """One partition's outcomes, in order (runs on a Dask worker): `pack`ed records in and out."""
    consultant = _consultant_for(kb_root, input_name, mode)
    return pack([consultant.consult(record) for record in unpack_records(payload)])


_JOINED = msgspec.msgpack.Decoder(
    tuple[bytes, tuple[int, int, int, int, dict[str, int], dict[str, int], dict[str, int]]]
)


def consult_block(
    data: bytes,
    where: tuple[int, int, int, bool],
    kb_root: str | None,
    input_name: str,
    mode: Mode,
) -> bytes | Partition:
    """A block of JSON Lines consulted (runs on a Dask worker): its output lines and counts.

    `data` and `where` (its first line, first record, records, and whether an over-long line
    follows) are a `Block`'s. The answer is one value (`unpack_joined`): the lines joined as
    the output holds them, with what the run's summary counts of them; or, if a line is not
    UTF-8 text, the outcomes themselves (a `Partition`), for the client to write as it would.
    """
    consultant = _consultant_for(kb_root, input_name, mode)
    block = Block(data, *where)
    outcomes = [consultant.consult(record) for record in block_records(block, input_name)]
    counts = Summary()
    for outcome in outcomes:
        counts.add(outcome)
    try:
        joined = joined_lines(outcomes)
    except UnicodeEncodeError:
        return Partition(tuple(outcomes))
    return _ENCODER.encode(
        (
            joined,
            (
                counts.records,
                counts.consulted,
                counts.failed,
                counts.internal,
                counts.causes,
                counts.red_flags,
                counts.errors,
            ),
        )
    )


def unpack_joined(payload: bytes | Partition) -> Joined | list[Outcome]:
    """What `consult_block` answered: the joined lines and their counts, or the outcomes."""
    if isinstance(payload, Partition):
        return list(payload.values)
    data, (records, consulted, failed, internal, causes, red_flags, errors) = _JOINED.decode(
        payload
    )
    counts = Summary(
        records, consulted, failed, internal, Counter(causes), Counter(red_flags), Counter(errors)
    )
    return Joined(data, counts)


def _size(record: Record) -> int:
    """About how many bytes a record holds (its text, cells and path)."""
    size = len(record.text) + len(record.path)
    if record.cells:
        size += sum(len(column) + len(cell) for column, cell in record.cells)
    return size


def partitions(
    records: Iterator[Record],
    workers: int,
    most: int = PARTITION,
    most_bytes: int = PARTITION_BYTES,
) -> Iterator[list[Record]]:
    """`records`, in order, in partitions for `workers` workers, handed out in rounds.

    A round is one partition per worker. While more than a round of full partitions (`most`
    records each, or fewer whose text reaches `most_bytes`) lies ahead, a round of full ones
    goes; the records left then, every one read ahead so their number is known, are cut into
    equal partitions, a round or a few, none longer than `most`. Whole rounds of equal
    partitions end the workers' work together: one partition more than a round would leave
    every worker but one idle while it is consulted.
    """
    workers = max(1, workers)
    ahead: deque[Record] = deque()
    sizes: deque[int] = deque()  # each record's `_size`, beside it
    held = 0  # their sum
    while True:
        lengths: list[int] = []
        if len(ahead) > workers * most or held > workers * most_bytes:
            lengths = _round(sizes, workers, most, most_bytes)
        if not lengths:  # no more than a round's worth ahead: read on
            record = next(records, None)
            if record is None:
                yield from _even(list(ahead), list(sizes), workers, most, most_bytes)
                return
            ahead.append(record)
            sizes.append(_size(record))
            held += sizes[-1]
            continue
        for length in lengths:
            partition = [ahead.popleft() for _ in range(length)]
            held -= sum(sizes.popleft() for _ in range(length))
            yield partition


def _round(sizes: deque[int], workers: int, most: int, most_bytes: int) -> list[int]:
    """The lengths of a round of full partitions at the front of `sizes` ([]: no more than that).

    A partition closes with its `most`-th record or with the record that takes its text to
    `most_bytes`.
    """
    lengths: list[int] = []
    ahead = iter(sizes)
    for _ in range(workers):
        length = held = 0
        while length < most and (not length or held < most_bytes):
            size = next(ahead, None)
            if size is None:
                return []
            length += 1
            held += size
        lengths.append(length)
    return lengths if next(ahead, None) is not None else []


def _even(
    left: list[Record], sizes: list[int], workers: int, most: int, most_bytes: int
) -> Iterator[list[Record]]:
    """`left` in equal contiguous partitions, whole rounds of `workers`.

    As few rounds as keep every partition within the bounds of a full one: at most `most`
    records, and text below `most_bytes` before its last record.
    """
    if not left:
        return
    rounds = max(-(-len(left) // (workers * most)), 1)
    while True:
        count = min(len(left), workers * rounds)
        base, extra = divmod(len(left), count)
        ends = [(index + 1) * base + min(index + 1, extra) for index in range(count)]
        starts = [0, *ends[:-1]]
        if count == len(left) or all(
            sum(sizes[start : end - 1]) < most_bytes
            for start, end in zip(starts, ends, strict=True)
        ):
            break
        rounds += 1
    for start, end in zip(starts, ends, strict=True):
        yield left[start:end]


def blocks(reader: JsonlBlocks, workers: int, most: int = BLOCK_BYTES) -> Iterator[Block]:
    """The blocks of a JSON Lines input for `workers` workers, in order, handed out in rounds.

    As `partitions` cuts records: while more than two rounds of full blocks (`most` bytes
    each) are left, a round of full ones goes; the rest is cut into equal blocks, a round or
    two of them, so that the workers finish together. The bytes left are the file's size less
    what was read, known without reading ahead.
    """
    workers = max(1, workers)
    while reader.left() > 2 * workers * most:
        for _ in range(workers):
            block = reader.next(most)
            if block is None:
                return
            yield block
    count = workers * max(1, -(-reader.left() // (workers * most)))
    for index in range(count):
        # Each block its share of what is left: a block ends at a line's end, past its size.
        block = reader.next(-(-reader.left() // (count - index)))
        if block is None:
            return
        yield block
    while (block := reader.next(most)) is not None:  # a file that grew while being read
        yield block


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
        self.tasks = 0
        """Partitions submitted by the last run (the benchmark reports Dask's cost per task)."""

    def __enter__(self) -> DaskOutcomes:
        import dask
        from dask.distributed import Client, LocalCluster

        # A loaded machine starts processes slowly: Dask's defaults (seconds) would fail a run
        # that only needed to wait.
        dask.config.set({"distributed.comm.timeouts.connect": f"{START_SECONDS}s"})
        try:
            if self.scheduler:
                self.client = Client(self.scheduler, timeout=START_SECONDS)  # type: ignore[no-untyped-call]
            else:
                # The scheduler, nannies and workers read their configuration as they start (the
                # workers get it from their nanny), so it holds for this cluster only and not
                # for anything else this process runs afterwards.
                with dask.config.set(LOCAL_CONFIG):
                    self.cluster = LocalCluster(  # type: ignore[no-untyped-call]
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        # No dashboard, and the scheduler's HTTP routes on a free port of
                        # 127.0.0.1: its default, 8787, is taken by any other cluster on the
                        # machine, and the warning that says so fails runs that treat warnings
                        # as errors.
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
                consult_partition,
                Partition(()),
                root,
                input_name,
                mode,
                workers=[address],
                pure=False,
            )
            for address in self.client.scheduler_info().get("workers", {})
        ]
        self.client.gather(futures)

    def width(self) -> int:
        """How many workers the cluster has now (at least 1)."""
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    @contextmanager
    def _run(self) -> Iterator[int]:
        """A run on the cluster (opened for it, unless the caller opened it): its width."""
        # A cluster opened by the caller (`with DaskOutcomes(...) as outcomes:`, several runs on
        # warm workers, as the benchmark does) stays open; otherwise it is this run's own.
        own = self.client is None
        if own:
            self.__enter__()
        # Everything this process holds now (the knowledge base, Dask's modules, the cluster)
        # lives through the run: out of the collector's sight, as in batch's own workers. A full
        # collection over it cost about 50 ms, once in every few runs of 5,000 records (measured:
        # 0.01 ms per patient, half the client's CPU for the work, when it came).
        gc.freeze()
        try:
            yield self.width()
        finally:
            if own:
                self.__exit__()

    def __call__(
        self, records: Iterator[Record], input_name: str, kb_root: Path | None, mode: Mode
    ) -> Iterator[list[Outcome]]:
        """Every record's outcome, a partition at a time, in input order."""
        root = str(kb_root) if kb_root is not None else None
        with self._run() as width:
            tasks = (
                (consult_partition, (pack(partition),))
                for partition in partitions(records, width, PARTITION, PARTITION_BYTES)
            )
            for payload in self._in_order(tasks, IN_FLIGHT * width, root, input_name, mode):
                yield from _in_chunks(unpack_outcomes(payload))

    def blocks(
        self, path: Path, input_name: str, kb_root: Path | None, mode: Mode, done: int = 0
    ) -> Iterator[Joined | list[Outcome]]:
        """A JSON Lines input consulted in blocks (`batch.run_batch` reads nothing else of it).

        The records after the first `done` (read past here), a block per task: the block's
        bytes go to a worker (not a path: a worker need not see this machine's files), which
        reads them into records numbered as `read_records` numbers them, consults them and
        answers their lines joined with their counts (`consult_block`). Here each block costs a
        read, a count of its newlines and blank lines, and a write: nothing per record. The
        records a worker read must be as many as counted here, or the run stops (WorkerFailed):
        a numbering that went wrong is never written.
        """
        root = str(kb_root) if kb_root is not None else None
        with self._run() as width, jsonl_blocks(path, input_name) as reader:
            reader.skip(done)
            sent: deque[Block] = deque()

            def tasks() -> Iterator[tuple[Callable[..., Any], tuple[Any, ...]]]:
                size = BLOCK_BYTES if mode.summary else FULL_BLOCK_BYTES
                for block in blocks(reader, width, size):
                    sent.append(block)
                    where = (block.line, block.number, block.records, block.long)
                    yield consult_block, (block.data, where)

            for payload in self._in_order(tasks(), IN_FLIGHT * width, root, input_name, mode):
                block = sent.popleft()
                joined = unpack_joined(payload)
                got = joined.summary.records if isinstance(joined, Joined) else len(joined)
                if got != block.records:
                    raise WorkerFailed(
                        f"Dask: the block of {input_name} from line {block.line} held {got} "
                        f"records on its worker, {block.records} as counted here (a bug, please "
                        "report it); the records before it are written, and --resume goes on"
                    )
                if isinstance(joined, Joined):
                    yield joined
                else:
                    yield from _in_chunks(joined)

    def _in_order(
        self,
        tasks: Iterator[tuple[Callable[..., Any], tuple[Any, ...]]],
        ahead: int,
        *common: Any,
    ) -> Iterator[Any]:
        """Each task's answer, in order, with at most `ahead` submitted and not yet answered.

        A task is a function and its first arguments (`common` follow them): its payload goes
        first, as one value.
        """
        self.tasks = 0
        pending: deque[Any] = deque()
        try:
            for function, args in tasks:
                pending.append(self.client.submit(function, *args, *common, pure=False))
                self.tasks += 1
                if len(pending) >= ahead:
                    yield _answer(pending.popleft())
            while pending:
                yield _answer(pending.popleft())
        finally:
            for future in pending:
                future.cancel()


def _answer(future: Any) -> Any:
    """A task's answer; a task whose workers kept dying (Dask gave up on it) is WorkerFailed."""
    try:
        return future.result()
    except Exception as exc:
        # `distributed.KilledWorker`, known by name: nothing of Dask's is imported for a run
        # that never gets here.
        if type(exc).__name__ != "KilledWorker":
            raise
        raise WorkerFailed(
            f"Dask: {exc}; the lines before its records are written, and --resume goes on"
        ) from None


def _in_chunks(outcomes: list[Outcome]) -> Iterator[list[Outcome]]:
    # The writer flushes and reports progress per chunk, as with batch's own workers.
    for start in range(0, len(outcomes), CHUNK):
        yield outcomes[start : start + CHUNK]


__all__ = [
    "BLOCK_BYTES",
    "FULL_BLOCK_BYTES",
    "IN_FLIGHT",
    "LOCAL_CONFIG",
    "PARTITION",
    "PARTITION_BYTES",
    "QUIET_HTTP",
    "DaskOutcomes",
    "Partition",
    "blocks",
    "consult_block",
    "consult_partition",
    "pack",
    "partitions",
    "unpack_joined",
    "unpack_outcomes",
    "unpack_records",
]
