"""The visible stamp the agency's signature puts on the page: where, what text, which font.

Vietnamese needs a font with its diacritics (ữ, ệ, ỗ …): the stamp embeds a subset of a
TrueType/OpenType font (default DejaVu Sans from Debian ``fonts-dejavu-core``), shaped with
HarfBuzz, so every reader shows the same letters. Time is printed in Vietnam's time (UTC+7)
from the time the caller gives (the box's clock is not trusted to know it).
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont, TTLibError
from fontTools.ttLib.scaleUpem import scale_upem
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import TextStampStyle

from gateway.signing.errors import SigningConfigError, config_problem
from gateway.signing.wording import VN_TIME

__all__ = ["DEFAULT_FONT", "IssueInfo", "Position", "StampConfig", "stamp_box", "stamp_style",
           "stamp_text"]

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
MAX_FONT_BYTES = 32 * 1024 * 1024
# fontTools reports every table it drops while subsetting; none matters for a stamp.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class Position(StrEnum):
    TOP_RIGHT = "top-right"
    TOP_LEFT = "top-left"
    BOTTOM_RIGHT = "bottom-right"
    BOTTOM_LEFT = "bottom-left"


@dataclass(frozen=True)
class StampConfig:
    """``page`` counts from 1; ``width``/``height``/``margin`` in PDF points (1/72 inch);
    ``box`` (x1, y1, x2, y2 in points from the bottom left) overrides ``position``;
    ``visible=False`` signs without a stamp."""

    font: Path = DEFAULT_FONT
    position: Position = Position.TOP_RIGHT
    page: int = 1
    width: float = 230.0
    height: float = 64.0
    margin: float = 24.0
    font_size: int = 8
    box: tuple[float, float, float, float] | None = None
    visible: bool = True


@dataclass(frozen=True)
class IssueInfo:
    """What the stamp says: the issuing agency, the document's number/notation, the time."""

    agency_name: str
    notation: str
    time: datetime


def stamp_text(issue: IssueInfo) -> str:
    when = issue.time.astimezone(VN_TIME).strftime("%H:%M:%S %d/%m/%Y")
    return (f"Ký bởi: {issue.agency_name}\nSố, ký hiệu: {issue.notation}\n"
            f"Thời gian ký: {when} (UTC+7)")


def stamp_box(cfg: StampConfig, media_box: tuple[float, float, float, float]
              ) -> tuple[int, int, int, int]:
    """The stamp's rectangle on a page with ``media_box`` (x1, y1, x2, y2)."""
    if cfg.box is not None:
        return (round(cfg.box[0]), round(cfg.box[1]), round(cfg.box[2]), round(cfg.box[3]))
    x1, y1, x2, y2 = media_box
    w, h, m = cfg.width, cfg.height, cfg.margin
    left = cfg.position in (Position.TOP_LEFT, Position.BOTTOM_LEFT)
    top = cfg.position in (Position.TOP_LEFT, Position.TOP_RIGHT)
    sx = x1 + m if left else x2 - m - w
    sy = y2 - m - h if top else y1 + m
    return (round(sx), round(sy), round(sx + w), round(sy + h))


@functools.lru_cache(maxsize=8)
def _font_for(path: Path, text: str) -> bytes:
    """The font cut down to the glyphs of ``text`` and rescaled to 1000 units per em.

    pyhanko writes glyph widths in the font's own units, which PDF reads as thousandths of an
    em; fonts with 2048 units (DejaVu, most TrueType) would print with double spacing. Cutting
    the font first makes the rescale take a fraction of a second instead of seconds.
    """
    try:
        if path.stat().st_size > MAX_FONT_BYTES:
            raise SigningConfigError(config_problem("stamp.font", f"{path} is over 32 MiB"))
        font = TTFont(str(path))
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.glyph_names = True
        options.hinting = False
        cutter = subset.Subsetter(options)
        cutter.populate(text=text)
        cutter.subset(font)
        if font["head"].unitsPerEm != 1000:
            scale_upem(font, 1000)
        out = io.BytesIO()
        font.save(out)
    except (OSError, TTLibError, KeyError, AssertionError) as e:
        raise SigningConfigError(config_problem("stamp.font", f"{path}: {e}")) from None
    missing = [c for c in set(text) if c.strip() and ord(c) not in font.getBestCmap()]
    if missing:
        raise SigningConfigError(config_problem(
            "stamp.font", f"{path} has no glyph for {''.join(sorted(missing))!r}"))
    return out.getvalue()


class _StampFont(FontEngineFactory):
    """Hands pyhanko the prepared font from memory (no file handle left open)."""

    def __init__(self, font: bytes, size: int) -> None:
        self.font = font
        self.size = size

    def create_font_engine(self, writer: BasePdfFileWriter,
                           obj_stream: object = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()  # type: ignore[no-untyped-call]
        return GlyphAccumulator(writer=writer, font_handle=io.BytesIO(self.font),
                                font_size=self.size, obj_stream=obj_stream)


def stamp_style(cfg: StampConfig, issue: IssueInfo) -> TextStampStyle:
    """The pyhanko stamp style for ``issue``; raises :class:`SigningConfigError` when the font
    is missing, damaged or lacks a letter of the text."""
    if not cfg.font.is_file():
        raise SigningConfigError(config_problem(
            "stamp.font", f"{cfg.font} not found (Debian package fonts-dejavu-core)"))
    text = stamp_text(issue)
    font = _StampFont(_font_for(cfg.font, text), cfg.font_size)
    return TextStampStyle(
        stamp_text=text.replace("%", "%%"),  # pyhanko %-formats the text: escape outside input
        border_width=1,
        text_box_style=TextBoxStyle(font=font, font_size=cfg.font_size, leading=cfg.font_size + 3))
