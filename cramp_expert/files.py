"""Writing output files so that a reader never sees half of one.

The text goes to a temporary file in the same folder, is flushed to disk, and replaces the
target in one rename: an interrupted write leaves the previous file (or none), never a part.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: str | Path, text: str) -> None:
    """Write `text` (UTF-8) to `path`, replacing it atomically."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


__all__ = ["write_atomically"]
