"""Shared fixtures and hypothesis profiles.

Profiles: `dev` (default, random), `ci` (derandomized, chosen automatically when CI is set),
`nightly` (many more examples), `fuzz` (15,000 examples per test: run it on the fuzz tests only,
`HYPOTHESIS_PROFILE=fuzz pytest -m fuzz`). Select with HYPOTHESIS_PROFILE.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# The parsed-knowledge cache goes to a folder of this run's own, not the user's cache (set
# before anything loads a knowledge base; CLI tests' subprocesses inherit it).
if "CRAMP_EXPERT_CACHE" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="cramp-expert-test-cache-")
    os.environ["CRAMP_EXPERT_CACHE"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

from cramp_expert.api import Consultant

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "nightly", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz",
    max_examples=15_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
VIGNETTES = Path(__file__).resolve().parent / "acceptance" / "vignettes"


@pytest.fixture(scope="session")
def consultant() -> Consultant:
    """The bundled knowledge base, loaded and compiled once for the whole session."""
    return Consultant()


@pytest.fixture(scope="session")
def kb(consultant: Consultant):  # type: ignore[no-untyped-def]
    return consultant.kb


@pytest.fixture(scope="session")
def knowledge(kb):  # type: ignore[no-untyped-def]
    return kb.knowledge


SLOW = (
    "tests/fuzz/",  # the loaders fuzzed with hypothesis
    "tests/property/",  # every property on generated patients
    "tests/reasoning/test_properties.py",  # robustness and whole interviews, generated patients
    "tests/verify/test_planted_defects.py",  # kb check searching each planted defect
    "tests/cli/test_batch_kill.py",  # real batch processes killed and resumed
    "tests/test_bench.py",  # the benchmark on its quick sizes
    "tests/unit/test_engine_rete.py::test_generated_patients_fire_alike",  # stock experta too
    # Each of these starts several processes, a cluster, a terminal or a browser print, or
    # searches the whole rule base; together they were a third of `make test`'s CPU time. The
    # everyday run keeps cheaper tests of the same behaviour (kb check through the API in
    # tests/verify, two-worker batches in test_batch_hardening, the interview through CliRunner).
    "tests/cli/test_kb_check.py::test_the_real_knowledge_base_passes",
    "tests/cli/test_kb_check.py::test_coverage_of_the_real_knowledge_base",
    "tests/cli/test_interview.py::test_the_examples_driven_through_a_real_terminal",
    "tests/screen/test_batch_screening.py::test_dask_writes_what_one_local_worker_writes",
    "tests/screen/test_batch_screening.py::test_dask_reads_fhir_bulk_data_joined_per_patient_as_one_worker_does",
    "tests/screen/test_cluster.py::test_a_local_cluster_runs_with_its_own_configuration_and_writes_what_batch_writes",
    "tests/screen/test_backend.py::test_compiled_and_experta_agree_on_a_thousand_seeded_patients",
    "tests/unit/test_engine.py::test_firing_order_is_the_same_whatever_the_hash_seed",
    "tests/unit/test_audit.py::test_two_runs_give_byte_identical_results_whatever_the_hash_seed",
    "tests/cli/test_batch.py::test_an_interrupted_run_leaves_the_previous_output",
    "tests/cli/test_batch.py::test_workers_give_the_same_output_as_one_process",
    "tests/cli/test_batch_hardening.py::test_orphaned_workers_exit_quietly",
    "tests/cli/test_batch_hardening.py::test_sigterm_ends_a_run_with_workers_and_stops_them",
    "tests/handout/test_handout.py::test_each_example_prints_on_one_a4_page",
)
"""Tests marked `slow`: `make test` leaves them out unless CI is set (CI runs every test)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
