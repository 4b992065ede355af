"""Benchmark of cramp-expert: start-up, latency, batch throughput, scaling, experta's ratio.

experta's ratio is to a plain-Python evaluation of the same rules. Run `make bench` (or `python bench/benchmark.py --help`). One run prints every figure as tables
and writes them to a JSON file (bench/results.json by default). Sections:

1. start-up phases in fresh processes: imports, loading the knowledge base (YAML, and from the
   parsed-document cache), compiling the rules, building experta's network;
2. in-process consultation latency (p50, p95) on the bundled knowledge base, over the example
   vignettes and generated patients, split into reading the patient file, the engine,
   building the result and its robustness section, plus the whole of `consult`;
3. the same patients through the plain-Python reference evaluator of the same rules
   (`compile.predicates.evaluate`, rule by rule in stratum order) and through the closure-
   compiled three-valued evaluator with nothing open; both must fire exactly the rules experta
   fires on every patient (checked here, and the run fails otherwise). experta / reference is
   the headline figure;
4. CLI start-up: `python -c pass`, `cramp-expert --help` and a consultation of an example, each
   a new process, with Python's bytecode cache and the knowledge cache in place (as after the
   first run of an installation), and the very first run without them;
5. batch throughput on generated patients, with 1 worker and with one per core, whole runs of
   `cramp-expert batch` (start-up included) and the rate once started;
7. the CDS Hooks service (cramp-expert serve): patient-view answered in process (parsing the
   request, validating the FHIR prefetch with fhir.resources, consulting, building the cards;
   p50 and p95 over the example vignettes and generated patients written as prefetch), and
   requests per second over HTTP on 127.0.0.1 against `cramp-expert serve` in its own process,
   from client threads in this one, with their latency;
6. scaling: synthetic rule sets of 100, 1,000 and 10,000 rules (three numeric conditions each,
   thresholds set so that about three rules fire per patient, as in
   ../shared/knowledge/experta-notes.md section 4) loaded, compiled and consulted, experta
   against the reference evaluator.

Times are wall-clock (`time.perf_counter`); the load average is recorded before and after, as
other processes on the machine skew every figure. Speed is never asserted: this prints numbers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
CLI = Path(sys.executable).parent / "cramp-expert"


# --- small helpers ------------------------------------------------------------------------------
def percentiles(seconds: Iterable[float]) -> dict[str, float]:
    """p50, p95, mean and max of durations, in milliseconds."""
    values = sorted(seconds)
    if not values:
        return {"n": 0}
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return {
        "n": len(values),
        "p50_ms": round(1000 * statistics.median(values), 3),
        "p95_ms": round(1000 * p95, 3),
        "mean_ms": round(1000 * statistics.fmean(values), 3),
        "max_ms": round(1000 * values[-1], 3),
    }


def timed(function: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """How long `function(*args)` took, and what it returned."""
    start = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - start, value


class Clock:
    """Wall-clock and CPU seconds of the calls it times, by name.

    CPU time is reported next to wall-clock time because the machine is shared: other processes
    stretch wall-clock time, while CPU time is about what the wall clock would show on an idle
    machine.
    """

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def __call__(self, name: str, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)`, timed under `name`."""
        cpu, wall = time.process_time(), time.perf_counter()
        value = function(*args)
        self.wall.setdefault(name, []).append(time.perf_counter() - wall)
        self.cpu.setdefault(name, []).append(time.process_time() - cpu)
        return value

    def figures(self, name: str) -> dict[str, float]:
        """Percentiles of the wall-clock times, with the CPU time's p50 and mean."""
        figures = percentiles(self.wall.get(name, []))
        cpu = self.cpu.get(name, [])
        if cpu:
            figures["cpu_p50_ms"] = round(1000 * statistics.median(cpu), 3)
            figures["cpu_mean_ms"] = round(1000 * statistics.fmean(cpu), 3)
        return figures


def calibration() -> float:
    """Milliseconds for a fixed pure-Python loop (best of 5): how fast this machine is now.

    The host is shared with other virtual machines: the same code runs up to half again as
    slow at some times as at others, with the CPU all to itself. Figures of two runs compare
    only next to their calibrations.
    """
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - start)
    return round(1000 * best, 1)


PLAIN_LOOP = """
import sys, time
start = time.perf_counter()
total = 0
for i in range(int(sys.argv[1])):
    total += i * i % 7
print(time.perf_counter() - start)
"""
"""A pure-Python loop in a process of its own, printing its wall seconds (`parallel_capacity`)."""


def parallel_capacity(loops: int = 4_000_000, repeats: int = 3) -> float:
    """How much more this host gives 2 processes than 1 now (2.0 on 2 free cores).

    The same plain loop, alone and two at once: 2 x wall alone / wall together, the median of
    `repeats`. Nothing is shared between the two loops: a figure under 2 is the host's (its virtual cores
    slow each other), and it bounds what any 2-worker run measured in the same minutes can reach.
    """

    def loop_walls(count: int) -> list[float]:
        started = [
            subprocess.Popen([sys.executable, "-c", PLAIN_LOOP, str(loops)], stdout=subprocess.PIPE)
            for _ in range(count)
        ]
        return [float(p.communicate()[0]) for p in started]

    ratios = []
    for _ in range(repeats):
        alone = loop_walls(1)[0]
        together = max(loop_walls(2))
        ratios.append(2 * alone / together)
    return round(statistics.median(ratios), 2)


