"""The visible stamp: where it lands, what it says (Vietnamese, UTC+7), an embedded font."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from gateway.signing.errors import SigningConfigError
from gateway.signing.stamp import IssueInfo, Position, StampConfig, stamp_box, stamp_text
from gateway.signing.stamp_font import stamp_style
from gateway.testbed.pdf_samples import make_pdf
from tests.signing_helpers import sign_as
from tests.signing_pki import shared_pki

A4 = (0.0, 0.0, 595.0, 842.0)


def test_positions() -> None:
    cfg = StampConfig(width=200, height=60, margin=20)
    assert stamp_box(cfg, A4) == (375, 762, 575, 822)
    assert stamp_box(StampConfig(width=200, height=60, margin=20,
                                 position=Position.BOTTOM_LEFT), A4) == (20, 20, 220, 80)
    assert stamp_box(StampConfig(box=(1.4, 2, 3, 4)), A4) == (1, 2, 3, 4)


def test_text_is_in_vietnam_time() -> None:
    when = datetime(2025, 5, 12, 20, 3, 9, tzinfo=UTC)
    issue = IssueInfo("UBND xã Tân Phong", "45/QĐ-UBND", when)
    assert stamp_text(issue).splitlines() == [
        "Ký bởi: UBND xã Tân Phong", "Số, ký hiệu: 45/QĐ-UBND",
        "Thời gian ký: 03:03:09 13/05/2025 (UTC+7)"]


def test_signed_pdf_carries_the_stamp_top_right_with_its_font(tmp_path: Path) -> None:
    sign_as(shared_pki().agency, make_pdf(), tmp_path / "s.pdf")
    with (tmp_path / "s.pdf").open("rb") as f:
        reader = PdfFileReader(f)
        page = reader.root["/Pages"]["/Kids"][0].get_object()
        (widget,) = [a.get_object() for a in page["/Annots"]]
        _x1, _y1, x2, y2 = (float(v) for v in widget["/Rect"])
        assert x2 > 500 and y2 > 780  # top right of an A4 page
        appearance = widget["/AP"]["/N"]
        data = appearance.data
        fonts = appearance["/Resources"]["/Font"]
        descendant = next(iter(fonts.values())).get_object()["/DescendantFonts"][0]
        assert "/FontFile2" in descendant.get_object()["/FontDescriptor"]
    actual = re.findall(rb"/ActualText \(((?:\\.|[^\\)])*)\)", data)
    decoded = [_pdf_string(a).decode("utf-16-be")[1:] for a in actual]
    assert decoded[0] == "Ký bởi: UBND xã Tân Phong"
    assert decoded[1] == "Số, ký hiệu: 123/UBND-VP"


def _pdf_string(raw: bytes) -> bytes:
    """Undo PDF literal-string escapes (octal and backslash) in ``raw``."""
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x5C:
            nxt = raw[i + 1:i + 4]
            m = re.match(rb"[0-7]{1,3}", nxt)
            if m:
                out.append(int(m.group(), 8) & 0xFF)
                i += 1 + len(m.group())
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(raw[i + 1:i + 2], raw[i + 1:i + 2])
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def test_missing_font_or_glyph_is_a_config_error(tmp_path: Path) -> None:
    issue = IssueInfo("UBND xã Tân Phong", "1/UBND", datetime.now(UTC))
    with pytest.raises(SigningConfigError):
        stamp_style(StampConfig(font=tmp_path / "none.ttf"), issue)
    (tmp_path / "bad.ttf").write_bytes(b"not a font")
    with pytest.raises(SigningConfigError):
        stamp_style(StampConfig(font=tmp_path / "bad.ttf"), issue)
