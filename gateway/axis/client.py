"""The hub adapter's transport to the axis: typed calls, signing, retry with backoff.

:class:`AxisTransport` is the small Protocol the hub's loop depends on; :class:`HttpAxis`
implements it over HTTP for the local service (and, with its recipe in
:mod:`gateway.axis.signing` swapped, for the real endpoint). Connection failures, timeouts,
5xx and 429 are retried with exponential backoff through an injected ``sleep`` (tests run
outages without waiting); a 4xx is the axis refusing the request and is raised at once.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from gateway.axis.signing import sign
from gateway.errors import GatewayError
from gateway.model.errors import Problem, Refused

MAX_REPLY = 64 * 2**20


@dataclass(frozen=True)
class ReceivedItem:
    doc_id: str
    sender: str
    kind: str
    document_id: str


@dataclass(frozen=True)
class AxisAgencyEntry:
    code: str
    name: str
    system: str = ""  # the connected system it is registered under, when the axis says


class AxisUnavailable(GatewayError):
    """The axis could not be reached within the retry budget; try again later."""


class AxisRefused(Refused, GatewayError):
    """The axis answered and said no (bad signature, unknown recipient, not our sender)."""


class AxisTransport(Protocol):
    async def send_edoc(self, package: bytes) -> str: ...
    async def received(self) -> list[ReceivedItem]: ...
    async def get_edoc(self, doc_id: str) -> bytes: ...
    async def update_status(self, doc_id: str, done: bool) -> None: ...
    async def agencies(self) -> list[AxisAgencyEntry]: ...


@dataclass(frozen=True)
class Retry:
    attempts: int = 6
    first_delay: float = 0.5
    max_delay: float = 60.0


class HttpAxis:
    def __init__(self, base_url: str, system: str, secret: bytes, *,
                 session: aiohttp.ClientSession, retry: Retry = Retry(),
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self._url = base_url.rstrip("/")
        self._system, self._secret = system, secret
        self._session, self._retry, self._sleep, self._clock = session, retry, sleep, clock

    async def _post(self, name: str, body: bytes, content_type: str) -> bytes:
        delay = self._retry.first_delay
        last = ""
        for attempt in range(self._retry.attempts):
            if attempt:
                await self._sleep(delay)
                delay = min(delay * 2, self._retry.max_delay)
            headers = sign(self._secret, "POST", f"/{name}", self._system, body,
                           now=self._clock(), nonce=secrets.token_hex(16))
            headers["Content-Type"] = content_type
            try:
                async with self._session.post(f"{self._url}/{name}", data=body,
                                              headers=headers) as resp:
                    data = await _read_bounded(resp)
                    if resp.status < 300 and len(data) <= MAX_REPLY:
                        return data
                    last = f"HTTP {resp.status}"
                    if 400 <= resp.status < 500 and resp.status != 429:
                        raise AxisRefused(Problem("axis.refused",
                            f"Trục liên thông từ chối {name}: {_error(data)}.",
                            f"The axis refused {name}: {_error(data)}."))
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = type(exc).__name__
        raise AxisUnavailable(f"axis {name}: {last} after {self._retry.attempts} attempts")

    async def _call(self, name: str, args: dict[str, str]) -> dict[str, object]:
        data = await self._post(name, json.dumps(args).encode(), "application/json")
        try:
            reply = json.loads(data)
        except ValueError:
            reply = None
        if not isinstance(reply, dict) or reply.get("status") != "OK":
            raise AxisUnavailable(f"axis {name}: unexpected reply")
        return reply

    async def send_edoc(self, package: bytes) -> str:
        reply = json.loads(await self._post("sendEdoc", package, "application/xml"))
        return str(reply["docId"])

    async def received(self) -> list[ReceivedItem]:
        data = (await self._call("getReceivedEdocList", {})).get("data")
        return [ReceivedItem(str(d["docId"]), str(d["from"]), str(d["kind"]),
                             str(d["documentId"])) for d in _dicts(data)]

    async def get_edoc(self, doc_id: str) -> bytes:
        return await self._post("getEdoc", json.dumps({"docId": doc_id}).encode(),
                                "application/json")

    async def update_status(self, doc_id: str, done: bool) -> None:
        await self._call("updateStatus", {"docId": doc_id, "status": "done" if done else "fail"})

    async def agencies(self) -> list[AxisAgencyEntry]:
        data = (await self._call("getAgenciesList", {})).get("data")
        return [AxisAgencyEntry(str(d["code"]), str(d["name"]), str(d.get("system", "")))
                for d in _dicts(data)]


async def _read_bounded(resp: aiohttp.ClientResponse) -> bytes:
    """The reply body, reading at most one byte past :data:`MAX_REPLY`."""
    out = bytearray()
    async for block in resp.content.iter_chunked(1 << 16):
        out += block
        if len(out) > MAX_REPLY:
            break
    return bytes(out)


def _dicts(data: object) -> list[dict[str, object]]:
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def _error(data: bytes) -> str:
    try:
        return str(json.loads(data).get("error", ""))[:160]
    except (ValueError, AttributeError):
        return data[:160].decode("utf-8", "replace")
