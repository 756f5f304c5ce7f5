"""Content-addressed blob store: immutable bytes named by their sha256.

A blob is written to a temp file, fsynced, renamed into place and the directory fsynced, so
after a power cut it is either whole or absent. Identical bytes are stored once however many
documents use them. Partial files hold resumable transfers; their bytes only become a blob
after the whole sha256 checks out.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from gateway.errors import StoreError

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
COPY_BLOCK = 256 * 1024


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BlobError(StoreError):
    pass


class BlobCorrupt(BlobError):
    pass


def check_digest(sha256: str) -> str:
    """Only a validated digest ever becomes part of a path."""
    if not SHA256_HEX.fullmatch(sha256):
        raise BlobError("invalid sha256")
    return sha256


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class ScrubReport:
    checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.missing


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.partial_dir = root / "partial"
        for d in (root, self.tmp, self.partial_dir):
            d.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        check_digest(sha256)
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        return self.path(sha256).stat().st_size

    def put_file(self, src: Path) -> tuple[str, int]:
        with src.open("rb") as f:
            return self.put_stream(iter(lambda: f.read(COPY_BLOCK), b""))

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        return self.put_stream([data])

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        tmp = self.tmp / f"{os.getpid()}-{secrets.token_hex(8)}"
        try:
            with tmp.open("xb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            self._install(tmp, sha)
        finally:
            tmp.unlink(missing_ok=True)
        return sha, size

    def _install(self, tmp: Path, sha256: str) -> None:
        target = self.path(sha256)
        if target.exists():
            return  # stored once: identical bytes are already there
        target.parent.mkdir(exist_ok=True)
        tmp.replace(target)
        fsync_dir(target.parent)

    def read_chunks(self, sha256: str, offset: int = 0) -> Iterator[bytes]:
        with self.path(sha256).open("rb") as f:
            f.seek(offset)
            yield from iter(lambda: f.read(COPY_BLOCK), b"")

    def read_range(self, sha256: str, offset: int, length: int) -> bytes:
        with self.path(sha256).open("rb") as f:
            f.seek(offset)
            return f.read(length)

    def verify(self, sha256: str) -> bool:
        digest = hashlib.sha256()
        try:
            for chunk in self.read_chunks(sha256):
                digest.update(chunk)
        except FileNotFoundError:
            return False
        return digest.hexdigest() == sha256

    def export(self, sha256: str, dest: Path) -> None:
        """Copies a blob out, verifying it on the way; a corrupt blob leaves no file behind."""
        digest = hashlib.sha256()
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        try:
            with tmp.open("xb") as out:
                for chunk in self.read_chunks(sha256):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise BlobCorrupt(f"blob {sha256[:12]} is corrupt")
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)

    # Resumable transfers -------------------------------------------------------------------

    def partial_path(self, sha256: str) -> Path:
        return self.partial_dir / check_digest(sha256)

    def partial_size(self, sha256: str) -> int:
        try:
            return self.partial_path(sha256).stat().st_size
        except FileNotFoundError:
            return 0

    def open_partial(self, sha256: str, offset: int) -> BinaryIO:
        """Opens the partial file for appending at ``offset``, which must be its size."""
        path = self.partial_path(sha256)
        f = path.open("ab")
        if f.tell() != offset:
            f.close()
            raise BlobError(f"offset {offset} does not match stored {self.partial_size(sha256)}")
        return f

    def finish_partial(self, sha256: str) -> bool:
        """Moves a complete partial into the store if its digest matches; else discards it."""
        path = self.partial_path(sha256)
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(COPY_BLOCK), b""):
                digest.update(chunk)
            os.fsync(f.fileno())
        if digest.hexdigest() != sha256:
            path.unlink(missing_ok=True)
            return False
        if self.has(sha256):
            path.unlink()
        else:
            self._install(path, sha256)
        return True

    def discard_partial(self, sha256: str) -> None:
        self.partial_path(sha256).unlink(missing_ok=True)

    # Maintenance ---------------------------------------------------------------------------

    def cleanup_tmp(self) -> int:
        """Removes temp files a crashed process left behind; they were never visible as blobs.

        Temp names start with the writer's pid, so a file another live process (the TUI, a
        CLI send, the daemon) is writing right now is left alone.
        """
        removed = 0
        for p in self.tmp.iterdir():
            pid = p.name.partition("-")[0]
            if pid.isdigit() and _alive(int(pid)) and int(pid) != os.getpid():
                continue
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed += 1
        return removed

    def all_digests(self) -> list[str]:
        found = []
        for sub in self.root.iterdir():
            if sub.is_dir() and len(sub.name) == 2:
                found += [p.name for p in sub.iterdir() if SHA256_HEX.fullmatch(p.name)]
        return sorted(found)

    def scrub(self, referenced: Iterable[str]) -> ScrubReport:
        report = ScrubReport()
        for sha in sorted(set(referenced)):
            report.checked += 1
            if not self.has(sha):
                report.missing.append(sha)
            elif not self.verify(sha):
                report.corrupt.append(sha)
        return report

    def quarantine(self, sha256: str) -> None:
        """Moves a corrupt blob aside so that it is fetched or re-added, never served."""
        bad = self.root / "corrupt"
        bad.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            shutil.move(str(self.path(sha256)), bad / sha256)

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free
