"""Undo of the clerk's status: held on the box for the undo window, taken back with 'u' from
the detail or main screen; after the window, or once sent, 'u' says why it cannot."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets._toast import Toast

from gateway.model import State
from gateway.model.hold import HOLD_MS, UNDO_MS
from gateway.store.syncstate import SyncState
from tests.tui.conftest import NOW_MS, SIZE
from tests.tui.helpers import main_screen, message, rows, screen_text
from tests.tui.seed import Seeded
from tests.tui.test_detail import open_doc, statuses
from tui.app import ClerkApp
from tui.widgets.main import DocTable


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW_MS

    def __call__(self) -> int:
        return self.now


async def settle(app: ClerkApp, pilot: Pilot[None]) -> None:
    """Workers done, then their messages and toasts on screen."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def leaving(sync: SyncState, doc_id: str, now_ms: int) -> list[str]:
    """The status codes of ``doc_id`` a request the daemon built at ``now_ms`` would carry."""
    return [s.code for s in (await sync.outgoing(now_ms)).statuses if s.doc == doc_id]


def toasts(app: ClerkApp) -> list[str]:
    return [str(toast._notification.message) for toast in app.screen.query(Toast)]


async def test_u_takes_back_a_fresh_status_and_nothing_leaves(seeded: Seeded) -> None:
    clock = Clock()
    app = ClerkApp(seeded.data, clock=clock, refresh_s=3600)
    doc_id = seeded.inbound[0]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert app.backend is not None
        sync = SyncState(app.backend.store)
        await open_doc(app, pilot, doc_id)
        assert "u" not in app.screen.active_bindings  # nothing recorded yet
        await pilot.press("3")
        await settle(app, pilot)
        assert ("03", "") in await statuses(app, doc_id)
        assert message(app) == ("Đã ghi trạng thái 'Đã tiếp nhận'. Nơi gửi sẽ được báo khi có "
                                "mạng. Nhầm? Nhấn u trong 10 giây để hoàn tác (chưa gửi đi).")
        assert not toasts(app)  # nothing covers the result line
        assert "u" in app.screen.active_bindings
        # Held: a request built now carries only the automatic 'Đã đến'.
        assert await leaving(sync, doc_id, clock.now) == ["01"]
        clock.now += UNDO_MS - 1_000
        await pilot.press("u")
        await pilot.pause()
        assert message(app) == ("Đã hoàn tác 'Đã tiếp nhận': văn bản trở lại 'Đã đến'. Nơi gửi "
                                "không được báo gì.")
        assert ("03", "") not in await statuses(app, doc_id)
        doc = await app.backend.store.document(doc_id)
        assert doc.inbox_status is State.RECEIVED
        kinds = [e.kind for e in await app.backend.store.events(doc_id)]
        assert kinds[-2:] == ["status 03", "withdrawn 03"]  # the log keeps both
        assert "Hoàn tác trạng thái: Đã tiếp nhận" in screen_text(app)
        assert "3" in app.screen.active_bindings  # it may be accepted again
        clock.now += HOLD_MS
        assert await leaving(sync, doc_id, clock.now) == ["01"]


async def test_after_the_window_u_says_it_has_left_and_the_daemon_is_woken(
        seeded: Seeded) -> None:
    clock = Clock()
    app = ClerkApp(seeded.data, clock=clock, refresh_s=3600)
    doc_id = seeded.inbound[0]
    (seeded.data / "wakeup").unlink(missing_ok=True)
    async with app.run_test(size=SIZE) as pilot:
        assert app.backend is not None
        await open_doc(app, pilot, doc_id)
        await pilot.press("5")
        await pilot.pause()
        await app.poll_store()
        assert not (seeded.data / "wakeup").exists()  # still held
        clock.now += HOLD_MS
        await app.poll_store()
        assert (seeded.data / "wakeup").exists()  # now it may leave: the daemon is told
        assert sorted(await leaving(SyncState(app.backend.store), doc_id, clock.now)) == [
            "01", "05"]
        await pilot.press("u")
        await pilot.pause()
        assert message(app) == (
            "Không hoàn tác được: trạng thái này đã được gửi đi (hoặc đang gửi) lên tỉnh để báo "
            "nơi gửi. Trạng thái chỉ đi tiếp, không lùi lại được.")
        assert (await app.backend.store.document(doc_id)).inbox_status is State.PROCESSING


async def test_u_on_the_main_screen_undoes_a_confirmed_final_status(seeded: Seeded) -> None:
    clock = Clock()
    app = ClerkApp(seeded.data, clock=clock, refresh_s=3600)
    doc_id = seeded.inbound[0]
    async with app.run_test(size=SIZE) as pilot:
        assert app.backend is not None
        assert "u" not in app.screen.active_bindings
        await open_doc(app, pilot, doc_id)
        await pilot.press("3")
        await pilot.pause()
        await pilot.press("6", "c")  # Hoàn thành, confirmed
        await pilot.pause()
        assert (await app.backend.store.document(doc_id)).inbox_status is State.DONE
        await pilot.press("escape")
        await pilot.pause()
        screen = main_screen(app)
        assert "u" in screen.active_bindings  # offered in the footer while it may be undone
        await pilot.press("u")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert message(app) == ("Đã hoàn tác 'Hoàn thành': văn bản trở lại 'Đã tiếp nhận'. "
                                "Nơi gửi không được báo gì.")
        table = screen.query_one("#inbox-table", DocTable)
        assert rows(table)[table.doc_ids.index(doc_id)][-1] == "Đã tiếp nhận"
        assert sorted(c for c, _ in await statuses(app, doc_id)) == ["01", "03"]
        assert "u" not in screen.active_bindings  # nothing left to undo from here
