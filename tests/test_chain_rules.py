"""Chained uploads, box side (docs/protocol.md §4): the aiohttp HubClient reads which blob an
answer is about (``Upload-Blob``) and whether the hub takes chains (``X-Upload-Chain`` beside
needs), over loopback HTTP; and the rule that picks the blob a chain goes on with."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from gateway.protocol.compression import SyncCompressor
from gateway.protocol.crossdoc import UPLOAD_CHAIN
from gateway.protocol.wire import (
    BlobNeed,
    HubConfig,
    NodeReport,
    SyncReply,
    SyncRequest,
    encode_reply,
)
from gateway.sync.chain import Chain, chain_next
from gateway.sync.link import BlobRejected, HubError, HubFault, HubRefused, HubUnavailable
from gateway.sync.transport import HubClient
from tests.loopback_hub import answering

FIRST, LATER = "ab" * 32, "cd" * 32
Answer = dict[str, str | int]


async def frames() -> AsyncIterator[bytes]:
    yield b""


@pytest.fixture
async def hub() -> AsyncIterator[tuple[HubClient, Answer]]:
    """A loopback server that answers with the status and headers the test sets."""
    answer: Answer = {"status": 204}

    async def reply(request: web.Request) -> web.Response:
        await request.read()
        status = int(answer["status"])
        headers = {k: str(v) for k, v in answer.items() if k != "status"}
        body = b""
        if request.path == "/v1/sync":
            rep = SyncReply(0, (), (), (BlobNeed(FIRST, 0, 10, 0),), (), (), HubConfig(1, 0))
            body = SyncCompressor().compress(encode_reply(rep), 0)
            headers["X-Sync-Dict"] = "0"
            status = 200
        return web.Response(status=status, body=body, headers=headers)

    async with answering("/v1/{tail:.*}", reply) as client:
        yield client, answer


@pytest.mark.parametrize("named", [None, FIRST, LATER])
async def test_an_upload_result_names_its_blob(hub: tuple[HubClient, Answer],
                                               named: str | None) -> None:
    client, answer = hub
    answer.update({"status": 204, "Upload-Offset": 7, "Upload-Complete": 1})
    if named is not None:
        answer["Upload-Blob"] = named
    result = await client.upload(FIRST, 0, 10, frames())
    assert (result.blob, result.offset, result.complete) == (named or FIRST, 7, True)


@pytest.mark.parametrize(("status", "headers", "error"), [
    (409, {"Upload-Dict-Refused": "unknown"}, HubRefused), (422, {}, BlobRejected),
    (404, {}, HubRefused), (400, {}, HubRefused), (500, {}, HubFault)])
async def test_an_upload_refusal_names_its_blob(
        hub: tuple[HubClient, Answer], status: int, headers: dict[str, str],
        error: type[HubError]) -> None:
    client, answer = hub
    answer.update({"status": status, "Upload-Blob": LATER, **headers})
    with pytest.raises(error) as raised:
        await client.upload(FIRST, 0, 10, frames())
    assert raised.value.blob == LATER


async def test_a_409_offset_about_a_later_blob_is_that_blobs_offset(
        hub: tuple[HubClient, Answer]) -> None:
    client, answer = hub
    answer.update({"status": 409, "Upload-Offset": 4096, "Upload-Blob": LATER})
    result = await client.upload(FIRST, 100, 10_000, frames())
    assert (result.blob, result.offset, result.complete) == (LATER, 4096, False)


@pytest.mark.parametrize("named", ["AB" * 32, "ab" * 31, "zz" * 32, FIRST + "0"])
async def test_an_unreadable_upload_blob_is_an_unreadable_reply(
        hub: tuple[HubClient, Answer], named: str) -> None:
    client, answer = hub
    answer.update({"status": 204, "Upload-Offset": 1, "Upload-Blob": named})
    with pytest.raises(HubUnavailable) as raised:
        await client.upload(FIRST, 0, 10, frames())
    assert raised.value.kind == "reply"


@pytest.mark.parametrize(("header", "chains"), [("1", True), (None, False), ("yes", False)])
async def test_the_hub_says_beside_needs_whether_it_takes_chains(
        hub: tuple[HubClient, Answer], header: str | None, chains: bool) -> None:
    client, answer = hub
    if header is not None:
        answer[UPLOAD_CHAIN] = header
    await client.sync(SyncRequest(NodeReport("test", 0, 0, 10**10, 0, 1), (), (), (), 0, 0))
    assert client.upload_chain is chains


def test_an_answer_settles_the_blobs_before_the_one_it_names() -> None:
    a, b, c = (BlobNeed(x * 64, 0, 10, 0) for x in "abc")
    chain = Chain(a)
    chain.add(b)
    chain.add(c)
    assert chain.answered(c.sha256) == ([a, b], c)
    assert chain.answered("") == ([], a)
    with pytest.raises(HubUnavailable):
        chain.answered("d" * 64)


_SHAS = [f"{i:064x}" for i in range(8)]


@given(st.lists(st.tuples(st.sampled_from(_SHAS), st.integers(0, 4)), unique_by=lambda t: t[0]),
       st.dictionaries(st.sampled_from(_SHAS), st.integers(0, 4), max_size=2),
       st.sets(st.sampled_from(_SHAS)), st.sets(st.sampled_from(_SHAS)))
def test_a_chain_goes_on_with_the_first_blob_it_may(
        queued: list[tuple[str, int]], others: dict[str, int], skip: set[str],
        gone: set[str]) -> None:
    """The queue's order is by urgency first; the chain takes its first blob that needs
    sending and is neither skipped nor running elsewhere, and only if it outranks what runs
    elsewhere (else nothing: a blob further on is never more urgent)."""
    queued.sort(key=lambda q: -q[1])
    needs = {sha: BlobNeed(sha, 0, 10, u) for sha, u in queued if sha not in gone}
    ready = [sha for sha, _ in queued]
    chosen = chain_next(ready, needs, others, skip)
    candidates = [sha for sha in ready if sha in needs and sha not in skip | others.keys()]
    top = max(others.values(), default=-1)
    if candidates and needs[candidates[0]].urgency > top:
        assert chosen == needs[candidates[0]]
    else:
        assert chosen is None
    if chosen is not None:
        assert chosen.sha256 not in skip and chosen.sha256 not in others
        assert all(chosen.urgency >= needs[sha].urgency for sha in candidates)
