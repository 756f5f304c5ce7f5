"""What a PDF's signatures are worth: pure data, its stable JSON form, nothing else.

A verdict is computed once (hub at blob completion, box when it stores a download), kept in the
local DB and sent to the hub, so its JSON form is versioned (``"v": 1``) and decoded with
limits like any other untrusted input. Plain-words rendering lives in :mod:`.wording`.

Statuses, per signature, from best to worst:

* ``valid_trusted`` — intact, cryptographically valid, chains to a configured trust root,
  certificate neither revoked nor expired at signing time;
* ``valid_untrusted_root`` — intact and valid, but the chain ends at a root we do not trust;
* ``cert_invalid`` — intact and valid, chain known, but the certificate is revoked, expired or
  not allowed to sign (``revocation`` says which when it is revocation);
* ``modified_after_signing`` — the signed revision is intact, but later revisions change the
  document in ways a signature does not allow (``later_changes == "disallowed"``);
* ``broken`` — the signed bytes do not match the signature (changed after signing) or the
  signature value is wrong;
* ``unreadable`` — the signature dictionary or its CMS cannot be parsed.

``later_changes`` is ``none`` (the signature covers the whole file), ``allowed`` (later
revisions only add signatures, timestamps, form fill or annotations permitted by DocMDP) or
``disallowed``. A valid signature with allowed later changes stays ``valid_*``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from gateway.errors import GatewayError

__all__ = [
    "MAX_SIGNATURES", "VERDICT_VERSION", "LaterChanges", "NotChecked", "PdfState", "PdfVerdict",
    "Revocation", "RevocationState", "SigStatus", "SignatureVerdict", "VerdictDecodeError",
]

VERDICT_VERSION = 1
MAX_SIGNATURES = 32  # more than any real document carries; the rest are not reported
MAX_TEXT = 256  # characters kept of any name or note taken from a certificate
MAX_JSON = 256 * 1024
E = TypeVar("E", bound=StrEnum)


class SigStatus(StrEnum):
    VALID_TRUSTED = "valid_trusted"
    VALID_UNTRUSTED_ROOT = "valid_untrusted_root"
    CERT_INVALID = "cert_invalid"
    MODIFIED_AFTER_SIGNING = "modified_after_signing"
    BROKEN = "broken"
    UNREADABLE = "unreadable"


class LaterChanges(StrEnum):
    NONE = "none"
    ALLOWED = "allowed"
    DISALLOWED = "disallowed"


class RevocationState(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    NOT_CHECKED = "not_checked"


class NotChecked(StrEnum):
    """Why revocation was not checked."""

    OFFLINE = "offline"  # no CRL for the issuer was supplied and fetching is not allowed
    NO_CRL = "no_crl"  # fetching was allowed but no usable CRL/OCSP answer was found
    CHAIN_UNTRUSTED = "chain_untrusted"  # no trusted chain, so no revocation source to trust
    ERROR = "error"  # a CRL was there but could not be used (expired, bad signature)


class PdfState(StrEnum):
    UNSIGNED = "unsigned"
    SIGNED = "signed"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Revocation:
    state: RevocationState
    why_not: NotChecked | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class SignatureVerdict:
    field: str
    status: SigStatus
    later_changes: LaterChanges = LaterChanges.NONE
    signer: str = ""  # certificate subject common name
    organisation: str = ""  # certificate subject O
    claimed_time: datetime | None = None  # the signer's own clock (signingTime)
    proven_time: datetime | None = None  # from an intact RFC 3161 timestamp token
    timestamp_trusted: bool = False  # the TSA chains to a configured root
    serial: str = ""  # certificate serial, lower-case hex
    revocation: Revocation = Revocation(RevocationState.NOT_CHECKED, NotChecked.CHAIN_UNTRUSTED)
    detail: str = ""  # short technical note in English for the IT team


@dataclass(frozen=True)
class PdfVerdict:
    state: PdfState
    signatures: tuple[SignatureVerdict, ...] = ()
    reason: str = ""  # for UNREADABLE: a stable code (timeout, memory, parse, too_large, crashed)
    detail: str = ""
    version: int = field(default=VERDICT_VERSION)

    @property
    def has_valid_trusted(self) -> bool:
        """Counts for the province's "share digitally signed" figure."""
        return any(s.status is SigStatus.VALID_TRUSTED for s in self.signatures)

    @property
    def all_valid_trusted(self) -> bool:
        return self.state is PdfState.SIGNED and all(
            s.status is SigStatus.VALID_TRUSTED for s in self.signatures)

    def to_json(self) -> str:
        return json.dumps(to_data(self), ensure_ascii=False, separators=(",", ":"),
                          sort_keys=True)

    @staticmethod
    def from_json(text: str | bytes) -> PdfVerdict:
        return from_data(_loads(text))


