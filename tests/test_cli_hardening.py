"""Issue 8, items 1, 3 and 8: https-only hubs, no hang on a corrupt database, long names.

Everything runs the real ``gateway`` command in a subprocess against real data directories;
the only stand-in is a fake plain-http "hub" that records whatever reaches it.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.model import Attachment, Refused, validate_envelope
from gateway.security.ca import create_ca
from gateway.security.identity import generate_key_and_csr, save_identity
from gateway.store.db import Database, Migration
from gateway.store.layout import Layout
from gateway.store.local import LocalStore
from tests.conftest import COMMUNE_A, COMMUNE_B, CliRunner, run_gateway
from tests.factories import envelope

EXIT_WITHIN_S = 5.0
MAX_NAME_BYTES = 240  # 255 bytes, less the blob store's 15-byte temp name around it


def utf8_len(text: str) -> int:
    return len(text.encode())


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def corrupt_header(db: Path) -> None:
    with db.open("r+b") as f:
        f.write(b"this is no sqlite file")


# --- item 1: only https hubs ---------------------------------------------------------------


class PlainHttpHub:
    """A fake hub on plain http that serves the real provincial CA, so a client that does not
    refuse http would go on and post its enrollment token here."""

    def __init__(self, ca_pem: bytes) -> None:
        self.ca_pem = ca_pem
        self.connections = 0
        self.received = bytearray()
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                self.received += head
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                self.received += await reader.readexactly(length)
                body = self.ca_pem if head.startswith(b"GET /v1/ca") else b"{}"
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def run_async(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess while this event loop keeps serving the fake hub."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", *args, env={**os.environ, "GATEWAY_LANG": "en"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def test_item1_http_hub_refused_token_never_sent(tmp_path: Path) -> None:
    hub_dir = tmp_path / "hub"
    assert run_gateway("hub", "init", "--data", str(hub_dir), "--province", "H35").returncode == 0
    token = run_gateway("hub", "token", "--data", str(hub_dir), "--agency", COMMUNE_A)
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    fake = PlainHttpHub((hub_dir / "ca" / "ca.pem").read_bytes())
    async with fake as url:
        init = await run_async("init", "--data", str(tmp_path / "gw"), "--agency", COMMUNE_A,
                               "--hub", url, "--token", secret)
        assert init.returncode == 1 and "https://" in one_line(init)
        assert not (tmp_path / "gw" / "config.json").exists()  # refused before anything
        ok = await run_async("init", "--data", str(tmp_path / "gw"), "--agency", COMMUNE_A)
        assert ok.returncode == 0, ok.stderr
        enroll = await run_async("enroll", "--data", str(tmp_path / "gw"), "--hub",
                                 url.upper().replace("HTTP", "hTtP"), "--token", secret)
        assert enroll.returncode == 1 and "https://" in one_line(enroll)
        # A config that says http (hand-edited, or written by an older version) is refused
        # where the URL is used: the daemon never posts a sync body in clear text, while the
        # clerk's offline commands still read the documents on the box.
        config = tmp_path / "gw" / "config.json"
        config.write_text(json.dumps({"agency": COMMUNE_A, "hub": url}))
        run = await run_async("run", "--data", str(tmp_path / "gw"))
        assert run.returncode == 1 and "https://" in one_line(run)
        listed = await run_async("list", "--data", str(tmp_path / "gw"))
        assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    assert fake.connections == 0 and secret.encode() not in fake.received


# --- item 3: a failure never leaves the process hanging -------------------------------------


def aiosqlite_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t is not threading.main_thread()
            and not t.daemon and t.is_alive()]


async def test_item3_failed_open_closes_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    async with await Database.open(path, (Migration(1, ("CREATE TABLE a(x)",)),)):
        pass
    corrupt_header(path)
    before = aiosqlite_threads()
    with pytest.raises(Refused) as refused:
        await Database.open(path, (Migration(1, ("CREATE TABLE a(x)",)),))
    assert refused.value.codes == ("store.corrupt",)
    # The worker thread ends just after close() returns. Threads of earlier tests may still be
    # winding down meanwhile (so compare sets, not lists): no new thread may stay.
    for _ in range(100):
        if not set(aiosqlite_threads()) - set(before):
            break
        await asyncio.sleep(0.01)
    assert not set(aiosqlite_threads()) - set(before)


def timed(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    result = run_gateway(*args, env={"GATEWAY_LANG": "en"}, timeout=EXIT_WITHIN_S * 3)
    return result, time.monotonic() - start


def enrolled_box(tmp_path: Path) -> Path:
    """A box with a real identity issued by a real provincial CA (no hub needs to run)."""
    data = tmp_path / "gw"
    assert run_gateway("init", "--data", str(data), "--agency", COMMUNE_A,
                       "--hub", "https://127.0.0.1:9").returncode == 0
    now = datetime.now(UTC)
    ca = create_ca(tmp_path / "ca", "H35", now=now)
    key_pem, csr = generate_key_and_csr(COMMUNE_A)
    cert = ca.sign_csr(csr, COMMUNE_A, now=now)
    save_identity(data, key_pem, cert.public_bytes(Encoding.PEM), ca.cert_pem)
    return data


def test_item3_corrupt_database_exits_command_and_daemon(tmp_path: Path) -> None:
    data = enrolled_box(tmp_path)
    corrupt_header(data / "gateway.sqlite3")
    for args in (("list", "--data", str(data)), ("run", "--data", str(data))):
        result, took = timed(*args)
        assert took < EXIT_WITHIN_S and result.returncode == 1, (args, took, result.stderr)
        assert "damaged" in one_line(result)


def test_item3_corrupt_hub_database_exits(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    assert run_gateway("hub", "init", "--data", str(hub), "--province", "H35").returncode == 0
    assert run_gateway("hub", "admin-token", "--data", str(hub)).returncode == 0  # makes the db
    corrupt_header(hub / "hub.sqlite3")
    result, took = timed("hub", "run", "--data", str(hub), "--listen", "127.0.0.1:0")
    assert took < EXIT_WITHIN_S and result.returncode == 1, (took, result.stderr)
    assert "damaged" in one_line(result)


def test_item3_hub_run_on_a_port_in_use_exits(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    assert run_gateway("hub", "init", "--data", str(hub), "--province", "H35").returncode == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result, took = timed("hub", "run", "--data", str(hub), "--listen", f"127.0.0.1:{port}")
    assert took < EXIT_WITHIN_S and result.returncode == 1, (took, result.stderr)
    assert "in use" in one_line(result)


# --- item 8: long Vietnamese names, counted in bytes ------------------------------------------

_PLACE = ("kết quả thực hiện nhiệm vụ phát triển kinh tế xã hội quý III năm 2024 và phương "
          "hướng nhiệm vụ trọng tâm quý IV của Ủy ban nhân dân xã Tả Phìn huyện Sìn Hồ tỉnh "
          "Lai Châu")
# Accepted by the old character count (at most 200), yet 249 bytes: with the 15-byte temp name
# beside it, more than the 255 bytes a Linux file name may have.
LONG_NAME = f"Báo cáo {_PLACE} (bản sao).pdf"
ACCEPTED_NAME = f"Kết quả {_PLACE.removeprefix('kết quả ')} bản chính.pdf"  # 240 bytes


def test_item8_name_limit_counts_utf8_bytes() -> None:
    assert len(LONG_NAME) <= 200 and utf8_len(LONG_NAME) + 15 > 255
    assert utf8_len(ACCEPTED_NAME) == MAX_NAME_BYTES
    def check(name: str) -> tuple[str, ...]:
        env = envelope(attachments=(Attachment(name, "application/pdf", "0" * 64, 1),))
        try:
            validate_envelope(env, lambda code: True)
        except Refused as exc:
            return exc.codes
        return ()

    assert check(LONG_NAME) == ("attachment.name_too_long",)
    assert check(ACCEPTED_NAME) == ()


def test_item8_long_names_send_and_export(cli: CliRunner, gw_dir: Path, tmp_path: Path) -> None:
    too_long = tmp_path / LONG_NAME
    too_long.write_bytes(b"%PDF long")
    refused = cli("send", "--data", str(gw_dir), "--to", COMMUNE_B, "--subject", "x",
                  "--number", "1/A", str(too_long))
    assert refused.returncode == 1 and "249" in one_line(refused)
    fits = tmp_path / ACCEPTED_NAME
    fits.write_bytes(b"%PDF fits")
    sent = cli("send", "--data", str(gw_dir), "--to", COMMUNE_B, "--subject", "x",
               "--number", "1/A", str(fits))
    assert sent.returncode == 0, sent.stderr
    out = tmp_path / "out"
    out.mkdir()
    exported = cli("export", "--data", str(gw_dir), sent.stdout.strip(), "--to", str(out))
    assert exported.returncode == 0, exported.stderr
    assert (out / ACCEPTED_NAME).read_bytes() == b"%PDF fits"


async def test_item8_name_accepted_elsewhere_still_exports(gw_dir: Path, tmp_path: Path) -> None:
    """A document that an older box accepted with a 248-byte name: exported, shortened."""
    store = await LocalStore.open(Layout(gw_dir), lambda: 0)
    try:
        sha, size = store.blobs.put_bytes(b"%PDF old")
        env = envelope(attachments=(Attachment(LONG_NAME, "application/pdf", sha, size),))
        await store.queue_document(env)
    finally:
        await store.close()
    out = tmp_path / "out"
    out.mkdir()
    result = await run_async("export", "--data", str(gw_dir), env.id, "--to", str(out))
    assert result.returncode == 0, result.stderr
    (written,) = out.iterdir()
    assert written.read_bytes() == b"%PDF old"
    assert written.suffix == ".pdf" and utf8_len(written.name) <= MAX_NAME_BYTES
    assert written.name in one_line(result)  # the clerk is told the name it was saved under
