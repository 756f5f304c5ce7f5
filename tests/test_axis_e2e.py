"""End to end with the national axis: a real hub with its axis link configured in hub.json, a
real local axis service process on 127.0.0.1, a real commune box; the provincial document
system (``ioffice``) is played by the axis client with its own system id and secret."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import aiohttp
import pytest

from gateway.axis.client import HttpAxis, ReceivedItem, Retry
from gateway.edxml import DocumentPackage, Organ, StatusPackage, package_bytes, read_package
from gateway.edxml.mapping import (
    K_ID,
    K_KIND,
    K_REASON,
    package_from_envelope,
    status_package,
    status_update,
)
from gateway.hub.runtime import init_hub
from gateway.linkemu import PROFILES
from gateway.model import Directory, State
from gateway.model.delivery import Party
from gateway.model.document import Attachment, Envelope, Urgency
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.axis_helpers import Axis, free_port
from tests.conftest import COMMUNE_A, COMMUNE_B, run_gateway

HUB_SYSTEM, HUB_SECRET = "hub-h35", "hub-secret"
IOFFICE, IOFFICE_SECRET = "ioffice-h35", b"ioffice-secret"
SO_NOI_VU = "000.00.02.H35"  # in the sample directory, but connected through the axis
PDF = b"%PDF-1.7\n" + os.urandom(300_000)
NOW = datetime(2025, 3, 5, 9, 0, 0)


@pytest.fixture
def axis(tmp_path: Path) -> Iterator[Axis]:
    data = tmp_path / "axis"
    data.mkdir()
    (data / "systems.json").write_text(json.dumps({"systems": [
        {"id": HUB_SYSTEM, "secret": HUB_SECRET,
         "agencies": [{"code": COMMUNE_A, "name": "UBND xã (thử)"}]},
        {"id": IOFFICE, "secret": IOFFICE_SECRET.decode(),
         "agencies": [{"code": SO_NOI_VU, "name": "Sở Nội vụ (thử)"}]},
    ]}), encoding="utf-8")
    service = Axis(data, free_port())
    service.start()
    yield service
    service.stop()


def make_hub(root: Path, axis: Axis) -> None:
    hub = root / "hub"
    init_hub(hub, "H35", Directory.sample(), ["127.0.0.1", "localhost"])
    secret = hub / "axis.secret"
    secret.write_text(HUB_SECRET)
    secret.chmod(0o600)
    config = json.loads((hub / "hub.json").read_text())
    config["axis"] = {"url": axis.url, "system_id": HUB_SYSTEM, "secret_file": "axis.secret",
                      "poll_s": 0.2, "first_delay_s": 0.1, "max_delay_s": 1}
    (hub / "hub.json").write_text(json.dumps(config))


async def received(ioffice: HttpAxis, kind: str) -> list[tuple[ReceivedItem, bytes]]:
    """What waits for the provincial system, fetched and acknowledged."""
    out = []
    for item in await ioffice.received():
        if item.kind == kind:
            out.append((item, await ioffice.get_edoc(item.doc_id)))
            await ioffice.update_status(item.doc_id, done=True)
    return out


def incoming(extra: dict[str, str]) -> tuple[Envelope, bytes]:
    env = Envelope(id="x", sender=SO_NOI_VU, recipients=(COMMUNE_A,), number="55",
                   notation="SNV-VP", doc_type="Công văn", subject="V/v tuyển dụng viên chức",
                   issue_place="Lai Châu", issue_date=date(2025, 3, 5), signer="Nguyễn Văn B",
                   urgency=Urgency.KHAN, due_date=None,
                   attachments=(Attachment("tb.pdf", "application/pdf", "", len(PDF)),),
                   extra=extra)
    sha = hashlib.sha256(PDF).hexdigest()
    env = replace(env, attachments=(replace(env.attachments[0], sha256=sha),))
    pkg = package_from_envelope(env, {sha: PDF}, organ=lambda c: Organ(organ_id=c), now=NOW)
    return env, package_bytes(pkg)


async def test_commune_and_axis_exchange_documents_statuses_and_a_revoke(
        tmp_path: Path, axis: Axis) -> None:
    root = tmp_path / "province"
    root.mkdir()
    make_hub(root, axis)
    tb = Testbed(root, PROFILES["lan"], wait_s=1)
    async with aiohttp.ClientSession() as session:
        ioffice = HttpAxis(axis.url, IOFFICE, IOFFICE_SECRET, session=session,
                           retry=Retry(attempts=3, first_delay=0.1))
        try:
            await tb.start([COMMUNE_A])
            assert tb.hub is not None
            store = tb.hub.state.store

            async def national() -> bool:
                return SO_NOI_VU in store.national

            assert await wait_until(national, 20)

            # 1. The commune's document reaches the axis as a package, bytes intact.
            pdf = tmp_path / "bao-cao.pdf"
            pdf.write_bytes(PDF)
            doc_id = await tb.send(COMMUNE_A, [SO_NOI_VU], [pdf], subject="Báo cáo quý I")
            got: list[tuple[ReceivedItem, bytes]] = []

            async def arrived() -> bool:
                got.extend(await received(ioffice, "edoc"))
                return bool(got)

            assert await wait_until(arrived, 30)
            pkg = read_package(got[0][1]).package
            assert isinstance(pkg, DocumentPackage)
            assert pkg.header.from_ is not None and pkg.header.from_.organ_id == COMMUNE_A
            assert [o.organ_id for o in pkg.header.to] == [SO_NOI_VU]
            assert pkg.header.subject == "Báo cáo quý I"
            assert [a.content for a in pkg.attachments] == [PDF]
            gw = tb.gateway(COMMUNE_A)

            async def outbox_state(want: State) -> bool:
                doc = await gw.store.document(doc_id)
                return doc.deliveries[0].state is want

            assert await wait_until(lambda: outbox_state(State.DELIVERED), 20)

            # 2. The provincial system answers 01, 03, 06: they reach the commune's outbox.
            for code in ("01", "03", "06"):
                status = status_package(
                    original_id=pkg.header.document_id or "", original_sender=COMMUNE_A,
                    original_code="01/UBND", original_date="2025/03/05", code=code,
                    party=Party.RECIPIENT, organ=Organ(organ_id=SO_NOI_VU), staff=None,
                    description=f"trạng thái {code}", now=NOW)
                await ioffice.send_edoc(package_bytes(status))
            assert await wait_until(lambda: outbox_state(State.DONE), 30)
            kinds = [e.kind for e in await gw.store.events(doc_id)]
            assert {"01", "03", "06"} <= set(kinds), kinds

            # 3. A package from the axis arrives in the commune's inbox.
            env, data = incoming({})
            await ioffice.send_edoc(data)

            async def in_inbox() -> bool:
                return bool(await gw.store.list_documents("in"))

            assert await wait_until(in_inbox, 30)
            first = (await gw.store.list_documents("in"))[0]
            assert first.envelope.sender == SO_NOI_VU
            assert first.envelope.subject == env.subject
            att = first.envelope.attachments[0]
            assert gw.store.blobs.read_verified(att.sha256) == PDF
            # ... and its automatic 01 goes back to the provincial system as a status package.
            statuses: list[tuple[ReceivedItem, bytes]] = []

            async def answered() -> bool:
                statuses.extend(await received(ioffice, "status"))
                return bool(statuses)

            assert await wait_until(answered, 30)
            back = read_package(statuses[0][1]).package
            assert isinstance(back, StatusPackage)
            up = status_update(back)
            assert (up.code, up.sender) == ("01", COMMUNE_A)
            assert up.document_id == first.envelope.extra[K_ID]

            # 4. The provincial system revokes it: the box shows it as revoked.
            _, revoke = incoming({K_KIND: "1", K_REASON: "Ban hành nhầm",
                                  K_ID: first.envelope.extra[K_ID]})
            await ioffice.send_edoc(revoke)

            async def revoked() -> bool:
                return (await gw.store.document(first.envelope.id)).inbox_status \
                    is State.RECALLED

            assert await wait_until(revoked, 30)
            data_dir = str(tb.nodes[COMMUNE_A].data)
            # The CLI runs beside the live daemon (in a thread, so this event loop keeps
            # serving the daemon's open transactions).
            shown = await asyncio.to_thread(run_gateway, "show", "--data", data_dir,
                                            first.envelope.id)
            assert "Đã thu hồi" in shown.stdout and "Ban hành nhầm" in shown.stdout
            outbox = await asyncio.to_thread(run_gateway, "show", "--data", data_dir, doc_id)
            assert "Hoàn thành" in outbox.stdout
            listed = await asyncio.to_thread(run_gateway, "list", "--data", data_dir, "--inbox")
            assert "Đã thu hồi" in listed.stdout
        finally:
            await tb.stop()


async def test_axis_outage_dedupe_and_replace(tmp_path: Path, axis: Axis) -> None:
    """The hub starts while the axis is down and keeps serving; once the axis is up the link
    catches up; a package sent twice is filed once; a replace arrives as a new document that
    names the one it replaces."""
    root = tmp_path / "province"
    root.mkdir()
    make_hub(root, axis)
    axis.stop()
    tb = Testbed(root, PROFILES["lan"], wait_s=1)
    async with aiohttp.ClientSession() as session:
        ioffice = HttpAxis(axis.url, IOFFICE, IOFFICE_SECRET, session=session,
                           retry=Retry(attempts=3, first_delay=0.1))
        try:
            await tb.start([COMMUNE_A])
            assert tb.hub is not None
            store, gw = tb.hub.state.store, tb.gateway(COMMUNE_A)
            pdf = tmp_path / "a.pdf"
            pdf.write_bytes(PDF[:1000])
            local = await tb.send(COMMUNE_A, [COMMUNE_B], [pdf])  # the hub works meanwhile

            async def at_hub() -> bool:
                doc = await gw.store.document(local)
                return doc.deliveries[0].state is State.AT_HUB

            assert await wait_until(at_hub, 20)
            assert store.national == frozenset()
            axis.start()

            async def national() -> bool:
                return SO_NOI_VU in store.national

            assert await wait_until(national, 30)
            _, data = incoming({})
            await ioffice.send_edoc(data)
            await ioffice.send_edoc(data.replace(b"</edXML>", b"</edXML>\n"))  # same DocumentId
            _, replacement = incoming({K_KIND: "3", K_ID: "000.00.02.H35,2025/03/05,55/SNV-VP"})
            await ioffice.send_edoc(replacement)

            async def replaced() -> bool:  # pulled in order: the duplicate came before
                return any(d.envelope.extra.get(K_KIND) == "3"
                           for d in await gw.store.list_documents("in"))

            assert await wait_until(replaced, 30)
            docs = await gw.store.list_documents("in")
            assert sorted(d.envelope.extra.get(K_KIND, "0") for d in docs) == ["0", "3"]
            new = next(d for d in docs if d.envelope.extra.get(K_KIND) == "3")
            shown = await asyncio.to_thread(run_gateway, "show", "--data",
                                            str(tb.nodes[COMMUNE_A].data), new.envelope.id)
            assert "Thay thế văn bản 000.00.02.H35,2025/03/05,55/SNV-VP" in shown.stdout
        finally:
            await tb.stop()


@pytest.mark.parametrize(("change", "word"), [
    (lambda hub: (hub / "axis.secret").chmod(0o644), "readable by others"),
    (lambda hub: (hub / "axis.secret").unlink(), "cannot read"),
])
def test_bad_axis_settings_are_one_line(tmp_path: Path, axis: Axis,
                                        change: Callable[[Path], None], word: str) -> None:
    make_hub(tmp_path, axis)
    change(tmp_path / "hub")
    done = run_gateway("hub", "run", "--data", str(tmp_path / "hub"), "--listen",
                       f"127.0.0.1:{free_port()}", env={"GATEWAY_LANG": "en"}, timeout=30)
    assert done.returncode == 1 and word in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
