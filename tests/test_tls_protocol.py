"""One TLS read buffer shared by every connection of a thread mixes no connection's bytes.

Twenty connections at once each send 300 KiB of their own random bytes (larger than the shared
buffer, so every connection needs many reads that interleave with the others') through a TLS
echo server that runs on :func:`start_tls_on`; each must get back exactly its own bytes. Half
of the clients use the same protocol for their side, half asyncio's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
from pathlib import Path

from gateway.hub.runtime import HubLayout, init_hub, tls_context
from gateway.hub.tls_protocol import READ_BUFFER, start_tls_on
from gateway.model import Directory
from gateway.security.tls import client_context

CLIENTS = 20
SIZE = 300 * 1024


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _serve(listener: socket.socket, ctx: ssl.SSLContext,
                 transports: list[asyncio.Transport]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        conn, _ = await loop.sock_accept(listener)
        transports.append(await start_tls_on(conn, Echo(), ctx, server_side=True,
                                             handshake_s=10))


async def _client(port: int, ctx: ssl.SSLContext, shared: bool) -> bool:
    loop = asyncio.get_running_loop()
    if shared:
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        reader = asyncio.StreamReader()
        protocol = asyncio.StreamReaderProtocol(reader)
        transport = await start_tls_on(sock, protocol, ctx, server_side=False,
                                       server_hostname="127.0.0.1")
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                       server_hostname="127.0.0.1")
    payload = os.urandom(SIZE)
    try:
        for i in range(0, SIZE, 7000):  # many small writes, interleaved with the others'
            writer.write(payload[i:i + 7000])
            await writer.drain()
        echoed = await reader.readexactly(SIZE)
    finally:
        writer.transport.abort()
    return echoed == payload


async def test_concurrent_connections_get_their_own_bytes_back(tmp_path: Path) -> None:
    assert SIZE > READ_BUFFER
    init_hub(tmp_path / "hub", "H35", Directory.sample(), ["127.0.0.1"])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    transports: list[asyncio.Transport] = []
    server = asyncio.create_task(_serve(listener, tls_context(tmp_path / "hub"), transports))
    try:
        ctx = client_context(HubLayout(tmp_path / "hub").ca_cert)
        port = listener.getsockname()[1]
        results = await asyncio.wait_for(asyncio.gather(
            *(_client(port, ctx, shared=i % 2 == 0) for i in range(CLIENTS))), 60)
        assert results == [True] * CLIENTS
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server
        for t in transports:
            t.abort()
        listener.close()
