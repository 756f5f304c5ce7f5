"""What a hub backup holds and how it proves it is whole: the manifest, and verified copies.

A backup folder holds ``hub.sqlite3`` (an online snapshot), ``blobs/aa/<sha256>``, every other
file of the hub's data folder (configuration, certificates, keys) and ``manifest.json``: the
size and sha256 of each file, and for the blobs their count, total size and the sha256 of
their sorted names. A blob's name is its sha256, so each blob proves itself; the names' digest
proves none is missing or extra, and keeps the manifest small however many millions of blobs
a hub holds (a list of them would outgrow any sane limit in a year or two).
``manifest.sha256`` holds the manifest's own digest, so a truncated or edited manifest is
refused before anything in it is believed. The manifest is untrusted input at restore time:
its size, its shape and every path in it are checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gateway.model import Problem, Refused
from gateway.store.blobs import COPY_BLOCK, SHA256_HEX

FORMAT = "commune-hub-backup/1"
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
DB_FILE = "hub.sqlite3"
BLOBS = "blobs"
MAX_MANIFEST_BYTES = 4 * 2**20
MAX_FILES = 10_000
MAX_DAMAGED = 10_000
_PART = re.compile(r"[A-Za-z0-9._-]{1,128}", re.ASCII)


def damaged(where: object, detail: str) -> Refused:
    """The one refusal a bad backup gets: what is wrong, and what to do instead."""
    return Refused(Problem(
        "backup.damaged",
        f"Bản sao lưu {where} bị hỏng hoặc không đầy đủ ({detail[:160]}); không khôi phục. "
        "Hãy dùng bản sao lưu khác (bản của đêm trước).",
        f"The backup {where} is damaged or incomplete ({detail[:160]}); nothing restored. "
        "Use another backup (the previous night's)."))


def safe_relpath(text: str) -> bool:
    """A relative path of plain names only: nothing a manifest says can leave the folder."""
    parts = PurePosixPath(text).parts
    return (0 < len(parts) <= 8 and "/".join(parts) == text
            and all(_PART.fullmatch(p) and p not in (".", "..") for p in parts))


class BlobTally:
    """Count, total size and names' digest of blobs met in sorted order (:func:`blob_files`)."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0
        self._names = hashlib.sha256()

    def add(self, sha256: str, size: int) -> None:
        self.count += 1
        self.bytes += size
        self._names.update(sha256.encode() + b"\n")

    @property
    def names(self) -> str:
        return self._names.hexdigest()


@dataclass(frozen=True)
class Manifest:
    created_ms: int
    version: str  # of the program that wrote it
    schema: int  # the database's schema version
    files: dict[str, tuple[int, str]] = field(default_factory=dict)  # path: (size, sha256)
    blob_count: int = 0
    blob_bytes: int = 0
    blob_names: str = hashlib.sha256().hexdigest()  # of the sorted names, one per line
    damaged: tuple[str, ...] = ()  # blobs the hub held damaged: left out, named here

    def to_bytes(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "created_ms": self.created_ms, "version": self.version,
            "schema": self.schema,
            "files": {p: [s, h] for p, (s, h) in sorted(self.files.items())},
            "blobs": {"count": self.blob_count, "bytes": self.blob_bytes,
                      "names_sha256": self.blob_names},
            "damaged": list(self.damaged),
        }, indent=1).encode()

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        """Raises ``ValueError`` with the first thing wrong."""
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a hub backup manifest")
        created, version, schema = data.get("created_ms"), data.get("version"), data.get("schema")
        if not (isinstance(created, int) and isinstance(version, str)
                and isinstance(schema, int) and len(version) <= 40):
            raise ValueError("manifest header fields missing or of the wrong type")
        files, blobs, bad = data.get("files"), data.get("blobs"), data.get("damaged")
        if not (isinstance(files, dict) and isinstance(blobs, dict) and isinstance(bad, list)
                and len(bad) <= MAX_DAMAGED):
            raise ValueError("manifest lists missing")
        if len(files) > MAX_FILES or DB_FILE not in files:
            raise ValueError("manifest file list is not a hub's")
        parsed: dict[str, tuple[int, str]] = {}
        for path, entry in files.items():
            if not (safe_relpath(path) and not path.startswith(BLOBS + "/")
                    and isinstance(entry, list) and len(entry) == 2
                    and isinstance(entry[0], int) and entry[0] >= 0
                    and isinstance(entry[1], str) and SHA256_HEX.fullmatch(entry[1])):
                raise ValueError(f"bad file entry {str(path)[:80]!r}")
            parsed[path] = (entry[0], entry[1])
        count, size, names = blobs.get("count"), blobs.get("bytes"), blobs.get("names_sha256")
        if not (isinstance(count, int) and count >= 0 and isinstance(size, int) and size >= 0
                and isinstance(names, str) and SHA256_HEX.fullmatch(names)):
            raise ValueError("bad blob summary")
        if not all(isinstance(s, str) and SHA256_HEX.fullmatch(s) for s in bad):
            raise ValueError("bad damaged-blob entry")
        return cls(created, version, schema, parsed, count, size, names, tuple(bad))


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the backup in ``folder``, after checking its digest and shape."""
    try:
        size = (folder / MANIFEST).stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise damaged(folder, f"{MANIFEST} is {size} bytes, over the limit")
        raw = (folder / MANIFEST).read_bytes()
        recorded = (folder / MANIFEST_SUM).read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError as exc:
        raise damaged(folder, f"{Path(str(exc.filename)).name} is missing") from None
    if hashlib.sha256(raw).hexdigest() != recorded:
        raise damaged(folder, f"{MANIFEST} does not match {MANIFEST_SUM} (truncated or edited)")
    try:
        return Manifest.parse(raw)
    except (ValueError, RecursionError) as exc:
        raise damaged(folder, f"{MANIFEST}: {exc}") from None


def blob_files(root: Path) -> Iterator[tuple[str, Path]]:
    """The blobs under ``root`` (``aa/<sha256>``; not partial uploads, temp files or
    quarantine), in sorted order, one folder at a time."""
    if not root.is_dir():
        return
    for sub in sorted(root.iterdir()):
        if sub.is_dir() and len(sub.name) == 2:
            for path in sorted(sub.iterdir()):
                if SHA256_HEX.fullmatch(path.name) and path.name[:2] == sub.name:
                    yield path.name, path


def digest_file(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file, read once."""
    h, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(COPY_BLOCK), b""):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def copy_file(src: Path, dest: Path, *, link: bool = False) -> tuple[int, str]:
    """Copies (or hard-links, for an immutable blob on the same file system) ``src`` to the
    new path ``dest``, fsynced; returns the size and sha256 of the bytes read from ``src``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(src, dest)
            return digest_file(dest)
        except OSError:
            pass  # another file system, or no hard links there: copy instead
    h, size = hashlib.sha256(), 0
    with src.open("rb") as inp, dest.open("xb") as out:
        for chunk in iter(lambda: inp.read(COPY_BLOCK), b""):
            h.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    dest.chmod(src.stat().st_mode & 0o777)
    return size, h.hexdigest()


def fsync_tree(root: Path) -> None:
    """Every directory under ``root`` (files were fsynced as they were written)."""
    for dirpath, _dirs, _files in os.walk(root):
        fd = os.open(dirpath, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
