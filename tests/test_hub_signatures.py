"""The hub checks the signatures of every uploaded PDF in the background and keeps the
province's "share digitally signed" figure: verdict rows, /v1/fleet and /metrics, through a
real hub on loopback with the throwaway PKI of the signing tests."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from gateway.hub.runtime import HubLayout, init_hub, open_hub, serve_hub
from gateway.model import Directory, Refused
from gateway.signing import PdfState, PdfVerdict, SigStatus
from gateway.signing.verdict import RevocationState
from gateway.store.db import Database
from gateway.store.hub.schema import HUB_MIGRATIONS
from gateway.testbed.pdf_samples import make_pdf
from tests import hostile_pdfs
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.security.hostile import Hub, Peer, doc, sha, upload
from tests.signing_helpers import sign_as
from tests.signing_pki import Pki, shared_pki


def configure(root: Path, **settings: object) -> None:
    layout = HubLayout(root)
    config = json.loads(layout.config.read_text())
    config.update(settings)
    layout.config.write_text(json.dumps(config))


def trusting(pki: Pki) -> dict[str, object]:
    return {"trust_roots": str(pki.roots_pem), "trust_crls": [str(pki.crl)]}


@pytest_asyncio.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    init_hub(tmp_path / "hub", "H35", Directory.sample(), ["127.0.0.1"])
    configure(tmp_path / "hub", **trusting(shared_pki()))
    running = Hub(tmp_path / "hub", await serve_hub(tmp_path / "hub"))
    try:
        for agency in (COMMUNE_A, COMMUNE_B):
            await running.enroll(agency, tmp_path / f"gw-{agency}")
        yield running
    finally:
        await running.close()


async def checked(hub: Hub) -> None:
    await asyncio.wait_for(hub.running.state.signatures.idle.wait(), 60)


async def verdict(hub: Hub, data: bytes) -> PdfVerdict:
    text = await hub.store.signatures.verdict(sha(data))
    assert text is not None, "no verdict kept"
    return PdfVerdict.from_json(text)


async def admin_get(hub: Hub, path: str) -> bytes:
    token = await hub.token("admin", kind="admin")
    reply = await hub.anonymous.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 200, reply
    return reply.body


async def send(a: Peer, *blobs: bytes) -> str:
    env = doc(COMMUNE_A, COMMUNE_B, *blobs)
    assert (await a.sync(out=(env,))).accepted == (env.id,)
    for data in blobs:
        await upload(a, data)
    return env.id


async def signed_pdf(tmp_path: Path, pki: Pki) -> bytes:
    await asyncio.to_thread(sign_as, pki.agency, make_pdf(), tmp_path / "signed.pdf")
    return (tmp_path / "signed.pdf").read_bytes()


async def test_signed_and_unsigned_documents_give_verdicts_and_the_signed_share(
        hub: Hub, tmp_path: Path) -> None:
    pki = shared_pki()
    a, b = hub.peers[COMMUNE_A], hub.peers[COMMUNE_B]
    signed, unsigned = await signed_pdf(tmp_path, pki), make_pdf()
    ids = {await send(a, signed), await send(a, unsigned)}
    assert {i.env.id for i in (await b.sync()).inbox} == ids  # routed at once
    await checked(hub)

    good = await verdict(hub, signed)
    assert good.has_valid_trusted
    (sig,) = good.signatures
    assert sig.revocation.state is RevocationState.GOOD  # the hub's CRL file, nothing fetched
    assert (await verdict(hub, unsigned)).state is PdfState.UNSIGNED

    fleet = json.loads(await admin_get(hub, "/v1/fleet"))["signatures"]
    assert fleet["agencies"] == [{"agency": COMMUNE_A, "name": Directory.sample()[COMMUNE_A].name,
                                  "issued": 2, "signed": 1, "share": 0.5}]
    assert fleet["province"] == {"issued": 2, "signed": 1, "share": 0.5}

    metrics = (await admin_get(hub, "/metrics")).decode()
    assert f'gateway_documents_issued_total{{agency="{COMMUNE_A}"}} 2\n' in metrics
    assert f'gateway_documents_signed_total{{agency="{COMMUNE_A}"}} 1\n' in metrics
    if shutil.which("promtool"):
        lint = await asyncio.to_thread(subprocess.run, ["promtool", "check", "metrics"],
                                       input=metrics.encode(), capture_output=True, timeout=60)
        assert lint.returncode == 0, lint.stdout + lint.stderr


async def test_a_hostile_pdf_is_delivered_and_counted_unsigned(hub: Hub, tmp_path: Path) -> None:
    a, b = hub.peers[COMMUNE_A], hub.peers[COMMUNE_B]
    lying = hostile_pdfs.lying_byte_range(await signed_pdf(tmp_path, shared_pki()))
    hostile = [hostile_pdfs.deep_dicts(), hostile_pdfs.huge_xref(), lying]
    first = await send(a, *hostile)
    after = await send(a, make_pdf())  # the next document is not held up behind it
    assert {i.env.id for i in (await b.sync()).inbox} == {first, after}
    await checked(hub)
    for data in hostile:
        assert not (await verdict(hub, data)).has_valid_trusted
    assert (await verdict(hub, hostile[0])).state is PdfState.UNREADABLE
    assert json.loads(await admin_get(hub, "/v1/fleet"))["signatures"]["province"] == {
        "issued": 2, "signed": 0, "share": 0.0}
    await hub.healthy()


async def test_without_a_bundle_nothing_is_trusted_and_a_restart_checks_what_is_missing(
        tmp_path: Path) -> None:
    pki, root = shared_pki(), tmp_path / "hub"
    init_hub(root, "H35", Directory.sample(), ["127.0.0.1"])
    hub = Hub(root, await serve_hub(root))
    try:
        a = await hub.enroll(COMMUNE_A, tmp_path / "gw-a")
        signed = await signed_pdf(tmp_path, pki)
        await send(a, signed)
        await checked(hub)
        (sig,) = (await verdict(hub, signed)).signatures
        assert sig.status is SigStatus.VALID_UNTRUSTED_ROOT
    finally:
        await hub.close()

    with sqlite3.connect(root / "hub.sqlite3") as conn:  # as after a crash before the check
        conn.execute("DELETE FROM signature_verdicts")
    configure(root, **trusting(pki))
    hub = Hub(root, await serve_hub(root))
    try:
        await checked(hub)
        assert (await verdict(hub, signed)).has_valid_trusted
        assert hub.running.state.signatures.checked == 1
    finally:
        await hub.close()


async def test_a_wrong_trust_setting_is_refused_before_the_hub_opens(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    init_hub(root, "H35", Directory.sample(), ["127.0.0.1"])
    configure(root, trust_crls="crl.der")
    with pytest.raises(Refused) as refused:
        await open_hub(root)
    assert refused.value.problems[0].code == "hub.config"


async def test_the_migration_marks_pdf_attachments_of_existing_documents(
        tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    db = await Database.open(path, HUB_MIGRATIONS[:2])
    env = doc(COMMUNE_A, COMMUNE_B, b"%PDF-1.7 x", b"plain text")
    atts = [(env.id, x.sha256, x.size) for x in env.attachments]
    await db.write(lambda c: c.execute(
        "INSERT INTO documents(id, sender, urgency, envelope, accepted_ms) VALUES (?,?,?,?,?)",
        (env.id, env.sender, 1, json.dumps({"attachments": [
            {"name": "cv.PDF", "type": "application/octet-stream", "sha256": atts[0][1]},
            {"name": "note.txt", "type": "text/plain", "sha256": atts[1][1]}]}), 0)))
    await db.write(lambda c: c.executemany(
        "INSERT INTO doc_blobs(doc_id, sha256, size) VALUES (?,?,?)", atts))
    await db.close()
    db = await Database.open(path, HUB_MIGRATIONS)
    try:
        rows = await db.read(lambda c: c.execute_fetchall(
            "SELECT sha256, pdf FROM doc_blobs ORDER BY pdf DESC"))
        assert [tuple(r) for r in rows] == [(atts[0][1], 1), (atts[1][1], 0)]
    finally:
        await db.close()
