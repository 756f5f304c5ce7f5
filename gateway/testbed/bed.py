"""The testbed: build a province in a folder, run it, send documents, watch them arrive."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from gateway.hub.enrollment import create_token
from gateway.hub.runtime import HubLayout, RunningHub, init_hub, serve_hub, wall_ms
from gateway.linkemu import LinkProfile, LinkProxy
from gateway.model import Directory
from gateway.services.admin import init as init_gateway
from gateway.services.send import SendRequest, send
from gateway.store.local import Doc
from gateway.sync.daemon import Gateway, open_gateway
from gateway.sync.enroll import ca_fingerprint, enroll


@dataclass
class Node:
    agency: str
    data: Path
    proxy: LinkProxy
    gateway: Gateway | None = None
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event | None = None


class Testbed:
    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, root: Path, profile: LinkProfile, *, seed: int = 0, wait_s: int = 5,
                 sndbuf: int | None = 16 * 1024, hub_clock: Callable[[], int] = wall_ms) -> None:
        self.root = root
        self.profile = profile
        self.seed = seed
        self.wait_s = wait_s
        self.sndbuf = sndbuf
        self.hub_clock = hub_clock
        self.hub: RunningHub | None = None
        self.hub_port = 0
        self.nodes: dict[str, Node] = {}

    async def start(self, agencies: Sequence[str], *, province: str = "H35") -> None:
        hub_dir = self.root / "hub"
        if not hub_dir.exists():
            init_hub(hub_dir, province, Directory.sample(), ["127.0.0.1", "localhost"])
        self.hub = await serve_hub(hub_dir, clock=self.hub_clock)
        fingerprint = ca_fingerprint(HubLayout(hub_dir).ca_cert.read_bytes())
        direct = f"https://127.0.0.1:{self.hub.port}"
        for i, agency in enumerate(agencies):
            data = self.root / f"gw-{agency}"
            proxy = LinkProxy("127.0.0.1", self.hub.port, self.profile, seed=self.seed + i)
            await proxy.start()
            node = Node(agency, data, proxy)
            self.nodes[agency] = node
            if not (data / "identity" / "cert.pem").exists():
                await init_gateway(str(data), agency, self.url(node), None)
                token = await create_token(self.hub.state.store, agency, _DAY)
                await enroll(data, agency, direct, f"{token}@{fingerprint}")
            await self.start_gateway(agency)

    async def stop_hub(self) -> None:
        """The hub dies (the gateways and their links stay up); :meth:`restart_hub` brings it
        back on the same port, as systemd would."""
        if self.hub is not None:
            self.hub_port = self.hub.port
            await self.hub.close()
            self.hub = None

    async def restart_hub(self) -> None:
        self.hub = await serve_hub(self.root / "hub", port=self.hub_port, clock=self.hub_clock)

    def url(self, node: Node) -> str:
        return f"https://127.0.0.1:{node.proxy.port}"

    async def start_gateway(self, agency: str) -> None:
        node = self.nodes[agency]
        node.gateway = await open_gateway(node.data, wait_s=self.wait_s, sndbuf=self.sndbuf,
                                          hub_url=self.url(node), seed=self.seed)
        node.stop = asyncio.Event()
        node.task = asyncio.create_task(node.gateway.client.run(node.stop))

    async def stop_gateway(self, agency: str) -> None:
        node = self.nodes[agency]
        if node.stop is not None and node.task is not None:
            node.stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await node.task
        if node.gateway is not None:
            await node.gateway.close()
        node.gateway, node.task, node.stop = None, None, None

    async def stop(self) -> None:
        for agency in list(self.nodes):
            await self.stop_gateway(agency)
            await self.nodes[agency].proxy.stop()
        if self.hub is not None:
            await self.hub.close()
            self.hub = None

    def gateway(self, agency: str) -> Gateway:
        gw = self.nodes[agency].gateway
        if gw is None:
            raise RuntimeError(f"gateway {agency} is not running")
        return gw

    async def send(self, agency: str, to: Sequence[str], files: Sequence[Path], *,
                   urgency: str = "thuong", subject: str = "V/v trao đổi văn bản",
                   wake: bool = True) -> str:
        """Queues a document as the clerk's ``gateway send`` does. ``wake`` False: only its
        wake-up file is touched, as from another process (a running ``watch_wakeup`` sees
        it); else the engine is also woken directly, at once."""
        doc_id = await send(SendRequest(
            data=str(self.nodes[agency].data), to=list(to), subject=subject,
            number="01/UBND", doc_type="Công văn", urgency=urgency, due=None, secret=None,
            files=[str(f) for f in files]))
        node = self.nodes[agency]
        if wake and node.gateway is not None:
            node.gateway.client.wake()
        return doc_id

    async def inbox(self, agency: str) -> list[Doc]:
        return await self.gateway(agency).store.list_documents("in")

    async def outbox(self, agency: str) -> list[Doc]:
        return await self.gateway(agency).store.list_documents("out")


_DAY = timedelta(days=1)


async def wait_until(check: Callable[[], Awaitable[bool]], timeout_s: float,
                     poll_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(poll_s)
    return await check()
