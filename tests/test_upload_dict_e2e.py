"""The cross-document dictionary through the real engine, hub and TLS (docs/protocol.md §4, §7):
a second document of one office goes as a fraction of its size, and when the dictionary cannot
be used (the hub lost the reference; the box's own copy of it rotted) the blob still arrives,
byte for byte, without one."""

from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path

import pytest

from gateway.linkemu import PROFILES
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.e2e_helpers import assert_delivered_exactly_once, digest, inbox_ids

TEMPLATE = random.Random(5).randbytes(120_000)  # fonts, logo, seal: incompressible alone


async def _delivered(tb: Testbed, doc_id: str) -> None:
    async def arrived() -> bool:
        return doc_id in await inbox_ids(tb, COMMUNE_B)

    assert await wait_until(arrived, 60), f"{doc_id} never arrived"


@pytest.mark.parametrize("bad_luck", ["none", "hub-lost-reference", "box-copy-rotted"])
async def test_second_document_goes_against_the_first(tmp_path: Path, bad_luck: str) -> None:
    tb = Testbed(tmp_path / "province", PROFILES["lan"], seed=1, wait_s=1)
    await tb.start((COMMUNE_A, COMMUNE_B))
    try:
        first, second = tmp_path / "cv-1.pdf", tmp_path / "cv-2.pdf"
        first.write_bytes(TEMPLATE + os.urandom(3000))
        second.write_bytes(TEMPLATE + os.urandom(3000))
        id1 = await tb.send(COMMUNE_A, [COMMUNE_B], [first])
        await _delivered(tb, id1)
        assert tb.hub is not None
        hub = tb.hub.state
        if bad_luck == "hub-lost-reference":
            hub.store.blobs.path(digest(first)).unlink()
        elif bad_luck == "box-copy-rotted":
            held = tb.gateway(COMMUNE_A).store.blobs.path(digest(first))
            held.chmod(0o600)
            rotted = bytearray(held.read_bytes())
            rotted[1000] ^= 1
            held.write_bytes(bytes(rotted))
            # zstd copies from the dictionary only what matches: a new document that repeats
            # the rotted byte is what makes the hub decode other bytes than were meant.
            second.write_bytes(bytes(rotted[:len(TEMPLATE)]) + os.urandom(3000))
        stats = tb.gateway(COMMUNE_A).client.stats
        up0, dict0 = stats.bytes_up, hub.requests.get("patch_dict", 0)
        id2 = await tb.send(COMMUNE_A, [COMMUNE_B], [second])
        await _delivered(tb, id2)
        sent = stats.bytes_up - up0
        if bad_luck == "none":
            assert sent < 10_000 and hub.requests.get("patch_dict", 0) == dict0 + 1
        elif bad_luck == "hub-lost-reference":  # refused before any frame: sent once, whole
            assert hub.requests.get("patch_dict", 0) == dict0
            assert len(TEMPLATE) < sent < 2 * len(TEMPLATE)
        else:  # decoded against the hub's copy, its CRC failed: sent again without
            assert hub.requests.get("patch_dict", 0) == dict0 + 1 and sent > len(TEMPLATE)
        await assert_delivered_exactly_once(tb, {COMMUNE_B: {id1, id2}},
                                            {id1: digest(first), id2: digest(second)},
                                            tmp_path / "export")
    finally:
        await tb.stop()


async def test_a_batch_of_one_office_goes_against_each_previous_document(tmp_path: Path) -> None:
    """Queued together: the second starts while the first is in its last frame and names it
    all the same (the hub waits for that upload to end); every later one a dictionary too."""
    link = dataclasses.replace(PROFILES["adsl"].scaled(bandwidth=4), cut_every_s=None)
    tb = Testbed(tmp_path / "province", link, seed=2, wait_s=1)
    await tb.start((COMMUNE_A, COMMUNE_B))
    try:
        paths = [tmp_path / f"cv-{i}.pdf" for i in range(4)]
        for path in paths:
            path.write_bytes(TEMPLATE + os.urandom(3000))
        ids = [await tb.send(COMMUNE_A, [COMMUNE_B], [p]) for p in paths]
        for doc_id in ids:
            await _delivered(tb, doc_id)
        assert tb.hub is not None
        assert tb.hub.state.requests.get("patch_dict", 0) >= len(ids) - 1
        assert tb.gateway(COMMUNE_A).client.stats.bytes_up < len(TEMPLATE) * 1.3
        await assert_delivered_exactly_once(tb, {COMMUNE_B: set(ids)},
                                            {i: digest(p) for i, p in zip(ids, paths,
                                                                           strict=True)},
                                            tmp_path / "export")
    finally:
        await tb.stop()
