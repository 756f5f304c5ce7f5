"""New-arrival notices show on whatever screen is up, for incoming documents only, once each."""

from __future__ import annotations

from textual.widgets._toast import Toast

from gateway.model import Urgency
from tests.tui.conftest import SIZE
from tests.tui.seed import Seeded, add_inbound, queue_outbound
from tests.tui.test_detail import open_doc
from tui.app import ClerkApp
from tui.screens.compose import ComposeScreen


def shown(app: ClerkApp) -> list[str]:
    """The notices drawn on the current screen."""
    return [str(toast._notification.message) for toast in app.screen.query(Toast)]


async def test_arrivals_are_announced_on_any_screen_once_and_only_incoming(
        app: ClerkApp, seeded: Seeded) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert app.backend is not None
        await app.poll_store()
        assert len(app._notifications) == 0  # what was there at start is not news
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        await add_inbound(seeded.data, 20, number="77", notation="CĐ-UBND",
                          subject="Công điện: ứng phó bão số 9", urgency=Urgency.HOA_TOC)
        await app.poll_store()
        await pilot.pause()
        assert shown(app) == ["1 văn bản đến mới: Công điện: ứng phó bão số 9"]
        assert [n.severity for n in app._notifications] == ["warning"]

        # The clerk's own document, a status and a second look: no new notice.
        await queue_outbound(seeded.data, seeded.data.parent / "f", number="20/UBND-VP",
                             subject="Báo cáo thiệt hại do bão")
        await app.backend.mark(seeded.inbound[0], "03")
        await app.poll_store()
        await app.poll_store()
        assert len(app._notifications) == 1

        await pilot.press("escape")
        await pilot.pause()
        await open_doc(app, pilot, seeded.inbound[1])
        await add_inbound(seeded.data, 21, number="78", notation="UBND",
                          subject="Giấy mời họp giao ban")
        await app.poll_store()
        await pilot.pause()
        assert shown(app)[-1] == "1 văn bản đến mới: Giấy mời họp giao ban"
        assert [n.severity for n in app._notifications][-1] == "information"
        assert len(app._notifications) == 2
