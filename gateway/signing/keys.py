"""Open the agency's signing key: a PKCS#12 file or a PKCS#11 token (USB tokens are the norm).

Secrets never come from the command line (other users can read it in ``ps``): a PKCS#12
password comes from a file or an environment variable, a token PIN from a file or a prompt
callback (the TUI asks the clerk). A secret file readable by everyone is refused.
pyhanko is imported only when a key is opened, so loading the config stays light.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.signing.errors import KeyUnavailable, key_problem, token_problem

if TYPE_CHECKING:
    from pkcs11 import Token
    from pyhanko.sign.signers import Signer

__all__ = ["KeySource", "PinPrompt", "Pkcs11Key", "Pkcs12Key", "open_signer"]

MAX_SECRET = 4096
MAX_P12 = 1024 * 1024

PinPrompt = Callable[[], str]


@dataclass(frozen=True)
class Pkcs12Key:
    """``password_file`` wins over ``password_env``; neither means an unencrypted file."""

    path: Path
    password_file: Path | None = None
    password_env: str | None = None


@dataclass(frozen=True)
class Pkcs11Key:
    """A token: the vendor's PKCS#11 module, which token (``token_label`` or ``slot``), which
    key (``key_label``; ``cert_label`` defaults to it) and where the PIN comes from
    (``pin_file``, else the prompt callback given to :func:`open_signer`)."""

    module: Path
    key_label: str
    token_label: str | None = None
    slot: int | None = None
    cert_label: str | None = None
    pin_file: Path | None = None


KeySource = Pkcs12Key | Pkcs11Key


def read_secret(path: Path) -> str:
    """The first line of a secret file (trailing newline dropped), refusing a world-readable
    file and anything that is not a small regular file."""
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise KeyUnavailable(key_problem(f"{path} is not a regular file"))
            if st.st_mode & stat.S_IROTH:
                raise KeyUnavailable(key_problem(
                    f"{path} can be read by every user; run: chmod o-r {path}"))
            data = f.read(MAX_SECRET + 1)
    except OSError as e:
        raise KeyUnavailable(key_problem(f"{path}: {e.strerror or e}")) from None
    if len(data) > MAX_SECRET:
        raise KeyUnavailable(key_problem(f"{path} is too long for a password"))
    try:
        return data.decode("utf-8").splitlines()[0] if data.strip() else ""
    except UnicodeDecodeError:
        raise KeyUnavailable(key_problem(f"{path} is not UTF-8 text")) from None


def _p12_password(src: Pkcs12Key) -> bytes | None:
    if src.password_file is not None:
        return read_secret(src.password_file).encode()
    if src.password_env:
        value = os.environ.get(src.password_env)
        if value is None:
            raise KeyUnavailable(key_problem(
                f"environment variable {src.password_env} is not set"))
        return value.encode()
    return None


def _open_p12(src: Pkcs12Key) -> Signer:
    from pyhanko.sign.signers import SimpleSigner  # only when signing: keeps config light

    try:
        with src.path.open("rb") as f:
            data = f.read(MAX_P12 + 1)
    except OSError as e:
        raise KeyUnavailable(key_problem(f"{src.path}: {e.strerror or e}")) from None
    if len(data) > MAX_P12:
        raise KeyUnavailable(key_problem(f"{src.path} is too large for a PKCS#12 file"))
    try:
        signer: SimpleSigner | None = SimpleSigner.load_pkcs12_data(data, other_certs=(),
                                               passphrase=_p12_password(src))
    except (ValueError, TypeError) as e:
        raise KeyUnavailable(key_problem(f"{src.path}: wrong password or damaged file ({e})")
                             ) from None
    if signer is None:
        raise KeyUnavailable(key_problem(f"{src.path}: wrong password or damaged file"))
    return signer


def _which(src: Pkcs11Key) -> str:
    return f"'{src.token_label}'" if src.token_label else f"(slot {src.slot})"


def _find_token(src: Pkcs11Key) -> Token:
    from pkcs11 import lib as p11_lib
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import find_token

    criteria = TokenCriteria(label=src.token_label) if src.token_label else None
    try:
        token = find_token(p11_lib(str(src.module)).get_slots(), slot_no=src.slot,
                           token_criteria=criteria)
    except Exception as e:  # python-pkcs11 raises its own tree; its texts hold no secret
        raise KeyUnavailable(key_problem(f"token: {type(e).__name__} {e}")) from None
    if token is None:
        raise KeyUnavailable(token_problem("token_missing", _which(src)))
    return token


def _pin_refusal(exc: Exception, src: Pkcs11Key) -> KeyUnavailable:
    """The token's answer to a login in plain words; after a wrong PIN the token's flags are
    read again to warn of the last try or say it is now locked."""
    from pkcs11 import TokenFlag, exceptions

    if isinstance(exc, exceptions.PinLocked):
        return KeyUnavailable(token_problem("pin_locked"))
    if isinstance(exc, exceptions.PinExpired):
        return KeyUnavailable(token_problem("pin_expired"))
    if isinstance(exc, exceptions.TokenNotPresent | exceptions.DeviceRemoved):
        return KeyUnavailable(token_problem("token_missing", _which(src)))  # pulled out
    if not isinstance(exc, exceptions.PinIncorrect | exceptions.PinLenRange
                      | exceptions.PinInvalid):
        return KeyUnavailable(key_problem(f"token: {type(exc).__name__} {exc}"))
    try:
        flags = _find_token(src).flags
    except KeyUnavailable:
        flags = TokenFlag(0)
    if flags & TokenFlag.USER_PIN_LOCKED:
        return KeyUnavailable(token_problem("pin_locked"))
    if flags & TokenFlag.USER_PIN_FINAL_TRY:
        return KeyUnavailable(token_problem("pin_final_try"))
    return KeyUnavailable(token_problem("pin_wrong"))


@contextlib.contextmanager
def _open_p11(src: Pkcs11Key, prompt: PinPrompt | None) -> Iterator[Signer]:
    """The token is looked for before the PIN is asked (a missing or locked token is said
    first, and costs no try); an empty PIN is refused without trying it on the token."""
    from pkcs11 import TokenFlag
    from pyhanko.sign.pkcs11 import PKCS11Signer

    token = _find_token(src)
    if token.flags & TokenFlag.USER_PIN_LOCKED:
        raise KeyUnavailable(token_problem("pin_locked"))
    if src.pin_file is not None:
        pin = read_secret(src.pin_file)
    elif prompt is not None:
        pin = prompt()
    else:
        raise KeyUnavailable(token_problem("pin_missing"))
    if not pin:
        raise KeyUnavailable(token_problem("pin_empty"))
    try:
        session = token.open(user_pin=pin)
    except Exception as e:  # python-pkcs11's tree: PinIncorrect, PinLocked, TokenNotPresent …
        raise _pin_refusal(e, src) from None
    finally:
        del pin  # not kept past the login (the caller's copy is the caller's to drop)
    try:
        # other_certs_to_pull=None: embed every certificate on the token (the issuing chain
        # lives there), so verifiers that only hold the root can build the path
        yield PKCS11Signer(session, key_label=src.key_label,
                           cert_label=src.cert_label or src.key_label, other_certs_to_pull=None)
    finally:
        session.close()


@contextlib.contextmanager
def open_signer(source: KeySource, *, pin_prompt: PinPrompt | None = None) -> Iterator[Signer]:
    """A pyhanko signer for ``source``, open for the ``with`` block (a token session is closed
    at its end). Raises :class:`KeyUnavailable` with the reason in plain words."""
    if isinstance(source, Pkcs12Key):
        yield _open_p12(source)
        return
    with _open_p11(source, pin_prompt) as signer:
        yield signer
