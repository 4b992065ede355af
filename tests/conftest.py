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
