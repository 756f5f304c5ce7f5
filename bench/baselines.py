"""Real-tool baselines (rsync daemon push, naive curl PUT) to compare the gateway's sync with.

Why: a claim that the sync protocol beats "what an admin would do anyway" needs the real
tools, run the way they are run in the field: re-launched after every cut link. The caller
puts its bandwidth-limiting, connection-cutting proxy in front of ``host:port`` and counts
bytes there; this module only starts the servers and drives the clients.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from aiohttp import web

TOOLS = ("rsync", "curl")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_RSYNC_FATAL = {1, 4}  # usage error, unsupported action: re-running cannot help


@dataclass(frozen=True)
class BaselineResult:
    """Outcome of one baseline transfer; ``ok`` means every file arrived byte-identical."""

    name: str
    elapsed_s: float
    attempts: int
    ok: bool
    detail: str


def ensure_tools() -> list[str]:
    """Names of the baseline tools missing from PATH (installs nothing)."""
    return [t for t in TOOLS if shutil.which(t) is None]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tree_digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha256(p) for p in sorted(root.rglob("*"))
            if p.is_file()}


def _mismatches(pairs: Sequence[tuple[Path, Path]]) -> list[str]:
    return [src.name for src, dst in pairs if not dst.is_file() or _sha256(src) != _sha256(dst)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run(cmd: Sequence[str], deadline: float) -> tuple[int | None, str]:
    """Run ``cmd`` until it exits or ``deadline`` (monotonic) passes; (returncode, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), max(deadline - time.monotonic(), 0.01))
    except TimeoutError:
        return None, "killed at overall timeout"
    finally:  # also on cancellation: never leave a client running behind the caller's back
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode, err.decode(errors="replace").strip()


