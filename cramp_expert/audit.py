"""The audit trail: which engine and which knowledge base produced a result, as one digest.

Every result names the knowledge base's version and a digest of two things together: the content
of the knowledge base (every file of knowledge/ and rules/, with its path) and the engine that ran
it (cramp-expert's version and a digest of its own source code, and experta's version). The same
input with the same digest always gives the same result. `cramp-expert --version` shows them.

NOTE: the engine's source code is part of the digest, not only its version number: between two
releases the code changes while the version does not, and a result must still be traceable to the
code that produced it.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def source_digest(package: Path = PACKAGE) -> str:
    """sha256 of the package's Python source: every `.py` file, with its path inside the package."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


@cache
def engine_identity() -> tuple[str, str, str]:
    """What the engine is: cramp-expert's version, the digest of its source, experta's version.

    Computed once per process: the code that runs is the code that was imported.
    """
    return (
        f"cramp-expert {metadata.version('cramp-expert')}",
        f"source {source_digest()}",
        f"experta {metadata.version('experta')}",
    )


def engine_version() -> str:
    """`cramp-expert 0.1.0 (source 1a2b3c4d5e6f) / experta 1.9.4`: the result's `engine` field."""
    package, source, experta = engine_identity()
    return f"{package} (source {source.removeprefix('source sha256:')[:12]}) / {experta}"


def audit_digest(content_digest: str) -> str:
    """The digest every result carries: the knowledge base's content digest and the engine's identity."""
    digest = hashlib.sha256(content_digest.encode())
    for part in engine_identity():
        digest.update(b"\0" + part.encode())
    return "sha256:" + digest.hexdigest()
