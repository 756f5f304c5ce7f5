"""Hub memory under idle TLS connections: RSS before, while held, and after they close.

    python -m bench.hub_idle_rss [--connections 2000] [--sources 40]

Starts a real hub in a child process (so its RSS is measured alone), opens ``--connections``
anonymous TLS connections spread over ``--sources`` loopback addresses (127.0.0.2 …, so the
per-source cap does not refuse them), holds them idle, closes them, and prints the hub's RSS
at each step. Figures are printed, never asserted (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import ssl
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from gateway.hub.listener import ConnLimits
from gateway.hub.runtime import HubLayout, init_hub, serve_hub
from gateway.model import Directory
from gateway.security.tls import client_context


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _serve(root: Path, limits: ConnLimits, pipe: Connection) -> None:
    async def main() -> None:
        hub = await serve_hub(root, limits=limits)
        pipe.send(hub.port)
        await asyncio.Event().wait()  # until terminated

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


async def _open(port: int, ctx: ssl.SSLContext, source: str) -> asyncio.StreamWriter | None:
    try:
        _, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=ctx, server_hostname="127.0.0.1", local_addr=(source, 0))
        return writer
    except (OSError, ssl.SSLError):
        return None


async def _measure(port: int, pid: int, ca: Path, count: int, sources: int) -> None:
    ctx = client_context(ca)
    print(f"hub RSS at rest:              {_rss_kib(pid) / 1024:7.1f} MiB")
    writers: list[asyncio.StreamWriter] = []
    for start in range(0, count, 100):
        batch = [_open(port, ctx, f"127.0.0.{2 + i % sources}")
                 for i in range(start, min(count, start + 100))]
        writers += [w for w in await asyncio.gather(*batch) if w is not None]
    await asyncio.sleep(1.0)
    print(f"hub RSS with {len(writers):5d} idle TLS:  {_rss_kib(pid) / 1024:7.1f} MiB"
          f"  ({count - len(writers)} refused)")
    for w in writers:
        w.close()
    await asyncio.sleep(3.0)  # the hub trims freed memory about a second after closes
    print(f"hub RSS after they closed:    {_rss_kib(pid) / 1024:7.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--sources", type=int, default=40)
    args = parser.parse_args()
    per_source = -(-args.connections // args.sources)
    limits = ConnLimits(idle_s=600, handshake_s=60, per_source=per_source,
                        anonymous_per_source=per_source)
    with tempfile.TemporaryDirectory(prefix="hub-rss-") as tmp:
        root = Path(tmp) / "hub"
        init_hub(root, "H35", Directory.sample(), ["127.0.0.1"])
        ours, theirs = multiprocessing.Pipe()
        proc = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(root, limits, theirs), daemon=True)
        proc.start()
        port = int(ours.recv())
        time.sleep(0.5)
        try:
            asyncio.run(_measure(port, proc.pid or 0, HubLayout(root).ca_cert,
                                 args.connections, args.sources))
        finally:
            proc.terminate()
            proc.join(5)


if __name__ == "__main__":
    main()
