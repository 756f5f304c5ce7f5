"""PAdES signatures: verify other people's PDFs safely, sign the agency's own on issue.

Public API (re-exported here):

* :mod:`.verdict` — :class:`PdfVerdict`/:class:`SignatureVerdict`, their versioned JSON form;
* :mod:`.wording` — the verdict in plain Vietnamese/English words;
* :mod:`.verify` — :func:`verify_pdf` (sandboxed worker, time and memory bounds);
* :mod:`.trust` — :class:`TrustConfig` (roots and CRLs are configuration);
* :mod:`.sign`, :mod:`.keys`, :mod:`.stamp` — :func:`sign_pdf` with a PKCS#12 or PKCS#11 key
  and a visible Vietnamese stamp; :mod:`.config` — the box's ``signing`` config section.

Importing this package does not import pyhanko: verifying only needs the worker, and the
daemon should not carry pyhanko's memory unless it signs.
"""

from gateway.signing.trust import TrustConfig
from gateway.signing.verdict import (
    PdfState,
    PdfVerdict,
    SignatureVerdict,
    SigStatus,
)
from gateway.signing.verify import Verifier, VerifyLimits, verify_pdf, verify_pdf_async

__all__ = [
    "PdfState", "PdfVerdict", "SigStatus", "SignatureVerdict", "TrustConfig", "Verifier",
    "VerifyLimits", "verify_pdf", "verify_pdf_async",
]
