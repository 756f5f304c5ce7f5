"""Document detail: marking statuses, rejecting with a reason, export, resend."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from gateway.model import State
from gateway.signing.verdict import PdfState, PdfVerdict, SignatureVerdict, SigStatus
from gateway.store import verdicts
from gateway.store.db import Conn
from tests.tui.conftest import SIZE
from tests.tui.helpers import link_text, message, rows
from tests.tui.seed import Seeded
from tui.app import ClerkApp
from tui.screens.detail import DetailScreen
from tui.screens.prompt import ConfirmPrompt, TextPrompt
from tui.widgets.common import TextField
from tui.widgets.main import DocTable


async def open_doc(app: ClerkApp, pilot: Pilot[None], doc_id: str) -> DetailScreen:
    assert app.main is not None and app.backend is not None
    app.push_screen(DetailScreen(app.backend, doc_id, refresh_s=3600))
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, DetailScreen) and screen.doc is not None
    return screen


async def statuses(app: ClerkApp, doc_id: str) -> list[tuple[str, str]]:
    assert app.backend is not None
    rows = await app.backend.store.db.read(lambda c: c.execute_fetchall(
        "SELECT code, note FROM status_out WHERE doc_id = ? ORDER BY at_ms, code", (doc_id,)))
    return [(str(r[0]), str(r[1])) for r in rows]


async def test_mark_accepted_updates_store_and_queues_status(app: ClerkApp,
                                                             seeded: Seeded) -> None:
    doc_id = seeded.inbound[1]
    (seeded.data / "wakeup").unlink(missing_ok=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_doc(app, pilot, doc_id)
        await pilot.press("3")
        await pilot.pause()
        assert message(app) == ("Đã ghi trạng thái 'Đã tiếp nhận'. Nơi gửi sẽ được báo khi "
                                "có mạng. Nhầm? Nhấn u trong 10 giây để hoàn tác (chưa gửi đi).")
        assert app.backend is not None
        doc = await app.backend.store.document(doc_id)
        assert doc.inbox_status is State.ACCEPTED
        assert ("03", "") in await statuses(app, doc_id)
        # Held for the undo window: the daemon is woken when it may leave, not now.
        assert not (seeded.data / "wakeup").exists()
        events = await app.backend.store.events(doc_id)
        assert events[-1].kind == "status 03" and events[-1].actor == "clerk"
        # It is no longer offered, and pressing it again records nothing.
        assert offered(app) == {"5", "6", "2"}
        await pilot.press("3")
        await pilot.pause()
        assert (await statuses(app, doc_id)).count(("03", "")) == 1
        await pilot.press("escape")
        await pilot.pause()
        assert app.main is not None
        inbox = app.main.query_one("#inbox-table", DocTable)
        assert rows(inbox)[0][5] == "Đã tiếp nhận"


def offered(app: ClerkApp) -> set[str]:
    """The status keys the detail screen offers right now (what the footer shows)."""
    return {k for k in ("3", "5", "6", "2") if k in app.screen.active_bindings}


async def test_done_asks_first_and_enter_alone_never_confirms(app: ClerkApp,
                                                             seeded: Seeded) -> None:
    doc_id = seeded.inbound[0]
    async with app.run_test(size=SIZE) as pilot:
        await open_doc(app, pilot, doc_id)
        assert offered(app) == {"3", "5", "6", "2"}
        await pilot.press("6")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, ConfirmPrompt)
        assert "Ghi trạng thái 'Hoàn thành' cho văn bản" in str(
            prompt.query_one("#question", Static).content)
        await pilot.press("enter")  # the focus is on "Không"
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert message(app) == "Chưa ghi trạng thái; văn bản giữ nguyên."
        assert app.backend is not None
        assert (await app.backend.store.document(doc_id)).inbox_status is State.RECEIVED

        await pilot.press("6")
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert (await app.backend.store.document(doc_id)).inbox_status is State.DONE
        # A final state: no status is offered any more, and a key press records nothing.
        assert offered(app) == set()
        await pilot.press("3")
        await pilot.pause()
        assert [c for c, _ in await statuses(app, doc_id) if c != "01"] == ["06"]


async def test_only_forward_statuses_are_offered(app: ClerkApp, seeded: Seeded) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_doc(app, pilot, seeded.inbound[0])
        await pilot.press("5")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert offered(app) == {"6", "2"}  # 03 would go backwards; 05 is where it is


async def test_reject_needs_a_reason(app: ClerkApp, seeded: Seeded) -> None:
    doc_id = seeded.inbound[0]
    async with app.run_test(size=SIZE) as pilot:
        await open_doc(app, pilot, doc_id)
        await pilot.press("2")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        await pilot.press("enter")
        await pilot.pause()
        assert "Hãy ghi lý do từ chối" in str(prompt.query_one("#prompt-error", Static).content)
        prompt.query_one("#answer", TextField).value = "Gửi nhầm xã"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmPrompt)  # a final status: asked once more
        await pilot.press("c")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, DetailScreen)
        assert app.backend is not None
        assert (await app.backend.store.document(doc_id)).inbox_status is State.REJECTED
        assert ("02", "Gửi nhầm xã") in await statuses(app, doc_id)


async def test_export_attachments_never_overwrites(app: ClerkApp, seeded: Seeded,
                                                   tmp_path: Path) -> None:
    folder = tmp_path / "usb" / "xuat"
    async with app.run_test(size=SIZE) as pilot:
        await open_doc(app, pilot, seeded.inbound[0])
        await pilot.press("e", "slash")  # the picker, then a typed path
        await pilot.pause()
        app.screen.query_one("#answer", TextField).value = str(folder)
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert message(app) == ("Không có thư mục này (nếu là USB, hãy cắm lại và chờ máy "
                                f"nhận, rồi thử lại): {folder}.")
        assert not folder.exists()
        folder.mkdir(parents=True)
        for _ in range(2):
            await pilot.press("e", "slash")
            await pilot.pause()
            app.screen.query_one("#answer", TextField).value = str(folder)
            await pilot.press("enter")
            await pilot.pause()
            await app.workers.wait_for_complete()
        assert message(app) == f"Đã xuất 1 tệp vào thư mục {folder}"
        assert sorted(p.name for p in folder.iterdir()) == ["congvan (2).pdf", "congvan.pdf"]
        assert (folder / "congvan.pdf").read_bytes().startswith(b"%PDF-1.7 V/v")
        blocker = tmp_path / "file"
        blocker.write_text("x")
        await pilot.press("e", "slash")  # the picker, then a typed path
        await pilot.pause()
        app.screen.query_one("#answer", TextField).value = str(blocker)
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert message(app) == (f"Không phải thư mục: {blocker}. "
                                "Hãy gõ đường dẫn tới một thư mục, không phải một tệp.")


async def test_failed_document_can_be_resent(app: ClerkApp, seeded: Seeded) -> None:
    doc_id = seeded.outbound[0]
    async with app.run_test(size=SIZE) as pilot:
        assert app.backend is not None and app.main is not None

        async def dead(conn: Conn) -> None:
            await conn.execute("UPDATE outbound SET state = 'dead', last_error = ? "
                               "WHERE doc_id = ?", ("Nơi nhận không tồn tại", doc_id))

        await app.backend.store.db.write(dead)
        await app.main.refresh_data(force=True)
        outbox = app.main.query_one("#outbox-table", DocTable)
        row = rows(outbox)[outbox.doc_ids.index(doc_id)]
        assert row[-1].startswith("Gửi lỗi: Nơi nh")  # the status is the last column
        assert "1 văn bản gửi lỗi, cần mở ra xử lý" in link_text(app)
        screen = await open_doc(app, pilot, doc_id)
        assert screen.check_action("retry", ()) is True
        assert screen.check_action("mark", ()) is False
        await pilot.press("g")
        await pilot.pause()
        assert message(app) == ("Đã đưa văn bản vào hàng đợi gửi lại; máy sẽ tự gửi khi có "
                                "mạng.")
        doc = await app.backend.store.document(doc_id)
        assert doc.queue_state == "pending"
        assert screen.check_action("retry", ()) is False


async def test_signature_lines_in_plain_words_and_colour(app: ClerkApp, seeded: Seeded) -> None:
    """Not checked yet, then (when the daemon stored a verdict) changed after signing, in red;
    a hostile organisation name stays text."""
    doc_id = seeded.inbound[0]
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(app, pilot, doc_id)

        def shown() -> Text:
            group = screen.query_one("#signatures", Static).content
            assert isinstance(group, Group)
            line = group.renderables[1]
            assert isinstance(line, Text)
            return line

        assert shown().plain == "congvan.pdf: Chưa kiểm tra chữ ký"
        assert app.backend is not None and screen.doc is not None
        (att,) = screen.doc.envelope.attachments
        verdict = PdfVerdict(PdfState.SIGNED, (SignatureVerdict(
            "Sig1", SigStatus.MODIFIED_AFTER_SIGNING, organisation="UBND xã [b]Hồng[/b]"),))
        await verdicts.put(app.backend.store, att.sha256, verdict.to_json(), 1)
        await screen.reload()
        line = shown()
        assert line.plain == ("congvan.pdf: Văn bản đã bị sửa sau khi ký — "
                              "UBND xã [b]Hồng[/b]")
        assert any(span.style == "bold red" for span in line.spans)
