"""Frames shrink on a link that cuts often (the fake hub, virtual time): a cut loses the frame
in flight, so after a cut the upload goes on in the smallest frames, and they grow back once
the link has not cut for a while."""

from __future__ import annotations

from pathlib import Path

from gateway.protocol.limits import MIN_FRAME, START_FRAME
from gateway.protocol.pacing import CUT_SHARE
from gateway.testbed.fake_hub import Kind
from tests.engine_box import advancing, eventually, open_box


async def test_frames_shrink_after_a_cut_and_grow_back(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    doc_id, sha = await box.send(8 * START_FRAME)
    box.hub.fault(sha, Kind.CUT, after=2 * START_FRAME)
    box.start()
    try:
        async def cut() -> bool:
            return any(c.outcome == "cut" for c in box.hub.uploads(sha))

        await eventually(cut)
        stats = box.client.stats
        assert stats.max_frame == START_FRAME  # before the cut: nothing measured, no cut seen
        stats.max_frame = 0  # the worker waits out its link backoff in virtual time now
        sent_before = stats.blob_bytes_up

        async def done() -> bool:
            return await box.queue_state(doc_id) == "done"

        await advancing(box, done)
        assert stats.max_frame == MIN_FRAME  # what a cut now loses: half of 8 KiB, not of 32
        assert stats.blob_bytes_up > sent_before
        box.time.advance(1 / CUT_SHARE)  # no cut for 100 s: a second of link per frame again
        assert box.client.uploader.frame_size() == START_FRAME
    finally:
        await box.close()
