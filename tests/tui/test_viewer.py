"""Reading an attachment's text without exporting it: real PDFs made here, a scan, a file that
is no PDF, and hostile PDFs (bounded time and output)."""

from __future__ import annotations

import shutil
import time
import zlib
from pathlib import Path

import pytest

from gateway.services.pdftext import Outcome, pdf_text
from gateway.testbed.pdf_samples import make_pdf
from tests.hostile_pdfs import flate_bomb
from tests.tui.conftest import SIZE
from tests.tui.helpers import message
from tests.tui.seed import Seeded, add_inbound
from tests.tui.test_detail import open_doc
from tui.app import ClerkApp
from tui.screens.viewer import PdfViewer
from tui.widgets.common import Title

PDF = "application/pdf"
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                     reason="needs poppler-utils (.ci/run installs it)")


def text_pdf(pages: list[list[str]], *, compress: bool = False) -> bytes:
    """A PDF of ASCII lines, one list per page, in the standard Helvetica font."""
    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n)).encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n]
    font = 3 + 2 * n
    for i, lines in enumerate(pages):
        ops = b"BT /F1 12 Tf 14 TL 72 770 Td " + b" ".join(
            b"(" + line.encode("ascii") + b") Tj T*" for line in lines) + b" ET"
        data = zlib.compress(ops) if compress else ops
        extra = b" /Filter /FlateDecode" if compress else b""
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
                       b" /Resources << /Font << /F1 %d 0 R >> >> >>" % (4 + 2 * i, font))
        objects.append(b"<< /Length %d" % len(data) + extra + b" >>\nstream\n" + data
                       + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for num, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def title(app: ClerkApp) -> str:
    return str(app.screen.query_one("#title", Title).render())


def page_text(app: ClerkApp) -> str:
    return str(app.screen.query_one("#page").render())


@needs_pdftotext
async def test_read_a_pdf_page_by_page_then_a_scan_and_a_word_file(app: ClerkApp,
                                                                   seeded: Seeded) -> None:
    report = text_pdf([["BAO CAO so 12/BC-UBND", "Tinh hinh mua lu thang 11",
                        "[b]not markup[/b] \x1b[2J"],
                       ["Trang hai: thiet hai ve nha o"], ["Trang ba: kien nghi"]])
    doc_id = await add_inbound(seeded.data, 30, number="12", notation="BC-UBND",
                               subject="Báo cáo tình hình mưa lũ", files=(
                                   ("bao-cao.pdf", PDF, report),
                                   ("ban-quet.pdf", PDF, make_pdf("", size=5000)),
                                   ("phu-luc.docx", "application/vnd.openxmlformats-"
                                    "officedocument.wordprocessingml.document", b"PK\x03\x04")))
    async with app.run_test(size=SIZE) as pilot:
        await open_doc(app, pilot, doc_id)
        await pilot.press("v")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, PdfViewer)
        assert title(app) == "Xem chữ — bao-cao.pdf — trang 1/3"
        assert "BAO CAO so 12/BC-UBND" in page_text(app)
        assert "Tinh hinh mua lu thang 11" in page_text(app)
        # Remote text stays text: no markup, no terminal escape reaches the screen.
        assert "[b]not markup[/b]" in page_text(app) and "\x1b" not in page_text(app)
        assert "p" not in app.screen.active_bindings  # no page before the first
        await pilot.press("n", "n")
        assert title(app) == "Xem chữ — bao-cao.pdf — trang 3/3"
        assert "Trang ba: kien nghi" in page_text(app)
        assert "n" not in app.screen.active_bindings
        await pilot.press("p")
        assert "Trang hai" in page_text(app)

        await pilot.press("a")  # the scan
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert message(app) == ("Tệp quét (ảnh), không có chữ để hiển thị — hãy xuất ra USB "
                                "để xem")
        assert page_text(app) == ""
        await pilot.press("a")  # the Word file
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert message(app) == ("Tệp phu-luc.docx không phải PDF nên không xem được ở đây — hãy "
                                "xuất ra USB để xem")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PdfViewer)


async def test_without_pdftotext_it_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(text_pdf([["hello"]]))
    assert (await pdf_text(path, tool="pdftotext-not-installed")).outcome is Outcome.NO_TOOL


@needs_pdftotext
async def test_hostile_pdfs_cost_bounded_time_and_output(tmp_path: Path) -> None:
    # Pages whose text is 64 MB once inflated: only the first 64 KB are kept.
    flood = text_pdf([["Tran ngap " * 20] * 3000] * 40, compress=True)
    path = tmp_path / "flood.pdf"
    path.write_bytes(flood)
    started = time.monotonic()
    result = await pdf_text(path, max_text=64 * 1024)
    assert result.outcome is Outcome.TEXT and result.cut
    assert sum(len(p.encode()) for p in result.pages) <= 64 * 1024
    assert time.monotonic() - started < 5
    # 128 MB of zeros behind a 128 KB stream (seconds of work): stopped at the time limit.
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(flate_bomb(128 * 1024 * 1024))
    started = time.monotonic()
    result = await pdf_text(bomb, timeout_s=0.5)
    assert result.outcome is Outcome.FAILED and result.cut
    assert time.monotonic() - started < 2.5
