"""Item 7, hostile end to end: commune A's identity sends a document whose every text field
carries terminal attacks (CSI clear, OSC title, OSC 52 clipboard, bare CR, C1, DEL, bidi
overrides, Rich markup) and B's identity answers A's own document with a 02 whose note does
the same. Both travel through the real hub to the real boxes (their sync engines); then the
real ``gateway list``/``show`` (subprocesses, raw bytes captured) must print them escaped and
inert, and ``--json`` must give back the exact data in inert text.

The hub accepts these (they are valid documents and a valid status): the defence is at the
output, so each request is counted in the ledger as ``inert`` once its output was checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio

from gateway.model import Envelope, State, Urgency, uuid7
from gateway.protocol.wire import StatusMsg, decode_reply
from gateway.services.send import SendRequest, send
from gateway.sync.daemon import Gateway, open_gateway
from gateway.testbed.bed import wait_until
from tests.factories import attachment
from tests.hostile_text import attack, name_attack, unsafe
from tests.security.hostile import COMPRESSOR, LEDGER, A, B, Hub, sync_request, upload

pytestmark = pytest.mark.asyncio(loop_scope="module")
CATEGORY = "terminal escapes"
FIELDS = ("NUM", "NOTA", "TYPE", "SUBJ", "PLACE", "SIGNER")
BLOB = b"%PDF-1.7 terminal escapes"


@dataclass(frozen=True)
class Scene:
    hostile: Envelope  # A -> B, every text field hostile, in B's inbox
    answered: str  # A's own document to B, answered by B with a hostile 02 note
    prints: dict[str, str]  # what each hostile request was, for the ledger


def box(hub: Hub, agency: str) -> Path:
    return hub.root.parent / f"gw-{agency}"  # where the security conftest enrolled it


@contextlib.asynccontextmanager
async def running(hub: Hub, agency: str) -> AsyncIterator[Gateway]:
    """The box's real sync engine (uploader and downloader included) while inside."""
    gw = await open_gateway(box(hub, agency), wait_s=1, hub_url=hub.url)
    stop = asyncio.Event()
    task = asyncio.create_task(gw.client.run(stop))
    try:
        yield gw
    finally:
        stop.set()
        await task
        await gw.close()


async def settled(check: Callable[[], Awaitable[bool]], what: str) -> None:
    assert await wait_until(check, 20, poll_s=0.05), what


def hostile_envelope() -> Envelope:
    now = 1_795_000_000_000
    return Envelope(
        id=uuid7(now, os.urandom), sender=A, recipients=(B,), number=attack("NUM"),
        notation=attack("NOTA"), doc_type=attack("TYPE"), subject=attack("SUBJ"),
        issue_place=attack("PLACE"), issue_date=date(2026, 11, 20), signer=attack("SIGNER"),
        urgency=Urgency.HOA_TOC, due_date=None,
        attachments=(attachment(name_attack("ATT"), BLOB),), created_ms=now)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    a, b = hub.peers[A], hub.peers[B]
    prints: dict[str, str] = {}
    # A's own document to B, sent by A's box until the hub holds it.
    file = tmp_path_factory.mktemp("files") / "baocao.pdf"
    file.write_bytes(b"%PDF-1.7 bao cao")
    answered = await send(SendRequest(
        data=str(box(hub, A)), to=[B], subject="Báo cáo tháng 11", number="12/UBND",
        doc_type="Công văn", urgency="thuong", due=None, secret=None, files=[str(file)]))
    async with running(hub, A) as gw:
        async def at_hub() -> bool:
            doc = await gw.store.document(answered)
            return all(d.state not in (State.QUEUED, State.UPLOADING) for d in doc.deliveries)
        await settled(at_hub, "A's document never reached the hub")
    # The hostile document, straight from A's identity.
    env = hostile_envelope()
    reply = await a.sync_raw(sync_request(out=(env,)))
    assert reply.status == 200, reply.body[:300]
    assert decode_reply(COMPRESSOR.decompress(reply.body, 0)).accepted == (env.id,)
    await upload(a, BLOB)
    prints["document"] = reply.fingerprint
    # B rejects A's document with a hostile note (a recipient may send 02 with a reason).
    note = StatusMsg(str(uuid.uuid4()), answered, "02", attack("NOTE"), 1_795_000_000_000)
    reply = await b.sync_raw(sync_request(statuses=(note,)))
    assert reply.status == 200, reply.body[:300]
    assert decode_reply(COMPRESSOR.decompress(reply.body, 0)).refused == ()
    prints["status note"] = reply.fingerprint
    async with running(hub, B) as gw:
        async def arrived() -> bool:
            return {env.id, answered} <= {d.envelope.id for d in
                                          await gw.store.list_documents("in")}
        await settled(arrived, "B's box never received both documents")
        stored = await gw.store.document(env.id)
        assert stored.envelope.subject == attack("SUBJ")  # the attack is really in the store
    async with running(hub, A) as gw:
        async def noted() -> bool:
            return any(e.detail == attack("NOTE") for e in await gw.store.events(answered))
        await settled(noted, "A's box never received B's note")
    return Scene(env, answered, prints)


