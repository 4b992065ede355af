"""Dask's side of `batch --cluster dask`: what crosses to a worker, how the input is cut, and the
local cluster's own configuration.

- A partition crosses to a worker and back as one value (MessagePack bytes, or an object when a
  string is not UTF-8): Dask sends it in one frame whatever its length, and the records and
  outcomes that come out are the ones that went in, of every kind (JSON Lines, CSV cells, files
  with undecodable bytes in their names, FHIR, records that carry problems).
- `partitions` keeps every record, in order, none longer than the bound; it hands the partitions
  out in rounds, one per worker, and cuts the records left at the end into equal partitions,
  whole rounds; it reads at most a round ahead.
- A local cluster started for a run gets `LOCAL_CONFIG` (this process keeps its own); with the
  partitions made small, runs on it (JSON Lines and CSV summaries, full results, a resumed run)
  write byte for byte what batch writes in one process.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cramp_expert import batch
from cramp_expert.api import Consultant
from cramp_expert.batch import Outcome, Record, readers
from cramp_expert.errors import Location, Problem
from cramp_expert.kb import load_knowledge_base
from cramp_expert.screen import cluster
from cramp_expert.screen.cluster import (
    Partition,
    pack,
    partitions,
    unpack_outcomes,
    unpack_records,
)
from cramp_expert.screen.records import Mode
from cramp_expert.verify.sampler import Sampler

KB = load_knowledge_base()

RECORDS = [
    Record("jsonl", 1, 1, text='{"id": "P1", "age": 70}'),
    Record("csv", 2, 3, cells=(("id", "P2"), ("age", "70"), ("medications", "a;b"))),
    Record("file", 3, 0, path="/data/patients/p3.yaml"),
    Record("fhir", 4, 9, text='[{"resourceType": "Patient"}]', path="/x/Patient.ndjson"),
    Record(
        "jsonl",
        5,
        12,
        problems=(Problem("E100", "the record is not UTF-8 text", Location("in", 12, 3), "hint"),),
    ),
]


def across(value: object) -> tuple[object, int]:
    """`value` as a Dask worker or client gets it (serialised and read back as Dask does), and
    how many frames it took."""
    protocol = pytest.importorskip("distributed.protocol")
    header, frames = protocol.serialize(protocol.to_serialize(value))
    return protocol.deserialize(header, frames), len(frames)


def test_a_partition_of_every_kind_of_record_crosses_as_one_value_exactly():
    payload = pack(RECORDS * 300)
    assert isinstance(payload, bytes)
    back, frames = across(payload)
    assert frames == 1
    assert unpack_records(back) == RECORDS * 300
    # What it replaced: a list of records is a frame per record.
    assert across(RECORDS * 300)[1] == len(RECORDS) * 300


def test_a_string_that_is_not_utf8_crosses_too():
    # A file of a folder whose name has a byte that is not UTF-8: Python keeps it as a lone
    # surrogate, which MessagePack (UTF-8 strings) cannot carry.
    records = [*RECORDS, Record("file", 6, 0, path="/data/patients/p\udcff3.yaml")]
    payload = pack(records)
    assert isinstance(payload, Partition)
    back, frames = across(payload)
    assert frames == 1
    assert unpack_records(back) == records
    assert unpack_records(back)[-1].path == "/data/patients/p\udcff3.yaml"


ANY_TEXT = st.text(st.characters(exclude_categories=()))  # lone surrogates too


@given(
    st.lists(
        st.builds(
            Outcome,
            ANY_TEXT,
            st.lists(ANY_TEXT, max_size=3).map(tuple),
            st.lists(ANY_TEXT, max_size=3).map(tuple),
            st.lists(ANY_TEXT, max_size=2).map(tuple),
        ),
        max_size=20,
    )
)
def test_outcomes_cross_back_exactly(outcomes):
    back, frames = across(pack(outcomes))
    assert unpack_outcomes(back) == outcomes
    assert frames == 1


@given(
    st.lists(
        st.builds(
            Record,
            st.sampled_from(["jsonl", "csv", "file", "fhir"]),
            st.integers(1, 10**9),
            st.integers(0, 10**9),
            ANY_TEXT,
            st.lists(st.tuples(ANY_TEXT, ANY_TEXT), max_size=3).map(tuple),
            ANY_TEXT,
            st.lists(
                st.builds(
                    Problem,
                    st.just("E100"),
                    ANY_TEXT,
                    st.builds(Location, ANY_TEXT, st.integers(0, 99), st.integers(0, 99)),
                    ANY_TEXT,
                ),
                max_size=2,
            ).map(tuple),
        ),
        max_size=20,
    )
)
def test_records_cross_exactly(records):
    back, frames = across(pack(records))
    assert unpack_records(back) == records
    assert frames == 1


class Counted:
    """Records handed out one at a time, counting how many were taken."""

    def __init__(self, records: list[Record]):
        self.records = iter(records)
        self.taken = 0

    def __iter__(self) -> Iterator[Record]:
        return self

    def __next__(self) -> Record:
        record = next(self.records)
        self.taken += 1
        return record


def register(count: int, size: int = 10) -> list[Record]:
    return [Record("jsonl", n, n, text="x" * size) for n in range(1, count + 1)]


@given(
    count=st.integers(0, 400),
    workers=st.integers(1, 5),
    most=st.integers(1, 40),
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=7),
)
def test_partitions_keep_every_record_in_order_in_rounds_ending_evenly(count, workers, most, sizes):
    records = [Record("jsonl", n, n, text="x" * sizes[n % len(sizes)]) for n in range(1, count + 1)]
    most_bytes = 500
    source = Counted(records)
    cut: list[list[Record]] = []
    for partition in partitions(source, workers, most, most_bytes):
        cut.append(partition)
        # Read ahead: at most one round more than has been handed out.
        handed = sum(len(p) for p in cut)
        assert source.taken - handed <= workers * most + 1
    assert [r for p in cut for r in p] == records
    assert all(p for p in cut)
    for partition in cut:
        assert len(partition) <= most
        assert len(partition) == 1 or sum(len(r.text) for r in partition[:-1]) < most_bytes
    # Whole rounds, the last one's partitions equal within a record; or, when fewer records were
    # left than the rounds needed, one record each.
    if cut and len(cut[-1]) > 1:
        assert len(cut) % workers == 0
        last = cut[-workers:]
        assert max(map(len, last)) - min(map(len, last)) <= 1
    # A small input is one round.
    if count and count <= workers * most and count * max(sizes) < most_bytes:
        assert len(cut) == min(workers, count)


class _Done:
    def __init__(self, value: object):
        self.value = value

    def result(self) -> object:
        return self.value

    def cancel(self) -> None:
        pass


class _Client:
    """Runs each submitted task at once, here, and keeps what it was given."""

    def __init__(self) -> None:
        self.payloads: list[object] = []

    def submit(self, function, payload, *args, **kwargs):
        self.payloads.append(payload)
        return _Done(function(payload, *args))

    def scheduler_info(self) -> dict[str, object]:
        return {"workers": {"tcp://127.0.0.1:1": {}, "tcp://127.0.0.1:2": {}}}


def test_each_partition_goes_to_the_cluster_as_one_bytes_value_and_comes_back_in_order():
    # What a run hands Dask: one MessagePack value per partition (a record object each would be
    # serialised, and on the scheduler read and rewritten, one by one).
    records = [
        Record("jsonl", n, n, text=json.dumps({"id": f"P{n}", "age": 40 + n % 50}))
        for n in range(1, 301)
    ]
    outcomes = cluster.DaskOutcomes(None, 2)
    outcomes.client = client = _Client()
    mode = Mode(True, "compiled")
    got = [o for chunk in outcomes(iter(records), "in", None, mode) for o in chunk]
    assert client.payloads and all(isinstance(p, bytes) for p in client.payloads)
    assert [len(unpack_records(p)) for p in client.payloads] == [150, 150]
    assert outcomes.tasks == 2
    here = batch.RecordConsultant(Consultant(), "in", mode)
    assert got == [here.consult(record) for record in records]


def test_an_input_is_cut_in_full_rounds_then_an_even_last_round():
    sizes = [len(p) for p in partitions(iter(register(5000)), 2, 1024, 1 << 20)]
    assert sizes == [1024, 1024, 1024, 1024, 452, 452]
    sizes = [len(p) for p in partitions(iter(register(5000)), 1, 1024, 1 << 20)]
    assert sizes == [1024, 1024, 1024, 1024, 904]
    assert [len(p) for p in partitions(iter(register(120)), 2, 1024, 1 << 20)] == [60, 60]
    assert [len(p) for p in partitions(iter(register(1)), 2)] == [1]
    assert list(partitions(iter([]), 2)) == []


def test_large_records_make_small_partitions():
    # 100 records of 100 kB: a partition closes once its text reaches 1 MB.
    sizes = [len(p) for p in partitions(iter(register(100, 100_000)), 2, 1024, 1_000_000)]
    assert sum(sizes) == 100
    assert max(sizes) <= 10
    assert sizes[-2] == sizes[-1]


# --- JSON Lines in blocks: read where they are consulted --------------------------------------
SMALL = 48
"""MAX_RECORD in the block tests: over-long lines of a few bytes."""

LINE_PIECES = st.one_of(
    st.sampled_from(
        [
            b'{"id": "P1", "age": 70}',
            b'{"age": 71, "sex": "female"}',
            b'{"age": "seventy"}',
            b"{not json",
            b"",
            b"  ",
            b"\t\r",
            b"\x0b\x0c ",
            b"\xa0",  # not ASCII whitespace: a record (not UTF-8)
            b"\x1c",  # not whitespace for bytes.strip: a record
            b"\xff{}",
            b'{"id": "\xc3\xa9"}',
            b"\xef\xbb\xbf",  # a byte order mark where it is not line 1's: a record
            b"x" * (SMALL - 1),
            b"x" * SMALL,
            b"x" * (SMALL + 1),
            b"y" * (3 * SMALL),
        ]
    ),
    st.binary(max_size=12),
)


@st.composite
def jsonl_inputs(draw) -> bytes:
    """JSON Lines bytes with blank lines, CRLF, a BOM, bytes that are not UTF-8, over-long
    lines, and a last line with or without its newline (JSON Lines by its first non-blank
    character, after blank lines or none)."""
    blank = st.sampled_from([b"", b"  ", b"\t\r", b"\x0c"])
    lines = [*draw(st.lists(blank, max_size=2)), b'{"age": 70}']
    lines += draw(st.lists(LINE_PIECES, max_size=14))
    ends = draw(st.lists(st.sampled_from([b"\n", b"\r\n", b"\r\r\n"]), min_size=len(lines)))
    data = b"".join(
        line.replace(b"\n", b" ") + end for line, end in zip(lines, ends[: len(lines)], strict=True)
    )
    if draw(st.booleans()):
        data = data.removesuffix(b"\n")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


def read_in_blocks(path: Path, sizes: list[int], skip: int = 0) -> list[readers.Block]:
    """The input's blocks, each of the next size (cycled), after `skip` records."""
    got = []
    with readers.jsonl_blocks(path, "in") as reader:
        reader.skip(skip)
        index = 0
        while (block := reader.next(sizes[index % len(sizes)])) is not None:
            got.append(block)
            index += 1
    return got


