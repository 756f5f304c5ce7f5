"""The text of a PDF attachment, for reading it on the box's screen without exporting it.

Poppler's ``pdftotext`` does the parsing in another process, so a hostile PDF can cost at most
:data:`TIMEOUT_S` seconds, :data:`MAX_MEMORY` of address space, the first :data:`MAX_PAGES`
pages and :data:`MAX_TEXT` bytes of output; then it is killed and the clerk gets what was read,
marked as cut short. A PDF without a text layer (a scan) and a file that is no PDF are told
apart, so the screen can say which in plain words.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 10.0
MAX_TEXT = 2 * 1024 * 1024  # bytes of text kept
MAX_PAGES = 300
MAX_MEMORY = 512 * 1024 * 1024  # address space of the pdftotext process (the box has 1 GB)
HEAD = 1024  # a PDF's "%PDF-" must start within its first kilobyte


class Outcome(enum.Enum):
    TEXT = "text"
    SCAN = "scan"  # a PDF with no text to show: pages that are pictures
    NOT_PDF = "not_pdf"
    NO_TOOL = "no_tool"  # pdftotext is not installed
    FAILED = "failed"  # pdftotext could not read it (damaged, or over a limit with no text)


@dataclass(frozen=True)
class PdfText:
    outcome: Outcome
    pages: tuple[str, ...] = ()
    cut: bool = False  # over a limit: only the first pages or bytes are here


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MAX_MEMORY, MAX_MEMORY))
    cpu = int(TIMEOUT_S) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))


async def pdf_text(path: Path, *, tool: str = "pdftotext", timeout_s: float = TIMEOUT_S,
                   max_text: int = MAX_TEXT) -> PdfText:
    """The pages' text of the PDF at ``path`` (a blob of the store: read, never changed);
    the limits are parameters so tests can make them small."""
    with path.open("rb") as f:
        if b"%PDF-" not in f.read(HEAD):
            return PdfText(Outcome.NOT_PDF)
    exe = shutil.which(tool)
    if exe is None:
        return PdfText(Outcome.NO_TOOL)
    proc = await asyncio.create_subprocess_exec(
        exe, "-q", "-layout", "-enc", "UTF-8", "-l", str(MAX_PAGES), str(path), "-",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, preexec_fn=_limits)
    assert proc.stdout is not None
    out = bytearray()
    cut = False
    try:
        async with asyncio.timeout(timeout_s):
            while chunk := await proc.stdout.read(65536):
                out += chunk
                if len(out) > max_text:
                    cut = True
                    break
            if not cut:
                await proc.wait()
    except TimeoutError:
        cut = True
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    text = bytes(out[:max_text]).decode("utf-8", errors="replace")
    pages = [p.rstrip() for p in text.split("\f")]  # pdftotext ends every page with \f
    if len(pages) > 1 and not pages[-1].strip():
        pages.pop()
    if any(p.strip() for p in pages):
        cut = cut or proc.returncode != 0 or len(pages) >= MAX_PAGES
        return PdfText(Outcome.TEXT, tuple(pages), cut)
    if cut or proc.returncode != 0:
        return PdfText(Outcome.FAILED, cut=cut)
    return PdfText(Outcome.SCAN)
