"""``gateway hub restore``: a backup made whole again as a hub data folder, or nothing.

The manifest's own digest and shape are checked first; then every file and blob is checked
against its size and sha256 as it is copied, and the database snapshot by SQLite. The new
folder is built beside the target and renamed into place only when all of it checked out, so
a damaged backup, a failure or a kill leaves no half hub. A folder that is not empty is never
overwritten unless asked (``force``), and even then it is moved aside
(``NAME.before-restore-…``), not deleted. The restored database's receipt and inbox counters
are moved past anything the boxes may have seen from the lost hours
(:func:`gateway.store.hub.backup.advance_sequences`), and it gets a new epoch, by which the
boxes learn to offer those hours again (:mod:`gateway.store.hub.epoch`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.model import Problem, Refused
from gateway.services.backup_manifest import (
    BLOBS,
    DB_FILE,
    MANIFEST,
    BlobTally,
    Manifest,
    blob_files,
    copy_file,
    damaged,
    fsync_tree,
    read_manifest,
)
from gateway.services.hub_backup import PREFIX
from gateway.store.blobs import fsync_dir
from gateway.store.hub.backup import advance_sequences, check
from gateway.store.hub.epoch import begin_epoch
from gateway.store.hub.schema import HUB_MIGRATIONS


@dataclass(frozen=True)
class RestoreResult:
    source: Path  # the backup folder actually used
    data: Path
    created_ms: int  # when the backup was taken
    files: int
    blobs: int
    moved_aside: Path | None  # the folder that was there before (force)
    seconds: float
    epoch: str  # the restored hub's new epoch (gateway/store/hub/epoch.py)


def pick_backup(source: Path) -> Path:
    """``source`` itself if it is a backup, else the newest complete backup inside it."""
    if (source / MANIFEST).exists() or not source.is_dir():
        return source
    found = sorted(p for p in source.iterdir() if p.name.startswith(PREFIX)
                   and (p / MANIFEST).is_file())
    return found[-1] if found else source


def _manifest(folder: Path) -> Manifest:
    if not folder.is_dir():
        raise Refused(Problem("backup.missing", f"Không thấy bản sao lưu {folder}.",
                              f"No backup at {folder}."))
    manifest = read_manifest(folder)
    if manifest.schema > len(HUB_MIGRATIONS):
        raise Refused(Problem(
            "backup.too_new", f"Bản sao lưu do phiên bản mới hơn ({manifest.version}) tạo ra; "
            "hãy cài phiên bản đó rồi khôi phục.",
            f"The backup was made by a newer version ({manifest.version}); install it first."))
    return manifest


def _copy_checked(folder: Path, work: Path, manifest: Manifest) -> None:
    """Every file and blob the manifest names, each checked against its size and sha256 as
    it is copied; the database snapshot is checked by SQLite too."""
    for rel, (size, sha) in manifest.files.items():
        path = folder / rel
        if path.is_symlink() or not path.is_file():
            raise damaged(folder, f"{rel} is missing")
        if copy_file(path, work / rel) != (size, sha):
            raise damaged(folder, f"{rel} does not match the manifest (sha256)")
    tally = BlobTally()
    for sha, path in blob_files(folder / BLOBS):
        if path.is_symlink() or not path.is_file():
            raise damaged(folder, f"{BLOBS}/{sha[:2]}/{sha} is not a file")
        size, got = copy_file(path, work / BLOBS / sha[:2] / sha)
        if got != sha:
            raise damaged(folder, f"{BLOBS}/{sha[:2]}/{sha} does not match its sha256")
        tally.add(sha, size)
    if (tally.count, tally.bytes, tally.names) != (manifest.blob_count, manifest.blob_bytes,
                                                   manifest.blob_names):
        raise damaged(folder, f"{manifest.blob_count} blobs expected, {tally.count} found, or "
                      "not the same ones")
    try:
        schema, problems = check(work / DB_FILE)
    except sqlite3.Error as exc:
        raise damaged(folder, f"{DB_FILE}: {exc}") from None
    if problems or schema != manifest.schema:
        raise damaged(folder, f"{DB_FILE}: {'; '.join(problems)[:120] or 'schema differs'}")


def _occupied(data: Path) -> bool:
    return data.exists() and not (data.is_dir() and not any(data.iterdir()))


def _place(data: Path, force: bool) -> Path | None:
    """Makes room for the new folder; returns where an old one was moved."""
    if not data.exists():
        return None
    if not _occupied(data):
        data.rmdir()
        return None
    if not force:
        raise Refused(Problem(
            "restore.not_empty",
            f"{data} không trống: không ghi đè. Dừng máy chủ tỉnh rồi chạy lại với --force "
            "(thư mục cũ được giữ lại bên cạnh, không bị xoá).",
            f"{data} is not empty: not overwritten. Stop the hub and run again with --force "
            "(the old folder is kept beside it, not deleted)."))
    aside = data.with_name(
        f"{data.name}.before-restore-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}")
    data.rename(aside)
    return aside


def _sweep(data: Path) -> None:
    """Removes what a killed restore into ``data`` left beside it (its process is gone)."""
    for stale in data.parent.glob(f".{data.name}.restoring-*"):
        pid = stale.name.rpartition("-")[2]
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                os.kill(int(pid), 0)
                continue  # still running
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        shutil.rmtree(stale, ignore_errors=True)


def restore(source: Path, data: Path, force: bool = False) -> RestoreResult:
    start = time.monotonic()
    folder = pick_backup(source)
    manifest = _manifest(folder)
    if _occupied(data) and not force:
        _place(data, force)  # the refusal, before anything is copied
    real = data.resolve()
    if real == folder.resolve() or real.is_relative_to(folder.resolve()):
        raise Refused(Problem("restore.inside_backup", "Không khôi phục vào trong bản sao lưu.",
                              "Refusing to restore into the backup itself."))
    data.parent.mkdir(parents=True, exist_ok=True)
    _sweep(data)
    work = data.with_name(f".{data.name}.restoring-{os.getpid()}")
    work.mkdir(mode=0o700)
    try:
        _copy_checked(folder, work, manifest)
        advance_sequences(work / DB_FILE)
        epoch = begin_epoch(work / DB_FILE)  # the boxes see it and offer the lost hours again
        fsync_tree(work)
        aside = _place(data, force)
        work.rename(data)
        fsync_dir(data.parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return RestoreResult(folder, data, manifest.created_ms, len(manifest.files),
                         manifest.blob_count, aside, time.monotonic() - start, epoch)


async def hub_restore(source: str, data: str, force: bool) -> RestoreResult:
    return await asyncio.to_thread(restore, Path(source), Path(data), force)
