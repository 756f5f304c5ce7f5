"""``gateway hub backup``: a consistent copy of a hub that keeps serving while it is taken.

Order matters. The database is copied first, as one SQLite snapshot (online backup API); the
blobs are copied after it. Blobs are immutable and the hub never deletes one, and a blob is
on disk before any row that names it commits, so every blob the snapshot refers to is there
to copy; blobs that arrive later are copied too and are harmless (the restored hub simply
asks for them again). Every byte copied is read and hashed on the way. Blobs never change, so
they are hard-linked when the backup is on the hub's file system, and otherwise hard-linked
from the previous backup in the same folder when it has them: only new blobs are copied, and
a backup to a second disk costs what arrived since the last one. The backup is
built in ``DIR/.partial-NAME`` and renamed to ``DIR/NAME`` only when whole, then the oldest
backups beyond ``keep`` are removed. A lock in ``DIR`` keeps two runs apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway import __version__
from gateway.model import Problem, Refused
from gateway.services.backup_manifest import (
    BLOBS,
    DB_FILE,
    MANIFEST,
    MANIFEST_SUM,
    MAX_DAMAGED,
    BlobTally,
    Manifest,
    blob_files,
    copy_file,
    digest_file,
    fsync_tree,
)
from gateway.store.blobs import fsync_dir
from gateway.store.hub.backup import snapshot
from gateway.store.layout import write_atomic

PREFIX = "hub-"
PARTIAL = ".partial-"
# Live SQLite files (copied through the snapshot instead) and the hub's scratch folders.
_SKIP_FILES = frozenset({DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm", f"{DB_FILE}-journal"})


@dataclass(frozen=True)
class BackupResult:
    path: Path
    files: int
    blobs: int
    bytes: int
    linked: bool  # blobs hard-linked (same file system as the hub)
    damaged: tuple[str, ...]  # blobs found damaged at the hub, left out
    removed: tuple[Path, ...]  # older backups removed (keep)
    seconds: float
    outside: tuple[str, ...] = ()  # files hub.json names outside the data folder: not copied
    reused: int = 0  # blobs linked from the previous backup in DIR (not copied again)


def _refuse(code: str, vi: str, en: str) -> Refused:
    return Refused(Problem(code, vi, en))


def _check_places(data: Path, target: Path) -> None:
    if not (data / "hub.json").is_file() or not (data / DB_FILE).is_file():
        raise _refuse("hub.missing", f"{data} không phải thư mục dữ liệu của máy chủ tỉnh.",
                      f"{data} is not a hub data folder.")
    real_data, real_target = data.resolve(), target.resolve()
    if real_target == real_data or real_target.is_relative_to(real_data):
        raise _refuse("backup.inside_data",
                      f"Không sao lưu vào trong thư mục dữ liệu {data}: hãy chọn ổ hoặc thư mục "
                      "khác (tốt nhất là ổ đĩa khác).",
                      f"Refusing to back up into the data folder {data}: choose another "
                      "folder (best on another disk).")


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    fd = os.open(target / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _refuse("backup.busy", f"Một lần sao lưu khác đang chạy vào {target}.",
                          f"Another backup into {target} is running.") from None
        yield
    finally:
        os.close(fd)


def _config_files(data: Path) -> Iterator[Path]:
    """Every regular file of the data folder but the live database and the blob store."""
    for dirpath, dirs, files in os.walk(data):
        here = Path(dirpath)
        if here == data:
            dirs[:] = [d for d in dirs if d != BLOBS]
        for name in sorted(files):
            path = here / name
            if (here == data and name in _SKIP_FILES) or not path.is_file() or path.is_symlink():
                continue
            yield path


def outside_files(data: Path) -> tuple[str, ...]:
    """Files ``hub.json`` names that live outside the data folder (an absolute
    ``secret_file``, ``trust_roots`` or CRL path): a backup cannot hold them, and a restore must
    never write outside its folder, so they are only named for the technician to copy."""
    try:
        config = json.loads((data / "hub.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    axis = config.get("axis") if isinstance(config, dict) else None
    named = [axis.get("secret_file") if isinstance(axis, dict) else None,
             config.get("trust_roots"), *(config.get("trust_crls") or [])]
    real = data.resolve()
    return tuple(str(n) for n in named if isinstance(n, str) and n
                 and not (data / n).resolve().is_relative_to(real))


@dataclass(frozen=True)
class _Built:
    manifest: Manifest
    linked: bool
    total: int
    reused: int


def _reuse(previous: Path | None, sha: str, dest: Path) -> int | None:
    """Hard-links a blob from the previous backup in the same folder (checked when it was
    copied; blobs never change), so a backup on another disk writes only what is new.
    Returns its size, or None when there is nothing to reuse."""
    if previous is None:
        return None
    old = previous / BLOBS / sha[:2] / sha
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.link(old, dest)
    except OSError:
        return None
    return dest.stat().st_size


def _previous(target: Path) -> Path | None:
    done = sorted(p for p in target.iterdir()
                  if p.name.startswith(PREFIX) and (p / MANIFEST).is_file())
    return done[-1] if done else None


def _build(data: Path, work: Path, previous: Path | None) -> _Built:
    work.mkdir(mode=0o700)
    schema = snapshot(data / DB_FILE, work / DB_FILE)
    files = {DB_FILE: digest_file(work / DB_FILE)}
    for path in _config_files(data):
        rel = path.relative_to(data).as_posix()
        files[rel] = copy_file(path, work / rel)
    blob_root = data / BLOBS
    linked = blob_root.is_dir() and work.stat().st_dev == blob_root.stat().st_dev
    tally = BlobTally()
    bad: list[str] = []
    reused = 0
    for sha, path in blob_files(blob_root):
        dest = work / BLOBS / sha[:2] / sha
        size = None if linked else _reuse(previous, sha, dest)
        if size is not None:
            reused += 1
        else:
            size, got = copy_file(path, dest, link=linked)
            if got != sha:  # damaged at the hub: never put a wrong copy in a backup
                dest.unlink()
                bad.append(sha)
                continue
        tally.add(sha, size)
    total = tally.bytes + sum(size for size, _ in files.values())
    manifest = Manifest(time.time_ns() // 1_000_000, __version__, schema, files, tally.count,
                        tally.bytes, tally.names, tuple(bad[:MAX_DAMAGED]))
    raw = manifest.to_bytes()
    write_atomic(work / MANIFEST, raw, 0o600)
    write_atomic(work / MANIFEST_SUM, (hashlib.sha256(raw).hexdigest() + "\n").encode(), 0o600)
    fsync_tree(work)
    return _Built(manifest, linked, total, reused)


def _prune(target: Path, keep: int) -> tuple[Path, ...]:
    done = sorted(p for p in target.iterdir()
                  if p.name.startswith(PREFIX) and (p / MANIFEST).is_file())
    old = done[:-keep] if keep > 0 else []  # their linked blobs live on in the newer ones
    for path in old:
        shutil.rmtree(path)
    for stale in target.iterdir():  # left by a run that was killed (we hold the lock)
        if stale.name.startswith(PARTIAL):
            shutil.rmtree(stale, ignore_errors=True)
    return tuple(old)


def backup(data: Path, target: Path, keep: int = 7) -> BackupResult:
    """Writes a new backup of the hub in ``data`` into ``target``/hub-YYYYMMDDTHHMMSSZ."""
    start = time.monotonic()
    _check_places(data, target)
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(target):
        name = PREFIX + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        work, final = target / (PARTIAL + name), target / name
        try:
            built = _build(data, work, _previous(target))
            work.rename(final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        fsync_dir(target)
        removed = _prune(target, keep)
    m = built.manifest
    return BackupResult(final, len(m.files), m.blob_count, built.total, built.linked,
                        m.damaged, removed, time.monotonic() - start, outside_files(data),
                        built.reused)


async def hub_backup(data: str, target: str, keep: int) -> BackupResult:
    return await asyncio.to_thread(backup, Path(data), Path(target), keep)
