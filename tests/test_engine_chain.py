"""Chained uploads against the in-memory hub, in virtual time (docs/protocol.md §4): small
blobs go in one request to a hub that takes chains (one per blob, overlapping, to one that does
not); a cut mid-chain resumes every blob from the hub's offsets; an answer about a later blob
of the chain is that blob's, and the blobs before it are complete; a Hỏa tốc document still
overtakes; and a chain ends with its request's budget."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from gateway.model import Urgency
from gateway.protocol.limits import MAX_XDOC_DICT, START_FRAME
from gateway.sync.transfers import REQUEST_BUDGET_S
from gateway.testbed.fake_hub import Gate, Kind
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.engine_box import Box, advancing, eventually, open_box
from tests.factories import attachment, envelope

SMALL = 10_000


async def _chain_box(tmp_path: Path, *, chain: bool = True) -> Box:
    box = await open_box(tmp_path)
    box.hub.upload_chain = chain
    return box


async def _all_done(box: Box, docs: list[str], *, advance: bool = False) -> None:
    async def done() -> bool:
        return all([await box.queue_state(d) == "done" for d in docs])

    await (advancing(box, done) if advance else eventually(done))


async def _send(box: Box, count: int, size: int) -> list[tuple[str, str]]:
    """Queues ``count`` documents a virtual millisecond apart: the queue's order is theirs."""
    sent = []
    for _ in range(count):
        sent.append(await box.send(size))
        box.time.advance(0.001)
    return sent


def _completions(box: Box, sha: str) -> int:
    return sum(c.outcome == "complete" for c in box.hub.uploads(sha))


@pytest.mark.parametrize("chain", [True, False])
async def test_small_documents_go_in_one_request_to_a_hub_that_chains(
        tmp_path: Path, chain: bool) -> None:
    box = await _chain_box(tmp_path, chain=chain)
    sent = await _send(box, 6, SMALL)
    box.start()
    try:
        await _all_done(box, [d for d, _ in sent])
        requests = box.hub.requests()
        assert len(requests) == (1 if chain else 6), requests
        for _, sha in sent:
            assert _completions(box, sha) == 1
        if chain:  # in the queue's order, each after the one before it
            assert [c.sha256 for c in box.hub.calls if c.method in ("PATCH", "CHAIN")] \
                == [sha for _, sha in sent]

            async def idle() -> bool:  # the reply handled, nothing left marked as running
                up = box.client.uploader
                return not (up.sent or up.workers.active or up.left)

            await eventually(idle)
    finally:
        await box.close()


async def test_one_bulk_request_at_a_time_while_chaining(tmp_path: Path) -> None:
    """No second bulk worker overlaps a blob's end: the running request goes on instead."""
    box = await _chain_box(tmp_path)
    (_, first), (_, second) = await _send(box, 2, 3 * START_FRAME)
    box.start()
    gate = box.hub.pause_after(first, frames=3)  # the last frame of the first blob
    try:
        await asyncio.wait_for(gate.reached.wait(), 5)
        await asyncio.sleep(0.05)
        assert set(box.client.uploader.workers.active) == {first}
        gate.release.set()

        async def both() -> bool:
            return {first, second} <= box.hub.complete

        await eventually(both)
        assert [c.method for c in box.hub.uploads(second)] == ["CHAIN"]
    finally:
        await box.close()


async def test_a_cut_mid_chain_resumes_each_blob_from_the_hubs_offset(tmp_path: Path) -> None:
    box = await _chain_box(tmp_path)
    sent = await _send(box, 4, 3 * START_FRAME)
    shas = [sha for _, sha in sent]
    box.hub.fault(shas[2], Kind.CUT, after=START_FRAME)
    box.start()
    try:
        await _all_done(box, [d for d, _ in sent], advance=True)
        uploads = [(c.method, c.sha256, c.outcome) for c in box.hub.calls
                   if c.method in ("PATCH", "CHAIN")]
        assert uploads[:3] == [("PATCH", shas[0], "complete"), ("CHAIN", shas[1], "complete"),
                ("CHAIN", shas[2], "cut")]
        cut = box.hub.uploads(shas[2])[0]
        assert cut.held >= START_FRAME
        # Every blob complete exactly once (the hub verifies each sha256: a byte applied twice
        # would have been a 422); the cut one went on from what the hub held, never from 0.
        assert box.hub.complete == set(shas)
        assert all(_completions(box, sha) == 1 for sha in shas)
        assert all(c.offset >= cut.held for c in box.hub.uploads(shas[2])[1:])
        for doc_id, _ in sent:  # a cut is no document's fault
            assert (await box.store.document(doc_id)).attempts == 0
    finally:
        await box.close()


