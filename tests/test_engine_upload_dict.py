"""The engine's choice of a cross-document dictionary, against the in-memory hub: only for a hub
that offers it, against the box's newest blob the hub holds (the fallback after a refusal is
tested against the real hub: tests/test_upload_dict_e2e.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.protocol.limits import MAX_XDOC_DICT
from gateway.store import references
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.engine_box import Box, advancing, open_box
from tests.factories import attachment, envelope

TEMPLATE = os.urandom(100_000)


async def _send(box: Box, payload: bytes) -> str:
    box.store.blobs.put_bytes(payload)
    env = envelope(COMMUNE_A, (COMMUNE_B,), attachments=(attachment("cv.pdf", payload),),
                   now_ms=box.time.clock())
    await box.store.queue_document(env)
    box.client.wake()
    return env.id


async def _done(box: Box, doc_id: str) -> None:
    async def done() -> bool:
        return await box.queue_state(doc_id) == "done"

    await advancing(box, done)


@pytest.mark.parametrize(("offered", "small"), [
    (MAX_XDOC_DICT, True),  # the second document goes against the first
    (0, False),  # an older hub: never a dictionary
])
async def test_second_document_and_its_dictionary(tmp_path: Path, offered: int,
                                                  small: bool) -> None:
    box = await open_box(tmp_path)
    box.hub.upload_dict_max = offered
    box.start()
    try:
        first = await _send(box, TEMPLATE + os.urandom(2000))
        await _done(box, first)
        up0 = box.client.stats.bytes_up
        second = await _send(box, TEMPLATE + os.urandom(2000))
        await _done(box, second)
        sent = box.client.stats.bytes_up - up0
        assert len(box.hub.complete) == 2
        assert (sent < 10_000) is small, sent
    finally:
        await box.close()


async def test_a_burst_of_documents_each_goes_against_the_one_before(tmp_path: Path) -> None:
    """More documents queued at once than the candidates the store lists: the newest of them
    are still to be sent, and must not crowd out those the hub holds, or the first of the
    burst would go without a dictionary (each ~100 KB instead of a few)."""
    count = references.LIMIT + 4
    box = await open_box(tmp_path)
    box.hub.upload_dict_max = MAX_XDOC_DICT
    box.hub.upload_chain = True
    docs = []
    for _ in range(count):
        docs.append(await _send(box, TEMPLATE + os.urandom(2000)))
        box.time.advance(0.001)
    box.start()
    try:
        for doc in docs:
            await _done(box, doc)
        assert len(box.hub.complete) == count
        sent = box.client.stats.bytes_up
        assert sent < len(TEMPLATE) + count * 6_000, sent  # the first whole, then a few KB each
    finally:
        await box.close()


@pytest.mark.parametrize(("refs", "small"), [(8, True), (1, False)])
async def test_two_kinds_of_document_each_go_against_the_last_of_their_kind(
        tmp_path: Path, refs: int, small: bool) -> None:
    """Decisions and invitations in turn: to a hub that joins several references, each goes
    against the last one of its own kind, which one reference (the newest) would miss."""
    other = os.urandom(100_000)
    box = await open_box(tmp_path)
    box.hub.upload_dict_max, box.hub.upload_dict_refs = MAX_XDOC_DICT, refs
    box.start()
    try:
        for template in (TEMPLATE, other):
            await _done(box, await _send(box, template + os.urandom(2000)))
        up0 = box.client.stats.bytes_up
        for template in (TEMPLATE, other):
            await _done(box, await _send(box, template + os.urandom(2000)))
        sent = box.client.stats.bytes_up - up0
        assert (sent < 20_000) is small, sent
    finally:
        await box.close()
