"""Draw the stamp: a Vietnamese-capable font embedded as a subset, shaped with HarfBuzz.

Vietnamese needs a font with its diacritics (ữ, ệ, ỗ …): the stamp embeds a subset of a
TrueType/OpenType font (default DejaVu Sans from Debian ``fonts-dejavu-core``), so every reader
shows the same letters whatever fonts it has.
"""

from __future__ import annotations

import functools
import io
import logging
from pathlib import Path

from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont, TTLibError  # type: ignore[import-untyped]
from fontTools.ttLib.scaleUpem import scale_upem  # type: ignore[import-untyped]
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import TextStampStyle

from gateway.signing.errors import SigningConfigError, config_problem
from gateway.signing.stamp import IssueInfo, StampConfig, stamp_text

__all__ = ["stamp_style"]

MAX_FONT_BYTES = 32 * 1024 * 1024
# fontTools reports every table it drops while subsetting; none matters for a stamp.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


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