async def test_an_offset_answer_about_a_later_blob_is_that_blobs(tmp_path: Path) -> None:
    """The hub holds more of the chain's second blob than the box knew: its 409 names that
    blob; the first is complete, the second goes on from the hub's offset."""
    box = await _chain_box(tmp_path)
    sent = await _send(box, 3, 3 * START_FRAME)
    shas = [sha for _, sha in sent]
    gate = box.hub.pause_after(shas[1], frames=0)  # at its chain frame, before the hub looks
    box.start()
    try:
        await asyncio.wait_for(gate.reached.wait(), 5)
        held = box.store.blobs.read_range(shas[1], 0, START_FRAME)
        box.hub.held[shas[1]] = bytearray(held)  # e.g. a cut request's frames, landed late
        gate.release.set()
        await _all_done(box, [d for d, _ in sent])
        a, b = box.hub.uploads(shas[0]), box.hub.uploads(shas[1])
        assert [(c.method, c.outcome) for c in a] == [("PATCH", "complete")]
        assert (b[0].method, b[0].outcome, b[0].offset, b[0].held) \
            == ("CHAIN", "offset", 0, START_FRAME)
        assert (b[1].method, b[1].offset, b[1].outcome) == ("PATCH", START_FRAME, "complete")
        assert all(_completions(box, sha) == 1 for sha in shas)
    finally:
        await box.close()


async def test_gone_about_a_later_blob_is_that_blobs(tmp_path: Path) -> None:
    box = await _chain_box(tmp_path)
    sent = await _send(box, 3, SMALL)
    shas = [sha for _, sha in sent]
    box.hub.fault(shas[1], Kind.REFUSE, status=404)
    box.start()
    try:
        await _all_done(box, [sent[0][0], sent[2][0]])
        gone = box.hub.uploads(shas[1])
        assert (gone[0].method, gone[0].outcome) == ("CHAIN", "refuse")
        assert box.hub.complete == {shas[0], shas[2]}
        # The first blob's request was answered about the second: it is not the first's
        # refusal, and the third went on in a request of its own.
        assert [c.method for c in box.hub.uploads(shas[2])] == ["PATCH"]
        for doc_id, _ in sent:
            assert (await box.store.document(doc_id)).attempts == 0
    finally:
        await box.close()


async def test_a_rejection_of_a_later_blob_counts_against_its_documents(tmp_path: Path) -> None:
    box = await _chain_box(tmp_path)
    sent = await _send(box, 3, SMALL)
    shas = [sha for _, sha in sent]
    box.hub.fault(shas[1], Kind.REJECT)
    box.start()
    try:
        await _all_done(box, [sent[0][0], sent[2][0]])
        assert [c.outcome for c in box.hub.uploads(shas[1])][:1] == ["422"]
        first, second, third = [await box.store.document(d) for d, _ in sent]
        assert first.attempts == 0 and third.attempts == 0
        assert second.attempts == 1 and "mismatch" in second.last_error
        await _all_done(box, [sent[1][0]], advance=True)  # once its backoff is over
        assert all(_completions(box, sha) == 1 for sha in shas)
    finally:
        await box.close()


async def _bulk_held(tmp_path: Path, count: int) -> tuple[Box, list[tuple[str, str]], Gate]:
    """A chaining box uploading ``count`` bulk documents, held inside the first blob."""
    box = await _chain_box(tmp_path)
    bulk = await _send(box, count, 4 * START_FRAME)
    gate = box.hub.pause_after(bulk[0][1], frames=1)
    box.start()
    await asyncio.wait_for(gate.reached.wait(), 5)
    return box, bulk, gate


