"""Content-addressed blob store: immutable bytes named by their sha256.

A blob is written to a temp file, fsynced, renamed into place and the directory fsynced, so
after a power cut it is either whole or absent. Identical bytes are stored once however many
documents use them. Partial files hold resumable transfers; their bytes only become a blob
after the whole sha256 checks out.

A blob file no document references (left by a ``gateway send`` killed between storing its
files and committing the document) is swept once it is older than a grace period; an install
holds a shared lock and refreshes the file's time, the sweep an exclusive one, so a send in
progress never loses a blob it is about to commit.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from gateway.errors import StoreError
from gateway.model.errors import Problem, Refused

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


class BlobCorrupt(Refused, BlobError):
    """A stored blob cannot be given out (damaged, or moved aside until fetched again); its
    message is the one-line, bilingual text a clerk sees."""


def printable_name(name: str) -> str:
    """A file name safe to put in a one-line message (remote names may hold controls)."""
    return "".join(c if c.isprintable() else "?" for c in name)[:80]


def unreadable(name: str, *, missing: bool) -> BlobCorrupt:
    shown = printable_name(name)
    if missing:
        return BlobCorrupt(Problem("blob.missing",
            f"Tệp đính kèm '{shown}' không còn trên máy: bản hỏng đã được cách ly và được tải "
            "lại từ máy chủ tỉnh nếu tỉnh còn bản đúng; hãy thử lại sau.",
            f"Attachment '{shown}' is not on this box: the damaged copy was quarantined and is "
            "fetched again from the hub when the hub has it; try again later."))
    return BlobCorrupt(Problem("blob.corrupt",
        f"Tệp đính kèm '{shown}' bị hỏng trên máy này; chạy 'gateway scrub' để cách ly nó và "
        "tải lại bản đúng từ máy chủ tỉnh.",
        f"Attachment '{shown}' is damaged on this box; run 'gateway scrub' to quarantine it "
        "and fetch a good copy from the hub."))


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

    @contextlib.contextmanager
    def _locked(self, kind: int) -> Iterator[None]:
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, kind)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _install(self, tmp: Path, sha256: str) -> None:
        target = self.path(sha256)
        with self._locked(fcntl.LOCK_SH):
            if target.exists():
                # Stored once: identical bytes are already there. Its time is refreshed, so
                # the orphan sweep sees a send in progress (it may reuse an old orphan).
                with contextlib.suppress(FileNotFoundError):
                    os.utime(target)
                    return
            target.parent.mkdir(exist_ok=True)
            tmp.replace(target)
        fsync_dir(target.parent)

    def read_chunks(self, sha256: str, offset: int = 0) -> Iterator[bytes]:
        with self.path(sha256).open("rb") as f:
            f.seek(offset)
            yield from iter(lambda: f.read(COPY_BLOCK), b"")

    def read_verified(self, sha256: str, name: str = "") -> bytes:
        """A whole blob in memory, checked against its digest (:class:`BlobCorrupt` if not):
        for the few callers that must hold it, such as an edXML package being built."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise unreadable(name or sha256[:16], missing=True) from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise unreadable(name or sha256[:16], missing=False)
        return data

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
        """Copies a blob out, verifying it on the way; a corrupt blob leaves no file behind.

        A damaged or quarantined blob raises :class:`BlobCorrupt` (one bilingual line)."""
        digest = hashlib.sha256()
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        try:
            source = self.path(sha256).open("rb")
        except FileNotFoundError:
            raise unreadable(dest.name, missing=True) from None
        try:
            with source, tmp.open("xb") as out:
                for chunk in iter(lambda: source.read(COPY_BLOCK), b""):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise unreadable(dest.name, missing=False)
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

    def quarantine(self, sha256: str) -> bool:
        """Moves a corrupt blob aside so that it is fetched or re-added, never served; a
        later copy of the same digest replaces an earlier one (one file per digest)."""
        bad = self.root / "corrupt"
        bad.mkdir(exist_ok=True)
        try:
            self.path(sha256).replace(bad / sha256)
        except FileNotFoundError:
            return False
        fsync_dir(self.path(sha256).parent)
        return True

    def sweep(self, referenced: Iterable[str], grace_s: float) -> list[str]:
        """Removes blob files that no document references and that nobody wrote or reused
        for ``grace_s`` seconds (a send stores its files, then commits the document)."""
        keep = set(referenced)
        cutoff = time.time() - grace_s
        removed: list[str] = []
        with self._locked(fcntl.LOCK_EX):
            for sha in self.all_digests():
                if sha in keep:
                    continue
                path = self.path(sha)
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed.append(sha)
        return removed

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free
