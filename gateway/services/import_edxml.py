"""``gateway import`` and ``gateway export --edxml``: edXML packages in and out of the box.

An imported package becomes an outgoing document of this box, queued exactly like ``send``:
its sender must be this box's agency and its recipients must be in the directory. The
attachments and the original package bytes are stored as blobs (the envelope names the
package in ``extra["edxml.package"]``), so exporting the document again starts from the
original and every field the envelope does not model comes back unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gateway.edxml import DEFAULT_LIMITS, StatusPackage, package_bytes, read_package
from gateway.edxml.errors import too_big
from gateway.edxml.mapping import K_PACKAGE, envelope_from_package
from gateway.edxml.outgoing import outgoing_package
from gateway.model import Envelope, Problem, Refused, uuid7, validate_envelope
from gateway.model.document import VN_TZ
from gateway.services.box import Box, load_directory, opened, wake_daemon, wall_ms
from gateway.services.send import check_space, file_problem, open_input
from gateway.store.blobs import fsync_dir


@dataclass(frozen=True)
class Imported:
    doc_id: str
    warnings: tuple[Problem, ...]


def _read(name: str) -> bytes:
    fd, size = open_input(name)
    with os.fdopen(fd, "rb") as fh:
        if size > DEFAULT_LIMITS.max_package_bytes:
            raise too_big("tệp", "the file", DEFAULT_LIMITS.max_package_bytes)
        return fh.read(DEFAULT_LIMITS.max_package_bytes + 1)


def _take_in(box: Box, name: str, now: int) -> tuple[Envelope, tuple[Problem, ...]]:
    """Blocking: reads, maps and checks the package, then stores its blobs durably."""
    raw = _read(name)
    got = read_package(raw)
    if isinstance(got.package, StatusPackage):
        raise Refused(Problem("import.status_package",
            "Đây là gói trạng thái edXML, không phải văn bản: không nhập được.",
            "This is an edXML status package, not a document: it cannot be imported."))
    mapped = envelope_from_package(got.package, envelope_id=uuid7(now, os.urandom),
                                   created_ms=now,
                                   package_sha256=hashlib.sha256(raw).hexdigest())
    env = mapped.envelope
    if env.sender != box.config.agency:
        raise Refused(Problem("import.foreign_sender",
            f"Gói edXML do cơ quan {env.sender} ban hành, không phải cơ quan của máy này "
            f"({box.config.agency}).",
            f"The edXML package was issued by {env.sender}, not by this box's agency "
            f"({box.config.agency})."))
    directory = load_directory(box.layout)
    validate_envelope(env, lambda code: code in directory)
    check_space(box.store, box.config.reserve_bytes,
                len(raw) + sum(len(b) for b in mapped.blobs.values()))
    for data in mapped.blobs.values():
        box.store.blobs.put_bytes(data)
    box.store.blobs.put_bytes(raw)
    return env, (*got.warnings, *mapped.notes)


async def import_package(data: str, name: str) -> Imported:
    """Queues the package's document for sending and wakes the daemon."""
    async with opened(data) as box:
        now = wall_ms() + await box.store.hub_skew_ms()
        env, warnings = await asyncio.to_thread(_take_in, box, name, now)
        await box.store.queue_document(env, actor="import")
        wake_daemon(box.layout)
        return Imported(env.id, warnings)


def _write_new(dest: Path, data: bytes) -> None:
    """Writes ``dest`` whole or not at all, and never over an existing file (a hard link
    from a fsynced temporary name fails if the name is taken)."""
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
    try:
        with tmp.open("xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, dest)
    except FileExistsError:
        raise file_problem("export.exists", str(dest), "Tệp đã có, không ghi đè",
                           "File exists; not overwritten") from None
    except OSError as exc:
        raise file_problem("export.unwritable", str(dest),
                           f"Không ghi được ({exc.strerror})",
                           f"Cannot write ({exc.strerror})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    fsync_dir(dest.parent)


def _build(box: Box, env: Envelope, now_ms: int) -> bytes:
    blobs = {a.sha256: box.store.blobs.read_verified(a.sha256, a.name)
             for a in env.attachments}
    original = None
    if (sha := env.extra.get(K_PACKAGE)) and box.store.blobs.has(sha):
        original = box.store.blobs.read_verified(sha, "edXML")
    directory = load_directory(box.layout)
    return package_bytes(outgoing_package(
        env, blobs, name_of=lambda c: directory[c].name if c in directory else None,
        now=datetime.fromtimestamp(now_ms / 1000, VN_TZ), original=original))


async def export_package(data: str, doc_id: str, dest: str) -> Path:
    """Writes the stored document as an edXML package at ``dest``; returns the path."""
    async with opened(data) as box:
        doc = await box.store.document(doc_id)
        now = wall_ms() + await box.store.hub_skew_ms()
        package = await asyncio.to_thread(_build, box, doc.envelope, now)
    target = Path(dest)
    await asyncio.to_thread(_write_new, target, package)
    return target
