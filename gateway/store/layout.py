"""Where things live under a data directory, and the small JSON config written by ``init``.

The config is plain JSON so the provincial IT team can read it over SSH; it is replaced
atomically so a power cut during ``init`` never leaves half a file.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gateway.model.errors import Problem, Refused, hub_url_not_https
from gateway.store.blobs import fsync_dir

DEFAULT_RESERVE_BYTES = 128 * 2**20
DEFAULT_HEALTH_LISTEN = "127.0.0.1:8473"  # loopback; 8473 is unassigned and unused on the image
# The daemon's runtime directory (systemd); commune-gateway-note.path copies the note from
# there to the boot partition, which the daemon's user cannot write (systemd/).
DEFAULT_STATUS_FILE = "/run/commune-gateway/commune-status.txt"


@dataclass(frozen=True)
class GatewayConfig:
    """``signing`` is the raw ``signing`` section (docs/signing.md), parsed by
    ``gateway.signing.config.SigningConfig.from_json`` where it is used: the store sits below
    the signing package, and a wrong section must not lock the clerk out of the documents."""

    agency: str
    hub: str | None = None
    reserve_bytes: int = DEFAULT_RESERVE_BYTES
    signing: dict[str, object] | None = None
    # The daemon's local health endpoints ("" turns them off) and its note on the boot
    # partition ("" turns it off; skipped where that directory does not exist).
    health_listen: str = DEFAULT_HEALTH_LISTEN
    status_file: str = DEFAULT_STATUS_FILE


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def db(self) -> Path:
        return self.root / "gateway.sqlite3"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def directory(self) -> Path:
        return self.root / "directory.json"

    @property
    def identity(self) -> Path:
        return self.root / "identity"

    @property
    def hub_trust(self) -> Path:
        """The hub's bundle of trusted signature roots, as last received (sync config)."""
        return self.root / "trust" / "hub-roots.pem"

    @property
    def wakeup(self) -> Path:
        """Touched by CLI commands so a running daemon syncs at once."""
        return self.root / "wakeup"


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replaces ``path`` so that a power cut leaves the old file or the new one, never half.

    The temp file is created 0600 and only then given ``mode``, so a key is never readable by
    others, not even for a moment; it is fsynced, renamed, and the directory fsynced.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode != 0o600:
                os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def save_config(layout: Layout, config: GatewayConfig) -> None:
    data = asdict(config)
    if config.signing is None:
        del data["signing"]
    text = json.dumps(data, ensure_ascii=False, indent=1)
    write_atomic(layout.config, text.encode())


def not_initialised(root: Path) -> Refused:
    return Refused(Problem(
        "data.not_initialised",
        f"Thư mục {root} chưa được khởi tạo; chạy 'gateway init' trước.",
        f"{root} is not initialised; run 'gateway init' first."))


def check_hub_url(url: str, where: str = "") -> str:
    """Returns ``url`` if it is an https URL with a host; refuses anything else, so no token
    and no document ever goes out in clear text. Checked where a URL is used (init, enroll,
    the daemon's start), not when the config is loaded: an old config naming a plain-http hub
    must not lock the clerk out of the documents already on the box."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() == "https" and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise Refused(hub_url_not_https(url, where))
    return url


def config_damaged(layout: Layout, detail: str) -> Refused:
    return Refused(Problem(
        "config.damaged",
        f"Tệp cấu hình {layout.config} bị hỏng ({detail[:100]}); chạy lại 'gateway init' "
        "với cùng mã cơ quan hoặc báo cán bộ CNTT.",
        f"The configuration file {layout.config} is damaged ({detail[:100]}); run "
        "'gateway init' again with the same agency or call the IT team."))


def load_config(layout: Layout) -> GatewayConfig:
    """The box's config; a missing, unreadable or malformed file is a one-line refusal."""
    try:
        data = json.loads(layout.config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise not_initialised(layout.root) from None
    except (OSError, ValueError) as exc:  # unreadable, not UTF-8, not JSON
        raise config_damaged(layout, getattr(exc, "strerror", None) or str(exc)) from None
    if not isinstance(data, dict):
        raise config_damaged(layout, "not a JSON object")
    agency, hub = data.get("agency"), data.get("hub")
    reserve = data.get("reserve_bytes", DEFAULT_RESERVE_BYTES)
    if not isinstance(agency, str) or not agency:
        raise config_damaged(layout, "agency")
    if hub is not None and not isinstance(hub, str):
        raise config_damaged(layout, "hub")
    if not isinstance(reserve, int) or isinstance(reserve, bool) or reserve < 0:
        raise config_damaged(layout, "reserve_bytes")
    signing = data.get("signing")
    if signing is not None and not isinstance(signing, dict):
        raise config_damaged(layout, "signing")
    listen = data.get("health_listen", DEFAULT_HEALTH_LISTEN)
    if not isinstance(listen, str) or (listen and split_listen(listen) is None):
        raise config_damaged(layout, "health_listen")
    note = data.get("status_file", DEFAULT_STATUS_FILE)
    if not isinstance(note, str):
        raise config_damaged(layout, "status_file")
    return GatewayConfig(agency=agency, hub=hub or None, reserve_bytes=reserve, signing=signing,
                         health_listen=listen, status_file=note)


def split_listen(text: str) -> tuple[str, int] | None:
    """``host:port`` (``[v6]:port`` too) as a pair, or None when it is not one."""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)
