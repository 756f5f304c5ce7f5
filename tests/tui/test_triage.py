"""Inbox triage: 60 arrivals at once, unread, pinned urgent documents, search, filters, sort."""

from __future__ import annotations

from datetime import date, timedelta

from textual.widgets import TabbedContent

from gateway.model import State, Urgency
from tests.tui.conftest import NOW_MS, SIZE
from tests.tui.helpers import main_screen, message, rows
from tests.tui.seed import Seeded, add_inbound
from tui.app import ClerkApp
from tui.screens.detail import DetailScreen
from tui.widgets.main import DocTable


def inbox_label(app: ClerkApp) -> str:
    return main_screen(app).query_one(TabbedContent).get_tab("inbox").label_text


def subjects(app: ClerkApp) -> list[str]:
    return [r[1] for r in rows(main_screen(app).query_one("#inbox-table", DocTable))]


async def test_sixty_arrivals_notify_and_a_buried_hoa_toc_is_on_top(seeded: Seeded) -> None:
    app = ClerkApp(seeded.data, refresh_s=3600)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(app)
        seq = 10
        hoa_toc = await add_inbound(seeded.data, seq, number="9", notation="CĐ-UBND",
                                    subject="Công điện khẩn: sơ tán dân vùng sạt lở",
                                    urgency=Urgency.HOA_TOC)
        for n in range(59):  # the ordinary ones arrive after it, each newer than the last
            await add_inbound(seeded.data, seq + 1 + n, number=str(100 + n), notation="UBND",
                              subject=f"Báo cáo định kỳ số {n}")
        await app.poll_store()
        await screen.refresh_data()
        await pilot.pause()
        table = screen.query_one("#inbox-table", DocTable)
        assert table.row_count == 62
        # Pinned: the unhandled Hỏa tốc ones first (the new one, then the seeded one).
        assert table.doc_ids[0] == hoa_toc
        assert subjects(app)[2] == "Báo cáo định kỳ số 58"  # then the newest
        assert inbox_label(app) == "Văn bản đến (62 · 62 chưa đọc)"
        notices = list(app._notifications)
        assert len(notices) == 1
        assert notices[0].message.startswith("60 văn bản đến mới: Công điện khẩn: sơ tán")
        assert notices[0].severity == "warning"

        # Opening one marks it read; back on the list the count follows.
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        opened = table.doc_ids.index(app.screen.doc_id)
        assert opened >= 2  # an ordinary one
        await pilot.press("escape")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert inbox_label(app) == "Văn bản đến (62 · 61 chưa đọc)"
        assert str(table.get_row_at(opened)[0].style) == ""  # read
        assert str(table.get_row_at(opened + 1)[0].style) == "bold"  # still unread: bold


async def test_search_ignores_diacritics_and_escape_clears(app: ClerkApp, seeded: Seeded) -> None:
    await add_inbound(seeded.data, 5, number="3", notation="TB-UBND",
                      subject="Thông báo sơ tán dân khỏi vùng nguy hiểm")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        for key in "so tan":
            await pilot.press("space" if key == " " else key)
        await pilot.pause()
        assert subjects(app) == ["Thông báo sơ tán dân khỏi vùng nguy hiểm"]
        assert message(app) == "Tìm 'so tan': 1 văn bản"
        assert inbox_label(app).startswith("Văn bản đến (1/3")
        await pilot.press("enter")  # back to the list, the search stays
        assert isinstance(app.focused, DocTable)
        await pilot.press("escape")
        await pilot.pause()
        assert len(subjects(app)) == 3


async def test_filters_and_sort(app: ClerkApp, seeded: Seeded) -> None:
    today = date.fromtimestamp(NOW_MS / 1000)  # the app's clock
    late = await add_inbound(seeded.data, 5, number="8", notation="UBND",
                             subject="Hạn báo cáo đã qua", due=today - timedelta(days=2))
    await add_inbound(seeded.data, 6, number="9", notation="UBND", subject="Khẩn: họp gấp",
                      urgency=Urgency.KHAN)
    async with app.run_test(size=SIZE) as pilot:
        assert app.backend is not None
        await app.backend.store.mark(seeded.inbound[0], "06")  # done: handled
        screen = main_screen(app)
        await screen.refresh_data(force=True)
        table = screen.query_one("#inbox-table", DocTable)
        state_of_late = rows(table)[table.doc_ids.index(late)][-1]
        assert state_of_late == "Quá hạn · Đã đến"
        # Newest first, but an older Hỏa tốc stays above the newer Khẩn.
        assert [r[3].strip() for r in rows(table)][:2] == ["HỎA TỐC", "Khẩn"]

        await pilot.press("l")  # Chưa xử lý
        await pilot.pause()
        assert seeded.inbound[0] not in table.doc_ids and len(table.doc_ids) == 3
        assert message(app).startswith("Đang xem: Chưa xử lý, mới đến trước.")
        await pilot.press("l")  # Quá hạn
        await pilot.pause()
        assert table.doc_ids == [late]
        await pilot.press("l")  # Tất cả
        await pilot.press("s")  # khẩn trước
        await pilot.pause()
        urgencies = [r[3].strip() for r in rows(table)]
        assert urgencies[:2] == ["HỎA TỐC", "Khẩn"]  # pinned, most urgent first
        assert (await app.backend.store.document(seeded.inbound[0])).inbox_status is State.DONE
