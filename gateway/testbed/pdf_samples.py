"""Small, valid PDFs made from scratch for tests, the demo and the signing bench.

:func:`make_pdf` writes a one-page A4 document (title text in a standard font) and, to reach a
wanted size, a "scan" of random bytes as an image XObject drawn on the page, which is how real
scanned official documents get large. Written by hand so the exact bytes are ours and the xref
offsets are correct.
"""

from __future__ import annotations

import math
import random

__all__ = ["make_pdf"]


def _obj(num: int, body: bytes) -> bytes:
    return b"%d 0 obj\n" % num + body + b"\nendobj\n"


def _stream(extra: bytes, data: bytes) -> bytes:
    return b"<< " + extra + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def make_pdf(title: str = "Cong van so 123/UBND-VP", size: int = 0, seed: int = 1) -> bytes:
    """A one-page PDF of at least ``size`` bytes (0: as small as possible); ``title`` must be
    ASCII (it is drawn with the standard Helvetica font)."""
    text = title.encode("ascii").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    content = b"BT /F1 14 Tf 72 770 Td (" + text + b") Tj ET"
    scan = b""
    if size > 2048:
        side = math.isqrt(size - 1000) + 1
        scan = random.Random(seed).randbytes(side * side)
        content = b"q 451 0 0 300 72 420 cm /Im1 Do Q\n" + content
    xobjects = b" /XObject << /Im1 6 0 R >>" if scan else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >>" + xobjects + b" >> >>",
        _stream(b"", content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if scan:
        side = math.isqrt(len(scan))
        objects.append(_stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d"
                               b" /ColorSpace /DeviceGray /BitsPerComponent 8" % (side, side),
                               scan))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += _obj(num, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += (b"trailer\n<< /Size %d /Root 1 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, b"ab" * 16, b"ab" * 16, xref))
    return bytes(out)
