"""Documents shaped like one office's born-digital PDFs, for the recoded-frame tests: a font
program and page contents as zlib streams. Two documents share most of their fonts' inflated
bytes (the same glyphs, subsetted differently) while the deflated bytes share almost nothing,
which is what makes a PDF look incompressible to zstd."""

from __future__ import annotations

import random
import zlib


def _glyph(i: int) -> bytes:
    """An outline: bytes from a small alphabet, so that deflate packs it but not to nothing."""
    rng = random.Random(i)
    return bytes(rng.choices(range(48), k=rng.randint(60, 400)))


GLYPHS = [_glyph(i) for i in range(300)]


def stream(content: bytes, level: int = 6, *, keyword: bytes = b"stream\n") -> bytes:
    deflated = zlib.compress(content, level)
    return (b"<< /Length %d /Filter /FlateDecode >>\n" % len(deflated) + keyword + deflated
            + b"\nendstream\nendobj\n")


def office_pdf(seed: int, *, pages: int = 3) -> bytes:
    """A document: a subset of the office's glyphs as its font, text pages, and a little
    incompressible payload (a photo)."""
    rng = random.Random(seed)
    subset = sorted(rng.sample(range(len(GLYPHS)), 240))
    font = b"".join(GLYPHS[i] for i in subset)
    words = [b"UBND", b"xa", b"quyet", b"dinh", b"so", b"nam", b"2026", b"Tj", b"TJ", b"Td"]
    parts = [b"%PDF-1.7\n1 0 obj\n", stream(font)]
    for page in range(pages):
        text = b" ".join(rng.choice(words) for _ in range(rng.randint(400, 900)))
        parts += [b"%d 0 obj\n" % (page + 2), stream(text)]
    parts += [b"99 0 obj\n<< /Filter /DCTDecode >>\nstream\n", rng.randbytes(3000),
              b"\nendstream\nendobj\ntrailer\n%%EOF\n"]
    return b"".join(parts)
