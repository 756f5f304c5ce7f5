"""The local axis service as a real HTTP server on 127.0.0.1, driven by the hub's client."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import aiohttp
import pytest

from gateway.axis.client import AxisRefused, AxisUnavailable, HttpAxis, ReceivedItem, Retry
from gateway.axis.loop import dedupe_key, pull, push
from gateway.axis.signing import sign
from gateway.edxml import DocumentPackage, Imported, Organ, StatusPackage, package_bytes
from gateway.edxml.mapping import (
    envelope_from_package,
    package_from_envelope,
    status_package,
    status_update,
)
from gateway.model.delivery import Event, Party
from gateway.model.document import Attachment, Envelope, Urgency
from tests.axis_helpers import Axis, free_port

HUB, HUB_SECRET = "hub-h35", b"hub-secret"
VPCP, VPCP_SECRET = "vpcp", b"vpcp-secret"
PDF = b"%PDF-1.7\n" + os.urandom(50_000)
NOW = datetime(2025, 3, 5, 9, 0, 0)


@pytest.fixture
def axis_dir(tmp_path: Path) -> Path:
    (tmp_path / "systems.json").write_text(json.dumps({"systems": [
        {"id": HUB, "secret": HUB_SECRET.decode(),
         "agencies": [{"code": "000.00.00.H35", "name": "UBND tỉnh (thử)"}]},
        {"id": VPCP, "secret": VPCP_SECRET.decode(),
         "agencies": [{"code": "000.00.05.G10", "name": "Bộ Thử"}]},
    ]}), encoding="utf-8")
    return tmp_path


@pytest.fixture
def axis(axis_dir: Path) -> Iterator[Axis]:
    server = Axis(axis_dir, free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def _nosleep(_delay: float) -> None:
    return None


def _client(axis: Axis, session: aiohttp.ClientSession, system: str, secret: bytes) -> HttpAxis:
    return HttpAxis(axis.url, system, secret, session=session, sleep=_nosleep,
                    retry=Retry(attempts=3, first_delay=0.01))


def _outgoing() -> tuple[Envelope, bytes]:
    sha = hashlib.sha256(PDF).hexdigest()
    env = Envelope(id="e1", sender="000.00.21.H35", recipients=("000.00.05.G10",), number="7",
                   notation="UBND", doc_type="Công văn", subject="Đề nghị hỗ trợ",
                   issue_place="Xã Một", issue_date=date(2025, 3, 4), signer="Lò Văn A",
                   urgency=Urgency.KHAN, due_date=None,
                   attachments=(Attachment("de-nghi.pdf", "application/pdf", sha, len(PDF)),))
    pkg = package_from_envelope(env, {sha: PDF}, organ=lambda c: Organ(organ_id=c), now=NOW)
    return env, package_bytes(pkg)


class Inbox:
    """A stand-in for the hub's store: what pull persisted, keyed for dedupe."""

    def __init__(self) -> None:
        self.items: dict[str, Imported] = {}

    async def seen(self, key: str) -> bool:
        return key in self.items

    async def persist(self, imported: Imported, _data: bytes, _item: ReceivedItem) -> None:
        self.items[dedupe_key(imported.package)] = imported


async def test_send_list_get_ack_and_statuses_back(axis: Axis,
                                                   session: aiohttp.ClientSession) -> None:
    hub, vpcp = (_client(axis, session, HUB, HUB_SECRET),
                 _client(axis, session, VPCP, VPCP_SECRET))
    env, data = _outgoing()
    doc_id = await hub.send_edoc(data)
    listed = await vpcp.received()
    assert [(i.doc_id, i.kind, i.sender) for i in listed] == [(doc_id, "edoc", "000.00.21.H35")]
    assert await hub.received() == []  # served only to the right system
    got = await vpcp.get_edoc(doc_id)
    assert got == data
    inbox = Inbox()
    report = await pull(vpcp, seen=inbox.seen, persist=inbox.persist)
    assert report.persisted == [doc_id] and await vpcp.received() == []
    (received,) = inbox.items.values()
    assert isinstance(received.package, DocumentPackage)
    mapped = envelope_from_package(received.package, envelope_id="e1")
    assert replace(mapped.envelope, extra={}) == env
    assert mapped.blobs[env.attachments[0].sha256] == PDF  # byte-identical
    for code in ("01", "03", "06"):
        status = status_package(original_id=received.package.header.document_id or "",
                                original_sender=env.sender, original_code=env.code,
                                original_date="2025/03/04", code=code, party=Party.RECIPIENT,
                                organ=Organ(organ_id="000.00.05.G10"), staff=None,
                                description=f"trạng thái {code}", now=NOW)
        await vpcp.send_edoc(package_bytes(status))
    back = Inbox()
    await pull(hub, seen=back.seen, persist=back.persist)
    events = [status_update(i.package).event for i in back.items.values()
              if isinstance(i.package, StatusPackage)]
    assert events == [Event.STATUS_01, Event.STATUS_03, Event.STATUS_06]
    agencies = {a.code for a in await hub.agencies()}
    assert agencies == {"000.00.00.H35", "000.00.05.G10"}


