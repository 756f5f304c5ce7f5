"""Reads the unicode table of a Linux console font (PSF1 or PSF2, gzipped or not): the set of
characters the console can draw with it. Used to check the TUI's console mode."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

PSF1_MAGIC = b"\x36\x04"
PSF2_MAGIC = b"\x72\xb5\x4a\x86"
PSF1_MODE512, PSF1_HASTAB, PSF1_HASSEQ = 0x01, 0x02, 0x04
PSF2_HAS_UNICODE_TABLE = 0x01


def font_chars(path: Path) -> set[str]:
    """Every single character mapped to a glyph (sequences, e.g. a letter with a combining
    mark, are skipped: the TUI writes precomposed text)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:4] == PSF2_MAGIC:
        _, header, flags, count, size, _, _ = struct.unpack("<7I", data[4:32])
        if not flags & PSF2_HAS_UNICODE_TABLE:
            raise ValueError(f"{path}: no unicode table")
        chars: set[str] = set()
        for entry in data[header + count * size:].split(b"\xff")[:count]:
            chars.update(entry.split(b"\xfe")[0].decode("utf-8"))
        return chars
    if data[:2] == PSF1_MAGIC:
        mode, size = data[2], data[3]
        if not mode & (PSF1_HASTAB | PSF1_HASSEQ):
            raise ValueError(f"{path}: no unicode table")
        count = 512 if mode & PSF1_MODE512 else 256
        table = data[4 + count * size:]
        values = struct.unpack(f"<{len(table) // 2}H", table[:len(table) // 2 * 2])
        chars, glyph, in_sequence = set(), 0, False
        for value in values:
            if glyph >= count:
                break
            if value == 0xFFFF:
                glyph, in_sequence = glyph + 1, False
            elif value == 0xFFFE:
                in_sequence = True
            elif not in_sequence:
                chars.add(chr(value))
        return chars
    raise ValueError(f"{path}: not a PSF font")
