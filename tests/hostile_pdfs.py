"""Hostile PDFs for the verifier, built byte by byte with correct cross-reference tables (so
the parser really reaches the hostile part instead of giving up at a wrong offset)."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

PAGE = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << >> >>")


def build(objects: list[bytes], *, xref_count: int | None = None, catalog_extra: bytes = b"",
          tail: bytes = b"") -> bytes:
    """Objects 1..n (1: catalog, 2: pages, 3: page, 4: contents are prepended); ``xref_count``
    lies about the table's size; ``tail`` is appended after %%EOF."""
    head = [b"<< /Type /Catalog /Pages 2 0 R" + catalog_extra + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE,
            b"<< /Length 0 >>\nstream\n\nendstream"]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for num, body in enumerate(head + objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    n = len(offsets) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (xref_count or n)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (n, xref) + tail
    return bytes(out)


def huge_xref() -> bytes:
    """A table claiming 100 million entries (an allocation bomb for a naive parser)."""
    return build([], xref_count=100_000_000)


FORM = b" /AcroForm << /Fields [5 0 R] >>"  # the verifier walks the form's fields


def deep_arrays(depth: int = 200_000) -> bytes:
    return build([b"<< /FT /Sig /T (x) /V " + b"[" * depth + b"]" * depth + b" >>"],
                 catalog_extra=FORM)


def deep_dicts(depth: int = 100_000) -> bytes:
    return build([b"<< /FT /Sig /T (x) /V " + b"<< /A " * depth + b">> " * depth + b" >>"],
                 catalog_extra=FORM)


def self_reference_loop() -> bytes:
    """A page tree whose kid is its own parent."""
    return build([b"<< /FT /Sig /T (x) /Kids [5 0 R] /Parent 5 0 R >>"],
                 catalog_extra=FORM).replace(b"/Kids [3 0 R]", b"/Kids [2 0 R]")


def flate_bomb(decoded: int = 512 * 1024 * 1024) -> bytes:
    """Page contents of ~0.5 MB that inflate to ``decoded`` bytes."""
    z = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    bomb = b"".join(z.compress(chunk) for _ in range(decoded >> 20)) + z.flush()
    data = build([]).replace(b"<< /Length 0 >>\nstream\n\nendstream",
                             b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(bomb)
                             + bomb + b"\nendstream")
    return _reindex(data)


def lying_byte_range(signed: bytes) -> bytes:
    """The signature dictionary claims to cover bytes that are not where it says."""
    m = re.search(rb"/ByteRange \[([^\]]*)\]", signed)
    assert m is not None
    lie = b"0 10 20 99999999".ljust(len(m.group(1)))
    return signed[: m.start(1)] + lie + signed[m.end(1):]


def big_stream_file(path: Path, size: int = 100 * 1024 * 1024) -> Path:
    """A file with one ``size``-byte stream and no usable xref (the reader must scan)."""
    with path.open("wb") as f:
        f.write(b"%%PDF-1.7\n1 0 obj\n<< /Length %d >>\nstream\n" % size)
        block = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            f.write(block)
        f.write(b"\nendstream\nendobj\nstartxref\n999999999999\n%%EOF\n")
    return path


def _reindex(data: bytes) -> bytes:
    """Rewrite the xref offsets after an object's body changed length."""
    offsets = [m.start() for m in re.finditer(rb"(?m)^\d+ 0 obj\n", data)]
    xref = data.index(b"xref\n")
    table = b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1) + b"".join(
        b"%010d 00000 n \n" % off for off in offsets)
    trailer = data[data.index(b"trailer"):]
    trailer = re.sub(rb"startxref\n\d+", b"startxref\n%d" % xref, trailer)
    return data[:xref] + table + trailer