async def gateway(*args: str) -> tuple[str, str]:
    """The real command; its raw stdout and stderr bytes, decoded strictly as UTF-8."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "GATEWAY_LANG": "vi", "PYTHONIOENCODING": "utf-8",
             "COLUMNS": "1000"})  # wide: what is checked here is escaping, not wrapping
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode("utf-8", "replace")
    return out.decode("utf-8"), err.decode("utf-8")


def assert_inert(output: str, *labels: str) -> None:
    assert unsafe(output, newlines=True) == [], unsafe(output, newlines=True)[:10]
    for label in labels:
        assert f"{label}<␛[2J␛[H␛]0;pwned␇" in output, f"{label} not shown escaped"


async def test_item7_list_and_show_print_remote_fields_escaped(hub: Hub, scene: Scene) -> None:
    data = str(box(hub, B))
    listed, err = await gateway("list", "--data", data)
    assert_inert(listed + err, "SUBJ")
    assert any(len(word) >= 4 and scene.hostile.id.startswith(word)  # its unique short id
               for word in listed.split())
    shown, err = await gateway("show", "--data", data, scene.hostile.id)
    assert_inert(shown + err, *FIELDS[:-2])  # place and signer are not part of `show`
    assert "ATT<⟨U+009B⟩31m⟨U+009D⟩0;t⟨U+009C⟩⟨U+0085⟩⟨U+202E⟩FDP.exe⟨U+202C⟩" in shown
    flat = " ".join(shown.split())  # `show` wraps long fields inside the terminal
    assert "␍Đã duyệt" in flat  # the bare CR cannot overwrite the line
    assert "[bold red]X[/] [link=https://evil.example]y[/link] [/]" in flat
    LEDGER.record(CATEGORY, scene.prints["document"], "inert")


async def test_item7_status_note_is_shown_escaped_to_the_sender(hub: Hub, scene: Scene) -> None:
    shown, err = await gateway("show", "--data", str(box(hub, A)), scene.answered)
    assert_inert(shown + err, "NOTE")
    assert "Bị từ chối" in shown
    LEDGER.record(CATEGORY, scene.prints["status note"], "inert")


async def test_item7_json_is_true_data_in_inert_text(hub: Hub, scene: Scene) -> None:
    listed, _ = await gateway("list", "--data", str(box(hub, B)), "--json")
    assert unsafe(listed, newlines=True) == []
    by_id = {d["id"]: d for d in json.loads(listed)}
    env = by_id[scene.hostile.id]["envelope"]
    assert [env[k] for k in ("number", "notation", "type", "subject", "place", "signer")] == \
        [attack(f) for f in FIELDS]
    assert env["att"][0]["name"] == name_attack("ATT")
    shown, _ = await gateway("show", "--data", str(box(hub, A)), scene.answered, "--json")
    assert unsafe(shown, newlines=True) == []
    assert attack("NOTE") in [e["detail"] for e in json.loads(shown)["events"]]
