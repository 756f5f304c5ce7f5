"""The main screen: inbox/outbox tables and the link and queue indicator."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static, TabbedContent

from gateway.model import Urgency
from gateway.services.link import hhmm
from gateway.store import kv
from gateway.store.db import Conn
from tests.tui.conftest import NOW_MS, SIZE
from tests.tui.helpers import headers, link_text, main_screen, message, rows
from tests.tui.seed import Seeded, add_inbound
from tui.app import ClerkApp
from tui.screens.detail import DetailScreen
from tui.widgets.main import DocTable, LinkBar


async def set_last_sync(app: ClerkApp, ms: int) -> None:
    assert app.backend is not None

    async def tx(conn: Conn) -> None:
        await conn.execute("INSERT INTO kv(key, value) VALUES ('last_sync_ms', ?) ON CONFLICT"
                           "(key) DO UPDATE SET value = excluded.value", (str(ms),))

    await app.backend.store.db.write(tx)
    await main_screen(app).refresh_data()


async def test_lists_inbox_and_outbox_with_vietnamese_labels(app: ClerkApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(app)
        tabs = screen.query_one(TabbedContent)
        assert tabs.get_tab("inbox").label_text == "Văn bản đến (2 · 2 chưa đọc)"
        assert tabs.get_tab("outbox").label_text == "Văn bản đi (2)"
        inbox = screen.query_one("#inbox-table", DocTable)
        assert headers(inbox) == ["Số/ký hiệu", "Trích yếu", "Nơi gửi", "Độ khẩn", "Ngày",
                                  "Trạng thái"]
        got = rows(inbox)
        assert [r[0] for r in got] == ["112/QĐ-UBND", "45/UBND-VP"]
        assert got[0][2].startswith("Văn phòng UBND")
        assert got[0][3].strip() == "HỎA TỐC" and got[1][3] == "Thường"
        assert {r[5] for r in got} == {"Đã đến"}
        urgent = inbox.get_row_at(0)[3]
        assert isinstance(urgent, Text) and "on red" in str(urgent.style)
        await pilot.press("2")
        await pilot.pause()
        outbox = screen.query_one("#outbox-table", DocTable)
        assert headers(outbox)[2] == "Nơi nhận"
        out_rows = rows(outbox)
        assert [r[0] for r in out_rows] == ["13/UBND-VP", "12/UBND-VP"]
        assert out_rows[0][3] == "Thượng khẩn"
        assert out_rows[0][2].endswith("+1")
        assert all(r[5].startswith("Chờ gửi") for r in out_rows)


async def test_link_never_synced(app: ClerkApp) -> None:
    async with app.run_test(size=SIZE):
        text = link_text(app)
        assert text.startswith("Chưa kết nối được với tỉnh lần nào — văn bản vẫn được lưu "
                               "và sẽ tự gửi khi có mạng")
        assert "2 văn bản chờ gửi" in text


async def test_link_recently_synced(app: ClerkApp) -> None:
    async with app.run_test(size=SIZE):
        await set_last_sync(app, NOW_MS - 20_000)
        assert link_text(app).startswith("Đang kết nối với tỉnh — đồng bộ lần cuối vừa xong")
        await set_last_sync(app, NOW_MS - 75_000)
        assert "đồng bộ lần cuối 1 phút trước — 2 văn bản chờ gửi" in link_text(app)


async def test_link_offline_for_a_long_time(app: ClerkApp) -> None:
    async with app.run_test(size=SIZE):
        await set_last_sync(app, NOW_MS - 3 * 3_600_000)
        assert link_text(app).startswith(
            "Không có tin từ dịch vụ đồng bộ (đồng bộ lần cuối 3 giờ trước); dịch vụ có đang "
            "chạy không? — văn bản vẫn được lưu và sẽ tự gửi khi có mạng — 2 văn bản chờ gửi")


async def test_link_shows_the_daemons_failure_and_t_asks_it_to_try_now(
        app: ClerkApp, seeded: Seeded) -> None:
    """The daemon published 'hub unreachable' seconds after a good sync: the line is red with
    the time it began, the next try and the reason; 't' wakes the daemon."""
    (seeded.data / "wakeup").unlink(missing_ok=True)
    async with app.run_test(size=SIZE) as pilot:
        await set_last_sync(app, NOW_MS - 5_000)
        assert app.backend is not None

        async def tx(conn: Conn) -> None:
            await kv.put(conn, kv.LAST_ERROR, "Cannot connect to host 10.0.0.5:8443")
            await kv.put(conn, kv.LAST_ERROR_MS, NOW_MS - 60_000)
            await kv.put(conn, kv.LINK_REASON, "unreachable")
            await kv.put(conn, kv.NEXT_TRY_MS, NOW_MS + 42_000)

        await app.backend.store.db.write(tx)
        await main_screen(app).refresh_data()
        assert link_text(app).startswith(
            f"Mất kết nối với tỉnh từ {hhmm(NOW_MS - 60_000)} — thử lại sau 42 giây: máy chủ "
            "tỉnh không nhận kết nối (máy chủ tắt hoặc mất mạng) — 2 văn bản chờ gửi")
        assert main_screen(app).query_one(LinkBar).has_class("-retrying")
        await pilot.press("t")
        await pilot.pause()
        assert (seeded.data / "wakeup").exists()
        assert message(app) == "Đã yêu cầu thử kết nối lại với tỉnh ngay."


async def test_new_inbound_document_appears_by_itself(seeded: Seeded) -> None:
    app = ClerkApp(seeded.data, refresh_s=0.1)
    async with app.run_test(size=SIZE) as pilot:
        table = main_screen(app).query_one("#inbox-table", DocTable)
        assert table.row_count == 2
        # The daemon is another process with its own connection; this is the same path.
        await add_inbound(seeded.data, 3, number="7", notation="CĐ-UBND",
                          subject="Công điện ứng phó bão số 5", urgency=Urgency.HOA_TOC)
        for _ in range(40):
            await pilot.pause(0.05)
            if table.row_count == 3:
                break
        assert rows(table)[0][0] == "7/CĐ-UBND"


async def test_enter_opens_the_document(app: ClerkApp, seeded: Seeded) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        assert screen.doc is not None and screen.doc.envelope.code == "45/UBND-VP"
        await pilot.press("escape")
        await pilot.pause()
        assert main_screen(app)
        await pilot.press("2")
        assert main_screen(app).query_one(TabbedContent).active == "outbox"


async def test_unreadable_store_shows_plain_words_not_a_traceback(tmp_path: Path,
                                                                   seeded: Seeded) -> None:
    (seeded.data / "gateway.sqlite3").unlink()
    (seeded.data / "gateway.sqlite3").mkdir()
    app = ClerkApp(seeded.data)
    async with app.run_test(size=SIZE) as pilot:
        fatal = app.screen.query_one("#fatal", Static)
        # The store refuses with its own one-line reason (issue 8 item 3), not a generic one.
        assert "Không mở được cơ sở dữ liệu" in str(fatal.content)
        assert "Nhấn q để thoát" in str(fatal.content)
        await pilot.press("q")
