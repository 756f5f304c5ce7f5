"""Long-running and provincial subcommands: run, enroll, and ``gateway hub …``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from gateway.commands.common import load_directory_file, opened
from gateway.hub.enrollment import certificate_count, create_token, revoke
from gateway.hub.runtime import HubLayout, init_hub, open_hub, serve_hub
from gateway.model import AgencyCode, Problem, Refused
from gateway.security.tokens import parse_ttl
from gateway.store.layout import save_config
from gateway.sync.daemon import run_daemon
from gateway.sync.enroll import ca_fingerprint, enroll


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def gateway_run(data: str) -> int:
    return await run_daemon(Path(data), stop_on_signals())


async def demo(data: str | None, profile: str, seed: int, once: bool, scale: float) -> int:
    from gateway.linkemu import get_profile
    from gateway.testbed import demo as demo_run

    try:
        link = get_profile(profile)
    except ValueError as exc:
        raise Refused(Problem("profile.unknown", str(exc), str(exc))) from None
    stop = stop_on_signals()
    with contextlib.ExitStack() as stack:
        root = Path(data) if data else Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="gateway-demo-")))
        result = await demo_run.run(root, link, seed, sys.stdout, once=once, stop=stop,
                                    scale=scale)
    return 0 if result.ok else 1


async def gateway_enroll(data: str, hub: str, token: str) -> str:
    async with opened(data) as (layout, config, _):
        identity = await enroll(Path(data), config.agency, hub, token)
        if config.hub != hub:
            save_config(layout, replace(config, hub=hub))
    return str(identity.cert_path)


def _ttl(text: str) -> timedelta:
    try:
        return parse_ttl(text)
    except ValueError as exc:
        raise Refused(Problem("ttl.invalid", f"Thời hạn không hợp lệ: {exc}",
                              f"Invalid TTL: {exc}")) from None


async def hub_init(data: str, province: str, directory: str | None,
                   names: Sequence[str]) -> Path:
    layout = init_hub(Path(data), province, load_directory_file(directory), names)
    return layout.root


async def hub_run(data: str, listen: str) -> None:
    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise Refused(Problem("listen.invalid", f"Địa chỉ lắng nghe không hợp lệ: {listen}",
                              f"Invalid listen address: {listen}"))
    stop = stop_on_signals()
    hub = await serve_hub(Path(data), host.strip("[]") or "0.0.0.0", int(port))
    print(f"hub listening on https://{host}:{hub.port}", flush=True)
    try:
        await stop.wait()
    finally:
        await hub.close()


async def hub_token(data: str, agency: str, ttl: str) -> str:
    state = await open_hub(Path(data))
    try:
        code = AgencyCode.parse(agency).text
        if code not in state.store.directory:
            raise Refused(Problem("agency.unknown", f"Mã {code} không có trong danh bạ.",
                                  f"Agency {code} is not in the directory."))
        token = await create_token(state.store, code, _ttl(ttl))
        fingerprint = ca_fingerprint(HubLayout(Path(data)).ca_cert.read_bytes())
        return f"{token}@{fingerprint}"
    finally:
        await state.store.db.close()


async def hub_admin_token(data: str, ttl: str) -> str:
    state = await open_hub(Path(data))
    try:
        return await create_token(state.store, "admin", _ttl(ttl), kind="admin")
    finally:
        await state.store.db.close()


async def hub_revoke(data: str, agency: str) -> int:
    """Revokes every live certificate of ``agency``; none to revoke is an error, not "0"."""
    state = await open_hub(Path(data))
    try:
        code = AgencyCode.parse(agency).text
        revoked = await revoke(state.store, code)
        if revoked:
            return revoked
        if await certificate_count(state.store, code):
            raise Refused(Problem(
                "agency.already_revoked", f"Chứng thư của {code} đã bị thu hồi từ trước.",
                f"The certificates of {code} are already revoked."))
        raise Refused(Problem(
            "agency.no_certificate", f"Cơ quan {code} chưa được cấp chứng thư nào.",
            f"Agency {code} has no certificate."))
    finally:
        await state.store.db.close()