def records_of(blocks: list[readers.Block]) -> list[Record]:
    found = []
    for block in blocks:
        records = list(readers.block_records(block, "in"))
        assert len(records) == block.records
        assert [r.number for r in records] == list(
            range(block.number, block.number + block.records)
        )
        found += records
    return found


FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
"""The same MAX_RECORD (monkeypatched) for every example; each writes files of its own."""


@FIXTURES
@given(data=jsonl_inputs(), sizes=st.lists(st.integers(1, 3 * SMALL), min_size=1, max_size=5))
def test_blocks_hold_the_records_read_records_gives_numbered_alike(
    data, sizes, tmp_path_factory, monkeypatch
):
    monkeypatch.setattr(readers, "MAX_RECORD", SMALL)
    path = tmp_path_factory.mktemp("blocks") / "in.jsonl"
    path.write_bytes(data)
    expected = list(readers.read_records(path, KB.knowledge, "in"))
    blocks = read_in_blocks(path, sizes)
    assert records_of(blocks) == expected
    # Nothing is lost or read twice: the blocks are the input's bytes less over-long lines.
    assert all(len(line) <= SMALL + 1 for b in blocks for line in b.data.split(b"\n"))
    if not any(b.long for b in blocks):
        assert b"".join(b.data for b in blocks) == data
    # A resumed run's blocks start after the records already done.
    for done in (1, len(expected) // 2, len(expected)):
        assert records_of(read_in_blocks(path, sizes, done)) == expected[done:]


def test_blocks_cut_at_every_place_number_the_records_alike(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_RECORD", SMALL)
    path = tmp_path / "in.jsonl"
    data = (
        b"\xef\xbb\xbf  \r\n"
        + b'{"age": 70}\r\n\n\t\n\xff\n'
        + b"z" * (2 * SMALL)
        + b'\n{"age": 71}\n \x0c\n'
        + b"z" * (SMALL + 1)
        + b'\n{"age": 72}\n{"age": 73}'
    )
    path.write_bytes(data)
    expected = list(readers.read_records(path, KB.knowledge, "in"))
    assert [r.line for r in expected] == [2, 5, 6, 7, 9, 10, 11]
    for size in range(1, len(data) + 1):
        assert records_of(read_in_blocks(path, [size])) == expected, size
        # A block cut after the first `size` bytes, then the rest in one.
        assert records_of(read_in_blocks(path, [size, len(data)])) == expected, size


@given(
    size=st.integers(0, 50_000),
    line=st.integers(1, 300),
    workers=st.integers(1, 4),
    most=st.integers(1, 3_000),
)
def test_blocks_keep_the_input_in_rounds_ending_evenly(size, line, workers, most, tmp_path_factory):
    path = tmp_path_factory.mktemp("round") / "in.jsonl"
    row = b"x" * (line - 1) + b"\n"
    data = (row * (-(-size // line)))[:size]
    path.write_bytes(data)
    with readers.jsonl_blocks(path, "in") as reader:
        cut = list(cluster.blocks(reader, workers, most))
    assert b"".join(b.data for b in cut) == data
    assert all(b.data for b in cut)
    # Each block its size and the rest of its last line; full blocks while more than two
    # rounds are left, then a round or two of equal ones (within a line or two).
    sizes = [len(b.data) for b in cut]
    assert all(size < most + line for size in sizes)
    assert all(size >= most for size in sizes[: -2 * workers])
    if len(sizes) >= workers and size >= 2 * workers * line:
        last = sizes[-workers:]
        assert max(last) - min(last) <= 2 * line


def test_summaries_counted_apart_merge_into_the_run_s():
    outcomes = [
        Outcome("a", causes=("c1", "c2"), red_flags=("r1",)),
        Outcome("b", errors=("E100", "B203")),
        Outcome("c", causes=("c1",)),
        Outcome("d", errors=("internal",)),
        Outcome("e", errors=("audit", "audit")),
    ]
    whole = batch.Summary()
    for outcome in outcomes:
        whole.add(outcome)
    for cut in range(len(outcomes) + 1):
        left, right = batch.Summary(), batch.Summary()
        for outcome in outcomes[:cut]:
            left.add(outcome)
        for outcome in outcomes[cut:]:
            right.add(outcome)
        left.merge(right)
        assert left == whole
        # ... and as a block's counts cross back from a worker.
        joined = cluster.unpack_joined(across(_joined_payload(outcomes[cut:]))[0])
        assert joined.summary == right
        assert joined.data == "".join(o.line + "\n" for o in outcomes[cut:]).encode()


def run(
    source: Path, out: Path, mode: Mode | None = None, **options: object
) -> tuple[bytes, batch.Summary]:
    """`batch.run_batch` with the bundled knowledge base: the output's bytes and the run's counts."""
    summary = batch.run_batch(
        source, out, knowledge=KB.knowledge, mode=mode, kb_digest=KB.digest, **options
    )
    return out.read_bytes(), summary


def _joined_payload(outcomes: list[Outcome]) -> bytes:
    """What `consult_block` answers for these outcomes."""

    class Fixed:
        def consult(self, record: Record) -> Outcome:
            return outcomes[record.number - 1]

    lines = b"".join(b"{}\n" for _ in outcomes)
    block = readers.Block(lines, 1, 1, len(outcomes))
    cached = cluster._LOCAL.__dict__.setdefault("consultants", {})
    key = (None, "in", Mode())
    cached.clear()
    cached[key] = Fixed()
    try:
        return cluster.consult_block(block.data, (1, 1, len(outcomes), False), None, "in", Mode())
    finally:
        cached.clear()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=jsonl_inputs(), most=st.integers(1, 200), done=st.integers(0, 20))
def test_a_run_in_blocks_writes_what_batch_writes_in_process(
    data, most, done, tmp_path_factory, monkeypatch
):
    # The client's whole side (blocks read, sent, answered, written, counted) with each task
    # run here (`_Client`), against batch in this process: same bytes, same summary.
    monkeypatch.setattr(readers, "MAX_RECORD", SMALL)
    monkeypatch.setattr(cluster, "BLOCK_BYTES", most)
    work = tmp_path_factory.mktemp("run")
    path = work / "in.jsonl"
    path.write_bytes(data)
    mode = Mode(True, "compiled")
    expected, expected_summary = run(path, work / "alone.jsonl", mode)
    outcomes = cluster.DaskOutcomes(None, 2)
    outcomes.client = client = _Client()
    written, summary = run(path, work / "dask.jsonl", mode, consult_with=outcomes)
    assert written == expected
    assert summary == expected_summary
    assert client.payloads and all(isinstance(p, bytes) for p in client.payloads)
    assert outcomes.tasks == len(client.payloads)
    # Resumed after `done` whole lines: the rest in blocks, the summary recounted.
    lines = expected.splitlines(keepends=True)
    done = min(done, len(lines))
    resumed = work / "resumed.jsonl"
    batch.partial_path(resumed).write_bytes(b"".join(lines[:done]))
    batch.key_path(resumed).write_text(
        batch.RunKey.of(
            path, KB.digest, {"summary": True, "engine": "compiled", "csv": False}
        ).text()
    )
    written, summary = run(path, resumed, mode, resume=True, consult_with=outcomes)
    assert written == expected
    assert summary == expected_summary


def test_a_block_whose_records_a_worker_counts_otherwise_stops_the_run(tmp_path, monkeypatch):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"age": 70}\n\n{"age": 71}\n')
    real = readers.JsonlBlocks.next

    def miscounted(self, size):
        block = real(self, size)
        return block and readers.Block(block.data, block.line, block.number, block.records + 1)

    monkeypatch.setattr(readers.JsonlBlocks, "next", miscounted)
    outcomes = cluster.DaskOutcomes(None, 2)
    outcomes.client = _Client()
    out = tmp_path / "out.jsonl"
    with pytest.raises(
        batch.WorkerFailed, match="from line 1 held 1 records on its worker, 2 as counted here"
    ):
        batch.run_batch(path, out, knowledge=KB.knowledge, consult_with=outcomes)
    assert not out.exists()


class KilledWorker(Exception):
    """Named as Dask's: what a task's result raises once its workers died too often."""


class _Dying(_Client):
    def submit(self, function, payload, *args, **kwargs):
        self.payloads.append(payload)
        if len(self.payloads) == 1:
            return _Done(function(payload, *args))
        return _Raising(KilledWorker("Attempted to run task 'consult_block-1' on 4 workers"))


class _Raising(_Done):
    def result(self) -> object:
        raise self.value  # type: ignore[misc]


def test_a_task_whose_workers_died_ends_the_run_with_one_message(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "BLOCK_BYTES", 20)
    path = tmp_path / "in.jsonl"
    path.write_text('{"age": 70}\n' * 20)
    outcomes = cluster.DaskOutcomes(None, 2)
    outcomes.client = _Dying()
    out = tmp_path / "out.jsonl"
    with pytest.raises(batch.WorkerFailed, match="on 4 workers; the lines before its records"):
        batch.run_batch(
            path, out, knowledge=KB.knowledge, kb_digest=KB.digest, consult_with=outcomes
        )
    assert not out.exists()
    # What it wrote is whole lines, which --resume carries on from.
    assert batch.partial_path(out).read_bytes().endswith(b"}\n")


def test_full_results_go_in_smaller_blocks(tmp_path, monkeypatch):
    # --full lines are a hundred times a screening record's: its blocks are smaller.
    monkeypatch.setattr(cluster, "BLOCK_BYTES", 10_000)
    monkeypatch.setattr(cluster, "FULL_BLOCK_BYTES", 100)
    path = tmp_path / "in.jsonl"
    path.write_text('{"age": 70}\n' * 40)
    for mode, tasks in ((Mode(True, "compiled"), 2), (Mode(), 6)):
        expected, _ = run(path, tmp_path / "alone.jsonl", mode)
        outcomes = cluster.DaskOutcomes(None, 2)
        outcomes.client = _Client()
        written, _ = run(path, tmp_path / "out.jsonl", mode, consult_with=outcomes)
        assert written == expected
        assert outcomes.tasks == tasks


# --- on a real local cluster (slow: starts worker processes) -----------------------------------
@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """90 generated patients, one invalid and one line that is not JSON, a blank line."""
    path = tmp_path_factory.mktemp("cluster") / "register.jsonl"
    patients = [{"id": f"P{n}", **p} for n, p in enumerate(Sampler.for_kb(KB, 5).patients(90))]
    lines = [json.dumps(p) for p in patients]
    lines.insert(3, '{"age": "seventy"}')
    lines.insert(30, "{not json")
    lines.insert(50, "")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_local_cluster_runs_with_its_own_configuration_and_writes_what_batch_writes(
    source, tmp_path, monkeypatch
):
    pytest.importorskip("dask.distributed")
    import dask

    # Small partitions and blocks: several full rounds, then an even last one, on 2 workers.
    monkeypatch.setattr(cluster, "PARTITION", 16)
    monkeypatch.setattr(cluster, "BLOCK_BYTES", 1500)
    monkeypatch.setattr(cluster, "FULL_BLOCK_BYTES", 1500)
    with batch.readers.jsonl_blocks(source) as reader:
        in_blocks = list(cluster.blocks(reader, 2, 1500))
    assert len(in_blocks) > 6
    here_tick = dask.config.get("distributed.admin.tick.interval")
    with cluster.DaskOutcomes(None, 2) as outcomes:
        client = outcomes.client
        on_workers = client.run(lambda: dask.config.get("distributed.admin.tick.interval"))
        assert set(on_workers.values()) == {"1s"}
        scheduler = outcomes.cluster.scheduler  # in this process
        assert scheduler.periodic_callbacks["tick"].callback_time == 1000
        assert "stealing" not in scheduler.extensions
        assert client.run(lambda: dask.config.get("distributed.worker.profile.enabled")) == {
            address: False for address in on_workers
        }
        # This process's configuration is its own again once the cluster has started.
        assert dask.config.get("distributed.admin.tick.interval") == here_tick
        for name, mode in (
            ("summary.jsonl", Mode(True, "compiled")),
            ("summary.csv", Mode(True, "compiled", True)),
            ("full.jsonl", Mode()),
        ):
            expected, counted = run(source, tmp_path / f"alone-{name}", mode)
            written, summary = run(source, tmp_path / name, mode, consult_with=outcomes)
            assert written == expected, name
            assert summary == counted
            assert outcomes.tasks == len(in_blocks)  # JSON Lines: read on the workers
        # CSV: records read here, in partitions (92 records: 2 rounds of 16, then 2 of 14).
        table = tmp_path / "register.csv"
        table.write_text("id,age,sex\n" + "P1,70,female\nP2,seventy,male\n" * 46)
        mode = Mode(True, "compiled")
        rows, _ = run(table, tmp_path / "alone-table.jsonl", mode)
        written, _ = run(table, tmp_path / "table.jsonl", mode, consult_with=outcomes)
        assert written == rows
        assert outcomes.tasks == 2 * 3
        # The client's long-lived objects are out of the collector's sight while it runs.
        gc.unfreeze()
        batch.run_batch(
            source, tmp_path / "again.jsonl", knowledge=KB.knowledge, consult_with=outcomes
        )
        assert gc.get_freeze_count() > 0
        # Resumed from a partial file cut inside a line: the rest consulted on the cluster.
        expected, _ = run(source, tmp_path / "alone-full.jsonl")
        lines = expected.splitlines(keepends=True)
        out = tmp_path / "resumed.jsonl"
        batch.partial_path(out).write_bytes(b"".join(lines[:37]) + lines[37][:11])
        batch.key_path(out).write_text(batch.RunKey.of(source, KB.digest, {}).text())
        written, _ = run(source, out, resume=True, consult_with=outcomes)
        assert written == expected
        assert not batch.partial_path(out).exists()
