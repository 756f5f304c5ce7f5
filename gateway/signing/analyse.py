"""Read a PDF's signatures with pyhanko and turn pyhanko's findings into a :class:`PdfVerdict`.

This module parses untrusted bytes, so it is meant to run inside the sandboxed worker
(:mod:`.worker`), never in the daemon or hub process: call :func:`gateway.signing.verify_pdf`.
Each signature is validated against a fresh ``ValidationContext`` (so soft-fail revocation
problems are attributable to it) built from the configured roots and CRLs only: no operating
system trust store, no network unless the trust config allows fetching.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from asn1crypto import crl as asn1_crl  # type: ignore[import-untyped]
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)

from gateway.signing.verdict import (
    MAX_SIGNATURES,
    LaterChanges,
    NotChecked,
    PdfState,
    PdfVerdict,
    Revocation,
    RevocationState,
    SignatureVerdict,
    SigStatus,
    clip,
)

__all__ = ["ParsedTrust", "TrustMaterialError", "analyse_pdf", "parse_trust"]

# A signer certificate must allow signing; either bit is accepted (issuers differ).
_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"},
                                 match_all_key_usages=False)
_ALLOWED_LATER = {ModificationLevel.NONE, ModificationLevel.LTA_UPDATES,
                  ModificationLevel.FORM_FILLING, ModificationLevel.ANNOTATIONS}
_NO_CHAIN = {AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND,
             AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE}


class TrustMaterialError(Exception):
    """The configured roots or CRLs cannot be parsed (a configuration problem, not a PDF's)."""


@dataclass(frozen=True)
class ParsedTrust:
    roots: tuple[asn1_x509.Certificate, ...]
    crls: tuple[asn1_crl.CertificateList, ...]
    allow_fetching: bool


def _der_blocks(data: bytes) -> list[bytes]:
    if not data.strip():
        return []  # no bundle configured: nothing is trusted
    if pem.detect(data):
        return [der for _, _, der in pem.unarmor(data, multiple=True)]
    return [data]


def parse_trust(roots_pem: bytes, crls: Sequence[bytes], allow_fetching: bool) -> ParsedTrust:
    try:
        roots = tuple(asn1_x509.Certificate.load(der) for der in _der_blocks(roots_pem))
        for root in roots:
            _ = root.subject.native  # force parsing now, not during a verdict
        lists = tuple(asn1_crl.CertificateList.load(der)
                      for blob in crls for der in _der_blocks(blob))
        for cl in lists:
            _ = cl.issuer.native
    except (ValueError, TypeError, KeyError) as e:
        raise TrustMaterialError(str(e)[:200]) from None
    return ParsedTrust(roots, lists, allow_fetching)


def analyse_pdf(stream: BinaryIO, trust: ParsedTrust,
                moment: datetime | None = None) -> PdfVerdict:
    """Every signature of the PDF in ``stream``; raises on a file pyhanko cannot read."""
    reader = PdfFileReader(stream, strict=False)
    embedded = reader.embedded_regular_signatures
    if not embedded:
        return PdfVerdict(PdfState.UNSIGNED)
    verdicts = tuple(asyncio.run(_one(sig, trust, moment))
                     for sig in embedded[:MAX_SIGNATURES])
    more = len(embedded) - MAX_SIGNATURES
    return PdfVerdict(PdfState.SIGNED, verdicts,
                      detail=f"{more} more signatures not checked" if more > 0 else "")


_SOFT = RevocationCheckingRule.CHECK_IF_DECLARED_SOFT
_CRL = RevocationCheckingRule.CRL_REQUIRED


def _context(trust: ParsedTrust, moment: datetime | None, *,
             crl_required: bool = False) -> ValidationContext:
    """Soft-fail revocation checks, except that a CRL we hold for the signer's issuer must be
    applied: pyhanko's soft mode ignores held CRLs when the certificate names no
    distribution point, which would let a revoked certificate through."""
    policy = RevocationCheckingPolicy(_CRL if crl_required else _SOFT, _SOFT)
    return ValidationContext(trust_roots=list(trust.roots), crls=list(trust.crls),
                             allow_fetching=trust.allow_fetching,
                             revinfo_policy=CertRevTrustPolicy(policy), moment=moment)


def _holds_crl_for(trust: ParsedTrust, sig: EmbeddedPdfSignature) -> bool:
    try:
        issuer = sig.signer_cert.issuer
    except Exception:  # no signer certificate: validation below reports it
        return False
    return any(cl.issuer == issuer for cl in trust.crls)


async def _validate(sig: EmbeddedPdfSignature, vc: ValidationContext, trust: ParsedTrust,
                    moment: datetime | None) -> PdfSignatureStatus:
    return await async_validate_pdf_signature(
        sig, vc, ts_validation_context=_context(trust, moment), key_usage_settings=_KEY_USAGE)


async def _one(sig: EmbeddedPdfSignature, trust: ParsedTrust,
               moment: datetime | None) -> SignatureVerdict:
    name = clip(str(sig.field_name or ""))
    held = _holds_crl_for(trust, sig)
    vc = _context(trust, moment, crl_required=held)
    try:
        status = await _validate(sig, vc, trust, moment)
        crl_unusable = False
        if held and not status.trusted and status.revocation_details is None:
            # the held CRL could not be applied (expired, wrong signer): judge the rest
            # without it and say revocation was not checked
            vc = _context(trust, moment)
            status = await _validate(sig, vc, trust, moment)
            crl_unusable = True
    except Exception as e:  # pyhanko raises many kinds for malformed CMS; all mean the same
        return SignatureVerdict(name, SigStatus.UNREADABLE,
                                detail=clip(f"{type(e).__name__}: {e}"))
    return _verdict(name, status, _revocation(status, vc, trust, held, crl_unusable))


def _later(status: PdfSignatureStatus) -> LaterChanges:
    if status.coverage is SignatureCoverageLevel.ENTIRE_FILE:
        return LaterChanges.NONE
    if (status.coverage is SignatureCoverageLevel.ENTIRE_REVISION
            and status.modification_level in _ALLOWED_LATER and status.docmdp_ok is not False):
        return LaterChanges.ALLOWED
    return LaterChanges.DISALLOWED


def _status(status: PdfSignatureStatus, later: LaterChanges) -> SigStatus:
    if not (status.intact and status.valid):
        return SigStatus.BROKEN
    if later is LaterChanges.DISALLOWED:
        return SigStatus.MODIFIED_AFTER_SIGNING
    if status.trusted:
        return SigStatus.VALID_TRUSTED
    if status.validation_path is None or status.trust_problem_indic in _NO_CHAIN:
        return SigStatus.VALID_UNTRUSTED_ROOT
    return SigStatus.CERT_INVALID


def _declares_revinfo(cert: asn1_x509.Certificate) -> bool:
    return bool(cert.crl_distribution_points or cert.ocsp_urls)


def _revocation(status: PdfSignatureStatus, vc: ValidationContext, trust: ParsedTrust,
                held: bool, crl_unusable: bool) -> Revocation:
    """Checked only when a CRL was really applied: a held CRL under the strict rule, or one
    fetched (hub only) for a certificate that names where its revocation data lives."""
    details = status.revocation_details
    if details is not None:
        return Revocation(RevocationState.REVOKED, revoked_at=details.revocation_date)
    if status.validation_path is None or status.trust_problem_indic in _NO_CHAIN:
        return Revocation(RevocationState.NOT_CHECKED, NotChecked.CHAIN_UNTRUSTED)
    if crl_unusable or vc.soft_fail_exceptions:
        return Revocation(RevocationState.NOT_CHECKED, NotChecked.ERROR if held
                          else NotChecked.NO_CRL if trust.allow_fetching else NotChecked.OFFLINE)
    if held or (trust.allow_fetching and _declares_revinfo(status.signing_cert)):
        return Revocation(RevocationState.GOOD)
    return Revocation(RevocationState.NOT_CHECKED,
                      NotChecked.NO_CRL if trust.allow_fetching else NotChecked.OFFLINE)


def _subject(cert: asn1_x509.Certificate, key: str) -> str:
    value = cert.subject.native.get(key, "")
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return clip(str(value))


def _verdict(name: str, status: PdfSignatureStatus, revocation: Revocation) -> SignatureVerdict:
    later = _later(status)
    ts = status.timestamp_validity
    proven = ts.timestamp if ts is not None and ts.intact and ts.valid else None
    cert = status.signing_cert
    indic = status.trust_problem_indic
    notes = [] if indic is None else [f"trust: {indic.standard_name}"]
    if status.modification_level is not None and later is not LaterChanges.NONE:
        notes.append(f"later changes: {status.modification_level.name}")
    return SignatureVerdict(
        field=name, status=_status(status, later), later_changes=later,
        signer=_subject(cert, "common_name"), organisation=_subject(cert, "organization_name"),
        claimed_time=status.signer_reported_dt, proven_time=proven,
        timestamp_trusted=bool(proven is not None and ts is not None and ts.trusted),
        serial=format(cert.serial_number, "x"), revocation=revocation,
        detail=clip("; ".join(notes)))
