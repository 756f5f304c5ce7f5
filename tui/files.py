"""Where a clerk's files are, and what a folder holds (no Textual).

USB sticks come first: the box mounts them under ``/media`` (``/media/<user>/<label>`` with
udisks, ``/media/<label>`` with usbmount) and desktops under ``/run/media/<user>/<label>``;
then the clerk's home. The roots come from a provider the app is given, so tests use temporary
folders. A folder listing is bounded (a stick with 100,000 files cannot freeze the screen),
skips hidden files and, when choosing an attachment, shows only documents worth sending.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.model.agency import fold

ATTACHABLE = frozenset({
    ".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp", ".webp",
    ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf",
})
MAX_ENTRIES = 500  # per folder shown; the rest are counted, not listed


@dataclass(frozen=True)
class Root:
    """A place to start from: a mounted USB drive, or the clerk's home."""

    path: Path
    usb: bool


Roots = Callable[[], list[Root]]


def mounted_roots(media: tuple[Path, ...] = (Path("/media"), Path("/run/media")),
                  home: Path | None = None) -> list[Root]:
    """Mounted drives under ``media`` (one or two levels down), then ``home``."""
    found: list[Path] = []
    for base in media:
        try:
            candidates = sorted([*base.glob("*"), *base.glob("*/*")])
        except OSError:
            continue
        found += [p for p in candidates if os.path.ismount(p) and p not in found]
    return [*(Root(p, True) for p in found), Root(home or Path.home(), False)]


@dataclass(frozen=True)
class Entry:
    path: Path
    is_dir: bool
    size: int  # bytes; 0 for a folder


@dataclass(frozen=True)
class Listing:
    entries: list[Entry]  # folders first, then files, each by name as read without accents
    more: int  # entries left out past MAX_ENTRIES
    error: str  # the OS's reason the folder cannot be read ('' when it could)


def listing(folder: Path, *, suffixes: frozenset[str]) -> Listing:
    """The folders in ``folder``, and the files whose suffix is one of ``suffixes`` (none:
    folders only, to choose where to export)."""
    entries: list[Entry] = []
    more = 0
    try:
        with os.scandir(folder) as it:
            for item in it:
                if item.name.startswith("."):
                    continue
                try:
                    is_dir = item.is_dir()
                    if not is_dir and not item.is_file():
                        continue
                    if not is_dir and Path(item.name).suffix.lower() not in suffixes:
                        continue
                    size = 0 if is_dir else item.stat().st_size
                except OSError:
                    continue
                if len(entries) >= MAX_ENTRIES:
                    more += 1
                    continue
                entries.append(Entry(Path(item.path), is_dir, size))
    except OSError as exc:
        return Listing([], 0, exc.strerror or type(exc).__name__)
    entries.sort(key=lambda e: (not e.is_dir, fold(e.path.name), e.path.name))
    return Listing(entries, more, "")
