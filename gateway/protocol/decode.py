"""Decoding sync bodies written by a peer we must not trust (docs/protocol.md §3).

Both ends decode bodies written by a peer they must not trust, so decoding bounds everything
before it builds anything: body size, string/array/map lengths in the unpacker, a total item
budget (so 8 MiB of empty maps cannot become a gigabyte of dicts), nesting depth, duplicate
map keys (a parser-differential smuggling trick) and then every field's type and range. Any
failure is a :class:`WireError` whose text is safe to send back in a ``400``.

The field parsers are also the encoder's checks: :mod:`gateway.protocol.wire` runs
:func:`parse_request`/:func:`parse_reply` over what it is about to send, so a sender learns
about a limit it broke before its peer refuses the body. Callers import
:func:`decode_request`/:func:`decode_reply` from :mod:`gateway.protocol.wire`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any

import msgpack

from gateway.model.document import DEFAULT_LIMITS, Envelope, Limits, Urgency
from gateway.model.envelope_codec import envelope_from_dict
from gateway.model.errors import Refused
from gateway.protocol.limits import (
    MAX_ACCEPTED,
    MAX_ACKS,
    MAX_AGENCY,
    MAX_ARRAY,
    MAX_BODY,
    MAX_CODE,
    MAX_DEPTH_REPLY,
    MAX_DEPTH_REQUEST,
    MAX_DOC_ID,
    MAX_EPOCH,
    MAX_INBOX,
    MAX_INT,
    MAX_ITEMS,
    MAX_LAST_ERROR,
    MAX_MAP,
    MAX_NEED,
    MAX_NOTE,
    MAX_OUT,
    MAX_REASON,
    MAX_RECEIPTS,
    MAX_REFUSED,
    MAX_STATUSES,
    MAX_STR_BYTES,
    MAX_TRUST_BUNDLE,
    MAX_VERSION_TEXT,
    MAX_WAIT,
    VERSION,
)
from gateway.protocol.messages import (
    MALFORMED,
    RECEIPT_EVENTS,
    STATUS_CODES,
    BlobNeed,
    HubConfig,
    InboxItem,
    NodeReport,
    Receipt,
    Refusal,
    StatusMsg,
    SyncReply,
    SyncRequest,
    TrustBundle,
    WireError,
)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_EPOCH = re.compile(r"[0-9A-Za-z._-]+")


def decode_request(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> SyncRequest:
    """The request in ``data``; a malformed ``out`` entry lands in ``bad_out``, not an error."""
    return parse_request(_unpack(data, MAX_DEPTH_REQUEST), limits, strict=False)


def decode_reply(data: bytes, *, limits: Limits = DEFAULT_LIMITS,
                 known: Sequence[str] = ()) -> SyncReply:
    """The reply in ``data``; any malformed part, inbox envelopes included, is a WireError.

    ``known``: the need list's digests this request named (``X-Sync-Need``); a reply may then
    send every ``need`` entry's ``sha256`` as "" (all of them, in that order, or none)."""
    return parse_reply(_unpack(data, MAX_DEPTH_REPLY), limits, known)


_REQUEST_KEYS = frozenset({"v", "node", "out", "acks", "statuses", "rcursor", "wait"})
_REPLY_KEYS = frozenset(
    {"v", "time_ms", "accepted", "refused", "need", "inbox", "receipts", "config"}
)
_NODE_KEYS, _STATUS_KEYS, _REFUSAL_KEYS, _NEED_KEYS, _INBOX_KEYS, _RECEIPT_KEYS = (
    frozenset(f.name for f in fields(cls))  # these map's keys are their fields' names
    for cls in (NodeReport, StatusMsg, Refusal, BlobNeed, InboxItem, Receipt)
)
_CONFIG_KEYS = frozenset({"frame_max", "dict"})
_TRUST_KEYS = frozenset({"sha256", "size"})
_NODE_OPTIONAL = frozenset({"last_error", "dead"})  # sent only when set (docs/protocol.md §4)


def parse_request(obj: object, limits: Limits, *, strict: bool) -> SyncRequest:
    """Type- and range-check an unpacked request body; ``strict`` makes a bad ``out`` fatal."""
    m = _Map(obj, "body", _REQUEST_KEYS, versioned=True)
    node = _Map(m.get("node"), "node", _NODE_KEYS - _NODE_OPTIONAL, optional=_NODE_OPTIONAL)
    out: list[Envelope] = []
    bad: list[Refusal] = []
    for i, item in enumerate(m.seq("out", MAX_OUT)):
        try:
            out.append(envelope_from_dict(item, limits))
        except Refused as exc:
            if strict:
                raise WireError(f"out[{i}]: {exc}"[:MAX_REASON]) from None
            bad.append(Refusal(_doc_of(item), MALFORMED, str(exc)[:MAX_REASON]))
    return SyncRequest(
        node=NodeReport(
            version=node.text("version", MAX_VERSION_TEXT),
            clock_ms=node.integer("clock_ms"),
            queue=node.integer("queue"),
            disk_free=node.integer("disk_free"),
            blobs_bad=node.integer("blobs_bad"),
            uptime_s=node.integer("uptime_s"),
            last_error=node.text("last_error", MAX_LAST_ERROR) if "last_error" in node else "",
            dead=node.integer("dead") if "dead" in node else 0,
        ),
        out=tuple(out),
        acks=tuple(_int(a, f"acks[{i}]") for i, a in enumerate(m.seq("acks", MAX_ACKS))),
        statuses=tuple(
            _status(s, f"statuses[{i}]") for i, s in enumerate(m.seq("statuses", MAX_STATUSES))
        ),
        rcursor=m.integer("rcursor"),
        wait=m.integer("wait", MAX_WAIT),
        bad_out=tuple(bad),
    )


