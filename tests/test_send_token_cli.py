"""`gateway send` with the agency's key on a USB token (SoftHSM2) and no ``pin_file``: the PIN
is asked on the terminal (a real pty, typed key by key) and never echoed; without a terminal
the command refuses and says what to do; Ctrl-C at the question stops cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.services import documents, signatures
from gateway.services.send import SendRequest, send
from gateway.testbed.pdf_samples import make_pdf
from tests import softhsm
from tests.conftest import COMMUNE_B
from tests.signing_pki import Pki

pytestmark = softhsm.needs_softhsm
token = softhsm.token
QUESTION = b"(USB token)"


@pytest.fixture
def box(gw_dir: Path, token: Pki, tmp_path: Path) -> list[str]:
    """``gateway send`` arguments for a box whose key is on the token; one PDF attached."""
    config = json.loads((gw_dir / "config.json").read_text())
    config["signing"] = {"key": softhsm.signing_key(), "trust": {"roots": str(token.roots_pem)}}
    (gw_dir / "config.json").write_text(json.dumps(config))
    pdf = tmp_path / "bao-cao.pdf"
    pdf.write_bytes(make_pdf("Bao cao so 9/BC-UBND"))
    return ["send", "--data", str(gw_dir), "--to", COMMUNE_B, "--subject", "Báo cáo quý",
            "--number", "9/BC-UBND", str(pdf)]


def _read_until(fd: int, want: bytes, out: bytearray, deadline: float) -> None:
    while want not in out:
        assert time.monotonic() < deadline, bytes(out)
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return
        if not chunk:
            return
        out += chunk


def in_terminal(args: list[str], keys: str, lang: str = "vi",
                timeout: float = 60) -> tuple[int, str]:
    """Runs ``gateway`` on a new pseudo-terminal (its controlling terminal, as in an SSH
    session), types ``keys`` one by one once the PIN question shows; (exit code, screen)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the command
        os.execve(sys.executable, [sys.executable, "-m", "gateway.cli", *args],
                  {**os.environ, "GATEWAY_LANG": lang})
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        _read_until(fd, QUESTION, out, deadline)
        for key in keys:
            os.write(fd, key.encode())
            time.sleep(0.01)
        _read_until(fd, b"\x00never", out, deadline)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def outbox(data: str) -> list[str]:
    """The ids of the box's outgoing documents (read in-process: a subprocess costs ~1 s)."""
    return [d.envelope.id for d in asyncio.run(documents.list_documents(data, "out"))]


def test_pin_asked_on_the_terminal_wrong_then_right(box: list[str]) -> None:
    data = box[2]
    code, screen = in_terminal(box, "aas2dd69\r")
    assert code == 1, screen
    assert ("Nhập mã PIN của thiết bị ký số (USB token) để ký văn bản (không hiện khi gõ): "
            in screen)
    assert "Sai mã PIN của thiết bị ký số (USB token). Hãy nhập lại cẩn thận." in screen
    assert "aas2dd69" not in screen
    assert outbox(data) == []

    code, screen = in_terminal(box, softhsm.PIN + "\r")
    assert code == 0, screen
    assert softhsm.PIN not in screen
    doc_id = screen.strip().splitlines()[-1]
    assert outbox(data) == [doc_id]
    (recorded,) = asyncio.run(signatures.stored(data, doc_id))  # the verdict taken at send
    assert recorded.trusted and recorded.verdict is not None
    assert recorded.verdict.signatures[0].signer == "UBND xã Tân Phong"


def test_ctrl_c_at_the_question_stops_and_sends_nothing(box: list[str]) -> None:
    started = time.monotonic()
    code, screen = in_terminal(box, "aa\x03", lang="en")
    assert code == 130, screen
    assert time.monotonic() - started < 30
    assert "PIN of the signing token (USB token) to sign the document (not shown" in screen
    assert "Stopped at your request." in screen
    assert outbox(box[2]) == []


def test_without_a_terminal_the_command_says_what_to_do(box: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "gateway.cli", *box], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "GATEWAY_LANG": "en"})
    assert done.returncode == 1
    assert done.stderr == (
        "gateway: No PIN for the signing token (USB token): send from the clerk's screen or "
        "run the command in a terminal to be asked for it, or have the IT team set pin_file "
        "in the signing configuration.\n"), done.stderr
    assert outbox(box[2]) == []


def test_no_pdf_means_no_pin(box: list[str], tmp_path: Path) -> None:
    """Only PDFs are signed: a document without one goes without asking (here nobody could
    answer: no prompt at all)."""
    note = tmp_path / "ghi-chu.odt"
    note.write_bytes(b"PK\x03\x04 not a pdf")
    req = SendRequest(data=box[2], to=[COMMUNE_B], subject="Ghi chú", number="10/UBND-VP",
                      doc_type="Công văn", urgency="thuong", due=None, secret=None,
                      files=[str(note)])
    doc_id = asyncio.run(send(req))
    assert outbox(box[2]) == [doc_id]
