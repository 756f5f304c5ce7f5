"""How the aiohttp HubClient classifies the hub's answers for a blob, over loopback HTTP: a
server error is that blob's fault (HubFault, which counts towards its dead letter); a proxy's
502/504, a timeout or a dropped connection are the link's; 4xx is a refusal; 422 a rejection."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gateway.sync.link import BlobRejected, HubError, HubFault, HubRefused, HubUnavailable
from gateway.sync.transport import HubClient
from tests.loopback_hub import answering

SHA = "ab" * 32


async def frames() -> AsyncIterator[bytes]:
    yield b""


@pytest.fixture
async def hub_answering() -> AsyncIterator[tuple[HubClient, dict[str, int]]]:
    """A loopback server that answers every blob request with the status the test sets."""
    answer = {"status": 204}

    async def blob(request: web.Request) -> web.Response:
        await request.read()
        headers = {"Upload-Offset": "0"}
        if answer.get("retry_after"):
            headers["Retry-After"] = str(answer["retry_after"])
        return web.Response(status=answer["status"], text="" if answer["status"] == 204
                            else "no", headers=headers)

    async with answering("/v1/blobs/{sha}", blob) as client:
        yield client, answer


@pytest.mark.parametrize(("status", "error"), [
    (503, HubFault), (500, HubFault), (502, HubUnavailable), (504, HubUnavailable),
    (408, HubUnavailable), (429, HubUnavailable), (400, HubRefused), (422, BlobRejected)])
async def test_blob_answers_are_classified(
        hub_answering: tuple[HubClient, dict[str, int]], status: int,
        error: type[HubError]) -> None:
    client, answer = hub_answering
    answer["status"] = status
    with pytest.raises(error) as raised:
        await client.upload(SHA, 0, 10, frames())
    assert (type(raised.value) is HubFault) == (error is HubFault)
    if isinstance(raised.value, HubFault):
        assert raised.value.status == status


async def test_a_503_with_retry_after_is_the_whole_hub_not_the_document(
        hub_answering: tuple[HubClient, dict[str, int]]) -> None:
    """The hub below its disk reserve answers every upload 503 with Retry-After: waiting it
    out must not dead-letter the documents that happened to be uploading."""
    client, answer = hub_answering
    answer.update(status=503, retry_after=600)
    with pytest.raises(HubUnavailable) as raised:
        await client.upload(SHA, 0, 10, frames())
    assert not isinstance(raised.value, HubFault)


async def test_a_closed_port_is_the_link() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    client = HubClient(f"http://127.0.0.1:{port}", None, sndbuf=None, connect_timeout_s=2)
    try:
        with pytest.raises(HubUnavailable) as raised:
            await client.head(SHA)
        assert not isinstance(raised.value, HubFault)
    finally:
        await client.close()
