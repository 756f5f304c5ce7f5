"""The zip wrapping: a payload typed ``application/zip`` holds the real file.

Read with bounds (member count, uncompressed size read in blocks, never trusting the header's
declared size), so a zip bomb is refused without being inflated.
"""

from __future__ import annotations

import io
import zipfile

from gateway.edxml.errors import refuse, too_big
from gateway.edxml.limits import DEFAULT_LIMITS, ParseLimits

ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})


def is_wrapped(content_type: str | None, name: str | None) -> bool:
    """A zip payload is a wrapping unless the file itself is named ``*.zip``."""
    return (content_type or "").strip().lower() in ZIP_TYPES and not (
        (name or "").lower().endswith(".zip"))


def unwrap(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> bytes:
    """The single file inside a wrapping zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
        if not members or len(members) > limits.max_zip_members:
            raise refuse("zip.members", "Tệp nén đính kèm phải chứa đúng một tệp.",
                         "A zipped attachment must hold exactly one file.")
        out = bytearray()
        with archive.open(members[0]) as fh:
            while block := fh.read(1 << 20):
                out += block
                if len(out) > limits.max_unzipped_bytes:
                    raise too_big("tệp giải nén", "unzipped file", limits.max_unzipped_bytes)
        return bytes(out)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
            OSError) as exc:
        raise refuse("zip.bad", f"Tệp nén đính kèm bị hỏng ({str(exc)[:80]}).",
                     f"A zipped attachment is damaged ({str(exc)[:80]}).") from None
