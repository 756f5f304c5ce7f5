"""Issue 8, box side: bit rot at the sender and at the recipient, a full disk, lost receipts,
status floods and orphaned blob files, each against a real hub on loopback."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.cli.admin import scrub, status
from gateway.linkemu import PROFILES
from gateway.model import State
from gateway.protocol.wire import HubConfig, Receipt, SyncReply
from gateway.store.blobs import BlobStore
from gateway.store.layout import GatewayConfig, Layout, save_config
from gateway.store.local import LocalStore
from gateway.store.outbound import blob_documents
from gateway.store.syncstate import Outgoing, SyncState
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B, COMMUNE_C, CliRunner
from tests.e2e_helpers import digest
from tests.factories import envelope


@pytest.fixture
async def bed(tmp_path: Path) -> AsyncIterator[Testbed]:
    tb = Testbed(tmp_path / "p", PROFILES["lan"], wait_s=1)
    await tb.start((COMMUNE_A, COMMUNE_B, COMMUNE_C))
    try:
        yield tb
    finally:
        await tb.stop()


def pdf(tmp_path: Path, name: str = "bao-cao.pdf", size: int = 200_000) -> Path:
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.7 " + os.urandom(size))
    return path


def flip_byte(path: Path, at: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def requests(tb: Testbed, kind: str) -> int:
    assert tb.hub is not None
    return tb.hub.state.requests.get(kind, 0)


async def hub_blobs_bad(tb: Testbed, agency: str) -> int:
    assert tb.hub is not None
    store = tb.hub.state.store
    await store.flush_heartbeats()
    rows = await store.db.read(lambda c: c.execute_fetchall(
        "SELECT blobs_bad FROM gateways WHERE agency = ?", (agency,)))
    return int(next(iter(rows))[0]) if rows else -1


async def test_item4_corrupt_blob_dead_letters(bed: Testbed, tmp_path: Path) -> None:
    """A byte flipped on the sender's disk after queueing: one upload, the hub's 422, a re-hash
    here, then a dead letter with a bilingual reason, counted in the heartbeat's blobs_bad."""
    await bed.stop_gateway(COMMUNE_A)
    doc_id = await bed.send(COMMUNE_A, [COMMUNE_B], [pdf(tmp_path)])
    blob = next((bed.nodes[COMMUNE_A].data / "blobs").glob("??/*"))
    flip_byte(blob)
    await bed.start_gateway(COMMUNE_A)
    gw = bed.gateway(COMMUNE_A)

    async def dead() -> bool:
        return (await gw.store.document(doc_id)).queue_state == "dead"

    assert await wait_until(dead, 15), "the corrupt blob was never given up"
    doc = await gw.store.document(doc_id)
    assert "bị hỏng" in doc.last_error and "damaged" in doc.last_error
    assert (await gw.store.counts())["blobs_lost"] == 1
    assert not gw.store.blobs.has(blob.name)  # quarantined, never served or sent again
    gw.client.wake()

    async def reported() -> bool:
        return await hub_blobs_bad(bed, COMMUNE_A) == 1

    assert await wait_until(reported, 10), "the heartbeat does not count the bad blob"
    patches = requests(bed, "patch")
    assert patches <= 2
    gw.client.wake()
    await asyncio.sleep(1.0)  # an absence: nothing more is uploaded for it
    assert requests(bed, "patch") == patches


async def test_item4_intact_blob_backs_off_after_422(bed: Testbed, tmp_path: Path) -> None:
    """The hub's 422 for a blob that checks out here is not a reason to re-send it at once."""
    assert bed.hub is not None
    file = pdf(tmp_path)
    sha, size = digest(file), file.stat().st_size
    # Garbage the hub already "holds": the last byte completes a whole that does not match.
    bed.hub.state.store.blobs.partial_path(sha).write_bytes(b"\0" * (size - 1))
    doc_id = await bed.send(COMMUNE_A, [COMMUNE_B], [file])
    gw = bed.gateway(COMMUNE_A)

    async def patched() -> bool:
        return requests(bed, "patch") >= 1

    assert await wait_until(patched, 10, poll_s=0.05)
    await asyncio.sleep(1.5)  # an absence: the whole blob is not sent again at once
    assert requests(bed, "patch") == 1 and not bed.hub.state.store.blobs.has(sha)
    held_back = await blob_documents(gw.store, [sha])
    assert held_back and held_back[0].next_ms - gw.client.clock() > 1000
    doc = await gw.store.document(doc_id)
    assert doc.queue_state != "dead" and gw.store.blobs.verify(sha)


