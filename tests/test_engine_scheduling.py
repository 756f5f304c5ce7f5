"""Scheduling against the in-memory hub, in virtual time: urgent pre-emption at a frame
boundary, and transfers that resume where the hub (or the partial file) says after a cut."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from gateway.model import Urgency
from gateway.protocol.limits import START_FRAME
from gateway.testbed.fake_hub import Kind
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.engine_box import advancing, eventually, open_box
from tests.factories import attachment, envelope


async def test_hoa_toc_overtakes_bulk_at_a_frame_boundary(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    hub = box.hub
    bulk, bulk_sha = await box.send(8 * START_FRAME)
    gate = hub.pause_after(bulk_sha, frames=1)
    box.start()
    try:
        await asyncio.wait_for(gate.reached.wait(), 5)  # inside the bulk request, one frame sent
        urgent, urgent_sha = await box.send(2 * START_FRAME, Urgency.HOA_TOC)
        urgent_gate = hub.pause_after(urgent_sha, frames=1)  # still moving when bulk goes on
        await asyncio.wait_for(urgent_gate.reached.wait(), 5)
        gate.release.set()

        async def bulk_ended() -> bool:
            return bool(hub.uploads(bulk_sha))

        await eventually(bulk_ended)
        urgent_gate.release.set()

        async def all_done() -> bool:
            return all([await box.queue_state(d) == "done" for d in (bulk, urgent)])

        await eventually(all_done)
        urgent_done = next(i for i, c in enumerate(hub.calls)
                           if c.sha256 == urgent_sha and c.outcome == "complete")
        first, *rest = hub.uploads(bulk_sha)
        # The bulk request ended at the frame boundary after the urgent need appeared...
        assert first.outcome == "ok" and first.clean and 0 < first.held < 8 * START_FRAME
        # ... and went on, from where the hub held it, only once the urgent one was in.
        assert rest[0].offset == first.held
        assert hub.calls.index(rest[0]) > urgent_done
        assert hub.complete >= {bulk_sha, urgent_sha}
    finally:
        await box.close()


async def test_a_second_bulk_upload_waits_for_the_last_frame_of_the_first(
        tmp_path: Path) -> None:
    """Two long uploads at once would halve each other and double what waits ahead of a Hỏa
    tốc document: the second worker starts the next blob only when the running one is in its
    last frame (so the request's closing round trip is still filled)."""
    box = await open_box(tmp_path)
    hub = box.hub
    (_, first), (_, second) = [await box.send(4 * START_FRAME) for _ in range(2)]
    gate = hub.pause_after(first, frames=1)
    box.start()
    try:
        await asyncio.wait_for(gate.reached.wait(), 5)
        await asyncio.sleep(0.05)
        assert set(box.client.uploader.workers.active) == {first}
        gate.release.set()

        async def both() -> bool:
            return {first, second} <= hub.complete

        await eventually(both)
    finally:
        await box.close()


async def test_upload_resumes_from_the_hubs_offset_after_a_cut(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    doc_id, sha = await box.send(6 * START_FRAME)
    box.hub.fault(sha, Kind.CUT, after=2 * START_FRAME)
    box.start()
    try:
        async def cut() -> bool:
            return any(c.outcome == "cut" for c in box.hub.uploads(sha))

        await eventually(cut)

        async def done() -> bool:
            return await box.queue_state(doc_id) == "done"

        await advancing(box, done)  # through the worker's link backoff (at most 4 s)
        # On from where the hub is, after a HEAD or a sync reply asked after the cut (they race
        # here; tests/test_engine_link.py takes each way alone). A stale offset costs a 409,
        # never a byte applied twice.
        calls = [c for c in box.hub.calls if c.sha256 == sha and c.method == "PATCH"]
        assert calls[0].held >= 2 * START_FRAME and not calls[0].clean
        assert all(c.outcome == "offset" for c in calls[1:-1])
        assert calls[-1].offset == calls[0].held and calls[-1].outcome == "complete"
        doc = await box.store.document(doc_id)
        assert doc.attempts == 0 and doc.last_error == ""  # a cut is not the document's fault
    finally:
        await box.close()


async def test_download_resumes_from_the_partial_file_after_a_cut(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    payload = os.urandom(5 * START_FRAME)
    sha = hashlib.sha256(payload).hexdigest()
    env = envelope(COMMUNE_B, (COMMUNE_A,), attachments=(attachment("den.pdf", payload),),
                   now_ms=box.time.clock())
    box.hub.deliver(1, env, {sha: payload})
    box.hub.fault(sha, Kind.CUT, after=2 * START_FRAME)
    box.start()
    try:
        async def partial() -> bool:
            return box.store.blobs.partial_size(sha) >= 2 * START_FRAME

        await eventually(partial)

        async def arrived() -> bool:
            return [d.envelope.id for d in await box.store.list_documents("in")] == [env.id]

        await advancing(box, arrived)
        gets = [c for c in box.hub.calls if c.method == "GET"]
        assert gets[0].offset == 0 and gets[1].offset == 2 * START_FRAME
        assert box.store.blobs.verify(sha)

        async def acked() -> bool:  # stored first, acked by the next sync
            return 1 not in box.hub.inbox

        await eventually(acked)
    finally:
        await box.close()
