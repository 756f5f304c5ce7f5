"""Trust roots and revocation lists: configuration, never code.

The province decides which authorities it trusts (the Government Cipher Committee's root,
commercial CAs) and hands the bundle to the boxes in the sync config; the hub may also hand out
CRLs it holds. This module only reads those files with size limits; parsing happens in the
sandboxed worker, so a damaged bundle cannot hurt the daemon.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.protocol.limits import MAX_TRUST_BUNDLE
from gateway.signing.errors import SigningConfigError, config_problem

__all__ = ["MAX_CRLS", "MAX_CRL_BYTES", "MAX_ROOTS_BYTES", "TrustConfig"]

MAX_ROOTS_BYTES = MAX_TRUST_BUNDLE  # the hub hands the bundle to boxes in the sync reply
MAX_CRL_BYTES = 32 * 1024 * 1024
MAX_CRLS = 64


@dataclass(frozen=True)
class TrustConfig:
    """``roots_pem``: a PEM bundle of trusted roots (may be empty: nothing is trusted);
    ``crls``: DER or PEM CRLs; ``allow_fetching``: may the verifier fetch CRLs/OCSP over the
    network (never on a box; the hub may allow it)."""

    roots_pem: bytes = b""
    crls: tuple[bytes, ...] = ()
    allow_fetching: bool = False

    def __post_init__(self) -> None:
        if len(self.roots_pem) > MAX_ROOTS_BYTES:
            raise SigningConfigError(config_problem("trust.roots", "bundle larger than 4 MiB"))
        if len(self.crls) > MAX_CRLS or any(len(c) > MAX_CRL_BYTES for c in self.crls):
            raise SigningConfigError(config_problem(
                "trust.crls", f"at most {MAX_CRLS} lists of at most 32 MiB each"))

    @property
    def digest(self) -> str:
        """Identifies the material, so a worker parses each version once."""
        h = hashlib.sha256(self.roots_pem)
        for c in self.crls:
            h.update(hashlib.sha256(c).digest())
        h.update(b"fetch" if self.allow_fetching else b"offline")
        return h.hexdigest()

    @classmethod
    def from_files(cls, roots: Path | None, crls: Sequence[Path] = (),
                   allow_fetching: bool = False) -> TrustConfig:
        return cls(b"" if roots is None else _read(roots, MAX_ROOTS_BYTES, "trust.roots"),
                   tuple(_read(p, MAX_CRL_BYTES, "trust.crls") for p in crls[: MAX_CRLS + 1]),
                   allow_fetching)


def _read(path: Path, limit: int, key: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise SigningConfigError(config_problem(key, f"{path}: {e.strerror or e}")) from None
    if len(data) > limit:
        raise SigningConfigError(config_problem(key, f"{path} is larger than {limit} bytes"))
    return data
