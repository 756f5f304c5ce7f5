"""The outbound queue in the engine: the hub answers 503 for one document's blob only. The
others are delivered; that one backs off (waits grow, jittered), is dead-lettered at the
limit with a reason `gateway show` prints, and `gateway retry` revives it. Virtual time;
the daemon's own wake-up watcher notices the retry."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.cli.doc_view import doc_text
from gateway.queue import MAX_ATTEMPTS
from gateway.queue.order import RETRY_BASE_S
from gateway.services.documents import document, retry
from gateway.store.outbound import blob_documents
from gateway.sync.daemon import supervise
from gateway.testbed.fake_hub import Kind
from tests.engine_box import Box, eventually, open_box


async def failures(box: Box, sha: str) -> int:
    return sum(1 for c in box.hub.calls if c.sha256 == sha and c.outcome == "fault")


async def test_one_blob_503_backs_off_dead_letters_and_retry_revives(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    first, _ = await box.send(3000)
    sick, sick_sha = await box.send(4000)
    last, _ = await box.send(5000)
    box.hub.fault(sick_sha, Kind.FAULT, status=503)
    daemon = asyncio.create_task(supervise(box.client, box.layout, box.stop))
    try:
        async def others_done() -> bool:
            return [await box.queue_state(d) for d in (first, last)] == ["done", "done"]

        await eventually(others_done)
        waits: list[float] = []
        for attempt in range(1, MAX_ATTEMPTS):
            async def failed(n: int = attempt) -> bool:
                docs = await blob_documents(box.store, [sick_sha])
                return await failures(box, sick_sha) == n and docs[0].attempts == n

            await eventually(failed)
            (queued,) = await blob_documents(box.store, [sick_sha])
            waits.append((queued.next_ms - box.time.clock()) / 1000)
            assert await box.queue_state(sick) == "accepted"
            box.time.advance_to(queued.next_ms)

        async def dead() -> bool:
            return await box.queue_state(sick) == "dead"

        await eventually(dead)
        assert await failures(box, sick_sha) == MAX_ATTEMPTS
        assert waits == sorted(waits) and len(set(waits)) == len(waits), waits
        ceilings = [RETRY_BASE_S * 2 ** i for i in range(MAX_ATTEMPTS - 1)]
        assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True)), waits
        assert [w / c for w, c in zip(waits, ceilings, strict=True)] != [1.0] * len(waits)

        box.time.advance(24 * 3600.0)  # an absence: a dead letter is never tried again
        await asyncio.sleep(0.05)
        assert await failures(box, sick_sha) == MAX_ATTEMPTS
        shown = doc_text(*await document(box.data, sick))  # what `gateway show` prints
        assert "Gửi lỗi" in shown and "503" in shown and f"{MAX_ATTEMPTS} lần thử" in shown

        box.hub.heal(sick_sha)
        await retry(box.data, sick)  # `gateway retry`'s service: store.retry, then the wake-up

        async def delivered() -> bool:
            return await box.queue_state(sick) == "done"

        await eventually(delivered)
        doc = await box.store.document(sick)
        assert doc.attempts == 0 and doc.last_error == ""
    finally:
        box.stop.set()
        assert await daemon == 0
        await box.store.close()


async def test_refused_frames_back_off_without_blocking_others(tmp_path: Path) -> None:
    """A 400 for one blob is that document's failure; an urgent one behind it still goes."""
    box = await open_box(tmp_path)
    bad, bad_sha = await box.send(3000)
    box.hub.fault(bad_sha, Kind.REFUSE, status=400)
    box.start()
    try:
        async def held_back() -> bool:
            docs = await blob_documents(box.store, [bad_sha])
            return bool(docs) and docs[0].attempts == 1

        await eventually(held_back)
        good, _ = await box.send(3000)

        async def good_done() -> bool:
            return await box.queue_state(good) == "done"

        await eventually(good_done)
        doc = await box.store.document(bad)
        assert doc.queue_state == "accepted" and "400" in doc.last_error
    finally:
        await box.close()


async def test_intact_blob_422_backs_off_in_the_queue(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    doc_id, sha = await box.send(3000)
    box.hub.fault(sha, Kind.REJECT)
    box.start()
    try:
        async def rejected() -> bool:
            docs = await blob_documents(box.store, [sha])
            return bool(docs) and docs[0].attempts == 1

        await eventually(rejected)
        (queued,) = await blob_documents(box.store, [sha])
        assert queued.next_ms - box.time.clock() >= RETRY_BASE_S / 2 * 1000
        assert [c.outcome for c in box.hub.uploads(sha)] == ["422"]
        box.time.advance_to(queued.next_ms)

        async def done() -> bool:
            return await box.queue_state(doc_id) == "done"

        await eventually(done)
    finally:
        await box.close()
