"""Apply the agency's PAdES signature to a PDF at issue, as an incremental update.

The signer's earlier signature stays valid because nothing already in the file is rewritten:
pyhanko appends a new revision holding the new signature field, its stamp and the CMS. PAdES
B-B by default; B-T (a trusted RFC 3161 timestamp over the signature) when a timestamp
authority URL is configured. A document certified "no changes allowed" is refused rather
than signed into a document whose first signature then reports a forbidden change.

The PDF here is the clerk's own file, parsed in-process; verification of other people's PDFs
goes through the sandbox in :mod:`.verify`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.timestamps.aiohttp_client import AIOHttpTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.pdf_embedded import read_certification_data

from gateway.signing.errors import SignFailed, sign_problem
from gateway.signing.stamp import IssueInfo, StampConfig, stamp_box
from gateway.signing.stamp_font import stamp_style

__all__ = ["MAX_SIGN_INPUT", "SignResult", "sign_pdf", "sign_pdf_async"]

MAX_SIGN_INPUT = 256 * 1024 * 1024
A4 = (0.0, 0.0, 595.0, 842.0)


@dataclass(frozen=True)
class SignResult:
    output: Path
    field: str
    level: str  # "B-B" or "B-T"
    size: int


def _read_input(source: Path | bytes) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        try:
            with source.open("rb") as f:
                data = f.read(MAX_SIGN_INPUT + 1)
        except OSError as e:
            raise SignFailed(sign_problem(f"{source}: {e.strerror or e}")) from None
    if len(data) > MAX_SIGN_INPUT:
        raise SignFailed(sign_problem("file larger than 256 MiB"))
    return data


def _field_name(writer: IncrementalPdfFileWriter) -> str:
    taken = {name for name, _, _ in enumerate_sig_fields(writer)}
    n = 1
    while f"CoQuanBanHanh{n}" in taken:
        n += 1
    return f"CoQuanBanHanh{n}"


def _media_box(writer: IncrementalPdfFileWriter, page_ix: int) -> tuple[float, float, float, float]:
    page_ref, _ = writer.find_page_for_modification(page_ix)  # type: ignore[no-untyped-call]
    node: generic.PdfObject | None = page_ref.get_object()
    while isinstance(node, generic.DictionaryObject):
        box = node.get("/MediaBox")
        if isinstance(box, generic.ArrayObject) and len(box) == 4:
            x1, y1, x2, y2 = (float(v) for v in box)
            return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return A4


def _page_count(writer: IncrementalPdfFileWriter) -> int:
    count = writer.root["/Pages"].get("/Count", 0)
    return int(count) if isinstance(count, generic.NumberObject) else 0


async def sign_pdf_async(source: Path | bytes, output: Path, signer: Signer,
                         stamp: StampConfig, issue: IssueInfo, *, tsa_url: str | None = None,
                         tsa_timeout_s: float = 20.0) -> SignResult:
    """Sign ``source`` into ``output`` (written to a temp file, fsynced, renamed)."""
    data = _read_input(source)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        cert = read_certification_data(writer.prev)
        if cert is not None and cert.permission is MDPPerm.NO_CHANGES:
            raise SignFailed(sign_problem("the document is certified to allow no changes"))
        if not 1 <= stamp.page <= _page_count(writer):
            raise SignFailed(sign_problem(f"the document has no page {stamp.page}"))
        field = _field_name(writer)
        page_ix = stamp.page - 1
        box = stamp_box(stamp, _media_box(writer, page_ix)) if stamp.visible else None
    except (PdfError, KeyError, TypeError, ValueError) as e:
        raise SignFailed(sign_problem(f"not a readable PDF ({type(e).__name__}: {e})")) from None
    meta = PdfSignatureMetadata(field_name=field, md_algorithm="sha256",
                                subfilter=SigSeedSubFilter.PADES, location=issue.agency_name,
                                reason=f"Ban hành văn bản {issue.notation}")
    spec = SigFieldSpec(sig_field_name=field, on_page=page_ix, box=box)
    async with contextlib.AsyncExitStack() as stack:
        timestamper = None
        if tsa_url:
            session = await stack.enter_async_context(aiohttp.ClientSession())
            timestamper = AIOHttpTimeStamper(tsa_url, session, timeout=int(tsa_timeout_s))
        pdf_signer = PdfSigner(meta, signer, timestamper=timestamper,
                               stamp_style=stamp_style(stamp, issue) if box else None,
                               new_field_spec=spec)
        buf = io.BytesIO()
        try:
            await pdf_signer.async_sign_pdf(writer, output=buf)
        except (TimestampRequestError, aiohttp.ClientError, TimeoutError) as e:
            raise SignFailed(sign_problem(f"timestamp authority {tsa_url}: {e}")) from None
        except (PdfError, ValueError) as e:
            raise SignFailed(sign_problem(f"{type(e).__name__}: {e}")) from None
    signed = buf.getvalue()
    _write_atomic(output, signed)
    return SignResult(output, field, "B-T" if tsa_url else "B-B", len(signed))


def sign_pdf(source: Path | bytes, output: Path, signer: Signer, stamp: StampConfig,
             issue: IssueInfo, *, tsa_url: str | None = None) -> SignResult:
    """:func:`sign_pdf_async` for callers without an event loop (CLI, bench)."""
    return asyncio.run(sign_pdf_async(source, output, signer, stamp, issue, tsa_url=tsa_url))


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".signing-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
