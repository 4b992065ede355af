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
atomically, only when something changed, and holds only the documents of the last load.
Documents that parsed with problems are never cached.

The cache is trusted only as far as it is verified. Its folder must belong to the user and be
private (mode 0700; a shared folder another user could write is not used); each cache file
carries an HMAC-SHA256 of its content under a secret key of the user's (`key` in the folder,
mode 0600), so an edited entry, a truncated file or another user's file fails the check and
the YAML is read instead. A cache file that is broken, of the wrong type (a FIFO, a folder, a
JSON array, nesting past the parser's limit) or too large is ignored with a one-line note on
stderr (logging, `cramp_expert.cache`), never an error: the knowledge base itself is intact.
Cache files not used for `PRUNE_DAYS` days, and all but the `KEEP` most recent, are removed
when a cache file is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import stat
import time
from pathlib import Path
from typing import Any

from cramp_expert import source
from cramp_expert.files import write_atomically
from cramp_expert.source import Document, load_bytes

FORMAT = 2
"""Bumped when the layout of a cache file changes."""
ENVIRONMENT = "CRAMP_EXPERT_CACHE"
MAGIC = "cramp-expert-cache"
MAX_CACHE_BYTES = 64 * 1024 * 1024
"""Largest cache file read (the bundled knowledge base's is about 1.6 MB)."""
KEEP = 32
"""Cache files kept (one per knowledge-base folder), the most recently used."""
PRUNE_DAYS = 30
"""Cache files unused this long are removed."""
_LOG = logging.getLogger("cramp_expert.cache")


def cache_folder() -> Path | None:
    """Where cache files go, or None when caching is off."""
    chosen = os.environ.get(ENVIRONMENT)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cramp-expert"


def _note(message: str) -> None:
    _LOG.warning("cramp-expert: note: %s", message)


def _parser_key() -> str:
    """The parser's identity: a change to source.py invalidates every cached document."""
    parser = Path(source.__file__).read_bytes()
    return f"{FORMAT}:" + hashlib.sha256(parser).hexdigest()


def private_folder(folder: Path) -> bool:
    """Make `folder` (mode 0700) if needed; whether it is a folder of this user's, private."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except OSError as exc:
        _note(f"the knowledge cache folder {folder} cannot be made ({exc.strerror}): not used")
        return False
    if not stat.S_ISDIR(info.st_mode):
        _note(f"the knowledge cache {folder} is not a folder: not used")
        return False
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        _note(
            f"the knowledge cache folder {folder} is not private to this user (it must be "
            "yours, mode 0700): not used"
        )
        return False
    return True


def _secret(folder: Path) -> bytes | None:
    """The user's key for the cache's HMACs, made on first use (32 random bytes, mode 0600)."""
    path = folder / "key"
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        secret = os.urandom(32)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return _secret(folder)  # another process made it first
        except OSError:
            return None
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(secret)
        return secret
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(stream.fileno())
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_uid != os.getuid()
            or info.st_mode & 0o077
            or info.st_size != 32
        ):
            _note(f"the knowledge cache key {path} is not a private file of 32 bytes: not used")
            return None
        return stream.read(32)


def _mac(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


class DocumentCache:
    """The parsed documents of one knowledge-base folder, read from and saved to a cache file."""

    def __init__(self, path: Path | None, secret: bytes | None = None):
        self.path = path if secret is not None else None
        self.secret = secret or b""
        self.key = _parser_key()
        self.entries: dict[str, Any] = {}
        self.used: dict[str, Any] = {}
        self.changed = False
        if self.path is not None:
            self.entries = self._read(self.path)

    def _read(self, path: Path) -> dict[str, Any]:
        """The verified entries of the cache file, or none (with a note when it is broken)."""
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return {}  # no cache yet
        except OSError as exc:
            return self._broken(path, exc.strerror or "cannot be opened")
        with os.fdopen(descriptor, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                return self._broken(path, "not a regular file")
            if info.st_size > MAX_CACHE_BYTES:
                return self._broken(path, f"larger than {MAX_CACHE_BYTES} bytes")
            try:
                raw = stream.read(MAX_CACHE_BYTES + 1)
            except OSError as exc:
                return self._broken(path, exc.strerror or "cannot be read")
        header, _, body = raw.partition(b"\n")
        fields = header.decode("ascii", "replace").split(" ")
        if len(fields) != 3 or fields[0] != MAGIC:
            return self._broken(path, "not a cache file of this version")
        if not hmac.compare_digest(fields[2], _mac(self.secret, body)):
            return self._broken(path, "its content does not match its HMAC (edited or damaged)")
        try:
            stored = json.loads(body)
        except (ValueError, RecursionError):
            return self._broken(path, "not JSON")
        if not isinstance(stored, dict) or not isinstance(stored.get("documents"), dict):
            return self._broken(path, "not a mapping of documents")
        if stored.get("key") != self.key:
            return {}  # written by another version of the parser: read afresh, no note
        documents: dict[str, Any] = stored["documents"]
        return documents

    @staticmethod
    def _broken(path: Path, why: str) -> dict[str, Any]:
        _note(f"the knowledge cache {path} is ignored ({why}); the YAML is read instead")
        return {}

    @classmethod
    def for_root(cls, root: Path) -> DocumentCache:
        """The cache of the knowledge base in `root` (a cache that keeps nothing when off)."""
        folder = cache_folder()
        if folder is None or not private_folder(folder):
            return cls(None)
        secret = _secret(folder)
        if secret is None:
            return cls(None)
        return cls(cache_file(folder, root), secret)

    def load(self, name: str, raw: bytes) -> Document:
        """The document of file `name` with content `raw`, from the cache or parsed.

        Parsing is `source.load_bytes(name, raw, keep_going=True)`, whose InputError it raises.
        """
        digest = hashlib.sha256(name.encode() + b"\0" + raw).hexdigest()
        entry = self.entries.get(digest)
        if entry is not None:
            try:
                document = _decode(name, entry)
            except (KeyError, TypeError, ValueError, AttributeError):
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
        if self.path is None:
            return
        if not (self.changed or self.used.keys() != self.entries.keys()):
            _touch(self.path)
            return
        body = json.dumps({"key": self.key, "documents": self.used}, ensure_ascii=False)
        header = f"{MAGIC} {FORMAT} {_mac(self.secret, body.encode('utf-8'))}\n"
        # A read-only home or a full disk: the next start-up reads the YAML again.
        with contextlib.suppress(OSError):
            write_atomically(self.path, header + body)
        prune(self.path.parent)


def cache_file(folder: Path, root: Path) -> Path:
    """The cache file of the knowledge base in `root`."""
    name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return folder / f"kb-{name}.json"


def forget(root: Path) -> None:
    """Remove the cache file of `root` (a temporary knowledge base, as `kb diff` exports)."""
    folder = cache_folder()
    if folder is not None:
        cache_file(folder, root).unlink(missing_ok=True)


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)  # used now: pruning goes by the time of last use


def prune(folder: Path, now: float | None = None) -> list[Path]:
    """Remove stale cache files; return what was removed.

    Those unused for PRUNE_DAYS, all but the KEEP most recent, and leftovers of interrupted
    writes older than a day.
    """
    now = time.time() if now is None else now
    try:
        files = [(p.stat().st_mtime, p) for p in folder.glob("kb-*.json")]
        leftovers = [(p.stat().st_mtime, p) for p in folder.glob(".kb-*.json.*")]
    except OSError:
        return []
    files.sort(reverse=True)
    doomed = [
        p for n, (mtime, p) in enumerate(files) if n >= KEEP or now - mtime > PRUNE_DAYS * 86400
    ]
    doomed += [p for mtime, p in leftovers if now - mtime > 86400]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


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


__all__ = ["DocumentCache", "cache_file", "cache_folder", "forget", "private_folder", "prune"]