def parse_reply(obj: object, limits: Limits, known: Sequence[str] = ()) -> SyncReply:
    """Type- and range-check an unpacked reply body; any malformed part is a WireError."""
    m = _Map(obj, "body", _REPLY_KEYS, versioned=True, optional=frozenset({"epoch"}))
    need = tuple(_need(b, f"need[{i}]") for i, b in enumerate(m.seq("need", MAX_NEED)))
    accepted = tuple(
        _str(d, f"accepted[{i}]", MAX_DOC_ID, empty=False)
        for i, d in enumerate(m.seq("accepted", MAX_ACCEPTED))
    )
    receipts = tuple(
        _receipt(r, f"receipts[{i}]") for i, r in enumerate(m.seq("receipts", MAX_RECEIPTS))
    )
    if any(a.rseq >= b.rseq for a, b in itertools.pairwise(receipts)):
        raise WireError("receipts: rseq not strictly ascending")
    config = _Map(m.get("config"), "config", _CONFIG_KEYS, optional=frozenset({"trust"}))
    return SyncReply(
        time_ms=m.integer("time_ms"),
        accepted=accepted,
        refused=tuple(
            _refusal(r, f"refused[{i}]") for i, r in enumerate(m.seq("refused", MAX_REFUSED))
        ),
        need=_known_needs(need, known),
        inbox=tuple(
            _inbox(x, f"inbox[{i}]", limits) for i, x in enumerate(m.seq("inbox", MAX_INBOX))
        ),
        receipts=receipts,
        config=HubConfig(frame_max=config.integer("frame_max"), dict_id=config.integer("dict"),
                         trust=_trust(config.get("trust")) if "trust" in config else None),
        epoch=_epoch(m.text("epoch", MAX_EPOCH, empty=False)) if "epoch" in m else "",
    )


def _epoch(text: str) -> str:
    """An id, never text: it is logged and stored by the box."""
    if not _EPOCH.fullmatch(text):
        raise WireError("epoch: not an id (letters, digits, '.', '_', '-')")
    return text


def _trust(obj: object) -> TrustBundle:
    m = _Map(obj, "config.trust", _TRUST_KEYS)
    digest = m.text("sha256", 64)
    if not _SHA256.fullmatch(digest):
        raise WireError("config.trust.sha256: not a lower-case sha256")
    return TrustBundle(digest, m.integer("size", MAX_TRUST_BUNDLE))


def _status(obj: object, where: str) -> StatusMsg:
    m = _Map(obj, where, _STATUS_KEYS)
    sid = m.text("sid", 36)
    if not _UUID.fullmatch(sid):
        raise WireError(f"{where}.sid: not a lower-case UUID")
    return StatusMsg(
        sid=sid,
        doc=m.text("doc", MAX_DOC_ID, empty=False),
        code=m.choice("code", STATUS_CODES),
        note=m.text("note", MAX_NOTE),
        at_ms=m.integer("at_ms"),
    )


def _refusal(obj: object, where: str) -> Refusal:
    m = _Map(obj, where, _REFUSAL_KEYS)
    return Refusal(
        doc=m.text("doc", MAX_DOC_ID),
        code=m.text("code", MAX_CODE, empty=False),
        reason=m.text("reason", MAX_REASON),
    )


def _need(obj: object, where: str) -> BlobNeed:
    """One need entry; its ``sha256`` may be "" (a digest the box named), see _known_needs."""
    m = _Map(obj, where, _NEED_KEYS)
    digest = m.text("sha256", 64)
    if digest and not _SHA256.fullmatch(digest):
        raise WireError(f"{where}.sha256: not 64 lower-case hex digits")
    need = BlobNeed(
        digest, m.integer("offset"), m.integer("size"), m.integer("urgency", max(Urgency))
    )
    if need.offset > need.size:
        raise WireError(f"{where}: offset beyond size")
    return need


def _known_needs(need: tuple[BlobNeed, ...], known: Sequence[str]) -> tuple[BlobNeed, ...]:
    """``need`` with the elided digests filled from ``known``: all entries elided and exactly
    as many as ``known``, or none elided."""
    elided = sum(1 for b in need if not b.sha256)
    if not elided:
        return need
    if elided != len(need) or len(need) != len(known):
        raise WireError("need: digests left out that the request did not name")
    return tuple(replace(b, sha256=sha) for b, sha in zip(need, known, strict=True))