async def test_item9_download_pauses_at_disk_reserve(
        bed: Testbed, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    receiver = bed.gateway(COMMUNE_B)
    receiver.client.downloader.disk_recheck_s = 0.3
    receiver.client.reserve_bytes = receiver.store.blobs.free_bytes() + 64 * 2**20
    doc_id = await bed.send(COMMUNE_A, [COMMUNE_B], [pdf(tmp_path)])

    async def paused() -> bool:
        return (await receiver.store.counts())["inbound_downloading"] == 1 and \
            receiver.client.downloader.short_mb > 0

    assert await wait_until(paused, 15)
    syncs, gets = requests(bed, "sync"), requests(bed, "get")
    await asyncio.sleep(1.5)  # an absence: no downloads and no hot loop while paused
    assert requests(bed, "get") == gets == 0
    assert requests(bed, "sync") - syncs <= 4
    await status(str(bed.nodes[COMMUNE_B].data), False, "en")
    assert re.search(r"Disk full: \d+ MB needed", capsys.readouterr().out)
    assert await bed.inbox(COMMUNE_B) == []

    receiver.client.reserve_bytes = 0  # space came back

    async def arrived() -> bool:
        return [d.envelope.id for d in await bed.inbox(COMMUNE_B)] == [doc_id]

    assert await wait_until(arrived, 15)
    await status(str(bed.nodes[COMMUNE_B].data), False, "en")
    assert "Disk full" not in capsys.readouterr().out


async def test_item10_scrub_quarantines_and_refetches(
        bed: Testbed, tmp_path: Path, cli: CliRunner,
        capsys: pytest.CaptureFixture[str]) -> None:
    file = pdf(tmp_path)
    doc_id = await bed.send(COMMUNE_A, [COMMUNE_B], [file])

    async def arrived() -> bool:
        return len(await bed.inbox(COMMUNE_B)) == 1

    assert await wait_until(arrived, 15)
    await bed.stop_gateway(COMMUNE_B)
    data = bed.nodes[COMMUNE_B].data
    sha = digest(file)
    blob = data / "blobs" / sha[:2] / sha
    flip_byte(blob)
    out = tmp_path / "out"
    out.mkdir()

    def export_fails() -> None:  # one line naming the attachment, never a traceback
        result = cli("export", "--data", str(data), doc_id, "--to", str(out))
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1 and file.name in result.stderr, result.stderr

    export_fails()
    assert not await scrub(str(data), "vi")
    assert "đã cách ly" in capsys.readouterr().out
    assert (data / "blobs" / "corrupt" / sha).exists() and not blob.exists()
    export_fails()
    result = cli("status", "--data", str(data))
    assert "đang tải lại từ máy chủ tỉnh: 1" in result.stdout, result.stdout

    await bed.start_gateway(COMMUNE_B)
    receiver = bed.gateway(COMMUNE_B)

    async def repaired() -> bool:
        return receiver.store.blobs.has(sha) and \
            (await receiver.store.counts())["blobs_refetching"] == 0

    assert await wait_until(repaired, 15), "the quarantined blob was not fetched again"
    assert receiver.store.blobs.verify(sha)
    result = cli("export", "--data", str(data), doc_id, "--to", str(out))
    assert result.returncode == 0, result.stderr
    assert digest(out / file.name) == sha


async def test_item12_every_recipient_receipt_arrives(bed: Testbed, tmp_path: Path) -> None:
    doc_id = await bed.send(COMMUNE_A, [COMMUNE_B, COMMUNE_C], [pdf(tmp_path, size=2000)])
    sender = bed.gateway(COMMUNE_A).store

    async def both_arrived() -> bool:
        doc = await sender.document(doc_id)
        return all(d.state is State.RECEIVED for d in doc.deliveries)

    assert await wait_until(both_arrived, 20), (await sender.document(doc_id)).deliveries
    received = {e.actor for e in await sender.events(doc_id) if e.kind == "01"}
    assert received == {COMMUNE_B, COMMUNE_C}


async def test_item6_status_flood_does_not_grow_the_event_log(tmp_path: Path) -> None:
    """A recipient repeating and toggling statuses (13/16 with long notes, 05 over and over)
    leaves one event per real step in the sender's log, and forges no recall."""
    layout = Layout(tmp_path / "gw")
    layout.root.mkdir()
    save_config(layout, GatewayConfig(agency=COMMUNE_A))
    store = await LocalStore.open(layout, lambda: 1_000)
    try:
        env = envelope(recipients=(COMMUNE_B,))
        await store.queue_document(env)
        ledger = SyncState(store)
        steps = [("at_hub", ""), ("delivered", ""), ("01", ""), ("05", "")]
        flood = [("13" if i % 2 == 0 else "16", "x" * 500) for i in range(256)]
        flood += [("05", f"đang xử lý {i}" + "y" * 480) for i in range(256)]
        rseq = 0
        for batch in (steps, flood[:256], flood[256:]):
            receipts = []
            for event, note in batch:
                rseq += 1
                receipts.append(Receipt(rseq, env.id, COMMUNE_B, event, 2_000 + rseq, note))
            await ledger.apply_reply(
                Outgoing((), (), (), 0),
                SyncReply(5_000, (), (), (), (), tuple(receipts), HubConfig(2**20, 0)), 5_000)
        events = await store.events(env.id)
        assert [e.kind for e in events] == ["queued", "at_hub", "delivered", "01", "05"]
        doc = await store.document(env.id)
        assert [(d.state, d.recall_pending) for d in doc.deliveries] == \
            [(State.PROCESSING, False)]
    finally:
        await store.close()


async def test_low_orphan_blobs_swept_at_startup_and_in_scrub(
        bed: Testbed, tmp_path: Path) -> None:
    """Blob files of a send killed before its commit go; young ones (a send in progress, which
    may also reuse an old orphan's bytes) and referenced ones stay."""
    await bed.send(COMMUNE_A, [COMMUNE_B], [pdf(tmp_path, size=3000)])
    await bed.stop_gateway(COMMUNE_A)
    data = bed.nodes[COMMUNE_A].data
    blobs = BlobStore(data / "blobs")
    hour_ago = time.time() - 2 * 3600

    def orphan(content: bytes, *, old: bool) -> str:
        sha, _ = blobs.put_bytes(content)
        if old:
            os.utime(blobs.path(sha), (hour_ago, hour_ago))
        return sha

    killed = orphan(b"killed send", old=True)
    young = orphan(b"send in progress", old=False)
    reused = orphan(b"reused by a send in progress", old=True)
    blobs.put_bytes(b"reused by a send in progress")  # a new send stores the same bytes
    for sha in blobs.all_digests():
        if sha not in (killed, young, reused):
            os.utime(blobs.path(sha), (hour_ago, hour_ago))  # referenced, and old
    referenced = set(blobs.all_digests()) - {killed, young, reused}
    assert referenced

    await bed.start_gateway(COMMUNE_A)  # start-up sweep
    assert set(blobs.all_digests()) == referenced | {young, reused}
    await bed.stop_gateway(COMMUNE_A)
    again = orphan(b"another killed send", old=True)
    assert await scrub(str(data), "vi")
    assert again not in blobs.all_digests()
    assert set(blobs.all_digests()) == referenced | {young, reused}
    assert all(blobs.verify(sha) for sha in referenced)
