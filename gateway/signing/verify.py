"""Verify a PDF's signatures without putting the calling process at risk.

pyhanko parses the PDF in a child process (:mod:`.worker`) that caps its own address space;
this side enforces a wall-clock deadline, reads at most a bounded answer and decodes it as
verdict JSON. A truncated file, a huge xref, deep nesting, a lying byte range or a 100 MB
stream ends as ``unreadable`` (reason ``parse``, ``memory``, ``timeout``, ``too_large`` or
``crashed``), never as an exception or a hang in the daemon or hub.

The worker is reused (starting Python and importing pyhanko costs far more than most checks)
and replaced after a timeout, a crash, a memory failure or ``max_calls`` answers. One
:class:`Verifier` serves one call at a time (a lock); make several for parallel checks.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from base64 import b64encode
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gateway.signing.errors import SigningConfigError, config_problem
from gateway.signing.trust import TrustConfig
from gateway.signing.verdict import (
    PdfVerdict,
    VerdictDecodeError,
    from_data,
    unreadable,
)

__all__ = ["Verifier", "VerifyLimits", "default_verifier", "verify_pdf", "verify_pdf_async"]

MiB = 1024 * 1024
MAX_ANSWER = 1 * MiB


@dataclass(frozen=True)
class VerifyLimits:
    """``memory``: the worker's address-space cap (Python + pyhanko take ~150 MiB of it);
    ``timeout_s``: wall clock per PDF; ``startup_s``: for a fresh worker to import pyhanko (a
    Pi is slow); ``max_pdf``: larger files are not parsed at all."""

    memory: int = 768 * MiB
    timeout_s: float = 30.0
    startup_s: float = 60.0
    max_pdf: int = 256 * MiB
    max_calls: int = 500


class _Dead(Exception):
    """The worker stopped answering: killed, crashed or past the deadline."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Verifier:
    """A reusable sandboxed worker; thread-safe; ``close()`` (or ``with``) ends it."""

    def __init__(self, limits: VerifyLimits | None = None) -> None:
        self.limits = limits or VerifyLimits()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._trusts: set[str] = set()
        self._calls = 0
        self.spawned = 0  # how many workers were started (for tests and the bench)

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def verify(self, source: bytes | Path, trust: TrustConfig,
               moment: datetime | None = None) -> PdfVerdict:
        """The verdict for ``source``; ``moment`` is the validation time (default: now; give
        the hub-corrected time on a box without a real-time clock)."""
        size = len(source) if isinstance(source, bytes) else _size(source)
        if size is None:
            return unreadable("parse", "file cannot be read")
        if size > self.limits.max_pdf:
            return unreadable("too_large", f"{size} bytes, the limit is {self.limits.max_pdf}")
        with self._lock:
            try:
                return self._ask(source, trust, moment)
            except _Dead as dead:
                self._stop()
                return unreadable(dead.reason, "verifier worker stopped")

    def _ask(self, source: bytes | Path, trust: TrustConfig,
             moment: datetime | None) -> PdfVerdict:
        proc = self._worker()
        key = trust.digest
        header: dict[str, object] = {
            "trust_id": key, "moment": None if moment is None else moment.isoformat(),
            "path": None if isinstance(source, bytes) else str(source.resolve())}
        if key not in self._trusts:
            header["trust"] = {"roots": b64encode(trust.roots_pem).decode(),
                               "crls": [b64encode(c).decode() for c in trust.crls],
                               "fetch": trust.allow_fetching}
        deadline = time.monotonic() + self.limits.timeout_s
        sent = self._send(proc, json.dumps(header).encode())
        if sent and isinstance(source, bytes):
            self._send(proc, source)  # a worker out of memory stops reading but still answers
        answer = _parse(self._receive(proc, deadline))
        self._calls += 1
        if "error" in answer:
            self._trusts.discard(key)
            raise SigningConfigError(config_problem("trust", str(answer.get("detail", ""))))
        self._trusts.add(key)
        verdict = answer.get("verdict")
        if not isinstance(verdict, dict):
            raise _Dead("crashed")
        try:
            result = from_data(verdict)
        except VerdictDecodeError:
            raise _Dead("crashed") from None
        if self._calls >= self.limits.max_calls or result.reason == "memory":
            self._stop()
        return result

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.signing.worker", str(self.limits.memory),
             str(self.limits.max_pdf)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            close_fds=True)
        self.spawned += 1
        if self._receive(self._proc, time.monotonic() + self.limits.startup_s) != b"ready":
            raise _Dead("crashed")
        return self._proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        self._trusts.clear()
        self._calls = 0
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    @staticmethod
    def _send(proc: subprocess.Popen[bytes], data: bytes) -> bool:
        """False when the worker stopped reading; its answer (if any) is read next."""
        assert proc.stdin is not None
        try:
            proc.stdin.write(struct.pack(">I", len(data)))
            proc.stdin.write(data)
            proc.stdin.flush()
        except OSError:  # BrokenPipeError included
            return False
        return True

    def _receive(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        head = _read_exact(fd, 4, deadline)
        (size,) = struct.unpack(">I", head)
        if size > MAX_ANSWER:
            raise _Dead("crashed")
        return _read_exact(fd, size, deadline)


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < size:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Dead("timeout")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            raise _Dead("timeout")
        chunk = os.read(fd, min(size - got, 1 * MiB))
        if not chunk:
            raise _Dead("crashed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _parse(raw: bytes) -> dict[str, object]:
    try:
        data = json.loads(raw)
    except ValueError:
        raise _Dead("crashed") from None
    if not isinstance(data, dict):
        raise _Dead("crashed")
    return data


def _size(path: Path) -> int | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size if path.is_file() else None


_shared: dict[VerifyLimits, Verifier] = {}
_shared_lock = threading.Lock()


def default_verifier(limits: VerifyLimits | None = None) -> Verifier:
    """A process-wide verifier per set of limits, its worker started on first use: the box's
    daemon, CLI and TUI and the hub each pay the worker's start-up once."""
    limits = limits or VerifyLimits()
    with _shared_lock:
        verifier = _shared.get(limits)
        if verifier is None:
            verifier = _shared[limits] = Verifier(limits)
            atexit.register(verifier.close)  # the worker ends with the process, quietly
        return verifier


def verify_pdf(source: bytes | Path, trust: TrustConfig, *, verifier: Verifier | None = None,
               moment: datetime | None = None) -> PdfVerdict:
    """The verdict for a PDF (bytes or a file path); never raises for a bad PDF. Raises
    :class:`SigningConfigError` only when ``trust`` itself cannot be parsed."""
    return (verifier or default_verifier()).verify(source, trust, moment)


async def verify_pdf_async(source: bytes | Path, trust: TrustConfig, *,
                           verifier: Verifier | None = None,
                           moment: datetime | None = None) -> PdfVerdict:
    """:func:`verify_pdf` from an event loop: the wait happens in a thread."""
    return await asyncio.to_thread(verify_pdf, source, trust, verifier=verifier, moment=moment)
