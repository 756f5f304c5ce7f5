"""TLS over a socket without asyncio's 256 KiB read buffer per connection.

CPython's ``asyncio.sslproto.SSLProtocol`` allocates (and zeroes, so it is resident) a
256 KiB ``bytearray`` per connection for ``recv_into``: 10,000 gateways holding a long-poll
cost the hub 2.5 GB for buffers that are empty nearly all the time. The selector event loop
calls ``get_buffer``, ``recv_into`` and ``buffer_updated`` back to back, and
``buffer_updated`` first copies the bytes into the connection's own TLS input (a memory BIO
that holds only what has arrived). So one buffer per thread serves every connection of a
selector loop; a connection's own memory then holds what it actually has in flight.

Other loops (proactor, uvloop) may keep the buffer across an asynchronous read, so they get
the standard protocol. (typeshed types the handshake timeout as ``int``; asyncio takes any
number of seconds, and the hub's limits are floats.)
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from asyncio import selector_events, sslproto

READ_BUFFER = 256 * 1024  # one recv_into for a burst of records, as asyncio's default
_local = threading.local()


def _shared_buffer() -> bytearray:
    buf: bytearray | None = getattr(_local, "buffer", None)
    if buf is None:
        buf = _local.buffer = bytearray(READ_BUFFER)
    return buf


class SharedBufferSSLProtocol(sslproto.SSLProtocol):
    """``SSLProtocol`` reading into its thread's shared buffer.

    ``max_size`` is also the size of one plaintext read from the TLS object: 16 KiB is a
    full TLS record, so reads are no smaller than before in practice. The base class still
    allocates ``max_size`` bytes at construction; they are dropped at once.
    """

    max_size = 16 * 1024

    def __init__(self, loop: asyncio.AbstractEventLoop, app_protocol: asyncio.BaseProtocol,
                 sslcontext: ssl.SSLContext, waiter: asyncio.Future[None], *,
                 server_side: bool, server_hostname: str | None,
                 handshake_s: float) -> None:
        super().__init__(loop, app_protocol, sslcontext, waiter, server_side, server_hostname,
                         ssl_handshake_timeout=handshake_s)  # type: ignore[arg-type]
        shared = _shared_buffer()
        # get_buffer() keeps a buffer as long as it is at least max_size: the shared one is.
        self._ssl_buffer = shared
        self._ssl_buffer_view = memoryview(shared)


async def start_tls_on(sock: socket.socket, app_protocol: asyncio.BaseProtocol,
                       ctx: ssl.SSLContext, *, server_side: bool,
                       server_hostname: str | None = None,
                       handshake_s: float = 15.0) -> asyncio.Transport:
    """Runs the TLS handshake on the connected ``sock`` and hands ``app_protocol`` its
    transport (``connection_made``); returns that transport.

    A failed or timed-out handshake raises (``ssl.SSLError``, ``ConnectionError``,
    ``TimeoutError``: all ``OSError``) with the socket closed; so does a cancellation.
    """
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    if isinstance(loop, selector_events.BaseSelectorEventLoop):
        tls: sslproto.SSLProtocol = SharedBufferSSLProtocol(
            loop, app_protocol, ctx, waiter, server_side=server_side,
            server_hostname=server_hostname, handshake_s=handshake_s)
    else:
        tls = sslproto.SSLProtocol(loop, app_protocol, ctx, waiter, server_side, server_hostname,
                                   ssl_handshake_timeout=handshake_s)  # type: ignore[arg-type]
    try:
        raw, _ = await loop.connect_accepted_socket(lambda: tls, sock)
    except BaseException:
        sock.close()
        raise
    try:
        await waiter
    except BaseException:
        raw.close()
        raise
    transport: asyncio.Transport = tls._app_transport  # what the application was given
    return transport
