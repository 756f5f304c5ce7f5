"""The hub's axis link is supervised: a failing round is logged and retried with doubling
delays, a good round returns to the poll interval; nothing ends the loop but cancellation."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from gateway.axis.client import AxisAgencyEntry, AxisUnavailable, ReceivedItem, Retry
from gateway.hub.axis_link import AxisLink, supervise
from gateway.hub.axis_settings import AxisSettings
from gateway.hub.runtime import init_hub, open_hub
from gateway.model import Directory
from tests.conftest import COMMUNE_A, run_gateway


class Flaky:
    """An axis that breaks in two different ways, then works (an empty one)."""

    def __init__(self) -> None:
        self.calls = 0

    async def agencies(self) -> list[AxisAgencyEntry]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("bug in a round")
        if self.calls <= 3:
            raise AxisUnavailable("down")
        return [AxisAgencyEntry("000.00.05.G10", "Bộ Thử", "vpcp"),
                AxisAgencyEntry("000.00.31.H35", "xã", "hub-h35")]

    async def received(self) -> list[ReceivedItem]:
        return []

    async def send_edoc(self, package: bytes) -> str:
        raise AssertionError("nothing to send")

    async def get_edoc(self, doc_id: str) -> bytes:
        raise AssertionError("nothing listed")

    async def update_status(self, doc_id: str, done: bool) -> None:
        raise AssertionError("nothing listed")


async def test_failures_back_off_and_success_polls(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    init_hub(tmp_path / "hub", "H35", Directory.sample(), ["127.0.0.1"])
    state = await open_hub(tmp_path / "hub")
    settings = AxisSettings("http://127.0.0.1:9", "hub-h35", b"s", poll_s=7.0, agencies_s=0.0,
                            retry=Retry(6, 0.5, 1.5))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 5:
            raise asyncio.CancelledError

    try:
        with caplog.at_level(logging.WARNING, "gateway.hub.axis"), \
                pytest.raises(asyncio.CancelledError):
            await supervise(AxisLink(state, Flaky(), settings), sleep)
        assert waits == [0.5, 1.0, 1.5, 7.0, 7.0]
        assert "axis round failed" in caplog.text and "axis unreachable" in caplog.text
        # This hub's own agencies are not national; the others are, durably.
        assert state.store.national == frozenset({"000.00.05.G10"})
        assert await state.store.axis.agencies() == [("000.00.05.G10", "Bộ Thử")]
    finally:
        await state.store.db.close()


async def test_a_box_can_address_national_agencies_the_hub_learnt(tmp_path: Path) -> None:
    """``gateway hub directory`` gives boxes the province's agencies plus the cached national
    ones; ``gateway agencies --search`` (and the TUI's picker, same matching) finds them."""
    init_hub(tmp_path / "hub", "H35", Directory.sample(), ["127.0.0.1"])
    state = await open_hub(tmp_path / "hub")
    try:
        await state.store.axis.replace_agencies([("000.00.00.G22", "Văn phòng Chính phủ", "vpcp"),
                                                 ("000.00.05.G10", "Bộ Thử", "vpcp")])
    finally:
        await state.store.db.close()
    printed = run_gateway("hub", "directory", "--data", str(tmp_path / "hub"))
    assert printed.returncode == 0, printed.stderr
    directory = tmp_path / "directory.json"
    directory.write_text(printed.stdout, encoding="utf-8")
    box = tmp_path / "gw"
    assert run_gateway("init", "--data", str(box), "--agency", COMMUNE_A, "--directory",
                       str(directory)).returncode == 0
    by_name = run_gateway("agencies", "--data", str(box), "--search", "van phong chinh phu")
    assert [line.split()[0] for line in by_name.stdout.splitlines()] == ["000.00.00.G22"]
    by_code = run_gateway("agencies", "--data", str(box), "--search", "G10", "--json")
    assert [a["name"] for a in json.loads(by_code.stdout)] == ["Bộ Thử"]
    assert COMMUNE_A in run_gateway("agencies", "--data", str(box)).stdout
