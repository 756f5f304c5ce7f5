"""Signature verdicts of a document's PDF attachments: read them, or check them again now.

The daemon checks every stored PDF on its own (:mod:`gateway.sync.signatures`); ``gateway
verify`` and the document views come here. The ``signing`` config section is parsed where it
is used, so a wrong one refuses signing and verifying in one bilingual line but never hides the
documents already on the box.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.model import Attachment, Refused
from gateway.services.box import opened, wall_ms
from gateway.signing.config import SigningConfig
from gateway.signing.errors import SigningError
from gateway.signing.verdict import PdfVerdict, VerdictDecodeError
from gateway.signing.verify import default_verifier
from gateway.store import verdicts
from gateway.store.layout import GatewayConfig
from gateway.store.local import Doc, LocalStore
from gateway.sync.signatures import box_trust, check_blobs


@dataclass(frozen=True)
class AttachmentVerdict:
    """One attachment and its verdict: ``None`` for a PDF not checked yet (and for anything
    that is not a PDF, which is never checked)."""

    attachment: Attachment
    verdict: PdfVerdict | None

    @property
    def trusted(self) -> bool:
        return self.verdict is not None and self.verdict.all_valid_trusted


def refused(exc: SigningError) -> Refused:
    return Refused(exc.problem)


def signing_config(config: GatewayConfig) -> SigningConfig:
    """The box's ``signing`` section; a wrong one is a one-line bilingual refusal."""
    try:
        return SigningConfig.from_json(config.signing)
    except SigningError as exc:
        raise refused(exc) from None


def _decode(text: str | None) -> PdfVerdict | None:
    if text is None:
        return None
    try:
        return PdfVerdict.from_json(text)
    except VerdictDecodeError:
        return None  # written by a newer version: shown as not checked, checked again later


async def document_verdicts(store: LocalStore, doc: Doc) -> list[AttachmentVerdict]:
    """Every attachment of ``doc`` with its stored verdict."""
    stored = await verdicts.of_document(store, doc.envelope.id)
    return [AttachmentVerdict(a, _decode(stored.get(a.sha256)) if a.is_pdf else None)
            for a in doc.envelope.attachments]


async def stored(data: str, doc_id: str) -> list[AttachmentVerdict]:
    """The verdicts kept for a document, without checking anything."""
    async with opened(data) as box:
        return await document_verdicts(box.store, await box.store.document(doc_id))


async def verify(data: str, doc_id: str) -> list[AttachmentVerdict]:
    """Checks the document's stored PDFs again with the trust roots and CRLs configured now,
    at the hub-corrected time; keeps and returns the verdicts."""
    async with opened(data) as box:
        cfg = signing_config(box.config)
        doc = await box.store.document(doc_id)
        try:
            trust = box_trust(cfg)
            now = wall_ms() + await box.store.hub_skew_ms()
            pdfs = [a.sha256 for a in doc.envelope.attachments if a.is_pdf]
            await check_blobs(box.store, dict.fromkeys(pdfs), trust,
                              default_verifier(cfg.limits), now)
        except SigningError as exc:
            raise refused(exc) from None
        return await document_verdicts(box.store, doc)
