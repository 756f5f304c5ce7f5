"""The ``signing`` section of the box's ``config.json`` (documented in docs/signing.md).

Every key is optional; a box without a ``key`` verifies but does not sign. Unknown keys are
refused, so a misspelt ``pasword_file`` is a clear error instead of a silently unsigned
document. Secrets are never values here: only where to find them (a file, an environment
variable) or, for a token PIN, a prompt at signing time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gateway.signing.errors import SigningConfigError, config_problem
from gateway.signing.keys import KeySource, Pkcs11Key, Pkcs12Key
from gateway.signing.stamp import DEFAULT_FONT, Position, StampConfig
from gateway.signing.trust import TrustConfig
from gateway.signing.verify import VerifyLimits

__all__ = ["KEYS", "SigningConfig"]

MiB = 1024 * 1024
# The documented keys, per object (docs/signing.md is checked against this by a test).
KEYS: dict[str, frozenset[str]] = {
    "signing": frozenset({"key", "tsa_url", "stamp", "trust", "verify"}),
    "key.pkcs12": frozenset({"type", "path", "password_file", "password_env"}),
    "key.pkcs11": frozenset({"type", "module", "token_label", "slot", "key_label", "cert_label",
                             "pin_file"}),
    "stamp": frozenset({"font", "position", "page", "width", "height", "margin", "font_size",
                        "box", "visible"}),
    "trust": frozenset({"roots", "crls", "allow_fetching"}),
    "verify": frozenset({"timeout_s", "memory_mib", "max_pdf_mib"}),
}


@dataclass(frozen=True)
class SigningConfig:
    key: KeySource | None = None
    tsa_url: str | None = None
    stamp: StampConfig = field(default_factory=StampConfig)
    roots: Path | None = None
    crls: tuple[Path, ...] = ()
    allow_fetching: bool = False
    limits: VerifyLimits = field(default_factory=VerifyLimits)

    def trust(self) -> TrustConfig:
        """Reads the configured roots and CRLs (fresh each call: the hub may replace them)."""
        return TrustConfig.from_files(self.roots, self.crls, self.allow_fetching)

    @classmethod
    def from_json(cls, data: object) -> SigningConfig:
        """From the decoded ``signing`` object (``None``: defaults, verify-only)."""
        if data is None:
            return cls()
        d = _obj(data, "signing", KEYS["signing"])
        trust = _obj(d.get("trust", {}), "trust", KEYS["trust"])
        verify = _obj(d.get("verify", {}), "verify", KEYS["verify"])
        crls = trust.get("crls", [])
        if not isinstance(crls, list) or not all(isinstance(c, str) for c in crls):
            raise _bad("trust.crls", "a list of file paths")
        defaults = VerifyLimits()
        return cls(
            key=None if d.get("key") is None else _key(d["key"]),
            tsa_url=_tsa(d.get("tsa_url")),
            stamp=_stamp(_obj(d.get("stamp", {}), "stamp", KEYS["stamp"])),
            roots=_opt_path(trust, "roots", "trust."),
            crls=tuple(Path(c) for c in crls),
            allow_fetching=_bool(trust, "allow_fetching", False, "trust."),
            limits=VerifyLimits(
                memory=int(_num(verify, "memory_mib", defaults.memory / MiB, 128, 65536,
                                "verify.") * MiB),
                timeout_s=_num(verify, "timeout_s", defaults.timeout_s, 1, 3600, "verify."),
                max_pdf=int(_num(verify, "max_pdf_mib", defaults.max_pdf / MiB, 1, 4095,
                                 "verify.") * MiB)))


def _bad(key: str, want: str) -> SigningConfigError:
    return SigningConfigError(config_problem(key, f"expected {want}"))


def _obj(data: object, key: str, allowed: frozenset[str]) -> Mapping[str, object]:
    if not isinstance(data, dict):
        raise _bad(key, "a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SigningConfigError(config_problem(key, f"unknown key {unknown[0]!r}"))
    return data


def _str(d: Mapping[str, object], key: str, where: str) -> str | None:
    value = d.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise _bad(where + key, "a non-empty string")
    return value


def _opt_path(d: Mapping[str, object], key: str, where: str) -> Path | None:
    value = _str(d, key, where)
    return None if value is None else Path(value)


def _bool(d: Mapping[str, object], key: str, default: bool, where: str) -> bool:
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise _bad(where + key, "true or false")
    return value


def _num(d: Mapping[str, object], key: str, default: float, low: float, high: float,
         where: str) -> float:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _bad(where + key, f"a number from {low:g} to {high:g}")
    return float(value)


def _tsa(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
        raise _bad("tsa_url", "an http(s) URL of an RFC 3161 timestamp authority")
    return value


def _key(data: object) -> KeySource:
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "pkcs12":
        d = _obj(data, "key", KEYS["key.pkcs12"])
        path = _opt_path(d, "path", "key.")
        if path is None:
            raise _bad("key.path", "the PKCS#12 file's path")
        return Pkcs12Key(path, _opt_path(d, "password_file", "key."),
                         _str(d, "password_env", "key."))
    if kind == "pkcs11":
        d = _obj(data, "key", KEYS["key.pkcs11"])
        module, label = _opt_path(d, "module", "key."), _str(d, "key_label", "key.")
        if module is None or label is None:
            raise _bad("key.module/key.key_label", "the PKCS#11 module path and the key label")
        slot = d.get("slot")
        if slot is not None and (isinstance(slot, bool) or not isinstance(slot, int)):
            raise _bad("key.slot", "a slot number")
        return Pkcs11Key(module, label, _str(d, "token_label", "key."), slot,
                         _str(d, "cert_label", "key."), _opt_path(d, "pin_file", "key."))
    raise _bad("key.type", '"pkcs12" or "pkcs11"')


def _stamp(d: Mapping[str, object]) -> StampConfig:
    position = d.get("position", Position.TOP_RIGHT.value)
    if position not in {p.value for p in Position}:
        raise _bad("stamp.position", "top-right, top-left, bottom-right or bottom-left")
    box = d.get("box")
    if box is not None and not (isinstance(box, list) and len(box) == 4 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in box)):
        raise _bad("stamp.box", "[x1, y1, x2, y2] in points")
    return StampConfig(
        font=_opt_path(d, "font", "stamp.") or DEFAULT_FONT, position=Position(str(position)),
        page=int(_num(d, "page", 1, 1, 100_000, "stamp.")),
        width=_num(d, "width", 230, 40, 2000, "stamp."),
        height=_num(d, "height", 64, 20, 2000, "stamp."),
        margin=_num(d, "margin", 24, 0, 500, "stamp."),
        font_size=int(_num(d, "font_size", 8, 4, 48, "stamp.")),
        box=None if box is None else (float(box[0]), float(box[1]), float(box[2]),
                                      float(box[3])),
        visible=_bool(d, "visible", True, "stamp."))
