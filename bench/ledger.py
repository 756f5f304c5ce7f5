"""Where a gateway's HTTP bytes go: per kind of request, headers and bodies, both ways.

The link proxy counts what crossed the link; this ledger counts what the gateway's HTTP
client handed to TLS and got back, by kind of request (sync, blob PATCH, HEAD, download),
through aiohttp's tracing hooks on the gateway's own session: no change to the engine. The
difference between the two is TLS (handshakes with certificates, record framing) and bytes
the cuts threw away. ``python -m bench.run`` puts it in ``latest.json`` under each transfer's
``ledger``; docs/benchmarks.md reads it for the accounting.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

# "1a2b\r\n" before and "\r\n" after each chunk of a chunked body (chunk sizes < 64 KiB)
_CHUNK_FRAMING = 8


@dataclass
class Tally:
    requests: int = 0
    failed: int = 0  # ended by an exception (a cut, a timeout): their bytes count anyway
    header_up: int = 0
    body_up: int = 0
    header_down: int = 0
    body_down: int = 0

    @property
    def total(self) -> int:
        return self.header_up + self.body_up + self.header_down + self.body_down


def kind_of(method: str, url: URL) -> str:
    path = url.path
    if path == "/v1/sync":
        return "sync"
    if path.startswith("/v1/blobs/"):
        return {"PATCH": "patch", "HEAD": "head", "GET": "download"}.get(method, "blob-other")
    return "other"


def _request_head(method: str, url: URL, headers: CIMultiDict[str]) -> int:
    line = len(f"{method} {url.raw_path_qs} HTTP/1.1\r\n".encode())
    return line + sum(len(f"{k}: {v}\r\n".encode()) for k, v in headers.items()) + 2


class Ledger:
    """Counts one aiohttp session's requests; attach once, read :meth:`summary` at the end."""

    def __init__(self) -> None:
        self.kinds: dict[str, Tally] = defaultdict(Tally)
        self.connections = 0
        self._chunked: set[int] = set()

    def attach(self, session: aiohttp.ClientSession) -> None:
        tc = aiohttp.TraceConfig()
        tc.on_request_headers_sent.append(self._headers_sent)
        tc.on_request_chunk_sent.append(self._chunk_sent)
        tc.on_response_chunk_received.append(self._chunk_received)
        tc.on_request_end.append(self._end)
        tc.on_request_exception.append(self._exception)
        tc.on_connection_create_end.append(self._connection)
        tc.freeze()
        # The session exists already (the engine made it); its trace list is read per request.
        session._trace_configs.append(tc)  # a benchmark probe, not an engine dependency

    async def _headers_sent(self, _s: aiohttp.ClientSession, ctx: SimpleNamespace,
                            p: aiohttp.TraceRequestHeadersSentParams) -> None:
        t = self.kinds[kind_of(p.method, p.url)]
        t.requests += 1
        t.header_up += _request_head(p.method, p.url, p.headers)
        if p.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._chunked.add(id(ctx))

    async def _chunk_sent(self, _s: aiohttp.ClientSession, ctx: SimpleNamespace,
                          p: aiohttp.TraceRequestChunkSentParams) -> None:
        framing = _CHUNK_FRAMING if id(ctx) in self._chunked else 0
        self.kinds[kind_of(p.method, p.url)].body_up += len(p.chunk) + framing

    async def _chunk_received(self, _s: aiohttp.ClientSession, _ctx: SimpleNamespace,
                              p: aiohttp.TraceResponseChunkReceivedParams) -> None:
        self.kinds[kind_of(p.method, p.url)].body_down += len(p.chunk)

    async def _end(self, _s: aiohttp.ClientSession, ctx: SimpleNamespace,
                   p: aiohttp.TraceRequestEndParams) -> None:
        self._chunked.discard(id(ctx))
        resp = p.response
        head = len(f"HTTP/1.1 {resp.status} {resp.reason or ''}\r\n".encode()) + 2
        head += sum(len(k) + len(v) + 4 for k, v in resp.raw_headers)
        self.kinds[kind_of(p.method, p.url)].header_down += head

    async def _exception(self, _s: aiohttp.ClientSession, ctx: SimpleNamespace,
                         p: aiohttp.TraceRequestExceptionParams) -> None:
        self._chunked.discard(id(ctx))
        self.kinds[kind_of(p.method, p.url)].failed += 1

    async def _connection(self, _s: aiohttp.ClientSession, _ctx: SimpleNamespace,
                          _p: aiohttp.TraceConnectionCreateEndParams) -> None:
        self.connections += 1

    def summary(self) -> dict[str, object]:
        kinds = {k: {**asdict(t), "total": t.total} for k, t in sorted(self.kinds.items())}
        return {"connections": self.connections, "kinds": kinds,
                "http_total": sum(t.total for t in self.kinds.values())}