async def test_hoa_toc_overtakes_a_chain(tmp_path: Path) -> None:
    box, bulk, gate = await _bulk_held(tmp_path, 3)
    hub = box.hub
    try:
        urgent, urgent_sha = await box.send(2 * START_FRAME, Urgency.HOA_TOC)
        urgent_gate = hub.pause_after(urgent_sha, frames=1)  # still moving when bulk goes on
        await asyncio.wait_for(urgent_gate.reached.wait(), 5)
        gate.release.set()

        async def bulk_ended() -> bool:
            return bool(hub.uploads(bulk[0][1]))

        await eventually(bulk_ended)
        urgent_gate.release.set()
        await _all_done(box, [urgent, *(d for d, _ in bulk)])
        urgent_done = next(i for i, c in enumerate(hub.calls)
                           if c.sha256 == urgent_sha and c.outcome == "complete")
        first, *rest = hub.uploads(bulk[0][1])
        # The chain ended at the frame boundary after the urgent need appeared, carrying
        # nothing more; it went on, from the hub's offset, once the urgent one was in.
        assert first.outcome == "ok" and first.clean and 0 < first.held < 4 * START_FRAME
        assert hub.calls.index(rest[0]) > urgent_done and rest[0].offset == first.held
        for _, sha in bulk[1:]:
            assert hub.calls.index(hub.uploads(sha)[0]) > urgent_done
        assert all(_completions(box, sha) == 1 for _, sha in [*bulk, (urgent, urgent_sha)])
    finally:
        await box.close()


async def test_a_chain_ends_with_its_requests_budget(tmp_path: Path) -> None:
    box = await _chain_box(tmp_path)
    sent = await _send(box, 3, SMALL)
    shas = [sha for _, sha in sent]
    gate = box.hub.pause_after(shas[0], frames=1)
    box.start()
    try:
        await asyncio.wait_for(gate.reached.wait(), 5)
        box.time.advance(REQUEST_BUDGET_S + 1)  # the request has lasted its budget
        gate.release.set()
        await _all_done(box, [d for d, _ in sent])
        assert [(c.method, c.sha256) for c in box.hub.calls if c.method in ("PATCH", "CHAIN")] \
            == [("PATCH", shas[0]), ("PATCH", shas[1]), ("CHAIN", shas[2])]
    finally:
        await box.close()


async def test_the_blob_before_in_the_chain_is_the_next_ones_dictionary(tmp_path: Path) -> None:
    """The hub verifies a blob before it reads the chain frame after it: the next blob of the
    same request may be made against it (docs/protocol.md §4, §7)."""
    box = await _chain_box(tmp_path)
    box.hub.upload_dict_max = MAX_XDOC_DICT
    template = os.urandom(100_000)
    docs = []
    for _ in range(2):
        payload = template + os.urandom(2000)
        box.store.blobs.put_bytes(payload)
        env = envelope(COMMUNE_A, (COMMUNE_B,), attachments=(attachment("cv.pdf", payload),),
                       now_ms=box.time.clock())
        await box.store.queue_document(env)
        docs.append(env.id)
        box.time.advance(0.001)
    box.start()
    try:
        await _all_done(box, docs)
        assert [c.method for c in box.hub.calls if c.method in ("PATCH", "CHAIN")] \
            == ["PATCH", "CHAIN"]
        assert box.client.stats.bytes_up < 100_000 + 20_000  # the second cost a few KB
    finally:
        await box.close()


async def test_a_hoa_toc_upload_takes_the_syncs_connection_first(tmp_path: Path) -> None:
    """The sync that carried a Hỏa tốc document's envelope brought its need: the sync loop's
    next request (acks, the long-poll) waits until the upload holds a connection, so the upload
    goes on the one that sync just used instead of a new TCP and TLS handshake (the in-memory
    hub has no connections: the order of the requests shows it)."""
    box, bulk, gate = await _bulk_held(tmp_path, 2)
    hub = box.hub
    try:
        async def long_polling() -> bool:
            return box.client.polling

        await eventually(long_polling)
        asked = len(hub.seen)  # sync requests so far
        urgent, urgent_sha = await box.send(2 * START_FRAME, Urgency.HOA_TOC)
        urgent_gate = hub.pause_after(urgent_sha, frames=0)  # as its request begins
        await asyncio.wait_for(urgent_gate.reached.wait(), 5)
        await asyncio.sleep(0.2)  # held before its body starts: the sync loop waits meanwhile
        assert len(hub.seen) == asked + 1  # the envelope's sync, and no other yet
        assert urgent in hub.docs
        urgent_gate.release.set()

        async def synced_again() -> bool:  # once the body starts, the next sync goes
            return len(hub.seen) > asked + 1

        await eventually(synced_again)
        gate.release.set()
        await _all_done(box, [urgent, *(d for d, _ in bulk)])
    finally:
        await box.close()
