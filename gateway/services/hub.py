"""The provincial hub's use cases: create it, serve it, issue enrollment and admin tokens,
revoke a commune's certificates, report its KPIs. Only the hub's own front end imports this
module."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from gateway.hub.enrollment import certificate_count, create_token, revoke
from gateway.hub.kpi import KpiReport, period, report
from gateway.hub.runtime import HubLayout, RunningHub, init_hub, open_hub, serve_hub
from gateway.model import Agency, AgencyCode, Directory, Problem, Refused
from gateway.model.agency import MAX_NAME_LEN
from gateway.security.tokens import parse_ttl
from gateway.services.box import load_directory_file
from gateway.sync.enroll import ca_fingerprint
from gateway.sync.watchdog import Notifier, keep_alive


def _ttl(text: str) -> timedelta:
    try:
        return parse_ttl(text)
    except ValueError as exc:
        raise Refused(Problem("ttl.invalid", f"Thời hạn không hợp lệ: {exc}",
                              f"Invalid TTL: {exc}")) from None


def _init(data: str, province: str, directory: str | None, names: Sequence[str]) -> Path:
    return init_hub(Path(data), province, load_directory_file(directory), names).root


async def hub_init(data: str, province: str, directory: str | None,
                   names: Sequence[str]) -> Path:
    """Creates the hub's data, provincial CA and TLS certificate; returns its folder."""
    return await asyncio.to_thread(_init, data, province, directory, names)


def listen_address(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8443``, ``:8443`` for every interface) as host and port."""
    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise Refused(Problem("listen.invalid", f"Địa chỉ lắng nghe không hợp lệ: {listen}",
                              f"Invalid listen address: {listen}"))
    return host.strip("[]") or "0.0.0.0", int(port)


async def hub_serve(data: str, listen: str) -> RunningHub:
    """Starts serving the hub over mutual TLS; the caller closes it."""
    host, port = listen_address(listen)
    return await serve_hub(Path(data), host, port)


def _describe(hub: RunningHub) -> str:
    gate = hub.listener.gate
    return (f"{sum(gate.total.values())} connections from {len(gate.total)} addresses, "
            f"{gate.refused} refused since start")


async def hub_keep_alive(hub: RunningHub, stop: asyncio.Event) -> None:
    """systemd's notify protocol for the hub (``Type=notify``, ``WatchdogSec=``): ready once
    it listens, so units ordered after it start when boxes can connect; restarted by systemd
    when its event loop or its database stops answering."""
    await keep_alive(Notifier(), hub.state.store.db.ping, lambda: _describe(hub), stop)


async def hub_token(data: str, agency: str, ttl: str) -> str:
    """A one-time enrollment token for ``agency``, with the CA fingerprint the box checks."""
    state = await open_hub(Path(data))
    try:
        code = AgencyCode.parse(agency).text
        if code not in state.store.directory:
            raise Refused(Problem("agency.unknown", f"Mã {code} không có trong danh bạ.",
                                  f"Agency {code} is not in the directory."))
        token = await create_token(state.store, code, _ttl(ttl))
        ca_pem = await asyncio.to_thread(HubLayout(Path(data)).ca_cert.read_bytes)
        return f"{token}@{ca_fingerprint(ca_pem)}"
    finally:
        await state.store.db.close()


async def hub_admin_token(data: str, ttl: str) -> str:
    """A token for the fleet and metrics endpoints."""
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


async def hub_directory(data: str) -> str:
    """The province's directory plus the national agencies the axis link cached, as a
    directory file for boxes (``gateway init … --directory``), so a clerk can address them."""
    state = await open_hub(Path(data))
    try:
        own = state.store.directory
        national = []
        for code, name in await state.store.axis.agencies():
            try:
                parsed = AgencyCode.parse(code)
            except Refused:
                continue  # a code our directory format cannot hold is not addressable here
            if parsed.text not in own:
                national.append(Agency(parsed, name.strip()[:MAX_NAME_LEN] or parsed.text,
                                       parsed.level, parsed.parent))
        return Directory([*own.values(), *national], source="hub+axis").to_json()
    finally:
        await state.store.db.close()


async def hub_report(data: str, first: str | None, end: str | None) -> KpiReport:
    """The provincial KPIs over ``[first, end)`` (``YYYY-MM-DD``, UTC+7; by default this
    month so far), read from the hub's data while it may be serving."""
    state = await open_hub(Path(data))
    try:
        return await report(state.store, period(first, end, state.store.clock()))
    finally:
        await state.store.db.close()
