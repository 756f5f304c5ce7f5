"""After a cut, a quiet box goes on with a blob whose offset it knows (gateway/sync/after_cut.py),
against the in-memory hub in virtual time: no sync and no HEAD stand between the cut and the
next frame; the uploader probes a down link itself, and leaves it to the sync loop once the
outage is longer than ALONE_S or the last sync too old; cut blobs resume from what the hub
holds, asked about all at once, each blob arriving exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.protocol.limits import START_FRAME
from gateway.sync import after_cut
from gateway.sync.after_cut import ALONE_S
from gateway.sync.reconnect import PROBE_S
from gateway.sync.transfers import REQUEST_BUDGET_S
from gateway.testbed.fake_hub import Call, Kind
from tests.engine_box import POLL_S, Box, advancing, cut_and_hold, eventually, open_box

SIZE = 12 * START_FRAME


async def _quiet_box_cut_again(tmp_path: Path, blobs: int = 3) -> tuple[Box, list[str], int]:
    """A box uploading ``blobs`` documents to a hub that takes chains: the first blob's upload
    is cut beside a long-poll (the box turns quiet); its resumed request ends with its budget,
    and the next one is cut with no long-poll open. Returns the box, the blobs' digests in
    queue order, and where in the hub's calls the second cut is."""
    box = await open_box(tmp_path)
    box.hub.upload_chain = True
    shas = []
    for _ in range(blobs):
        shas.append((await box.send(SIZE))[1])
        box.time.advance(0.001)

    async def cut_twice() -> bool:
        return sum(c.outcome == "cut" for c in box.hub.uploads(shas[0])) == 2

    try:
        _, release = await cut_and_hold(box, shas[0])
        box.hub.fault(shas[0], Kind.CUT, after=2 * START_FRAME)  # the next request is cut too
        box.time.advance(REQUEST_BUDGET_S + 1)  # this one ends at its next frame boundary
        release.set()
        await eventually(cut_twice)
    except BaseException:
        await box.close()  # its engine would outlive the test
        raise
    return box, shas, [i for i, c in enumerate(box.hub.calls) if c.outcome == "cut"][-1]


def _after(box: Box, at: int) -> list[Call]:
    return [c for c in box.hub.calls[at + 1:] if c.method in ("SYNC", "HEAD", "PATCH", "CHAIN")]


async def _all_complete(box: Box, shas: list[str]) -> None:
    async def complete() -> bool:
        return set(shas) <= box.hub.complete

    await advancing(box, complete, step_s=0.1)
    for sha in shas:
        assert sum(c.outcome == "complete" for c in box.hub.uploads(sha)) == 1


async def test_the_next_blob_goes_at_once_and_the_cut_one_resumes_from_the_hub(
        tmp_path: Path) -> None:
    box, shas, cut_at = await _quiet_box_cut_again(tmp_path)
    try:
        held = box.hub.calls[cut_at].held

        async def went_on() -> bool:
            return bool(_after(box, cut_at))

        await advancing(box, went_on, step_s=PROBE_S)
        first = _after(box, cut_at)[0]
        assert (first.method, first.sha256, first.offset) == ("PATCH", shas[1], 0)
        assert shas[0] in box.client.uploader.unsure
        await _all_complete(box, shas)
        later = _after(box, cut_at)
        resumed = next(c for c in later if c.method != "HEAD" and c.sha256 == shas[0])
        assert resumed.offset == held  # from what the hub holds: nothing sent twice
        # The hub said so first (the one cut blob left: its HEAD, or a sync that came first)
        asked = [i for i, c in enumerate(later) if c.method in ("SYNC", "HEAD")]
        assert asked and asked[0] < later.index(resumed)
    finally:
        await box.close()


