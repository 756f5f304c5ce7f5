"""Soạn văn bản đi: picking recipients, attachments, secrecy, and sending through ``send``."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Select, SelectionList, Static, TabbedContent

from tests.tui.conftest import SIZE
from tests.tui.helpers import main_screen, message, rows
from tests.tui.seed import OTHER, Seeded
from tui.app import ClerkApp
from tui.screens.compose import ComposeScreen
from tui.widgets.common import TextField
from tui.widgets.compose import AttachmentPicker, RecipientPicker
from tui.widgets.main import DocTable


async def open_compose(app: ClerkApp, pilot: Pilot[None]) -> ComposeScreen:
    await pilot.press("n")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ComposeScreen)
    return screen


def fill(screen: ComposeScreen, **values: str) -> None:
    for widget_id, value in values.items():
        screen.query_one(f"#{widget_id}", TextField).value = value


async def outbound_count(app: ClerkApp) -> int:
    assert app.backend is not None
    return len(await app.backend.store.list_documents("out"))


async def test_compose_and_send_creates_the_document(app: ClerkApp, seeded: Seeded,
                                                     tmp_path: Path) -> None:
    pdf = tmp_path / "ke-hoach.pdf"
    pdf.write_bytes(b"%PDF-1.7 ke hoach tiem chung")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compose(app, pilot)
        await pilot.press(*"nam cuoi")  # folded search: finds 'Nậm Cuổi'
        await pilot.pause()
        agencies = screen.query_one("#agencies", SelectionList)
        assert agencies.option_count == 1
        await pilot.press("enter", "space")
        assert screen.query_one(RecipientPicker).chosen == [OTHER]
        await pilot.press("tab", *"15/UBND-VP")
        fill(screen, subject="V/v phối hợp tổ chức tiêm chủng mở rộng đợt 2", due="31/12/2099",
             signer="Lò Văn Minh")
        screen.query_one("#urgency", Select).value = "hoa-toc"
        screen.query_one("#path", TextField).value = str(pdf)
        screen.query_one("#path", TextField).focus()
        await pilot.press("enter")
        assert screen.query_one(AttachmentPicker).files == [pdf]
        assert message(app).startswith("Đã thêm tệp ke-hoach.pdf")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await screen.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert not isinstance(app.screen, ComposeScreen)
        main = main_screen(app)
        assert main.query_one(TabbedContent).active == "outbox"
        assert app.backend is not None
        docs = await app.backend.store.list_documents("out")
        assert len(docs) == 3
        new = next(d for d in docs if d.envelope.number == "15")
        env = new.envelope
        assert (env.notation, env.recipients, env.signer) == ("UBND-VP", (OTHER,), "Lò Văn Minh")
        assert env.subject == "V/v phối hợp tổ chức tiêm chủng mở rộng đợt 2"
        assert env.urgency.slug == "hoa-toc" and str(env.due_date) == "2099-12-31"
        assert [a.name for a in env.attachments] == ["ke-hoach.pdf"]
        assert app.backend.store.blobs.has(env.attachments[0].sha256)
        assert new.queue_state == "pending"
        outbox = main.query_one("#outbox-table", DocTable)
        assert outbox.current_id == env.id
        assert rows(outbox)[0][0] == "15/UBND-VP"
        assert env.id in message(app) and message(app).startswith(
            "Đã lưu và xếp hàng gửi văn bản 15/UBND-VP — mã ")


async def test_secret_level_is_refused_at_once(app: ClerkApp, seeded: Seeded) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compose(app, pilot)
        warning = screen.query_one("#secret-warning", Static)
        assert not warning.has_class("-shown")
        screen.query_one("#secrecy", Select).value = "toi-mat"
        await pilot.pause()
        assert warning.has_class("-shown")
        assert str(warning.content).startswith(
            "Văn bản tối mật không được gửi qua hệ thống này. Hãy chuyển bản giấy theo đường "
            "văn bản mật")
        # Sending anyway reaches the CLI's own check, which refuses in the same words.
        screen.query_one(RecipientPicker).chosen.append(OTHER)
        fill(screen, number="16/UBND-VP", subject="Báo cáo mật")
        await pilot.press("ctrl+s")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        assert message(app).startswith(
            "Chưa gửi được: Văn bản mật không được gửi qua hệ thống này; hãy chuyển theo "
            "đường văn bản mật.")
        assert await outbound_count(app) == 2
        screen.query_one("#secrecy", Select).value = "khong"
        await pilot.pause()
        assert not warning.has_class("-shown")


async def test_problems_are_explained_with_what_to_do(app: ClerkApp, seeded: Seeded,
                                                      tmp_path: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compose(app, pilot)
        screen.query_one("#path", TextField).value = str(tmp_path / "khong-co.pdf")
        screen.query_one("#path", TextField).focus()
        await pilot.press("enter")
        assert message(app).startswith(f"Không thấy tệp {tmp_path / 'khong-co.pdf'}.")
        fill(screen, due="31/13/2026")
        await pilot.press("ctrl+s")
        assert message(app) == ("Hạn xử lý không hợp lệ: '31/13/2026'. Hãy gõ ngày/tháng/năm, "
                                "ví dụ 31/12/2026.")
        fill(screen, due="")
        await pilot.press("ctrl+s")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        text = message(app)
        assert text.startswith("Chưa gửi được: Chưa chọn nơi nhận;")
        assert "Trích yếu không được để trống" in text and "Thiếu số văn bản" in text
        assert "Chọn ít nhất một nơi nhận ở cột bên trái." in text
        assert await outbound_count(app) == 2


async def test_escape_with_unsent_work_asks_twice(app: ClerkApp, seeded: Seeded) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compose(app, pilot)
        fill(screen, subject="Dở dang")
        await pilot.press("escape")
        assert app.screen is screen
        assert message(app).startswith("Văn bản đang soạn chưa được gửi.")
        await pilot.press("escape")
        await pilot.pause()
        assert main_screen(app)
