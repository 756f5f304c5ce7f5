"""The file picker: USB drives first, only sensible files with sizes, keyboard only, at 80×24;
export into a folder chosen in it; bounded listings."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from tests.tui.conftest import NOW_MS
from tests.tui.helpers import message
from tests.tui.seed import Seeded
from tests.tui.test_detail import open_doc
from tui.app import ClerkApp
from tui.files import MAX_ENTRIES, Root, listing, mounted_roots
from tui.screens.compose import ComposeScreen
from tui.screens.picker import FilePicker
from tui.widgets.compose import AttachmentPicker


def options(app: ClerkApp) -> list[str]:
    listed = app.screen.query_one(OptionList)
    return [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)]


@pytest.fixture
def drives(tmp_path: Path) -> tuple[Path, Path]:
    usb, home = tmp_path / "media" / "vanthu" / "KINGSTON", tmp_path / "home" / "vanthu"
    (usb / "Công văn 2026").mkdir(parents=True)
    home.mkdir(parents=True)
    (usb / "tờ trình.pdf").write_bytes(b"%PDF-1.7 " + b"x" * 2048)
    (usb / "ảnh chụp.JPG").write_bytes(b"\xff\xd8" + b"y" * 100)
    (usb / "ghi chú.txt").write_text("not a document")
    (usb / "virus.exe").write_bytes(b"MZ")
    (usb / ".ẩn.pdf").write_bytes(b"%PDF")
    (usb / "Công văn 2026" / "kế hoạch.docx").write_bytes(b"PK" * 700)
    return usb, home


def make_app(seeded: Seeded, usb: Path | None, home: Path) -> ClerkApp:
    def roots() -> list[Root]:
        return [*([Root(usb, True)] if usb else []), Root(home, False)]

    return ClerkApp(seeded.data, clock=lambda: NOW_MS, refresh_s=3600, roots=roots)


async def test_attach_from_usb_with_keys_only_at_80x24(seeded: Seeded,
                                                      drives: tuple[Path, Path]) -> None:
    usb, home = drives
    app = make_app(seeded, usb, home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "f4")
        await pilot.pause()
        assert isinstance(app.screen, FilePicker)
        assert options(app) == [f"USB           {usb}", f"Thư mục riêng {home}"]
        await pilot.press("enter")  # the USB drive
        await pilot.pause()
        assert options(app) == [".. (lên thư mục trên)", "Công văn 2026/", "ảnh chụp.JPG  102 B",
                                "tờ trình.pdf  2.0 KB"]  # no .txt, .exe or hidden file
        await pilot.press("down", "down", "down", "enter")
        await pilot.pause()
        compose = app.screen
        assert isinstance(compose, ComposeScreen)
        assert compose.query_one(AttachmentPicker).files == [usb / "tờ trình.pdf"]
        assert message(app) == "Đã thêm tệp tờ trình.pdf (2.0 KB)."
        await pilot.press("f4", "enter", "down", "enter")  # into the subfolder
        await pilot.pause()
        assert options(app) == [".. (lên thư mục trên)", "kế hoạch.docx  1.4 KB"]
        await pilot.press("backspace")
        await pilot.pause()
        assert options(app)[1] == "Công văn 2026/"
        await pilot.press("backspace")  # above the drive: the list of places
        await pilot.pause()
        assert options(app)[0].startswith("USB")
        await pilot.press("enter", "down", "enter", "down", "enter")
        await pilot.pause()
        assert compose.query_one(AttachmentPicker).files == [
            usb / "tờ trình.pdf", usb / "Công văn 2026" / "kế hoạch.docx"]
        await pilot.press("f4", "escape")
        await pilot.pause()
        assert app.screen is compose and len(compose.query_one(AttachmentPicker).files) == 2


async def test_export_into_a_folder_chosen_on_the_usb(seeded: Seeded,
                                                     drives: tuple[Path, Path]) -> None:
    usb, home = drives
    app = make_app(seeded, usb, home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doc(app, pilot, seeded.inbound[0])
        await pilot.press("e", "enter")
        await pilot.pause()
        # Folders only, and the row that exports here.
        assert options(app) == [".. (lên thư mục trên)", "[ Xuất vào thư mục này (c) ]",
                                "Công văn 2026/"]
        await pilot.press("down", "down", "enter", "c")
        await pilot.pause()
        await app.workers.wait_for_complete()
        target = usb / "Công văn 2026"
        assert message(app) == f"Đã xuất 1 tệp vào thư mục {target}"
        assert (target / "congvan.pdf").read_bytes().startswith(b"%PDF-1.7")


async def test_hostile_file_names_stay_text(seeded: Seeded, drives: tuple[Path, Path]) -> None:
    usb, home = drives
    (usb / "[b]x[red]\x1b[2J\u202egnp.pdf").write_bytes(b"%PDF")
    app = make_app(seeded, usb, home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "f4", "enter")
        await pilot.pause()
        hostile = [o for o in options(app) if o.startswith("[b]")]
        assert len(hostile) == 1 and "\x1b" not in hostile[0] and "\u202e" not in hostile[0]
        assert "␛[2J" in hostile[0]


async def test_without_a_usb_drive_it_says_so(seeded: Seeded, drives: tuple[Path, Path]) -> None:
    _, home = drives
    app = make_app(seeded, None, home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "f4")
        await pilot.pause()
        assert options(app) == [f"Thư mục riêng {home}"]
        hint = app.screen.query_one("#hint").render()
        assert "Không thấy USB nào đang cắm" in str(hint)


def test_listing_is_bounded_and_says_why_it_cannot_read(tmp_path: Path) -> None:
    for i in range(MAX_ENTRIES + 7):
        (tmp_path / f"{i:04}.pdf").write_bytes(b"")
    found = listing(tmp_path, suffixes=frozenset({".pdf"}))
    assert (len(found.entries), found.more, found.error) == (MAX_ENTRIES, 7, "")
    missing = listing(tmp_path / "gone", suffixes=frozenset())
    assert missing.entries == [] and missing.error == "No such file or directory"


def test_mounted_roots_lists_only_mount_points_then_home(tmp_path: Path) -> None:
    (tmp_path / "media" / "vanthu" / "not-mounted").mkdir(parents=True)
    assert mounted_roots((tmp_path / "media",), tmp_path) == [Root(tmp_path, False)]
    # /proc is a mount point on every Linux machine: it stands for a mounted stick.
    roots = mounted_roots((Path("/"),), tmp_path)
    assert Root(Path("/proc"), True) in roots and roots[-1] == Root(tmp_path, False)
