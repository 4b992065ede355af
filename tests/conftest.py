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
)
"""Tests marked `slow`: `make test` leaves them out unless CI is set (CI runs every test)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
