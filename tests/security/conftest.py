"""One real hub per test module (module-scoped event loop), three enrolled communes, and a
liveness check after every test; the ledger of hostile requests is printed at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.security.hostile import LEDGER, A, B, C, Hub, Peer


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    root = tmp_path_factory.mktemp("security")
    running = await Hub.start(root / "hub")
    try:
        for agency in (A, B, C):
            await running.enroll(agency, root / f"gw-{agency}")
        yield running
    finally:
        await running.close()


@pytest_asyncio.fixture(loop_scope="module", autouse=True)
async def still_answers(hub: Hub) -> AsyncIterator[None]:
    """Zero crashes: after every test (every batch of hostile requests) the hub is healthy."""
    yield
    await hub.settle()
    await hub.healthy()


@pytest.fixture
def a(hub: Hub) -> Peer:
    return hub.peers[A]


@pytest.fixture
def b(hub: Hub) -> Peer:
    return hub.peers[B]


@pytest.fixture
def c(hub: Hub) -> Peer:
    return hub.peers[C]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if LEDGER.seen:
        for line in LEDGER.lines():
            terminalreporter.write_line(line)