def load_average() -> list[float]:
    """The load averages over 1, 5 and 15 minutes."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def git_commit() -> str:
    """The commit measured."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip()
    except OSError:
        return ""


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    """A plain-text table."""
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [f"\n{title}", "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def process_environment(cache: Path, pycache: Path) -> dict[str, str]:
    """The environment of a measured CLI process.

    Bytecode is cached (in a folder of the benchmark's own, not next to the sources: this
    workplace sets PYTHONDONTWRITEBYTECODE, which would make every start compile every module),
    and the knowledge cache is `cache`.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["CRAMP_EXPERT_CACHE"] = str(cache)
    return env


def process_cpu(pid: int) -> dict[int, float]:
    """CPU seconds used so far by a running process and each of its descendants (Linux /proc)."""
    found: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            found[current] = (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a running process and its descendants (Linux /proc)."""
    return sum(process_cpu(pid).values())


def children_cpu() -> float:
    """CPU seconds used by the processes this one has waited for (and their own children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_process(
    command: list[str], env: dict[str, str], cwd: Path = ROOT, cpu: list[float] | None = None
) -> float:
    """Seconds a command took (exit 0 or 1 expected: 1 is a batch with error records).

    Its CPU seconds (its workers' included) are appended to `cpu` when given.
    """
    before = children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(children_cpu() - before)
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"benchmark: {' '.join(command)} exited {done.returncode}:\n{done.stderr.decode()}"
        )
    return elapsed


# --- 1. start-up phases, each in a fresh process -------------------------------------------------
PHASES = """
import json, os, sys, time
t0 = time.perf_counter()
import cramp_expert.cli
t1 = time.perf_counter()
import cramp_expert.api
from cramp_expert.compile import compile_knowledge_base
from cramp_expert.engine import Engine
from cramp_expert.kb import load_knowledge_base
from cramp_expert.reasoning import PartialEvaluator
t2 = time.perf_counter()
kb = load_knowledge_base(sys.argv[1] if len(sys.argv) > 1 else None)
t3 = time.perf_counter()
compiled = compile_knowledge_base(kb)
t4 = time.perf_counter()
Engine(compiled)
t5 = time.perf_counter()
PartialEvaluator(kb)
t6 = time.perf_counter()
print(json.dumps({"import cli": t1 - t0, "import api": t2 - t1, "load": t3 - t2,
                  "compile rules": t4 - t3, "build experta network": t5 - t4,
                  "three-valued evaluator": t6 - t5}))
"""


def startup_phases(runs: int, env: dict[str, str], root: Path | None = None) -> dict[str, Any]:
    """Median of each phase over `runs` fresh processes."""
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        command = [sys.executable, "-c", PHASES, *([str(root)] if root else [])]
        out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        for phase, seconds in json.loads(out.stdout).items():
            samples.setdefault(phase, []).append(seconds)
    return {phase: round(1000 * statistics.median(v), 1) for phase, v in samples.items()}


# --- 2 and 3. consultations and the reference evaluators ------------------------------------------
class VisibleConclusions:
    """What `concluded: X` sees in the engine: concluded by a fired rule and excluded by none."""

    def __init__(self) -> None:
        self.concluded: set[str] = set()
        self.excluded: set[str] = set()

    def __contains__(self, conclusion: object) -> bool:
        return conclusion in self.concluded and conclusion not in self.excluded


def reference_fired(order: list[Any], values: dict[str, Any]) -> set[str]:
    """The rules that fire, by `compile.predicates.evaluate`, rule by rule in stratum order."""
    from cramp_expert.compile.predicates import evaluate

    seen = VisibleConclusions()
    fired = set()
    for rule in order:
        if evaluate(rule.when, values, seen):  # type: ignore[arg-type]
            fired.add(rule.id)
            seen.concluded.update(rule.then.conclude)
            seen.excluded.update(rule.then.exclude)
    return fired


def never_open(fact_id: str) -> bool:
    """No fact is open: the three-valued evaluation is two-valued."""
    return False


def consultation_latency(
    consultant: Any, patients: list[tuple[str, Any]], repeats: int
) -> dict[str, Any]:
    """Each part of a consultation, and the reference evaluators, over `patients`."""
    from cramp_expert.consultation import build_result
    from cramp_expert.reasoning import robustness

    kb, engine, evaluator = consultant.kb, consultant.engine, consultant.evaluator
    order = sorted(kb.rules, key=lambda r: (kb.strata[r.id], r.id))
    clock = Clock()
    mismatches: list[str] = []
    firings: list[int] = []
    for _ in range(repeats):
        for name, read in patients:
            facts = clock("read patient file", read)
            fired = clock("engine (experta)", engine.run, facts.values)
            result = clock("build result", build_result, kb, facts, fired, consultant._version)
            clock("robustness", robustness, evaluator, facts.values, result.concluded)
            result = clock(
                "consult (engine + result + robustness)", consultant.consult_facts, facts
            )
            clock("JSON of the result", result.to_json)
            by_reference = clock("reference evaluator", reference_fired, order, facts.values)
            outcome = clock("closure evaluator", evaluator.evaluate, facts.values, never_open)
            by_engine = {firing.rule_id for firing in fired}
            by_closures = {rule for rule, truth in outcome.rule_truth.items() if truth}
            if not by_engine == by_reference == by_closures:
                mismatches.append(name)
            firings.append(len(fired))
    figures: dict[str, Any] = {part: clock.figures(part) for part in clock.wall}
    figures["agreement"] = {
        "patients": len(patients) * repeats,
        "mismatches": len(mismatches),
        "first": sorted(set(mismatches))[:5],
    }
    figures["firings per patient"] = round(statistics.fmean(firings), 1)
    engine, reference = figures["engine (experta)"], figures["reference evaluator"]
    closures = figures["closure evaluator"]
    figures["ratio"] = {
        "engine / reference evaluator (p50)": round(engine["p50_ms"] / reference["p50_ms"], 1),
        "engine / reference evaluator (CPU p50)": round(
            engine["cpu_p50_ms"] / reference["cpu_p50_ms"], 1
        ),
        "engine / closure evaluator (p50)": round(engine["p50_ms"] / closures["p50_ms"], 1),
        "engine / closure evaluator (CPU p50)": round(
            engine["cpu_p50_ms"] / closures["cpu_p50_ms"], 1
        ),
    }
    return figures


def latency_section(count: int, seed: int, repeats: int) -> dict[str, Any]:
    """Consultation latency on the bundled knowledge base: vignettes and generated patients."""
    from cramp_expert.api import Consultant
    from cramp_expert.patient import normalise_patient
    from cramp_expert.source import load_file
    from cramp_expert.verify.sampler import Sampler

    consultant = Consultant()
    knowledge = consultant.kb.knowledge
    vignettes = [(p.name, lambda p=p: consultant.read(load_file(p))) for p in EXAMPLES]
    generated = [
        (f"generated {n}", lambda d=d: normalise_patient(d, knowledge))
        for n, d in enumerate(Sampler.for_kb(consultant.kb, seed).patients(count))
    ]
    # Warm-up: every path once (first calls compile regular expressions, fill caches).
    consultation_latency(consultant, vignettes + generated[:50], 1)
    return {
        "vignettes": consultation_latency(consultant, vignettes, repeats * 20),
        "generated": consultation_latency(consultant, generated, repeats),
    }


# --- 3b. the full consultation, part by part (CPU time) ------------------------------------------
FULL_PARTS = (
    "read, validate, normalise",
    "engine (experta)",
    "build the result (trace included)",
    "robustness",
    "  open facts of the file",
    "  evaluation over every world (bit sets)",
    "  open ids, their facts, the next step",
    "robustness, reference (values tried one at a time)",
    "contract dict (to_dict)",
    "encode JSON (msgspec, of the contract dict)",
    "JSON line as batch writes (shared parts' JSON kept)",
)
"""The stages of `full consultation`; the indented ones are parts of robustness (the reference
beside it is the search it replaced, timed on the same patients)."""


WHOLE = "full consultation (read, consult, JSON line as batch writes)"


def full_consultation(
    consultant: Any, patients: list[Any], read: Callable[[Any], Any], repeats: int
) -> dict[str, Any]:
    """CPU ms per patient of each stage and of the whole, and the whole's patients per CPU s.

    Each stage runs over every patient at once, the best of `repeats` passes. The whole: read
    the patient file, consult (experta, result, robustness), its JSON line as `batch --full`
    writes it (`LineFormat.consultation_line`: the contract dict's line, byte for byte).
    """
    from cramp_expert.consultation import build_result
    from cramp_expert.reasoning.robustness import robustness_reference, robustness_section
    from cramp_expert.reasoning.worlds import worlds_of
    from cramp_expert.screen.records import LineFormat

    lines = LineFormat()
    encode = lines.encode
    source = {"input": "bench", "record": 1, "line": 1}
    kb, engine, evaluator = consultant.kb, consultant.engine, consultant.evaluator
    count = len(patients)
    parts: dict[str, float] = {}

    def part(name: str, function: Callable[[], Any], passes: int = repeats) -> Any:
        best, value = float("inf"), None
        for _ in range(passes):
            start = time.process_time()
            value = function()
            best = min(best, time.process_time() - start)
        parts[name] = round(1000 * best / count, 3)
        return value

    facts = part("read, validate, normalise", lambda: [read(p) for p in patients])
    fired = part("engine (experta)", lambda: [engine.run(f.values) for f in facts])
    results = part(
        "build the result (trace included)",
        lambda: [
            build_result(kb, f, fs, consultant._version) for f, fs in zip(facts, fired, strict=True)
        ],
    )
    from cramp_expert.reasoning import robustness

    sections = part(
        "robustness",
        lambda: [
            robustness(evaluator, f.values, r.concluded)
            for f, r in zip(facts, results, strict=True)
        ],
    )
    worlds = worlds_of(evaluator)
    opened = part("  open facts of the file", lambda: [worlds.open_facts(f.values) for f in facts])
    states = part(
        "  evaluation over every world (bit sets)",
        lambda: [worlds.evaluate(f.values, o) for f, o in zip(facts, opened, strict=True)],
    )

    def read_sections() -> list[Any]:
        for state in states:
            state.concluded.clear()  # worked out again in each pass, as in a consultation
        return [
            robustness_section(evaluator, s, r.concluded)
            for s, r in zip(states, results, strict=True)
        ]

    part("  open ids, their facts, the next step", read_sections)
    part(
        "robustness, reference (values tried one at a time)",
        lambda: [
            robustness_reference(evaluator, f.values, r.concluded)
            for f, r in zip(facts, results, strict=True)
        ],
    )
    full = [r.with_robustness(b) for r, b in zip(results, sections, strict=True)]
    dicts = part("contract dict (to_dict)", lambda: [r.to_dict() for r in full])
    part("encode JSON (msgspec, of the contract dict)", lambda: [encode(d) for d in dicts])
    # One pass: a part's JSON is kept on it from its first line on, as in a batch run (a second
    # pass over the same results would find every part's JSON made).
    part(
        "JSON line as batch writes (shared parts' JSON kept)",
        lambda: [lines.consultation_line(source, r) for r in full],
        passes=1,
    )
    part(
        "encode JSON (json.dumps, compact)",
        lambda: [json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in dicts],
    )
    part(
        "encode JSON (json.dumps, indent 2: consult --format json)",
        lambda: [r.to_json() for r in full],
    )
    # As a batch process does (batch.pool freezes what it holds before its loop): what this
    # process holds by now, every stage's outputs kept for the next, goes out of the collector's
    # sight, so that the loop pays for collecting what it makes, not what the benchmark keeps.
    gc.collect()
    gc.freeze()
    try:
        part(
            WHOLE,
            lambda: [
                lines.consultation_line(source, consultant.consult_facts(read(p))) for p in patients
            ],
        )
    finally:
        gc.unfreeze()
    whole = parts[WHOLE]
    return {
        "patients": count,
        "CPU ms per patient": parts,
        "full consultation, patients per CPU s": round(1000 / whole, 1) if whole else None,
        "per patient": {
            "open facts": round(statistics.fmean(len(o) for o in opened), 1),
            "worlds (bits) per evaluation": worlds.all.bit_length(),
        },
        "open ids per patient": round(
            statistics.fmean(len(s.depends_on_unknowns) for s in sections), 1
        ),
    }


def full_section(count: int, seed: int, repeats: int) -> dict[str, Any]:
    """The full consultation on the example vignettes and on generated patients."""
    from cramp_expert.api import Consultant
    from cramp_expert.patient import normalise_patient
    from cramp_expert.source import load_file
    from cramp_expert.verify.sampler import Sampler

    consultant = Consultant()  # freezes what it built out of the collector's sight
    knowledge = consultant.kb.knowledge
    documents = [load_file(p) for p in EXAMPLES]
    generated = Sampler.for_kb(consultant.kb, seed).patients(count)
    full_consultation(consultant, documents, consultant.read, 1)  # warm-up
    return {
        "load before": load_average(),
        "calibration before, ms": calibration(),
        "examples": full_consultation(
            consultant, documents * max(1, 80 // len(documents)), consultant.read, repeats
        ),
        "generated": full_consultation(
            consultant, generated, lambda d: normalise_patient(d, knowledge), repeats
        ),
        "load after": load_average(),
        "calibration after, ms": calibration(),
    }


def full_report(f: dict[str, Any]) -> list[str]:
    """The full consultation's table."""
    groups = ("examples", "generated")
    names = list(f[groups[0]]["CPU ms per patient"])
    rows = [[name, *(f[g]["CPU ms per patient"][name] for g in groups)] for name in names]
    rows.append(
        [
            "full consultation, patients per CPU second",
            *(f[g]["full consultation, patients per CPU s"] for g in groups),
        ]
    )
    for key in ("open facts", "worlds (bits) per evaluation"):
        rows.append([key, *(f[g]["per patient"][key] for g in groups)])
    rows.append(["open ids per patient", *(f[g]["open ids per patient"] for g in groups)])
    title = (
        f"Full consultation, CPU ms per patient (best of the passes; {f['examples']['patients']} "
        f"example consultations, {f['generated']['patients']} generated patients; load "
        f"{f['load before']} -> {f['load after']}, calibration {f['calibration before, ms']} -> "
        f"{f['calibration after, ms']} ms)"
    )
    return [table(title, ["stage", "examples", "generated"], rows)]


# --- 4. CLI start-up -----------------------------------------------------------------------------
def cli_section(runs: int, work: Path) -> dict[str, Any]:
    """Start-up of the command line, and its phases, in new processes."""
    cache, pycache = work / "kb-cache", work / "pycache"
    env = process_environment(cache, pycache)
    example = str(ROOT / "examples" / "V16.yaml")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "cramp-expert --help": [str(CLI), "--help"],
        "cramp-expert consult V16.yaml --format json": [
            str(CLI),
            "consult",
            example,
            "--format",
            "json",
        ],
    }
    first = {
        # No bytecode, no knowledge cache: the first run after installing without compiling.
        name: round(1000 * run_process(command, env), 1)
        for name, command in commands.items()
    }
    figures: dict[str, Any] = {"first run (no caches), ms": first}
    for name, command in commands.items():
        run_process(command, env)  # warm the caches
        cpu: list[float] = []
        figures[name] = percentiles([run_process(command, env, cpu=cpu) for _ in range(runs)])
        figures[name]["cpu_p50_ms"] = round(1000 * statistics.median(cpu), 1)
    figures["phases (median ms, fresh processes)"] = startup_phases(max(3, runs // 2), env)
    off = dict(env, CRAMP_EXPERT_CACHE="off")
    figures["phases without the knowledge cache (median ms)"] = startup_phases(
        max(3, runs // 4), off
    )
    return figures


# --- 5. batch throughput -------------------------------------------------------------------------
def batch_section(count: int, workers: int, seed: int, work: Path) -> dict[str, Any]:
    """Whole `cramp-expert batch` runs over generated patients, 1 worker and `workers`."""
    from cramp_expert.kb import load_knowledge_base
    from cramp_expert.verify.sampler import Sampler

    kb = load_knowledge_base()
    source = work / "patients.jsonl"
    with source.open("w") as stream:
        for n, patient in enumerate(Sampler.for_kb(kb, seed + 1).patients(count)):
            stream.write(json.dumps({"id": f"G{n}", **patient}) + "\n")
    one = work / "one.jsonl"
    one.write_text(source.read_text().split("\n", 1)[0] + "\n")
    env = process_environment(work / "kb-cache", work / "pycache")
    figures: dict[str, Any] = {"patients": count, "cores": os.cpu_count()}
    outputs = []
    for label, n in (("1 worker", 1), (f"{workers} workers", workers)):
        command = [str(CLI), "batch", str(source), "-o", str(work / f"out-{n}.jsonl")]
        command += ["--workers", str(n)]
        run_process(
            [str(CLI), "batch", str(one), "-o", str(work / "x.jsonl"), "--workers", str(n)], env
        )
        startup = run_process(
            [str(CLI), "batch", str(one), "-o", str(work / "x.jsonl"), "--workers", str(n)], env
        )
        cpu: list[float] = []
        wall = run_process(command, env, cpu=cpu)
        outputs.append((work / f"out-{n}.jsonl").read_bytes())
        figures[label] = {
            "wall_s": round(wall, 2),
            "patients_per_s": round(count / wall, 1),
            "start-up of a 1-patient run_s": round(startup, 2),
            "patients_per_s once started": round(count / max(wall - startup, 1e-9), 1),
            "per worker once started": round(count / max(wall - startup, 1e-9) / n, 1),
            "CPU s (all processes)": round(cpu[0], 2),
            "patients per CPU second": round(count / cpu[0], 1),
        }
    figures["outputs identical"] = outputs[0] == outputs[1]
    return figures


# --- 6. synthetic rule sets ----------------------------------------------------------------------
RULE = """id: {id}
title: Synthetic rule {n}
tier: cause
rationale: Synthetic rule for the benchmark.
evidence: LOW
references: [{reference}]
when:
  all:
{conditions}
then:
  conclude: [{conclusion}]
  certainty: 0.8
"""


def synthetic_kb(size: int, folder: Path, seed: int) -> tuple[Path, list[tuple[str, float, float]]]:
    """A knowledge base of `size` synthetic rules on the bundled knowledge/ (numeric facts)."""
    from cramp_expert.kb.knowledge import load_knowledge

    knowledge = load_knowledge(ROOT / "knowledge")
    facts = [
        (fid, *fact.range)
        for fid, fact in knowledge.facts.items()
        if fact.type == "number" and fact.range and not fact.derived
    ]
    causes = [cid for cid, c in knowledge.conclusions.items() if c.kind == "cause"]
    reference = next(iter(knowledge.references))
    root = folder / f"kb-{size}"
    shutil.copytree(ROOT / "knowledge", root / "knowledge")
    (root / "rules" / "synthetic").mkdir(parents=True)
    pick = random.Random(seed)
    chance = (3 / size) ** (1 / 3)  # each condition holds this often: about 3 rules fire
    for n in range(size):
        lines = []
        for fid, low, high in pick.sample(facts, 3):
            if pick.random() < 0.5:
                lines.append(f"    - {{fact: {fid}, gt: {high - chance * (high - low):.6g}}}")
            else:
                lines.append(f"    - {{fact: {fid}, lt: {low + chance * (high - low):.6g}}}")
        rule_id = f"syn-{n:05d}"
        (root / "rules" / "synthetic" / f"{rule_id}.yaml").write_text(
            RULE.format(
                id=rule_id,
                n=n,
                reference=reference,
                conditions="\n".join(lines),
                conclusion=pick.choice(causes),
            )
        )
    return root, facts


def scaling_section(
    sizes: list[int], patients: int, seed: int, work: Path, budget: float
) -> dict[str, Any]:
    """Load, compile and consult synthetic rule sets.

    Each size's consultations stop after `budget` seconds (the patients measured are counted).
    """
    from cramp_expert.api import Consultant, engine_version
    from cramp_expert.compile import compile_knowledge_base
    from cramp_expert.engine import Engine
    from cramp_expert.kb import load_knowledge_base
    from cramp_expert.patient import PatientFacts
    from cramp_expert.reasoning import PartialEvaluator

    figures: dict[str, Any] = {}
    for size in sizes:
        root, facts = synthetic_kb(size, work, seed)
        row: dict[str, Any] = {"rules": size}
        os.environ["CRAMP_EXPERT_CACHE"] = str(work / "scaling-cache")
        seconds, kb = timed(load_knowledge_base, root)
        row["load, YAML s"] = round(seconds, 3)
        seconds, kb = timed(load_knowledge_base, root)
        row["load, cached s"] = round(seconds, 3)
        seconds, compiled = timed(compile_knowledge_base, kb)
        row["compile rules s"] = round(seconds, 3)
        seconds, engine = timed(Engine, compiled)
        row["build experta network s"] = round(seconds, 3)
        pick = random.Random(seed + size)
        values = [
            {fid: round(pick.uniform(low, high), 3) for fid, low, high in facts}
            for _ in range(patients)
        ]
        order = sorted(kb.rules, key=lambda r: (kb.strata[r.id], r.id))
        seconds, evaluator = timed(PartialEvaluator, kb)
        row["build three-valued evaluator s"] = round(seconds, 3)
        clock = Clock()
        fired_counts, mismatches = [], 0
        started = time.perf_counter()
        for facts_of in values:
            fired = clock("engine", engine.run, facts_of)
            by_reference = clock("reference evaluator", reference_fired, order, facts_of)
            outcome = clock("closure evaluator", evaluator.evaluate, facts_of, never_open)
            fired_counts.append(len(fired))
            by_closures = {rule for rule, truth in outcome.rule_truth.items() if truth}
            mismatches += not ({f.rule_id for f in fired} == by_reference == by_closures)
            if time.perf_counter() - started > budget:
                break
        row["engine"] = clock.figures("engine")
        row["reference evaluator"] = clock.figures("reference evaluator")
        row["closure evaluator"] = clock.figures("closure evaluator")
        row["engine / reference (p50)"] = round(
            row["engine"]["p50_ms"] / row["reference evaluator"]["p50_ms"], 1
        )
        row["engine / closure (p50)"] = round(
            row["engine"]["p50_ms"] / row["closure evaluator"]["p50_ms"], 1
        )
        row["firings per patient"] = round(statistics.fmean(fired_counts), 2)
        row["mismatches"] = mismatches
        # A consultant around what was just built (building it again would double the time).
        consultant = Consultant.__new__(Consultant)
        consultant.kb, consultant.engine, consultant.evaluator = kb, engine, evaluator
        consultant._version = engine_version()
        started = time.perf_counter()
        for facts_of in values[: max(5, patients // 4)]:
            clock("consult", consultant.consult_facts, PatientFacts(None, dict(facts_of)))
            if time.perf_counter() - started > budget:
                break
        row["consult (with robustness)"] = clock.figures("consult")
        figures[str(size)] = row
        shutil.rmtree(root, ignore_errors=True)
    return figures


# --- 7. population screening ---------------------------------------------------------------------
REGISTER_KEYS = (
    "id",
    "age",
    "sex",
    "pregnant",
    "gestation_weeks",
    "dialysis",
    "medications",
    "conditions",
    "labs",
)
"""What a record system's export gives of a patient (no symptoms or findings): a register."""


def screening_population(kb: Any, kind: str, count: int, seed: int) -> list[str]:
    """JSON lines of `count` patients: `generated` (every section) or `register`."""
    from cramp_expert.verify.sampler import Sampler

    lines = []
    for n, patient in enumerate(Sampler.for_kb(kb, seed).patients(count)):
        patient = {"id": f"P{n}", **patient}
        if kind == "register":
            patient = {k: v for k, v in patient.items() if k in REGISTER_KEYS}
        lines.append(json.dumps(patient))
    return lines


OWN_CPU = "Dask's own CPU per patient, ms (1 worker, over batch in process)"
CEILING = "speed-up 2 workers / 1 that the measured CPU allows on 2 free cores"
QUIET = "the same with each process's time-based CPU scaled to a quiet machine's wall"
HOST = "the host's own 2 processes / 1, a plain loop, just before and just after"
DASK_ONLY = "the same with the 1-worker run's work shared evenly (Dask's own costs only)"
IDLE_SECONDS = 2.0
"""How long an idle warm cluster is watched for its time-based CPU before each timed run."""
SEVERE_SHARE = 0.01
"""The share of a realistic register with an emergency or urgent finding: a design assumption
(see bench/README.md, "Population screening"), far below the generator's 15-20 %."""


def realistic_register(register: list[str], count: int) -> list[str]:
    """`count` register lines of which one in 100 (SEVERE_SHARE) has an emergency/urgent flag.

    The register generator puts lab values near and beyond the rules' thresholds, so 15-20 % of
    its patients have a severe red flag; a practice's register has far fewer. Patients are taken
    in order from `register`, severe ones only as every 100th record.
    """
    from cramp_expert.api import Consultant
    from cramp_expert.batch import Record, RecordConsultant
    from cramp_expert.screen.records import Mode
    from cramp_expert.screen.summary import severe

    here = RecordConsultant(Consultant(), "bench", Mode(True, "compiled"))
    screener = here.screener
    plain: list[str] = []
    flagged: list[str] = []
    for number, line in enumerate(register, 1):
        try:
            patient = here.patient(Record("jsonl", number, number, text=line))
        except Exception:  # an invalid generated patient is simply not used
            continue
        record = screener.summariser.summary(patient, screener.compiled.fired(patient.values))
        (flagged if severe(record) else plain).append(line)
    every = round(1 / SEVERE_SHARE)
    out: list[str] = []
    while len(out) < count and (plain or flagged):
        if len(out) % every == every - 1 and flagged:
            out.append(flagged.pop(0))
        elif plain:
            out.append(plain.pop(0))
        else:
            break
    return out


def cpu_rate(function: Callable[[], Any], count: int, repeats: int = 2) -> tuple[float, Any]:
    """Patients per CPU second of `function` over `count` patients (best of `repeats`)."""
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.process_time()
        value = function()
        best = min(best, time.process_time() - start)
    return round(count / max(best, 1e-9), 1), value


def screening_in_process(
    kb_lines: dict[str, list[str]], sizes: dict[str, dict[str, int]]
) -> dict[str, Any]:
    """Per-patient CPU cost of each output and engine, in this process, part by part."""
    from cramp_expert.api import Consultant
    from cramp_expert.screen.records import LineFormat

    consultant = Consultant()
    gc.freeze()  # as batch does after building its consultant
    encode = LineFormat().encode
    figures: dict[str, Any] = {}
    for kind, lines in kb_lines.items():
        figures[kind] = screening_population_figures(consultant, lines, sizes[kind], encode)
    return figures


def screening_population_figures(
    consultant: Any, lines: list[str], sizes: dict[str, int], encode: Callable[[Any], str]
) -> dict[str, Any]:
    """`screening_in_process` for one population."""
    from cramp_expert.batch import Record, RecordConsultant
    from cramp_expert.consultation import build_result
    from cramp_expert.reasoning import robustness
    from cramp_expert.screen.records import Mode
    from cramp_expert.screen.summary import severe

    records = [Record("jsonl", n, n, text=line) for n, line in enumerate(lines, 1)]
    row: dict[str, Any] = {}
    for label, mode in (
        ("full result (experta, robustness)", Mode()),
        ("summary, experta", Mode(True)),
        ("summary, compiled + audit", Mode(True, "compiled")),
    ):
        count = min(len(records), sizes[label])
        here = RecordConsultant(consultant, "bench", mode)
        for record in records[:10]:
            here.consult(record)  # warm-up
        audit_cpu = [0.0]
        if here.screener is not None:
            here.screener.audited = 0
            audit = here.screener.audit

            def timed_audit(*args: Any, audit: Any = audit, spent: list[float] = audit_cpu) -> None:
                start = time.process_time()
                try:
                    audit(*args)
                finally:
                    spent[0] += time.process_time() - start

            here.screener.audit = timed_audit
        rate, outcomes = cpu_rate(
            lambda here=here, count=count: [here.consult(r) for r in records[:count]], count
        )
        entry = {
            "patients": count,
            "patients per CPU s": rate,
            "CPU ms per patient": round(1000 / rate, 3),
            "output bytes per patient": round(
                sum(len(o.line.encode()) + 1 for o in outcomes) / count
            ),
        }
        if mode.engine == "compiled":
            audited = here.screener.audited / 2  # two passes (cpu_rate's repeats)
            entry["audited share"] = round(audited / count, 3)
            # The audit's own CPU, timed around each call (both passes): what re-running
            # through experta costs, and the rate without it.
            per_pass = audit_cpu[0] / 2
            total = count / rate
            entry["audit CPU ms per audited patient"] = round(1000 * per_pass / max(audited, 1), 3)
            entry["without the audit, patients per CPU s"] = round(
                count / max(total - per_pass, 1e-9), 1
            )
            entry["audit's share of the CPU time"] = round(per_pass / total, 3)
        row[label] = entry
    # Where the time goes, part by part (CPU ms per patient).
    here = RecordConsultant(consultant, "bench", Mode(True, "compiled"))
    count = min(len(records), sizes["parts"])
    sample = records[:count]
    parts: dict[str, float] = {}

    def part(name: str, function: Callable[[], Any]) -> Any:
        start = time.process_time()
        value = function()
        parts[name] = round(1000 * (time.process_time() - start) / count, 4)
        return value

    patients = part("read, validate, normalise", lambda: [here.patient(r) for r in sample])
    fired = part("engine (experta)", lambda: [consultant.engine.run(p.values) for p in patients])
    part(
        "compiled rules",
        lambda: [here.screener.compiled.fired(p.values) for p in patients],
    )
    summariser = here.screener.summariser
    summaries = part(
        "screening record (worked out afresh)",
        lambda: [
            summariser.fresh_summary(p, [f.rule_id for f in fs])
            for p, fs in zip(patients, fired, strict=True)
        ],
    )
    part(
        "screening record (decisions cached per set of fired rules)",
        lambda: [
            summariser.summary(p, [f.rule_id for f in fs])
            for p, fs in zip(patients, fired, strict=True)
        ],
    )
    part("encode screening record (msgspec)", lambda: [encode(s) for s in summaries])
    results = part(
        "build full result",
        lambda: [
            build_result(consultant.kb, p, fs, consultant._version)
            for p, fs in zip(patients, fired, strict=True)
        ],
    )
    part(
        "robustness",
        lambda: [
            robustness(consultant.evaluator, p.values, r.concluded)
            for p, r in zip(patients, results, strict=True)
        ],
    )
    # The typed result as the contract's dict (what a batch line encodes), then each encoder.
    contract = part("full result as the contract's dict", lambda: [r.to_dict() for r in results])
    part("encode full result (msgspec)", lambda: [encode(r) for r in contract])
    part("encode full result (json)", lambda: [json.dumps(r) for r in contract])
    row["parts, CPU ms per patient"] = parts
    row["severe share (emergency or urgent red flag)"] = round(
        sum(1 for s in summaries if severe(s)) / max(count, 1), 3
    )
    row["distinct sets of fired rules"] = len({frozenset(f.rule_id for f in fs) for fs in fired})
    return row


def dask_overhead(tasks: int) -> dict[str, Any]:
    """What the scheduler costs per task: round trips of empty tasks on a 1-worker LocalCluster."""
    from dask.distributed import Client, LocalCluster

    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            dashboard_address=None,
            host="127.0.0.1",
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        Client(cluster) as client,
    ):
        startup = time.perf_counter() - started
        client.submit(len, [0], pure=False).result()
        start = time.perf_counter()
        for _ in range(tasks):
            client.submit(len, [0] * 256, pure=False).result()
        one_by_one = (time.perf_counter() - start) / tasks
        start = time.perf_counter()
        client.gather([client.submit(len, [0] * 256, pure=False) for _ in range(tasks)])
        pipelined = (time.perf_counter() - start) / tasks
    return {
        "LocalCluster start, s": round(startup, 2),
        "task round trip, ms": round(1000 * one_by_one, 2),
        "task, pipelined, ms": round(1000 * pipelined, 2),
        "tasks": tasks,
    }


def _timed_batch(source: Path, out: Path, **options: Any) -> dict[str, float]:
    """Wall and CPU seconds (this process and every descendant) of one in-process batch run."""
    from cramp_expert.batch import run_batch
    from cramp_expert.kb import load_knowledge_base

    knowledge = load_knowledge_base().knowledge
    me = os.getpid()
    before, own = process_cpu(me), time.process_time()
    start = time.perf_counter()
    run_batch(source, out, knowledge=knowledge, input_name="register", **options)
    wall = time.perf_counter() - start
    after, own = process_cpu(me), time.process_time() - own
    # Each other process's CPU over the run (a Dask worker; the resource tracker shows as ~0).
    others = [cpu - before.get(pid, 0.0) for pid, cpu in after.items() if pid != me]
    return {
        "wall s": wall,
        "CPU s": sum(after.values()) - sum(before.values()),
        "client CPU s": own,
        "processes CPU s": sorted((c for c in others if c > 0), reverse=True),
    }


def idle_cpu(seconds: float) -> dict[str, Any]:
    """CPU per second of wall of this process and each descendant while nothing is asked of them.

    On a Dask cluster that is its time-based cost (heartbeats, the event loops, the workers'
    profilers): paid for every second a run lasts, whatever the run does.
    """
    me = os.getpid()
    before = process_cpu(me)
    start = time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - start
    after = process_cpu(me)
    others = [cpu - before.get(pid, 0.0) for pid, cpu in after.items() if pid != me]
    return {
        "client process": (after[me] - before[me]) / wall,
        "workers": sorted((c / wall for c in others if c > 0), reverse=True),
    }


def cpu_ceiling(client_s: float, workers_s: list[float], cores: int = 2) -> float:
    """The shortest wall a run's measured CPU allows on `cores` free cores.

    The busiest process's CPU, or all of the CPU spread evenly, whichever is longer.
    """
    return max([client_s, *workers_s, (client_s + sum(workers_s)) / cores])


def quiet_wall(
    client_s: float, workers_s: list[float], wall: float, idle: dict[str, Any], cores: int = 2
) -> float:
    """`cpu_ceiling` with each process's time-based CPU (`idle_cpu`) scaled to a quiet wall.

    A loaded machine stretches the wall, and with it that part of the CPU. Each process's work is its CPU less its idle rate times the measured wall; on free cores a
    run then lasts T = work / (1 - rate) for the busiest process, or all the work over the
    cores left by every process's rate, whichever is longer.
    """
    rate_c, rates = idle["client process"], idle["workers"][: len(workers_s)]
    rates = rates + [0.0] * (len(workers_s) - len(rates))
    work_c = max(0.0, client_s - rate_c * wall)
    works = [max(0.0, w - r * wall) for w, r in zip(workers_s, rates, strict=True)]
    bounds = [work_c / (1 - rate_c), *(w / (1 - r) for w, r in zip(works, rates, strict=True))]
    bounds.append((work_c + sum(works)) / (cores - rate_c - sum(rates)))
    return max(bounds)


def dask_runs(lines: list[str], engine: str, work: Path) -> dict[str, Any]:
    """`batch --summary --cluster dask` on 1 and 2 local workers against batch in this process.

    The same input each time. The cluster's start is timed apart; the workers are warmed (each
    builds its consultant on a first run of a few partitions) before the timed run; wall time
    and the CPU of every process (client, scheduler, workers) are measured, and each output is
    compared byte for byte with batch's in this process.
    """
    from cramp_expert.api import Consultant
    from cramp_expert.screen.cluster import BLOCK_BYTES, IN_FLIGHT, PARTITION, DaskOutcomes
    from cramp_expert.screen.records import Mode

    mode = Mode(True, engine)
    source = work / f"dask-{engine}.jsonl"
    source.write_text("\n".join(lines) + "\n")
    reference_out = work / f"dask-{engine}-reference.jsonl"
    consultant = Consultant()
    gc.freeze()
    here = _timed_batch(source, reference_out, consultant=consultant, mode=mode)
    reference = reference_out.read_bytes()
    count = len(lines)
    figures: dict[str, Any] = {
        "patients": count,
        "batch in process (1 worker)": {
            "wall s": round(here["wall s"], 2),
            "CPU s": round(here["CPU s"], 2),
            "patients per CPU s": round(count / max(here["CPU s"], 1e-9), 1),
        },
    }
    host_before = parallel_capacity()
    tasks: dict[int, int] = {}
    ceilings: dict[int, float] = {}
    quiet: dict[int, float] = {}
    runs: dict[int, dict[str, Any]] = {}
    for workers in (1, 2):
        outcomes = DaskOutcomes(None, workers)
        started = time.perf_counter()
        with outcomes:
            start_s = time.perf_counter() - started
            outcomes.warm("register", None, mode)  # every worker builds its consultant now
            idle = idle_cpu(IDLE_SECONDS)
            out = work / f"dask-{engine}-{workers}.jsonl"
            timed = _timed_batch(source, out, mode=mode, consult_with=outcomes)
        tasks[workers] = max(1, outcomes.tasks)
        wall, client = timed["wall s"], timed["client CPU s"]
        busy = timed["processes CPU s"][:workers]
        ceilings[workers] = cpu_ceiling(client, busy)
        quiet[workers] = quiet_wall(client, busy, wall, idle)
        runs[workers] = {"client": client, "workers": busy, "wall": wall, "idle": idle}
        # What the run's work cost the client process (client, scheduler, nannies): its CPU
        # less what it spends per second of wall whatever the run does (measured just before).
        client_work = client - idle["client process"] * wall
        figures[f"Dask, {workers} local worker{'s' if workers > 1 else ''}"] = {
            "cluster start s": round(start_s, 2),
            "wall s": round(wall, 2),
            "patients/s (wall)": round(count / max(wall, 1e-9), 1),
            "CPU s (all processes)": round(timed["CPU s"], 2),
            "of which client and scheduler CPU s": round(client, 2),
            "patients per CPU s": round(count / max(timed["CPU s"], 1e-9), 1),
            "output identical to batch": out.read_bytes() == reference,
            "client and scheduler CPU ms per patient": round(1000 * client / count, 4),
            "worker CPU ms per patient (each)": [round(1000 * c / count, 4) for c in busy],
            "idle CPU ms per wall s: client process / each worker": [
                round(1000 * idle["client process"], 1),
                [round(1000 * w, 1) for w in idle["workers"][:workers]],
            ],
            "client and scheduler CPU for the work, ms per patient / per task": [
                round(1000 * client_work / count, 4),
                round(1000 * client_work / tasks[workers], 2),
            ],
            "tasks": tasks[workers],
        }
    one, two = figures["Dask, 1 local worker"], figures["Dask, 2 local workers"]
    figures["speed-up, 2 workers / 1 (wall)"] = round(one["wall s"] / max(two["wall s"], 1e-9), 2)
    figures[HOST] = [host_before, parallel_capacity()]
    figures[CEILING] = round(ceilings[1] / max(ceilings[2], 1e-9), 2)
    figures[QUIET] = round(quiet[1] / max(quiet[2], 1e-9), 2)
    # The CPU a patient's work costs varies by 20 % and more with what else the host runs, so
    # two workers' CPU measured in one run and one worker's in another do not compare well.
    # Dask's own costs alone: the 1-worker run's work shared evenly by 2 workers, with the
    # 2-worker run's client and scheduler CPU and every process's time-based rate.
    one_run, two_run = runs[1], runs[2]
    rate_one = one_run["idle"]["workers"][:1] or [0.0]
    work = (
        max(0.0, one_run["workers"][0] - rate_one[0] * one_run["wall"])
        if one_run["workers"]
        else 0.0
    )
    shared = quiet_wall(
        two_run["client"] - two_run["idle"]["client process"] * two_run["wall"],
        [work / 2, work / 2],
        0.0,
        two_run["idle"],
    )
    figures[DASK_ONLY] = round(quiet[1] / max(shared, 1e-9), 2)
    figures[OWN_CPU] = round(1000 * (one["CPU s (all processes)"] - here["CPU s"]) / count, 4)
    figures["tasks"] = tasks[2]
    figures["block (bytes of JSON Lines per task)"] = BLOCK_BYTES
    figures["partition (records per task)"] = PARTITION
    figures["partitions in flight per worker"] = IN_FLIGHT
    return figures


def screening_runs(lines: list[str], experta_count: int, work: Path) -> dict[str, Any]:
    """Whole `batch --summary` runs (processes of their own) on 1 and 2 worker processes."""
    env = process_environment(work / "kb-cache", work / "pycache")
    figures: dict[str, Any] = {}
    outputs: dict[str, bytes] = {}
    for engine, count in (("compiled", len(lines)), ("experta", min(experta_count, len(lines)))):
        source = work / f"register-{engine}.jsonl"
        source.write_text("\n".join(lines[:count]) + "\n")
        one = work / "one.jsonl"
        one.write_text(lines[0] + "\n")
        for label, extra in (
            ("1 worker", ["--workers", "1"]),
            ("2 workers", ["--workers", "2"]),
        ):
            out = work / f"screen-{engine}-{label.replace(' ', '-')}.jsonl"
            base = [str(CLI), "batch", "--summary", "--engine", engine, *extra]
            startup_cpu: list[float] = []
            startup = run_process(
                [*base, str(one), "-o", str(work / "x.jsonl")], env, cpu=startup_cpu
            )
            cpu: list[float] = []
            wall = run_process([*base, str(source), "-o", str(out)], env, cpu=cpu)
            outputs[f"{engine} {label}"] = out.read_bytes()
            # The start-up is measured apart on a 1-patient run; on a busy machine it can come
            # out longer than the whole run, and then no rate is given (None), not a wild one.
            started = wall - startup
            busy = cpu[0] - startup_cpu[0]
            figures[f"{engine}, {label}"] = {
                "patients": count,
                "wall s": round(wall, 2),
                "start-up (1-patient run) s": round(startup, 2),
                "patients/s once started": (
                    round(count / started, 1) if started > 0.1 * wall else None
                ),
                "CPU s": round(cpu[0], 2),
                "patients per CPU s (start-up CPU taken off)": (
                    round(count / busy, 1) if busy > 0.1 * cpu[0] else None
                ),
            }
        a, b = figures[f"{engine}, 1 worker"], figures[f"{engine}, 2 workers"]
        figures[f"{engine}, 2 workers / 1 worker (once started)"] = (
            round(b["patients/s once started"] / a["patients/s once started"], 2)
            if a["patients/s once started"] and b["patients/s once started"]
            else None
        )
        figures[f"{engine}, outputs identical to 1 worker"] = (
            outputs[f"{engine} 1 worker"] == outputs[f"{engine} 2 workers"]
        )
    return figures


def projection(
    in_process: dict[str, Any], overhead: dict[str, Any], dask: dict[str, Any]
) -> dict[str, Any]:
    """One million patients: CPU hours, hours on N cores and on N machines, output size.

    Per-patient CPU from the in-process figures of each population; on a cluster, the largest of
    the scheduler's measured cost per task spread over a partition, Dask's own CPU per patient
    measured on one local worker (serialisation, the client's reading and writing) and the
    client and scheduler's CPU for the work per patient.
    """
    from cramp_expert.screen.cluster import PARTITION

    per_task_ms = overhead["task, pipelined, ms"] / PARTITION
    measured = [max(0.0, d.get(OWN_CPU, 0.0)) for d in dask.values()]
    # The client and scheduler's CPU for the work, per patient: one process serves the whole
    # cluster, so this bounds its rate whatever the machines (absent from older results).
    key = "client and scheduler CPU for the work, ms per patient / per task"
    measured += [
        max(0.0, d[label][key][0])
        for d in dask.values()
        for label in ("Dask, 1 local worker", "Dask, 2 local workers")
        if key in d.get(label, {})
    ]
    cluster_ms = max([per_task_ms, *measured])
    rows: dict[str, Any] = {}
    for population, figures in in_process.items():
        for label, entry in figures.items():
            if not isinstance(entry, dict) or "CPU ms per patient" not in entry:
                continue
            cost_ms = entry["CPU ms per patient"]
            on_cluster_ms = cost_ms + cluster_ms
            rows[f"{population}: {label}"] = {
                "CPU ms per patient": cost_ms,
                "CPU hours": round(1e6 * cost_ms / 3.6e6, 2),
                "hours on 2 / 8 / 32 cores": [
                    round(1e6 * cost_ms / 3.6e6 / n, 3) for n in (2, 8, 32)
                ],
                "hours on 4 / 16 / 64 machines of 8 cores (Dask)": [
                    round(1e6 * on_cluster_ms / 3.6e6 / (8 * n), 4) for n in (4, 16, 64)
                ],
                "output GB": round(1e6 * entry["output bytes per patient"] / 1e9, 2),
            }
    rows["Dask cost per patient added, ms"] = round(cluster_ms, 4)
    return rows


FIRST_PASS = """
import json, sys, time
from cramp_expert.api import Consultant
from cramp_expert.batch import Record, RecordConsultant
from cramp_expert.screen.records import Mode
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
mode = Mode(True, sys.argv[2]) if sys.argv[2] != "full" else Mode()
here = RecordConsultant(Consultant(), "bench", mode)
records = [Record("jsonl", n, n, text=line) for n, line in enumerate(lines, 1)]
for record in records[:10]:
    here.consult(record)  # the consultant's own first-use costs, on records left out below
start = time.process_time()
for record in records[10:]:
    here.consult(record)
spent = time.process_time() - start
print(json.dumps({"patients": len(records) - 10, "CPU s": spent}))
"""
"""A first pass over patients new to a fresh process: every medication, condition and lab text
read for the first time (the in-process figures are the best of two passes, texts then seen)."""


def first_pass(lines: list[str], mode: str, work: Path) -> dict[str, Any]:
    """Patients per CPU second of one pass over `lines`, every text new to the process."""
    source = work / "first-pass.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_PASS, str(source), mode],
        env=env,
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    figures = json.loads(done.stdout.decode().strip().splitlines()[-1])
    rate = figures["patients"] / max(figures["CPU s"], 1e-9)
    return {
        "patients": figures["patients"],
        "patients per CPU s": round(rate, 1),
        "CPU ms per patient": round(1000 / rate, 3),
    }


def screening_section(
    count: int, seed: int, work: Path, quick: bool, dask_count: int = 20_000
) -> dict[str, Any]:
    """Screening: per-patient cost per output and engine, worker counts, Dask, a projection."""
    from cramp_expert.kb import load_knowledge_base

    kb = load_knowledge_base()
    # A larger register stream: the realistic population keeps only 1 % of its severe patients.
    register = screening_population(kb, "register", count + count // 3, seed + 7)
    populations = {
        "register": register[:count],
        "register, 1 % severe": realistic_register(register, count),
        "generated": screening_population(kb, "generated", count, seed + 7),
    }
    small = 40 if quick else None
    sizes = {
        kind: {
            "full result (experta, robustness)": small or 300,
            "summary, experta": small or 1000,
            # The generated population's audit re-runs most patients through experta: fewer.
            "summary, compiled + audit": small or (count if kind != "generated" else count // 3),
            "parts": small or 300,
        }
        for kind in populations
    }
    figures: dict[str, Any] = {
        "populations": {
            "register": "age, sex, pregnancy, dialysis, medications, conditions, labs (no "
            "symptoms or findings), as a record system's export gives; the generator puts lab "
            "values near and beyond the rules' thresholds (threshold-heavy)",
            "register, 1 % severe": "the register's patients with one in 100 having an "
            "emergency or urgent red flag (a design assumption for a practice register)",
            "generated": "every section of the patient file, numbers near the rules' thresholds",
        }
    }
    figures["in process"] = screening_in_process(populations, sizes)
    figures["first pass, new process"] = {
        kind: {
            "summary, compiled + audit": first_pass(
                lines[: sizes[kind]["summary, compiled + audit"]], "compiled", work
            ),
            "summary, experta": first_pass(
                lines[: sizes[kind]["summary, experta"]], "experta", work
            ),
            "full result (experta, robustness)": first_pass(
                lines[: sizes[kind]["full result (experta, robustness)"]], "full", work
            ),
        }
        for kind, lines in populations.items()
    }
    figures["dask scheduler"] = dask_overhead(20 if quick else 200)
    realistic = populations["register, 1 % severe"]
    # Dask runs of a few seconds on one worker: over a 5,000-patient register (0.6 s) its fixed
    # costs per run (the first task's start, the last one's answer, each worker's first meeting
    # with the register's texts) weighed a sixth of the 2-worker run, against a million
    # patients' register that is the use.
    dask_count = small or max(count, dask_count)
    stream = screening_population(kb, "register", dask_count + dask_count // 3, seed + 7)
    figures["dask"] = {
        "compiled (register, 1 % severe)": dask_runs(
            realistic_register(stream, dask_count), "compiled", work
        ),
        "experta (register)": dask_runs(stream[: dask_count // 4], "experta", work),
    }
    figures["runs"] = screening_runs(realistic, small or 1000, work)
    figures["one million patients"] = projection(
        figures["in process"], figures["dask scheduler"], figures["dask"]
    )
    return figures


# --- the CDS Hooks service ---------------------------------------------------------------------
def _service_requests(count: int, seed: int) -> list[bytes]:
    """patient-view requests: the example vignettes and generated patients as FHIR prefetch."""
    import yaml

    from cramp_expert.api import Consultant
    from cramp_expert.testing.fhir import fhir_equivalent, to_prefetch
    from cramp_expert.verify.sampler import Sampler

    consultant = Consultant()
    knowledge = consultant.kb.knowledge
    patients = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "examples").glob("*.yaml"))]
    patients += Sampler.for_kb(consultant.kb, seed).patients(count)
    bodies = []
    for number, patient in enumerate(patients):
        prefetch = to_prefetch(fhir_equivalent(patient, knowledge), knowledge)
        request = {
            "hook": "patient-view",
            "hookInstance": f"bench-{number}",
            "context": {"userId": "Practitioner/1", "patientId": "example"},
            "prefetch": prefetch,
        }
        bodies.append(json.dumps(request).encode())
    return bodies


def service_section(
    count: int, seed: int, seconds: float, clients: int, workers: list[int], work: Path
) -> dict[str, Any]:
    """patient-view in process (p50, p95) and over HTTP (requests/s) against `cramp-expert serve`.

    Over HTTP once per worker count in `workers` (1 and 2 by default: one core, two cores).
    """
    from cramp_expert.api import Consultant
    from cramp_expert.service.app import Settings, _check_request, _patient_view, _State

    bodies = _service_requests(count, seed)
    state = _State(Consultant(), Settings())
    cards = 0

    def in_process(body: bytes) -> None:
        nonlocal cards
        data = json.loads(body)
        _check_request(data, "patient-view")
        values = [v for v in data["prefetch"].values() if v is not None]
        cards += len(_patient_view(state, values, "http://127.0.0.1:8080"))

    for body in bodies[:5]:
        in_process(body)  # warm: the FHIR models' first validation builds their validators
    times, cpu = [], []
    for body in bodies * 2:
        start_cpu = time.process_time()
        times.append(timed(in_process, body)[0])
        cpu.append(time.process_time() - start_cpu)
    figures: dict[str, Any] = {
        "requests": len(bodies),
        "in process": percentiles(times),
        "in process, CPU": percentiles(cpu),
        "cards per request": round(cards / (len(times) + 5), 2),
        "http runs": [http_run(bodies, seconds, clients, n) for n in workers],
    }
    figures["http"] = figures["http runs"][-1]  # the last (most workers), as before
    return figures


def http_run(bodies: list[bytes], seconds: float, clients: int, workers: int) -> dict[str, Any]:
    """patient-view over HTTP on 127.0.0.1 against `cramp-expert serve --workers N`."""
    import http.client
    import socket
    import threading

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ)
    command = [
        sys.executable,
        "-m",
        "cramp_expert",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    marks: dict[str, float] = {}
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        # Ready when discovery answers (the socket accepts before the workers have started).
        deadline = time.monotonic() + 180
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/cds-services")
                ready = probe.getresponse().status == 200
                probe.close()
                if ready:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("benchmark: cramp-expert serve did not start")
            time.sleep(0.2)
        latencies: list[tuple[float, float]] = []
        errors = 0
        lock = threading.Lock()
        stop = time.monotonic() + seconds + 1.0

        headers = {"Content-Type": "application/json"}

        def client(number: int) -> None:
            nonlocal errors
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine: list[tuple[float, float]] = []
            i = number
            while time.monotonic() < stop:
                body = bodies[i % len(bodies)]
                i += clients
                start = time.perf_counter()
                try:
                    connection.request("POST", "/cds-services/cramp-consult", body, headers)
                    response = connection.getresponse()
                    response.read()
                    failed = response.status != 200
                except OSError:
                    failed = True
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if failed:
                    with lock:
                        errors += 1
                    continue
                mine.append((start, time.perf_counter() - start))
            connection.close()
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # the warm-up second, as below
        marks["server"], marks["client"] = tree_cpu(server.pid), time.process_time()
        for thread in threads:
            thread.join()
        marks["server"] = tree_cpu(server.pid) - marks["server"]
        marks["client"] = time.process_time() - marks["client"]
        # The first second warms each connection and the server's validators: not counted.
        begin = min((start for start, _ in latencies), default=0.0) + 1.0
        counted = [d for start, d in latencies if start >= begin]
        if not counted:  # a run shorter than the warm-up (--quick on a busy machine): count all
            begin = min((start for start, _ in latencies), default=0.0)
            counted = [d for _, d in latencies]
        span = max((start + d for start, d in latencies), default=begin) - begin
        figures: dict[str, Any] = {
            "command": f"cramp-expert serve --port {port} --workers {workers}",
            "workers": workers,
            "clients": clients,
            "seconds": round(span, 2),
            "requests": len(counted),
            "errors": errors,
            "requests per second": round(len(counted) / span, 1) if span > 0 else 0.0,
            "latency": percentiles(counted),
        }
        figures["latency"].setdefault("p50_ms", 0.0)
        figures["latency"].setdefault("p95_ms", 0.0)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The server's CPU time (its workers included) per request after the warm-up second: what
    # the service costs, whatever else the shared machine was running meanwhile.
    counted_requests = len(counted)
    if counted_requests and marks.get("server"):
        per_request = marks["server"] / counted_requests
        figures["server CPU ms per request"] = round(1000 * per_request, 2)
        figures["client CPU ms per request"] = round(1000 * marks["client"] / counted_requests, 2)
        figures["requests per second one core can serve"] = round(1 / per_request, 1)
        figures["requests per second the workers' cores can serve"] = round(
            min(workers, os.cpu_count() or 1) / per_request, 1
        )
    return figures


# --- report --------------------------------------------------------------------------------------
def report(results: dict[str, Any]) -> str:
    """Every figure as tables."""
    out = []
    env = results["environment"]
    out.append(
        f"cramp-expert benchmark, commit {env['commit']}, {env['python']} on {env['machine']}, "
        f"{env['cores']} cores; load average before {env['load before']}, after {env['load after']};"
        f" calibration loop {env['calibration before, ms']} ms before, "
        f"{env['calibration after, ms']} ms after"
    )
    if "service" in results:
        v = results["service"]
        rows: list[list[Any]] = [
            [
                "in process, wall clock (parse, validate FHIR, consult, cards)",
                v["in process"]["p50_ms"],
                v["in process"]["p95_ms"],
                "",
                "p50 <= 20 ms",
            ],
            [
                "in process, CPU time",
                v["in process, CPU"]["p50_ms"],
                v["in process, CPU"]["p95_ms"],
                "",
                "",
            ],
        ]
        for http in v.get("http runs") or [v["http"]]:
            rows.append(
                [
                    f"HTTP 127.0.0.1, {http.get('workers', '?')} worker(s), {http['clients']} "
                    f"clients, {http['seconds']} s ({http['errors']} errors)",
                    http["latency"]["p50_ms"],
                    http["latency"]["p95_ms"],
                    http["requests per second"],
                    ">= 150/s on 2 cores" if http.get("workers") == 2 else "",
                ]
            )
        out.append(
            table(
                f"CDS Hooks patient-view ({v['requests']} requests: examples and generated patients as FHIR prefetch; {v['cards per request']} cards each)",
                ["where", "p50 ms", "p95 ms", "requests/s", "target"],
                rows,
            )
        )
        for http in v.get("http runs") or [v["http"]]:
            if "requests per second one core can serve" in http:
                cores = http.get("requests per second the workers' cores can serve", "?")
                out.append(
                    f"{http.get('workers', '?')} worker(s): server CPU {http['server CPU ms per request']} ms "
                    f"per request, so one idle core serves {http['requests per second one core can serve']}/s"
                    f" and the workers' idle cores {cores}/s; "
                    f"the clients used {http['client CPU ms per request']} ms of CPU per request"
                )
            out.append(f"service started with: {http['command']}")
    if "startup" in results:
        s = results["startup"]
        rows = [
            [
                name,
                s[name]["p50_ms"],
                s[name]["p95_ms"],
                s[name]["cpu_p50_ms"],
                s["first run (no caches), ms"][name],
            ]
            for name in s["first run (no caches), ms"]
        ]
        out.append(
            table(
                "CLI start-up (ms, new process each; caches warm unless said)",
                ["command", "p50", "p95", "CPU p50", "first run, no caches"],
                rows,
            )
        )
        phases = s["phases (median ms, fresh processes)"]
        off = s["phases without the knowledge cache (median ms)"]
        out.append(
            table(
                "Start-up phases (median ms, fresh processes)",
                ["phase", "knowledge cache warm", "cache off (YAML)"],
                [[p, phases[p], off[p]] for p in phases],
            )
        )
    if "latency" in results:
        for group, figures in results["latency"].items():
            rows = [
                [part, f["p50_ms"], f["p95_ms"], f["mean_ms"], f["cpu_p50_ms"]]
                for part, f in figures.items()
                if isinstance(f, dict) and "p50_ms" in f
            ]
            agreement = figures["agreement"]
            out.append(
                table(
                    f"Consultation in process, {group} ({agreement['patients']} consultations, "
                    f"{figures['firings per patient']} firings each; agreement with both reference "
                    f"evaluators: {agreement['mismatches']} mismatches)",
                    ["part", "p50 ms", "p95 ms", "mean ms", "CPU p50 ms"],
                    rows,
                )
            )
            out.append("  " + "; ".join(f"{k}: {v}x" for k, v in figures["ratio"].items()))
    if "batch" in results:
        b = results["batch"]
        rows = [
            [
                label,
                f["wall_s"],
                f["patients_per_s"],
                f["start-up of a 1-patient run_s"],
                f["patients_per_s once started"],
                f["per worker once started"],
                f["CPU s (all processes)"],
                f["patients per CPU second"],
            ]
            for label, f in b.items()
            if isinstance(f, dict)
        ]
        out.append(
            table(
                f"Batch, {b['patients']} generated patients (outputs identical: "
                f"{b['outputs identical']})",
                [
                    "workers",
                    "wall s",
                    "patients/s",
                    "start-up s",
                    "patients/s started",
                    "per worker",
                    "CPU s",
                    "patients per CPU s",
                ],
                rows,
            )
        )
    if "scaling" in results:
        rows = []
        for size, f in results["scaling"].items():
            rows.append(
                [
                    size,
                    f["load, YAML s"],
                    f["load, cached s"],
                    f["compile rules s"],
                    f["build experta network s"],
                    f["engine"]["p50_ms"],
                    f["reference evaluator"]["p50_ms"],
                    f["closure evaluator"]["p50_ms"],
                    f["engine / reference (p50)"],
                    f["engine / closure (p50)"],
                    f["consult (with robustness)"]["p50_ms"],
                    f["firings per patient"],
                    f["mismatches"],
                    f["engine"]["n"],
                ]
            )
        out.append(
            table(
                "Synthetic rule sets (3 numeric conditions per rule)",
                [
                    "rules",
                    "load YAML s",
                    "load cached s",
                    "compile s",
                    "network s",
                    "engine p50 ms",
                    "reference p50 ms",
                    "closure p50 ms",
                    "engine/ref",
                    "engine/closure",
                    "consult p50 ms",
                    "firings",
                    "mismatches",
                    "patients",
                ],
                rows,
            )
        )
    if "full" in results:
        out.extend(full_report(results["full"]))
    if "screening" in results:
        out.extend(screening_report(results["screening"]))
    return "\n".join(out) + "\n"


def screening_report(s: dict[str, Any]) -> list[str]:
    """The screening section's tables."""
    out = []
    rows = []
    for kind, row in s["in process"].items():
        for label, f in row.items():
            if not isinstance(f, dict) or "patients per CPU s" not in f:
                continue
            rows.append(
                [
                    f"{kind}: {label}",
                    f["patients"],
                    f["patients per CPU s"],
                    f["CPU ms per patient"],
                    f["output bytes per patient"],
                    f.get("audited share", ""),
                    f.get("without the audit, patients per CPU s", ""),
                    f.get("audit's share of the CPU time", ""),
                    f.get("audit CPU ms per audited patient", ""),
                ]
            )
    out.append(
        table(
            "Screening in process (CPU time; one consultant, as one batch worker; best of two "
            "passes, so every text has been read once before)",
            [
                "population: output, engine",
                "patients",
                "per CPU s",
                "CPU ms",
                "bytes/patient",
                "audited",
                "per CPU s, no audit",
                "audit's CPU share",
                "audit ms each",
            ],
            rows,
        )
    )
    if "first pass, new process" in s:
        out.append(
            table(
                "Screening, first pass in a new process (CPU time; every medication, condition "
                "and lab text new to the process)",
                ["population: output, engine", "patients", "per CPU s", "CPU ms"],
                [
                    [
                        f"{kind}: {label}",
                        f["patients"],
                        f["patients per CPU s"],
                        f["CPU ms per patient"],
                    ]
                    for kind, row in s["first pass, new process"].items()
                    for label, f in row.items()
                ],
            )
        )
    out.append(
        "  severe share (emergency/urgent) and distinct sets of fired rules: "
        + "; ".join(
            f"{kind}: {row['severe share (emergency or urgent red flag)']}, "
            f"{row['distinct sets of fired rules']}"
            for kind, row in s["in process"].items()
        )
    )
    kinds = list(s["in process"])
    parts = list(s["in process"][kinds[0]]["parts, CPU ms per patient"])
    out.append(
        table(
            "Where the time goes (CPU ms per patient)",
            ["part", *kinds],
            [
                [p] + [s["in process"][k]["parts, CPU ms per patient"][p] for k in kinds]
                for p in parts
            ],
        )
    )
    dask_rows = []
    for name, d in s["dask"].items():
        base = d["batch in process (1 worker)"]
        dask_rows.append(
            [
                f"{name}: batch in process",
                d["patients"],
                "",
                base["wall s"],
                "",
                base["CPU s"],
                "",
                base["patients per CPU s"],
                "",
            ]
        )
        for label in ("Dask, 1 local worker", "Dask, 2 local workers"):
            f = d[label]
            dask_rows.append(
                [
                    f"{name}: {label}",
                    d["patients"],
                    f["cluster start s"],
                    f["wall s"],
                    f["patients/s (wall)"],
                    f["CPU s (all processes)"],
                    f["of which client and scheduler CPU s"],
                    f["patients per CPU s"],
                    f["output identical to batch"],
                ]
            )
    out.append(
        table(
            "batch --summary --cluster dask (warm workers; the same input; cluster start apart)",
            [
                "engine (population): run",
                "patients",
                "start s",
                "wall s",
                "patients/s wall",
                "CPU s",
                "client CPU s",
                "per CPU s",
                "identical",
            ],
            dask_rows,
        )
    )
    for name, d in s["dask"].items():
        out.append(
            f"  {name}: speed-up 2 workers / 1 (wall) {d['speed-up, 2 workers / 1 (wall)']}, "
            f"allowed by the CPU on 2 free cores {d.get(CEILING)} as measured, "
            f"{d.get(QUIET)} with the time-based CPU of a quiet machine's wall, "
            f"{d.get(DASK_ONLY)} with one worker's work shared evenly (Dask's own costs only); "
            "Dask's own CPU per patient "
            f"{d[OWN_CPU]}"
            f" ms; block {d.get('block (bytes of JSON Lines per task)', '-')} bytes of JSON Lines,"
            f" partition {d['partition (records per task)']} records (other inputs), "
            f"{d['partitions in flight per worker']} in flight per worker"
        )
        if HOST in d:
            before, after = d[HOST]
            out.append(
                f"    the host itself, 2 processes / 1 (a plain loop, nothing shared): {before} "
                f"just before, {after} just after"
            )
        for label in ("Dask, 1 local worker", "Dask, 2 local workers"):
            f = d[label]
            if "worker CPU ms per patient (each)" not in f:
                continue  # a results file from before these figures
            idle_client, idle_workers = f["idle CPU ms per wall s: client process / each worker"]
            work_patient, work_task = f[
                "client and scheduler CPU for the work, ms per patient / per task"
            ]
            out.append(
                f"    {label}: CPU ms per patient: client and scheduler "
                f"{f['client and scheduler CPU ms per patient']}, each worker "
                f"{f['worker CPU ms per patient (each)']}; idle, ms per wall s: client process "
                f"{idle_client}, each worker {idle_workers}; client and scheduler for the work "
                f"{work_patient} ms per patient, {work_task} ms per task "
                f"({f.get('tasks', d.get('tasks'))} tasks)"
            )
    runs = s["runs"]
    out.append(
        table(
            "batch --summary, register (1 % severe), whole runs in processes of their own",
            [
                "engine, workers",
                "patients",
                "wall s",
                "start-up s",
                "patients/s started",
                "CPU s",
                "per CPU s",
            ],
            [
                [
                    label,
                    f["patients"],
                    f["wall s"],
                    f["start-up (1-patient run) s"],
                    f["patients/s once started"],
                    f["CPU s"],
                    f["patients per CPU s (start-up CPU taken off)"],
                ]
                for label, f in runs.items()
                if isinstance(f, dict)
            ],
        )
    )
    out.append("  " + "; ".join(f"{k}: {v}" for k, v in runs.items() if not isinstance(v, dict)))
    d = s["dask scheduler"]
    out.append("  Dask scheduler: " + "; ".join(f"{k}: {v}" for k, v in d.items()))
    million = s["one million patients"]
    out.append(
        table(
            "One million patients, from the CPU cost measured above (perfect scaling assumed)",
            [
                "population: output, engine",
                "CPU ms",
                "CPU hours",
                "h on 2/8/32 cores",
                "h on 4/16/64 x 8-core (Dask)",
                "output GB",
            ],
            [
                [
                    label,
                    f["CPU ms per patient"],
                    f["CPU hours"],
                    " / ".join(str(x) for x in f["hours on 2 / 8 / 32 cores"]),
                    " / ".join(
                        str(x) for x in f["hours on 4 / 16 / 64 machines of 8 cores (Dask)"]
                    ),
                    f["output GB"],
                ]
                for label, f in million.items()
                if isinstance(f, dict)
            ],
        )
    )
    out.append(
        f"  Dask's cost added per patient on a cluster: {million['Dask cost per patient added, ms']} ms"
    )
    return out


def main() -> None:
    """Run the sections asked for, print the tables, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=1000, help="generated patients (latency)")
    parser.add_argument("--repeats", type=int, default=2, help="passes over the patients")
    parser.add_argument("--batch", type=int, default=10_000, help="patients in the batch runs")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sizes", default="100,1000,10000", help="synthetic rule-set sizes")
    parser.add_argument("--scaling-patients", type=int, default=200)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per scaling size")
    parser.add_argument("--cli-runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--screen", type=int, default=5000, help="patients in the screening runs (compiled)"
    )
    parser.add_argument(
        "--service-patients", type=int, default=200, help="generated patients (service)"
    )
    parser.add_argument("--service-seconds", type=float, default=10.0, help="HTTP load duration")
    parser.add_argument("--service-clients", type=int, default=4, help="HTTP client threads")
    parser.add_argument(
        "--service-workers",
        default="1,2",
        help="serve --workers: each count given is run over HTTP (default 1,2)",
    )
    parser.add_argument(
        "--full-patients", type=int, default=500, help="generated patients (full consultation)"
    )
    parser.add_argument("--full-repeats", type=int, default=3, help="passes (full consultation)")
    parser.add_argument(
        "--dask-patients",
        type=int,
        default=20_000,
        help="register patients in the Dask runs (compiled; a quarter of them on experta)",
    )
    parser.add_argument("--only", default="startup,latency,full,batch,scaling,screening,service")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    args = parser.parse_args()
    if args.quick:
        args.patients, args.repeats, args.batch, args.sizes = 20, 1, 40, "100"
        args.scaling_patients, args.cli_runs, args.budget = 10, 1, 10.0
        args.screen = 60
        args.full_patients, args.full_repeats = 10, 1
        args.service_patients, args.service_seconds, args.service_clients = 5, 2.0, 2
        args.service_workers = "1"  # one worker starts sooner: --quick only checks that it runs
    warnings.simplefilter("ignore")  # hypothesis' strategies module warns about nothing here
    sections = set(args.only.split(","))
    results: dict[str, Any] = {
        "environment": {
            "commit": git_commit(),
            "python": platform.python_version(),
            "machine": f"{platform.system()} {platform.machine()}",
            "cores": os.cpu_count(),
            "load before": load_average(),
            "calibration before, ms": calibration(),
            "settings": {k: v for k, v in vars(args).items() if k != "json"},
        }
    }
    with tempfile.TemporaryDirectory(prefix="cramp-bench-") as folder:
        work = Path(folder)
        os.environ["CRAMP_EXPERT_CACHE"] = str(work / "kb-cache")
        if "startup" in sections:
            results["startup"] = cli_section(args.cli_runs, work)
        if "latency" in sections:
            results["latency"] = latency_section(args.patients, args.seed, args.repeats)
        if "full" in sections:
            results["full"] = full_section(args.full_patients, args.seed, args.full_repeats)
        if "batch" in sections:
            results["batch"] = batch_section(args.batch, args.workers, args.seed, work)
        if "service" in sections:
            results["service"] = service_section(
                args.service_patients,
                args.seed,
                args.service_seconds,
                args.service_clients,
                [int(n) for n in str(args.service_workers).split(",") if n],
                work,
            )
        if "scaling" in sections:
            sizes = [int(s) for s in args.sizes.split(",") if s]
            results["scaling"] = scaling_section(
                sizes, args.scaling_patients, args.seed, work, args.budget
            )
        if "screening" in sections:
            results["screening"] = screening_section(
                args.screen, args.seed, work, args.quick, args.dask_patients
            )
    results["environment"]["load after"] = load_average()
    results["environment"]["calibration after, ms"] = calibration()
    results["environment"]["settings"]["json"] = str(args.json)
    text = report(results)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {args.json}")
    mismatched = [
        figures["agreement"]["mismatches"] for figures in results.get("latency", {}).values()
    ] + [f["mismatches"] for f in results.get("scaling", {}).values()]
    if any(mismatched):
        raise SystemExit("benchmark: experta and the reference evaluator disagree (see above)")


if __name__ == "__main__":
    main()