class RsyncDaemon:
    """``rsync --daemon`` on 127.0.0.1 with one writable module; ``.port``, ``.path``."""

    def __init__(self, module: str = "inbox", *, port: int = 0) -> None:
        self.module, self.host, self.port = module, "127.0.0.1", port
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def path(self) -> Path:
        assert self._tmp is not None, "daemon not started"
        return Path(self._tmp.name) / "module"

    async def __aenter__(self) -> RsyncDaemon:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-rsyncd-")
        base = Path(self._tmp.name)
        self.path.mkdir()
        self.port = self.port or _free_port()
        ids = f"uid = {os.getuid()}\ngid = {os.getgid()}\n" if os.getuid() == 0 else ""
        conf = base / "rsyncd.conf"
        conf.write_text(f"use chroot = false\nlog file = {base / 'rsyncd.log'}\n{ids}"
                        f"[{self.module}]\npath = {self.path}\nread only = false\n")
        self._proc = await asyncio.create_subprocess_exec(
            "rsync", "--daemon", "--no-detach", "--address", self.host, "--port", str(self.port),
            f"--config={conf}", stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        for _ in range(100):  # wait until it listens; a probe connect is harmless
            if self._proc.returncode is not None:
                break
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(self.host, self.port)
                writer.close()
                await writer.wait_closed()
                return self
            await asyncio.sleep(0.05)
        log = base / "rsyncd.log"
        msg = log.read_text(errors="replace")[-500:] if log.exists() else ""
        await self.__aexit__(None, None, None)
        raise RuntimeError(f"rsync daemon did not start on port {self.port}: {msg}")

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                await asyncio.wait_for(self._proc.wait(), 5)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


async def rsync_push(src_dir: Path, host: str, port: int, module: str, *, timeout_s: float,
                     dest_dir: Path, io_timeout_s: int = 30, retry_delay_s: float = 0.5,
                     extra_args: Sequence[str] = ()) -> BaselineResult:
    """Push ``src_dir`` with ``rsync -rtz --partial``, re-running after every failure.

    ``-t`` keeps mtimes so a re-run skips finished files (as ``-a`` would); ``--partial``
    keeps the cut file so the next run only sends the rest (delta against it).
    ``dest_dir`` is the module's directory, read to verify sha256 against the source.
    """
    cmd = ["rsync", "-r", "-t", "-z", "--partial", f"--timeout={io_timeout_s}",
           f"--contimeout={io_timeout_s}", *extra_args, f"{src_dir}/",
           f"rsync://{host}:{port}/{module}/"]
    t0 = time.monotonic()
    deadline, attempts, last = t0 + timeout_s, 0, ""
    while time.monotonic() < deadline:
        attempts += 1
        rc, err = await _run(cmd, deadline)
        if rc == 0:
            src = await asyncio.to_thread(_tree_digests, src_dir)
            dst = await asyncio.to_thread(_tree_digests, dest_dir)
            bad = sorted(k for k in src if src[k] != dst.get(k))
            return BaselineResult("rsync", time.monotonic() - t0, attempts, not bad,
                                  f"{len(src)} files; mismatched: {bad[:5]}" if bad
                                  else f"{len(src)} files")
        last = f"exit {rc}: {err[-300:]}"
        if rc in _RSYNC_FATAL:
            break
        await asyncio.sleep(min(retry_delay_s, max(deadline - time.monotonic(), 0)))
    return BaselineResult("rsync", time.monotonic() - t0, attempts, False, f"gave up; {last}")


class UploadServer:
    """Naive HTTP upload target: ``PUT /files/{name}`` stores the body whole; ``.port``, ``.path``.

    A body cut mid-way is discarded (nothing is resumable), like a plain web upload form.
    """

    def __init__(self, *, port: int = 0) -> None:
        self.host, self.port = "127.0.0.1", port
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._runner: web.AppRunner | None = None

    @property
    def path(self) -> Path:
        assert self._tmp is not None, "server not started"
        return Path(self._tmp.name)

    async def _put(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not _SAFE_NAME.fullmatch(name):
            raise web.HTTPBadRequest(text="unsafe file name\n")
        body = bytearray()
        try:
            async for chunk in request.content.iter_chunked(1 << 16):
                body += chunk
        except ConnectionError:  # link cut mid-body: drop it, the client re-sends it whole
            return web.Response(status=400, text="incomplete body\n")
        tmp = self.path / f".{name}.part"
        await asyncio.to_thread(tmp.write_bytes, bytes(body))
        await asyncio.to_thread(tmp.replace, self.path / name)
        return web.Response(status=201, text=f"stored {len(body)} bytes\n")

    async def __aenter__(self) -> UploadServer:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-upload-")
        app = web.Application(client_max_size=1 << 30)
        app.router.add_put("/files/{name}", self._put)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


async def curl_upload(files: Sequence[Path], host: str, port: int, *, timeout_s: float,
                      dest_dir: Path, stall_s: int = 30, retry_delay_s: float = 0.5
                      ) -> BaselineResult:
    """PUT each file with curl, re-sending it whole after any failure (the naive approach).

    ``--speed-limit 1 --speed-time stall_s`` aborts a silently dead link; ``dest_dir`` is
    the server's directory, read to verify sha256 against the source.
    """
    t0 = time.monotonic()
    deadline, attempts = t0 + timeout_s, 0
    for path in files:
        url = f"http://{host}:{port}/files/{path.name}"
        while True:
            if time.monotonic() >= deadline:
                return BaselineResult("curl", time.monotonic() - t0, attempts, False,
                                      f"gave up at {path.name}")
            attempts += 1
            rc, err = await _run(["curl", "-sS", "--fail", "--connect-timeout", str(stall_s),
                                  "--speed-limit", "1", "--speed-time", str(stall_s),
                                  "-T", str(path), url], deadline)
            if rc == 0:
                break
            if rc == 22 and "400" in err:  # the server refused the name: no retry helps
                return BaselineResult("curl", time.monotonic() - t0, attempts, False, err)
            await asyncio.sleep(min(retry_delay_s, max(deadline - time.monotonic(), 0)))
    bad = await asyncio.to_thread(_mismatches, [(p, dest_dir / p.name) for p in files])
    return BaselineResult("curl", time.monotonic() - t0, attempts, not bad,
                          f"{len(files)} files; mismatched: {bad[:5]}" if bad
                          else f"{len(files)} files")


def check_tools_cli() -> int:
    """Report missing tools with the install hint; 0 if all are present (for ``make``)."""
    missing = ensure_tools()
    for tool in TOOLS:
        print(f"{tool:<6} {shutil.which(tool) or 'MISSING'}")
    if missing:
        print(f"missing: {' '.join(missing)} -> apt-get install -y {' '.join(missing)}")
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.baselines", description=__doc__)
    ap.add_argument("--check", action="store_true", help="report missing tools, install nothing")
    args = ap.parse_args(argv)
    if args.check:
        return check_tools_cli()
    ap.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