async def test_revoke_reaches_the_inbox_as_revoke(axis: Axis,
                                                  session: aiohttp.ClientSession) -> None:
    hub, vpcp = (_client(axis, session, HUB, HUB_SECRET),
                 _client(axis, session, VPCP, VPCP_SECRET))
    env = replace(_outgoing()[0], sender="000.00.05.G10", recipients=("000.00.21.H35",))
    blobs = {env.attachments[0].sha256: PDF}
    new = package_from_envelope(env, blobs, organ=lambda c: Organ(organ_id=c), now=NOW)
    revoke_env = replace(env, extra={"edxml.kind": "1", "edxml.reason": "Thu hồi"})
    revoke = package_from_envelope(revoke_env, blobs, organ=lambda c: Organ(organ_id=c), now=NOW)
    await vpcp.send_edoc(package_bytes(new))
    await vpcp.send_edoc(package_bytes(revoke))
    inbox = Inbox()
    report = await pull(hub, seen=inbox.seen, persist=inbox.persist)
    assert len(report.persisted) == 2
    kinds = [envelope_from_package(i.package, envelope_id="x").envelope.extra["edxml.kind"]
             for i in inbox.items.values() if isinstance(i.package, DocumentPackage)]
    assert kinds == ["0", "1"]


async def test_bad_signature_replay_and_foreign_sender_refused(
        axis: Axis, session: aiohttp.ClientSession) -> None:
    with pytest.raises(AxisRefused):
        await _client(axis, session, HUB, b"wrong").received()
    body = b"{}"
    headers = sign(HUB_SECRET, "POST", "/getReceivedEdocList", HUB, body, now=time.time(),
                   nonce="n" * 16)
    statuses = []
    for _ in range(2):
        async with session.post(f"{axis.url}/getReceivedEdocList", data=body,
                                headers=headers) as resp:
            statuses.append(resp.status)
    assert statuses == [200, 401]
    _, data = _outgoing()
    with pytest.raises(AxisRefused) as info:
        await _client(axis, session, VPCP, VPCP_SECRET).send_edoc(data)  # From is not vpcp's
    assert "not registered" in info.value.problems[0].en


async def test_outage_then_retry_with_backoff(axis_dir: Path,
                                              session: aiohttp.ClientSession) -> None:
    server = Axis(axis_dir, free_port())
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) == 3:
            server.start()  # the axis comes back during the third wait

    client = HttpAxis(server.url, HUB, HUB_SECRET, session=session, sleep=sleep,
                      retry=Retry(attempts=6, first_delay=1.0, max_delay=3.0))
    try:
        assert await client.received() == []
    finally:
        server.stop()
    assert delays == [1.0, 2.0, 3.0]
    dead = HttpAxis(f"http://127.0.0.1:{free_port()}", HUB, HUB_SECRET, session=session,
                    sleep=_nosleep, retry=Retry(attempts=2))
    with pytest.raises(AxisUnavailable):
        await dead.received()


async def test_dedupe_on_send_and_receive(axis: Axis, session: aiohttp.ClientSession) -> None:
    hub, vpcp = (_client(axis, session, HUB, HUB_SECRET),
                 _client(axis, session, VPCP, VPCP_SECRET))
    env, data = _outgoing()
    sent: dict[str, str] = {}

    async def was_sent(key: str) -> str | None:
        return sent.get(key)

    async def record(key: str, doc_id: str) -> None:
        sent[key] = doc_id

    pkg = package_from_envelope(
        env, {env.attachments[0].sha256: PDF}, organ=lambda c: Organ(organ_id=c), now=NOW)
    first = await push(hub, data, pkg, sent=was_sent, record=record)
    assert await push(hub, data, pkg, sent=was_sent, record=record) == first
    later = package_from_envelope(env, {env.attachments[0].sha256: PDF},
                                  organ=lambda c: Organ(organ_id=c), now=datetime(2025, 3, 6))
    await hub.send_edoc(package_bytes(later))  # same DocumentId, different bytes: resent
    assert len(await vpcp.received()) == 2
    inbox = Inbox()
    report = await pull(vpcp, seen=inbox.seen, persist=inbox.persist)
    assert len(report.persisted) == 1 and len(report.duplicates) == 1
    assert await vpcp.received() == []
