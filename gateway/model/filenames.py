"""File names that every target can hold: ext4, and the exFAT/vfat USB sticks clerks carry.

An attachment name comes from another office's computer. Exported as is, it may not fit:

- Linux allows 255 *bytes* per name, and the blob store writes ``.{name}.{8 hex}.part`` beside
  the target first (15 bytes more), so a name may use at most :data:`MAX_NAME_BYTES`;
- exFAT and vfat refuse ``"*/:<>?\\|`` and control characters, drop trailing dots and spaces,
  reserve DOS device names (``CON``, ``nul.txt``, ``COM1``…), and compare names without case,
  so ``Báo cáo.pdf`` and ``BÁO CÁO.pdf`` (or its NFD spelling from a Mac) are one file.

:func:`safe_name` makes one name writable; :func:`unique_name` also keeps it clear of names
already used in the target folder, numbering the copies as desktop file managers do:
``Báo cáo (2).pdf``. Both are pure, so property tests can check them.
"""

from __future__ import annotations

import re
import unicodedata

NAME_MAX_BYTES = 255
TEMP_OVERHEAD_BYTES = len(".") + len(".") + 8 + len(".part")
MAX_NAME_BYTES = NAME_MAX_BYTES - TEMP_OVERHEAD_BYTES
MAX_EXTENSION_BYTES = 16

_UNSAFE = re.compile(r'[\x00-\x1f\x7f"*/:<>?\\|\ud800-\udfff]')
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{dev}{n}" for dev in ("COM", "LPT") for n in range(1, 10)]
)


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def clash_key(name: str) -> str:
    """Names with equal keys are the same file on a case-insensitive stick (or to a person)."""
    return unicodedata.normalize("NFC", name).casefold()


def split_extension(name: str) -> tuple[str, str]:
    """``("Báo cáo", ".pdf")``; no extension when there is no stem or it would be too long."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext or utf8_len(ext) + 1 > MAX_EXTENSION_BYTES or " " in ext:
        return name, ""
    return stem, "." + ext


def _cut(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` within ``max_bytes`` of UTF-8, cut between characters."""
    return text.encode("utf-8")[:max(max_bytes, 0)].decode("utf-8", "ignore")


def _fit(stem: str, ext: str, tag: str, max_bytes: int) -> str:
    room = max_bytes - utf8_len(tag + ext)
    cut = _cut(stem, room).rstrip(" .") if utf8_len(stem) > room else stem
    return (cut or "_") + tag + ext


def safe_name(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """``name`` made writable on ext4, exFAT and vfat within ``max_bytes`` (at least 32) of
    UTF-8; a name that already is comes back unchanged but for NFC normalisation."""
    if max_bytes < 32:
        raise ValueError("max_bytes must leave room for a name")
    text = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).rstrip(" .")
    if text.split(".")[0].rstrip(" ").upper() in _RESERVED:
        text = "_" + text
    stem, ext = split_extension(text or "_")
    return _fit(stem, ext, "", max_bytes)


def unique_name(name: str, used: set[str], max_bytes: int = MAX_NAME_BYTES) -> str:
    """A safe name for ``name`` whose :func:`clash_key` is not in ``used``; adds that key."""
    base = safe_name(name, max_bytes)
    stem, ext = split_extension(base)
    candidate, n = base, 1
    while clash_key(candidate) in used:
        n += 1
        candidate = _fit(stem, ext, f" ({n})", max_bytes)
    used.add(clash_key(candidate))
    return candidate
