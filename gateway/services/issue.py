"""Issuing: the agency's PAdES signature on each PDF a clerk sends, before it is queued.

The key is opened once per document (a token session, a PIN asked once) and every PDF is
signed into a temp file under the blob store's ``tmp`` (swept after a crash), read back and
stored as the attachment, so the envelope's digest and size describe the signed bytes. The
stamp names the agency (from the directory) and the document's number/notation, at the
hub-corrected time printed in UTC+7. Any failure is the signing package's bilingual refusal
and nothing is queued. The signed PDFs are then checked like any other, so the sender's own
view shows the same verdict the recipients will see.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.model import Directory, Envelope
from gateway.services.signatures import refused
from gateway.signing.config import SigningConfig
from gateway.signing.errors import SigningError
from gateway.signing.keys import PinPrompt, open_signer
from gateway.signing.stamp import IssueInfo
from gateway.signing.verify import default_verifier
from gateway.store.local import LocalStore
from gateway.sync.signatures import box_trust, check_blobs

log = logging.getLogger("gateway.signing")
SignOne = Callable[[bytes], bytes]


class Issuer:
    def __init__(self, store: LocalStore, config: SigningConfig, now_ms: int,
                 pin_prompt: PinPrompt | None = None) -> None:
        if config.key is None:
            raise ValueError("an Issuer needs a configured key")
        self.store = store
        self.config = config
        self.now_ms = now_ms  # hub-corrected
        self.pin_prompt = pin_prompt

    def open(self, stack: contextlib.ExitStack, directory: Directory,
             env: Envelope) -> SignOne:
        """Opens the key for the ``with`` block of ``stack``; returns the signing function.
        Blocking (pyhanko, a token): call it from a worker thread."""
        from gateway.signing.sign import sign_pdf  # pyhanko only for boxes that sign

        assert self.config.key is not None
        agency = directory.get(env.sender)
        issue = IssueInfo(agency.name if agency else env.sender, env.code,
                          datetime.fromtimestamp(self.now_ms / 1000, UTC))
        try:
            signer = stack.enter_context(open_signer(self.config.key,
                                                     pin_prompt=self.pin_prompt))
        except SigningError as exc:
            raise refused(exc) from None

        def sign(data: bytes) -> bytes:
            out = self.store.blobs.tmp / f"{os.getpid()}-signed-{secrets.token_hex(8)}.pdf"
            try:
                sign_pdf(data, out, signer, self.config.stamp, issue,
                         tsa_url=self.config.tsa_url)
                return out.read_bytes()
            except SigningError as exc:
                raise refused(exc) from None
            finally:
                out.unlink(missing_ok=True)

        return sign

    async def record_verdicts(self, env: Envelope) -> None:
        """Checks the signed PDFs now; a trust bundle that cannot be read only leaves them
        unchecked (the daemon tries again), it never stops the document."""
        pdfs = dict.fromkeys(a.sha256 for a in env.attachments if a.is_pdf)
        try:
            await check_blobs(self.store, pdfs, box_trust(self.config),
                              default_verifier(self.config.limits), self.now_ms)
        except SigningError as exc:
            log.warning("signed PDFs not checked: %s", exc)



