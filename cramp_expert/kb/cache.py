"""Parsed knowledge files kept between runs: a start-up reads one JSON file instead of the YAML.

In a fresh process, loading the bundled knowledge base (200 YAML files, every value's position
kept) takes 0.22 to 0.32 s; with the same documents (data, positions, source texts) read back
from one JSON file it takes 0.11 to 0.15 s (bench/README.md). Nothing else is cached: every
document is validated as if it had just been parsed, so problems, digests and results are the
same.

Each document is keyed by its name and the SHA-256 of its bytes, under a key for this cache's
format and the parser's own source, so an edited file or a changed parser is read afresh. One
cache file per knowledge-base folder lives in `$CRAMP_EXPERT_CACHE` (a folder; `off` turns the
cache off), by default `$XDG_CACHE_HOME/cramp-expert` or `~/.cache/cramp-expert`. It is written
atomically, only when something changed, and holds only the documents of the last load. A cache
that cannot be read, parsed or written is ignored: the YAML is read as before. Documents that
parsed with problems are never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cramp_expert import source
from cramp_expert.files import write_atomically
from cramp_expert.source import Document, load_bytes

FORMAT = 1
"""Bumped when the layout of a cache file changes."""
ENVIRONMENT = "CRAMP_EXPERT_CACHE"


def cache_folder() -> Path | None:
    """Where cache files go, or None when caching is off."""
    chosen = os.environ.get(ENVIRONMENT)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cramp-expert"


def _parser_key() -> str:
    """The parser's identity: a change to source.py invalidates every cached document."""
    parser = Path(source.__file__).read_bytes()
    return f"{FORMAT}:" + hashlib.sha256(parser).hexdigest()


class DocumentCache:
    """The parsed documents of one knowledge-base folder, read from and saved to a cache file."""

    def __init__(self, path: Path | None):
        self.path = path
        self.key = _parser_key()
        self.entries: dict[str, Any] = {}
        self.used: dict[str, Any] = {}
        self.changed = False
        if path is not None:
            try:
                stored = json.loads(path.read_bytes())
                if isinstance(stored, dict) and stored.get("key") == self.key:
                    entries = stored.get("documents")
                    if isinstance(entries, dict):
                        self.entries = entries
            except (OSError, ValueError):
                pass  # no cache yet, or a broken one: read the YAML

    @classmethod
    def for_root(cls, root: Path) -> DocumentCache:
        """The cache of the knowledge base in `root` (a cache that keeps nothing when off)."""
        folder = cache_folder()
        if folder is None:
            return cls(None)
        name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
        return cls(folder / f"kb-{name}.json")

    def load(self, name: str, raw: bytes) -> Document:
        """The document of file `name` with content `raw`, from the cache or parsed.

        Parsing is `source.load_bytes(name, raw, keep_going=True)`, whose InputError it raises.
        """
        digest = hashlib.sha256(name.encode() + b"\0" + raw).hexdigest()
        entry = self.entries.get(digest)
        if entry is not None:
            try:
                document = _decode(name, entry)
            except (KeyError, TypeError, ValueError):
                document = None
            if document is not None:
                self.used[digest] = entry
                return document
        document = load_bytes(name, raw, keep_going=True)
        if self.path is not None and not document.problems:
            self.used[digest] = _encode(document)
            self.changed = True
        return document

    def save(self) -> None:
        """Write the documents of this load, if anything differs from the cache file."""
        if self.path is None or not (self.changed or self.used.keys() != self.entries.keys()):
            return
        text = json.dumps({"key": self.key, "documents": self.used}, ensure_ascii=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, text)
        except OSError:
            pass  # a read-only home or a full disk: the next start-up reads the YAML again


def _encode(document: Document) -> dict[str, Any]:
    return {
        "data": document.data,
        "positions": [
            [list(path), line, column] for path, (line, column) in document.positions.items()
        ],
        "raw": [[list(path), text] for path, text in document.raw.items()],
    }


def _decode(name: str, entry: dict[str, Any]) -> Document:
    positions = {tuple(path): (line, column) for path, line, column in entry["positions"]}
    raw = {tuple(path): text for path, text in entry["raw"]}
    return Document(name, entry["data"], positions, raw)


__all__ = ["DocumentCache", "cache_folder"]