async def test_the_uploader_probes_a_short_outage_itself(tmp_path: Path) -> None:
    """While the link refuses, the next blob's PATCH is the probe, once per PROBE_S: no sync
    (the sync loop does not probe beside it), and the blob is not taken for a cut one, as a
    refused connection sent nothing: it starts from 0 when the link is back, without a HEAD."""
    box, shas, cut_at = await _quiet_box_cut_again(tmp_path)
    try:
        box.hub.down = "unreachable"
        for _ in range(int(2 / PROBE_S)):
            box.time.advance(PROBE_S)
            await asyncio.sleep(POLL_S)  # the worker's probe runs
        probes = _after(box, cut_at)
        assert len(probes) >= int(1 / PROBE_S)
        assert {(c.method, c.sha256, c.outcome) for c in probes} == {("PATCH", shas[1], "down")}
        assert box.client.stats.online
        box.hub.down = None

        async def through() -> bool:
            return any(c.outcome != "down" for c in _after(box, cut_at))

        await advancing(box, through, step_s=PROBE_S)
        first = next(c for c in _after(box, cut_at) if c.outcome != "down")
        assert (first.method, first.sha256, first.offset) == ("PATCH", shas[1], 0)
        assert shas[1] not in box.client.uploader.unsure
        await _all_complete(box, shas)
    finally:
        await box.close()


async def test_a_longer_outage_is_the_sync_loops(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ALONE_S of refusals the uploader tells the sync loop, which probes and shows the
    clerk that the box is offline; once it gets through, every blob completes once. (The last
    sync's age, the other limit, is taken out of the way.)"""
    monkeypatch.setattr(after_cut, "FRESH_WINDOW_S", 3600.0)
    box, shas, cut_at = await _quiet_box_cut_again(tmp_path)
    try:
        box.hub.down = "unreachable"

        async def offline() -> bool:
            return not box.client.stats.online

        await advancing(box, offline, step_s=0.5)
        syncs = [c for c in _after(box, cut_at) if c.method == "SYNC"]
        assert syncs and syncs[0].at_ms - box.hub.calls[cut_at].at_ms >= ALONE_S * 1000
        box.hub.down = None
        await _all_complete(box, shas)
    finally:
        await box.close()


async def test_with_an_old_last_sync_the_sync_comes_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The uploader goes alone only while the last sync is recent (receipts, news, the clerk's
    indicator): otherwise the sync loop reconnects and the cut blob resumes first."""
    monkeypatch.setattr(after_cut, "FRESH_WINDOW_S", 0.0)
    box, shas, cut_at = await _quiet_box_cut_again(tmp_path)
    try:
        held = box.hub.calls[cut_at].held

        async def resumed() -> bool:
            return any(c.method == "PATCH" for c in _after(box, cut_at))

        await advancing(box, resumed, step_s=PROBE_S)
        after = _after(box, cut_at)
        assert [c.method for c in after[:2]] == ["SYNC", "PATCH"]
        assert (after[1].sha256, after[1].offset) == (shas[0], held)
        await _all_complete(box, shas)
    finally:
        await box.close()


async def test_a_blob_alone_still_waits_for_the_sync(tmp_path: Path) -> None:
    """Nothing else to send: the cut blob's offset comes from the sync loop's reconnect."""
    box, shas, cut_at = await _quiet_box_cut_again(tmp_path, blobs=1)
    try:
        async def resumed() -> bool:
            return any(c.method == "PATCH" for c in _after(box, cut_at))

        await advancing(box, resumed, step_s=PROBE_S)
        assert [c.method for c in _after(box, cut_at)[:2]] == ["SYNC", "PATCH"]
        await _all_complete(box, shas)
    finally:
        await box.close()


async def test_two_cut_blobs_are_asked_about_in_one_sync(tmp_path: Path) -> None:
    """The blob that went on is cut too: the third goes next; then one sync, not a HEAD for
    each, says where both cut ones stand, and each resumes from there."""
    box, shas, _ = await _quiet_box_cut_again(tmp_path)
    try:
        box.hub.fault(shas[1], Kind.CUT, after=2 * START_FRAME)

        async def both_cut() -> bool:
            return any(c.outcome == "cut" for c in box.hub.uploads(shas[1]))

        await advancing(box, both_cut, step_s=PROBE_S)
        second = [i for i, c in enumerate(box.hub.calls) if c.outcome == "cut"][-1]
        held = {sha: max(c.held for c in box.hub.uploads(sha) if c.outcome == "cut")
                for sha in shas[:2]}
        await _all_complete(box, shas)
        later = _after(box, second)
        assert (later[0].method, later[0].sha256, later[0].offset) == ("PATCH", shas[2], 0)
        assert not [c for c in later if c.method == "HEAD"]
        for sha in shas[:2]:
            resumed = next(c for c in later if c.sha256 == sha)
            assert resumed.offset == held[sha]
    finally:
        await box.close()
