"""The hub's memory per connected gateway stays small (issue 10).

A real `gateway hub run` process, 150 gateways each holding a long-poll over its own mutual-TLS
connection, the hub's VmRSS read from /proc (bench.hubmem, the same measurement `make bench`
reports). With asyncio's own TLS protocol a connection cost about 300 KiB (its 256 KiB read
buffer); with the shared buffer about 55 KiB. The bound sits between the two, loose enough
for a busy machine, tight enough to catch the buffer coming back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import hubmem
from gateway.hub.tls_protocol import READ_BUFFER

N = 150
BOUND_KIB = 128

# A real hub process holding 150 mutual-TLS long-polls: `make test-slow`.
pytestmark = pytest.mark.slow


async def test_hub_rss_per_held_long_poll_is_small(tmp_path: Path) -> None:
    said: list[str] = []
    result = await hubmem.measure(tmp_path, N, said.append)
    assert result["n"] == N and result["errors"] == {}, result
    per_conn = result["per_conn_kib"]
    assert isinstance(per_conn, float)
    assert per_conn < BOUND_KIB, said
    assert per_conn * 1024 < READ_BUFFER / 2  # the per-connection buffer is gone