def unreadable(reason: str, detail: str = "") -> PdfVerdict:
    return PdfVerdict(PdfState.UNREADABLE, reason=reason, detail=clip(detail))


def clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class VerdictDecodeError(GatewayError):
    """Stored or received verdict JSON that is not a verdict this code understands."""


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def to_data(v: PdfVerdict) -> dict[str, object]:
    return {
        "v": v.version, "state": v.state.value, "reason": v.reason, "detail": v.detail,
        "signatures": [{
            "field": s.field, "status": s.status.value, "later_changes": s.later_changes.value,
            "signer": s.signer, "organisation": s.organisation,
            "claimed_time": _time(s.claimed_time), "proven_time": _time(s.proven_time),
            "timestamp_trusted": s.timestamp_trusted, "serial": s.serial,
            "revocation": {"state": s.revocation.state.value,
                           "why_not": None if s.revocation.why_not is None
                           else s.revocation.why_not.value,
                           "revoked_at": _time(s.revocation.revoked_at)},
            "detail": s.detail,
        } for s in v.signatures],
    }


def _loads(text: str | bytes) -> dict[str, object]:
    if len(text) > MAX_JSON:
        raise VerdictDecodeError(f"verdict JSON longer than {MAX_JSON} bytes")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise VerdictDecodeError(f"not JSON: {e}") from None
    if not isinstance(data, dict):
        raise VerdictDecodeError("verdict JSON is not an object")
    return data


def _str(d: dict[str, object], key: str, limit: int = MAX_TEXT) -> str:
    value = d.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise VerdictDecodeError(f"{key}: not a string of at most {limit} characters")
    return value


def _opt_time(d: dict[str, object], key: str) -> datetime | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise VerdictDecodeError(f"{key}: not a time")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise VerdictDecodeError(f"{key}: not an ISO time") from None
    if t.tzinfo is None:
        raise VerdictDecodeError(f"{key}: time without a zone")
    return t


def _enum(kind: type[E], value: object, key: str) -> E:
    try:
        if not isinstance(value, str):
            raise ValueError
        return kind(value)
    except ValueError:
        raise VerdictDecodeError(f"{key}: unknown value {str(value)[:40]!r}") from None


def _sig(d: object) -> SignatureVerdict:
    if not isinstance(d, dict):
        raise VerdictDecodeError("signature is not an object")
    rev = d.get("revocation", {})
    if not isinstance(rev, dict):
        raise VerdictDecodeError("revocation is not an object")
    why = rev.get("why_not")
    ts = d.get("timestamp_trusted", False)
    if not isinstance(ts, bool):
        raise VerdictDecodeError("timestamp_trusted: not a boolean")
    return SignatureVerdict(
        field=_str(d, "field"), status=_enum(SigStatus, d.get("status"), "status"),
        later_changes=_enum(LaterChanges, d.get("later_changes", "none"), "later_changes"),
        signer=_str(d, "signer"), organisation=_str(d, "organisation"),
        claimed_time=_opt_time(d, "claimed_time"), proven_time=_opt_time(d, "proven_time"),
        timestamp_trusted=ts, serial=_str(d, "serial", 80),
        revocation=Revocation(
            _enum(RevocationState, rev.get("state"), "revocation.state"),
            None if why is None else _enum(NotChecked, why, "revocation.why_not"),
            _opt_time(rev, "revoked_at")),
        detail=_str(d, "detail"))


def from_data(d: dict[str, object]) -> PdfVerdict:
    """Decode the JSON form; unknown keys are ignored (a newer writer may add some), an unknown
    major version, status or oversize value is refused."""
    version = d.get("v")
    if version != VERDICT_VERSION:
        raise VerdictDecodeError(f"unsupported verdict version {str(version)[:20]!r}")
    sigs = d.get("signatures", [])
    if not isinstance(sigs, list) or len(sigs) > MAX_SIGNATURES:
        raise VerdictDecodeError(f"signatures: not a list of at most {MAX_SIGNATURES}")
    state = _enum(PdfState, d.get("state"), "state")
    if (state is PdfState.SIGNED) != bool(sigs):
        raise VerdictDecodeError("state and signatures disagree")
    return PdfVerdict(state, tuple(_sig(s) for s in sigs), reason=_str(d, "reason", 40),
                      detail=_str(d, "detail"))
