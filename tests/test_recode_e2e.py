"""Recoded frames end to end (docs/protocol.md §7): a real hub and a real box, mutual TLS
through the link emulator. One office's documents, whose deflated fonts look like noise to
zstd, go inflated against the document before and arrive byte for byte, exactly once, across
a cut; a hub whose PATCH handler runs other rules than it offered gets them as they are."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.hub import blob_handlers
from gateway.linkemu import LinkProfile
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.e2e_helpers import assert_delivered_exactly_once, digest
from tests.pdf_like import office_pdf

DOCS = 6
LINK = LinkProfile("thin", down_bps=4_000_000, up_bps=400_000, rtt_ms=40.0)


async def _send_all(tb: Testbed, tmp_path: Path, *, cut: bool) -> tuple[list[str], list[Path]]:
    gw, proxy = tb.gateway(COMMUNE_A), tb.nodes[COMMUNE_A].proxy
    await asyncio.sleep(0.5)  # connected and long-polling
    files = []
    for i in range(DOCS):
        f = tmp_path / f"quyet-dinh-{i}.pdf"
        f.write_bytes(office_pdf(i))
        files.append(f)
    docs = [await tb.send(COMMUNE_A, [COMMUNE_B], [f], wake=False) for f in files]
    gw.client.wake()
    if cut:
        async def halfway() -> bool:
            return gw.client.stats.blob_bytes_up > sum(f.stat().st_size for f in files) // 2

        assert await wait_until(halfway, 30, poll_s=0.02)
        await proxy.cut_now(blackout=0.3)

    async def delivered() -> bool:
        return {d.envelope.id for d in await tb.inbox(COMMUNE_B)} == set(docs)

    assert await wait_until(delivered, 60)
    return docs, files


@pytest.mark.parametrize("cut", [False, True])
async def test_one_office_documents_go_inflated_and_arrive_byte_for_byte(
        tmp_path: Path, cut: bool) -> None:
    tb = Testbed(tmp_path / "province", LINK, wait_s=25)
    await tb.start([COMMUNE_A, COMMUNE_B])
    try:
        assert tb.hub is not None
        docs, files = await _send_all(tb, tmp_path, cut=cut)
        gw, counts = tb.gateway(COMMUNE_A), tb.hub.state.requests
        assert gw.client.hub.upload_recode and counts.get("patch_recode", 0) >= 1
        corpus = sum(f.stat().st_size for f in files)
        # Each document as it is compresses to ~1.0; against the one before, inflated, to 0.4
        # (the cut throws away what was in flight: here most of the first request).
        sent = gw.client.stats.bytes_up
        assert sent < (0.75 if cut else 0.5) * corpus, (sent, corpus)
        assert tb.nodes[COMMUNE_A].proxy.stats.cuts == int(cut)
        await assert_delivered_exactly_once(
            tb, {COMMUNE_B: set(docs)},
            {d: digest(f) for d, f in zip(docs, files, strict=True)}, tmp_path / "out")
    finally:
        await tb.stop()


async def test_a_hub_with_other_rules_gets_the_documents_as_they_are(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its sync offered our rules, its PATCH handler refuses them (an upgrade in between, or
    another zlib): 409, nothing stored, and each blob goes again plain."""
    monkeypatch.setattr(blob_handlers, "RECODE", "2/zlib-9.9.9")
    tb = Testbed(tmp_path / "province", LINK, wait_s=25)
    await tb.start([COMMUNE_A, COMMUNE_B])
    try:
        assert tb.hub is not None
        docs, files = await _send_all(tb, tmp_path, cut=False)
        assert tb.gateway(COMMUNE_A).client.stats.bytes_up > 0.9 * sum(
            f.stat().st_size for f in files[1:])
        await assert_delivered_exactly_once(
            tb, {COMMUNE_B: set(docs)},
            {d: digest(f) for d, f in zip(docs, files, strict=True)}, tmp_path / "out")
    finally:
        await tb.stop()
