"""A local stand-in for the national document interconnection axis (a real HTTP server).

It follows the SDK's published behaviour as far as the samples and DOMAIN.md allow: every call
is a signed POST (see :mod:`gateway.axis.signing`); ``sendEdoc`` takes an edXML package (a
document or a status), checks that its sender is the calling system's own agency or one
registered under it, and files it for each recipient system; ``getReceivedEdocList`` lists
what waits for the caller, ``getEdoc`` serves one package, ``updateStatus`` is the transport
acknowledgement (``done`` removes it from the list, ``fail`` leaves it), ``getAgenciesList``
returns the national directory. Packages are stored as files, one folder per recipient system,
written to a temporary name and renamed, so a restart loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from aiohttp import web

from gateway.axis.registry import Registry
from gateway.axis.signing import NonceCache, verify
from gateway.edxml import DocumentPackage, EdxmlRefused, ParseLimits, read_package

MAX_BODY = 64 * 2**20


@dataclass
class Item:
    doc_id: str
    sender: str
    kind: str  # "edoc" | "status"
    document_id: str
    state: str = "pending"  # pending | done | fail
    seq: int = 0  # arrival order, kept across restarts


class AxisStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.items: dict[str, dict[str, Item]] = {}
        for meta in sorted(root.glob("*/*.json")):
            item = Item(**json.loads(meta.read_text(encoding="utf-8")))
            self.items.setdefault(meta.parent.name, {})[item.doc_id] = item

    def _write(self, path: Path, data: bytes) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)

    def put(self, system: str, item: Item, package: bytes) -> None:
        folder = self.root / system
        folder.mkdir(parents=True, exist_ok=True)
        if item.doc_id in self.items.get(system, {}):
            return  # the same package resent: idempotent
        item.seq = 1 + max((i.seq for i in self.items.get(system, {}).values()), default=0)
        self._write(folder / f"{item.doc_id}.edxml", package)
        self.save(system, item)

    def save(self, system: str, item: Item) -> None:
        self._write(self.root / system / f"{item.doc_id}.json", json.dumps(asdict(item)).encode())
        self.items.setdefault(system, {})[item.doc_id] = item

    def package(self, system: str, doc_id: str) -> bytes | None:
        if doc_id not in self.items.get(system, {}):
            return None
        return (self.root / system / f"{doc_id}.edxml").read_bytes()


KEY_REGISTRY = web.AppKey("registry", Registry)
KEY_STORE = web.AppKey("store", AxisStore)
KEY_NONCES = web.AppKey("nonces", NonceCache)
KEY_CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")


def _reply(status: str, code: int = 200, **fields: object) -> web.Response:
    return web.json_response({"status": status, **fields}, status=code)


async def _authed(request: web.Request) -> tuple[str, bytes]:
    body = await request.read()  # bounded by client_max_size (413 beyond MAX_BODY)
    app = request.app
    system = verify(request.headers, app[KEY_REGISTRY].secrets, request.method, request.path,
                    body, now=app[KEY_CLOCK](), nonces=app[KEY_NONCES])
    if system is None:
        raise web.HTTPUnauthorized(text='{"status":"FAIL","error":"bad signature"}',
                                   content_type="application/json")
    return system, body


def _json(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return {str(k): str(v) for k, v in data.items()}


async def send_edoc(request: web.Request) -> web.Response:
    system, body = await _authed(request)
    registry = request.app[KEY_REGISTRY]
    try:
        pkg = read_package(body, ParseLimits(max_package_bytes=MAX_BODY)).package
    except EdxmlRefused as exc:
        return _reply("FAIL", 400, error=exc.text("en"))
    head = pkg.header
    sender = (head.from_.organ_id if head.from_ else None) or ""
    if registry.owner(sender) != system:
        return _reply("FAIL", 403, error=f"sender {sender[:40]} is not registered under {system}")
    if isinstance(pkg, DocumentPackage):
        kind, doc_key = "edoc", pkg.header.document_id or ""
        targets = [o.organ_id or "" for o in pkg.header.to]
    else:
        rf = pkg.header.response_for
        kind, doc_key = "status", (rf.document_id if rf else None) or ""
        targets = [(rf.organ_id if rf else None) or ""]
    systems = {registry.owner(t) for t in targets}
    if None in systems or not systems:
        return _reply("FAIL", 404, error="unknown recipient agency")
    doc_id = hashlib.sha256(system.encode() + b"\0" + body).hexdigest()[:32]
    store = request.app[KEY_STORE]
    for target in sorted(s for s in systems if s):
        store.put(target, Item(doc_id, sender, kind, doc_key), body)
    return _reply("OK", docId=doc_id)


async def received_list(request: web.Request) -> web.Response:
    system, _ = await _authed(request)
    items = sorted(request.app[KEY_STORE].items.get(system, {}).values(), key=lambda i: i.seq)
    data = [{"docId": i.doc_id, "from": i.sender, "kind": i.kind, "documentId": i.document_id}
            for i in items if i.state != "done"]
    return _reply("OK", data=data)


async def get_edoc(request: web.Request) -> web.Response:
    system, body = await _authed(request)
    data = request.app[KEY_STORE].package(system, _json(body).get("docId", ""))
    if data is None:
        return _reply("FAIL", 404, error="no such document for this system")
    return web.Response(body=data, content_type="application/xml")


async def update_status(request: web.Request) -> web.Response:
    system, body = await _authed(request)
    args = _json(body)
    store = request.app[KEY_STORE]
    item = store.items.get(system, {}).get(args.get("docId", ""))
    if item is None or args.get("status") not in ("done", "fail"):
        return _reply("FAIL", 404, error="no such document or bad status")
    item.state = args["status"]
    store.save(system, item)
    return _reply("OK")


async def agencies_list(request: web.Request) -> web.Response:
    await _authed(request)
    data = [asdict(a) for a in request.app[KEY_REGISTRY].agencies.values()]
    return _reply("OK", data=data)


def make_app(data_dir: Path, *, clock: Callable[[], float] = time.time) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[KEY_REGISTRY] = Registry.load(data_dir / "systems.json")
    app[KEY_STORE] = AxisStore(data_dir / "store")
    app[KEY_NONCES] = NonceCache()
    app[KEY_CLOCK] = clock
    for name, handler in (("sendEdoc", send_edoc), ("getReceivedEdocList", received_list),
                          ("getEdoc", get_edoc), ("updateStatus", update_status),
                          ("getAgenciesList", agencies_list)):
        app.router.add_post(f"/{name}", handler)
    return app