def _kind(ledger: Mapping[str, Any], kind: str, *fields: str) -> int:
    kinds = ledger.get("kinds", {})
    return sum(int(kinds.get(kind, {}).get(f, 0)) for f in fields)


def _headers(ledger: Mapping[str, Any]) -> int:
    return sum(int(t.get("header_up", 0)) + int(t.get("header_down", 0))
               for t in ledger.get("kinds", {}).values())


def accounting(ours: Mapping[str, Any], nocut: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Where a transfer's wire bytes went, from its ledger and the cut-free run's.

    TLS per connection is the cut-free run's (wire − HTTP) ÷ connections (nothing is lost
    there); with cuts, what the gateway handed to sockets beyond TLS and the link's bytes was
    thrown away by the cut before reaching the link, and the PATCH bodies beyond the cut-free
    run's that did reach it are frames the hub discarded (partial at a cut) or got twice.
    """
    led, led0 = ours["ledger"], nocut["ledger"]
    wire = int(ours["wire_up"]) + int(ours["wire_down"])
    wire0 = int(nocut["wire_up"]) + int(nocut["wire_down"])
    tls_conn = (wire0 - int(led0["http_total"])) / max(int(nocut["connections"]), 1)
    tls = round(tls_conn * int(ours["connections"]))
    lost = tls - (wire - int(led["http_total"]))
    frames0 = _kind(led0, "patch", "body_up")
    frames = _kind(led, "patch", "body_up") - lost
    return [("blob frames of the corpus (after zstd, with chunk framing)", frames0),
            ("frame bytes sent again that reached the link (cut mid-frame)", frames - frames0),
            (f"TLS: {ours['connections']} connections × {tls_conn / 1000:.1f} kB "
             "(handshake, records)", tls),
            (f"sync bodies, {_kind(led, 'sync', 'requests')} syncs (up + down)",
             _kind(led, "sync", "body_up", "body_down")),
            ("HTTP headers (sync, PATCH, HEAD), both ways", _headers(led)),
            ("downloads and other requests", _kind(led, "download", "total")
             + _kind(led, "other", "total") + _kind(led, "blob-other", "total")),
            ("wire total (A's link, up + down)", wire)]


def accounting_markdown(runs: Mapping[str, Mapping[str, Any]]) -> str:
    """The accounting of every transfer of ours that has a cut-free twin, as markdown."""
    out = []
    for name, ours in sorted(runs.items()):
        nocut = runs.get(f"{name}/no-cuts")
        if ours.get("kind") != "ours" or nocut is None or not ours.get("ledger"):
            continue
        corpus = int(ours["corpus_bytes"])
        out += [f"{name}: {ours['cuts']} cuts, corpus {corpus / 1e6:.3f} MB", "",
                "| where the bytes went | kB | ÷ corpus |", "|---|---|---|"]
        out += [f"| {what} | {n / 1000:,.1f} | {n / corpus:.3f} |"
                for what, n in accounting(ours, nocut)]
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.ledger [latest.json]``: the accounting of each profile's transfer."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "bench/results/latest.json")
    print(accounting_markdown(json.loads(path.read_text(encoding="utf-8"))["transfers"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