def _inbox(obj: object, where: str, limits: Limits) -> InboxItem:
    m = _Map(obj, where, _INBOX_KEYS)
    try:
        env = envelope_from_dict(m.get("env"), limits)
    except Refused as exc:
        raise WireError(f"{where}.env: {exc}"[:MAX_REASON]) from None
    return InboxItem(seq=m.integer("seq"), env=env)


def _receipt(obj: object, where: str) -> Receipt:
    m = _Map(obj, where, _RECEIPT_KEYS)
    return Receipt(
        rseq=m.integer("rseq"),
        doc=m.text("doc", MAX_DOC_ID, empty=False),
        to=m.text("to", MAX_AGENCY, empty=False),
        event=m.choice("event", RECEIPT_EVENTS),
        at_ms=m.integer("at_ms"),
        note=m.text("note", MAX_NOTE),
    )


def _doc_of(item: object) -> str:
    doc = item.get("id") if isinstance(item, dict) else None
    return doc if isinstance(doc, str) and len(doc) <= MAX_DOC_ID else ""


def _int(value: object, where: str, high: int = MAX_INT) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise WireError(f"{where}: expected an integer 0…{high}")
    return value


def _str(value: object, where: str, limit: int, *, empty: bool = True) -> str:
    if not isinstance(value, str) or len(value) > limit or (not empty and not value):
        raise WireError(f"{where}: expected a string of {0 if empty else 1}…{limit} chars")
    return value


class _Map:
    """A received map with exactly ``keys`` (plus any of ``optional``); accessors type-check
    and name the failing path."""

    def __init__(
        self, obj: object, where: str, keys: frozenset[str], *, versioned: bool = False,
        optional: frozenset[str] = frozenset(),
    ) -> None:
        if not isinstance(obj, dict):
            raise WireError(f"{where}: expected a map")
        if versioned:  # before key checks: a v2 body must say "version", not "unknown key"
            v = obj.get("v")
            if not isinstance(v, int) or isinstance(v, bool) or v != VERSION:
                raise WireError("unsupported protocol version")
        unknown = [k for k in obj if k not in keys and k not in optional]
        if unknown:
            shown = ", ".join(sorted(repr(k)[:24] for k in unknown)[:5])
            raise WireError(f"{where}: unknown keys {shown}")
        missing = keys - obj.keys()
        if missing:
            raise WireError(f"{where}: missing keys {', '.join(sorted(missing))}")
        self._obj: dict[str, object] = obj
        self._where = where

    def get(self, key: str) -> object:
        return self._obj[key]

    def __contains__(self, key: str) -> bool:
        return key in self._obj

    def integer(self, key: str, high: int = MAX_INT) -> int:
        return _int(self._obj[key], f"{self._where}.{key}", high)

    def text(self, key: str, limit: int, *, empty: bool = True) -> str:
        return _str(self._obj[key], f"{self._where}.{key}", limit, empty=empty)

    def choice(self, key: str, allowed: frozenset[str]) -> str:
        value = self._obj[key]
        if not isinstance(value, str) or value not in allowed:
            raise WireError(f"{self._where}.{key}: not one of {', '.join(sorted(allowed))}")
        return value

    def seq(self, key: str, limit: int) -> list[object]:
        value = self._obj[key]
        if not isinstance(value, list) or len(value) > limit:
            raise WireError(f"{self._where}.{key}: expected a list of at most {limit}")
        return value


class _Budget:
    """Unpacker hooks: count every container and element, refuse duplicate map keys."""

    def __init__(self) -> None:
        self.left = MAX_ITEMS

    def _take(self, n: int) -> None:
        self.left -= n + 1
        if self.left < 0:
            raise WireError("body has too many items")

    def pairs(self, pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
        self._take(len(pairs))
        result = dict(pairs)
        if len(result) != len(pairs):
            raise WireError("duplicate map key")
        return result

    def array(self, items: list[Any]) -> list[Any]:
        self._take(len(items))
        return items


def _unpack(data: bytes, depth: int) -> object:
    if len(data) > MAX_BODY:
        raise WireError("body too large")
    try:
        budget = _Budget()
        obj: object = msgpack.unpackb(
            data, raw=False, strict_map_key=True, use_list=True,
            object_pairs_hook=budget.pairs, list_hook=budget.array,
            max_str_len=MAX_STR_BYTES, max_bin_len=0, max_ext_len=0,
            max_array_len=MAX_ARRAY, max_map_len=MAX_MAP,
        )
    except WireError:
        raise
    except (msgpack.UnpackException, ValueError, TypeError, OverflowError) as exc:
        raise WireError(f"not a msgpack body ({type(exc).__name__}: {exc})"[:160]) from None
    if not isinstance(obj, dict):
        raise WireError("body: expected a map")
    _check_depth(obj, depth)
    return obj


def _check_depth(root: dict[Any, Any], limit: int) -> None:
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = [(root, 1)]
    while stack:
        obj, depth = stack.pop()
        for child in obj.values() if isinstance(obj, dict) else obj:
            if isinstance(child, dict | list):
                if depth >= limit:
                    raise WireError("body nested too deeply")
                stack.append((child, depth + 1))
