"""``POST /v1/sync``: one round trip carrying everything both sides have to say."""

from __future__ import annotations

import logging
from dataclasses import replace

from aiohttp import web

from gateway.hub.auth import caller
from gateway.hub.bodies import read_limited
from gateway.hub.reply import fixed_size, inbox_item_size, receipt_size, too_large, within
from gateway.hub.state import HUB, HubState
from gateway.hub.status_policy import store_statuses
from gateway.model import Envelope, Refused
from gateway.model.document import validate_envelope
from gateway.protocol.compression import BodyTooLarge, CompressionError
from gateway.protocol.crossdoc import (
    RECODE,
    UPLOAD_CHAIN,
    UPLOAD_DICT_MAX,
    UPLOAD_DICT_REFS,
    UPLOAD_RECODE_OFFER,
)
from gateway.protocol.frame_resume import UPLOAD_HELD, UPLOAD_RESUME_OFFER, held_list
from gateway.protocol.limits import (
    MAX_COMPRESSED_BODY,
    MAX_NEED,
    MAX_XDOC_DICT,
    MAX_XDOC_REFS,
    REPLY_BUDGET,
    SYNC_TYPE,
)
from gateway.protocol.seen import MAX_SEEN, NEED_HEADER, NEWS_HEADER, inbox_digest, need_digest
from gateway.protocol.wire import (
    EPOCH_HEADER,
    HubConfig,
    Refusal,
    SyncReply,
    SyncRequest,
    WireError,
    decode_request,
    encode_reply,
)

log = logging.getLogger("gateway.hub")


async def handle_sync(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    agency = caller(request)
    hub.count("sync")
    req = await _decode(request, hub)
    retry = hub.status_rate.retry_after_s(agency, len(req.statuses), hub.store.clock())
    if retry:  # refused whole and before any effect: the box keeps its statuses for later
        hub.refusal("status_rate")
        raise web.HTTPTooManyRequests(headers={"Retry-After": str(retry)},
                                      text="too many statuses; try again later\n")
    # The box sends a sync while its earlier long-poll is still open only when it stopped
    # waiting for it (a clerk queued something): end that one, so its connection is free again.
    hub.notifier.notify({agency})
    hub.store.heartbeat(agency, req.node)
    # Below the disk reserve the hub takes no new documents; the gateways keep them queued
    # and offer them again at every sync, so nothing is lost while the disk is freed.
    low_disk = hub.store.blobs.free_bytes() < hub.reserve_bytes
    offered = () if low_disk else [(env, _verdict(hub, agency, env)) for env in req.out]
    accepted = await hub.store.accept(agency, offered)
    touched = set(accepted.touched)
    touched |= await hub.store.ack(agency, req.acks)
    outcome = await store_statuses(hub.store, agency, req.statuses)
    touched |= outcome.touched
    hub.status_rate.spend(agency, outcome.stored, hub.store.clock())
    for reason in outcome.refused:
        hub.refusal(reason)
    if outcome.refused:
        log.info("statuses refused from %s: %d of %d", agency, len(outcome.refused),
                 len(req.statuses))
    hub.notifier.notify(touched - {agency})
    refused = accepted.refused + req.bad_out
    # The inbox mark (X-Sync-News) is read before each reply: a document routed meanwhile is
    # news at the box's next upload reply, never lost between the two reads.
    mark = await hub.store.inbox_mark(agency)
    reply = await _reply(hub, agency, req, accepted.accepted, refused)
    wait = min(req.wait, hub.max_wait_s)
    seen = request.headers.get("X-Sync-Seen", "")[:MAX_SEEN]
    if wait > 0 and not _news(reply, seen):
        hub.notifier.arm(agency)
        mark = await hub.store.inbox_mark(agency)
        reply = await _reply(hub, agency, req, (), ())
        if not _news(reply, seen):
            await hub.notifier.wait(agency, wait)
            mark = await hub.store.inbox_mark(agency)
            reply = await _reply(hub, agency, req, (), ())
    if request.headers.get(EPOCH_HEADER) == "1":  # only a box that reads it (protocol §3)
        reply = replace(reply, epoch=hub.epoch)
    dict_id = hub.compressor.choose(request.headers.get("X-Sync-Dicts", ""))
    known = request.headers.get(NEED_HEADER, "")[:MAX_SEEN]
    named = bool(known) and known == need_digest([n.sha256 for n in reply.need])
    body = hub.compressor.compress(encode_reply(reply, need_known=named), dict_id)
    headers = {"X-Sync-Dict": str(dict_id), NEWS_HEADER: str(mark)}
    if reply.need:  # only then does the box upload: an idle long-poll reply stays smaller
        headers[UPLOAD_DICT_MAX] = str(MAX_XDOC_DICT)
        headers[UPLOAD_CHAIN] = "1"
        headers[UPLOAD_RECODE_OFFER] = RECODE
        headers[UPLOAD_DICT_REFS] = str(MAX_XDOC_REFS)
        headers[UPLOAD_RESUME_OFFER] = "1"
        held = hub.held_frames.listing(agency, ((n.sha256, n.offset) for n in reply.need))
        if held:
            headers[UPLOAD_HELD] = held_list(held)
    return web.Response(body=body, content_type=SYNC_TYPE, headers=headers)


def _news(reply: SyncReply, seen: str) -> bool:
    """Whether a long-poll should be answered now: anything but the inbox the box holds."""
    return bool(reply.receipts or reply.accepted or reply.refused
                or (reply.inbox and inbox_digest(reply.inbox) != seen))


def _verdict(hub: HubState, agency: str, env: Envelope) -> Refusal | None:
    """Why the hub refuses ``env`` from ``agency`` on its face, or None (the store then checks
    it against what it holds)."""
    if env.sender != agency:
        return Refusal(env.id, "forbidden.sender",
                       "a gateway may only issue documents from its own agency")
    try:
        validate_envelope(env, lambda code: code in hub.store.directory
                          or code in hub.store.national)
    except Refused as exc:
        return Refusal(env.id, exc.codes[0], str(exc)[:500])
    return too_large(env)


async def _decode(request: web.Request, hub: HubState) -> SyncRequest:
    if request.content_length is not None and request.content_length > MAX_COMPRESSED_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_COMPRESSED_BODY,
                                            actual_size=request.content_length)
    body = await read_limited(request, MAX_COMPRESSED_BODY)
    try:
        dict_id = int(request.headers.get("X-Sync-Dict", "0"))
        raw = hub.compressor.decompress(body, dict_id)
        return decode_request(raw)
    except BodyTooLarge as exc:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_COMPRESSED_BODY, actual_size=len(body),
                                            text=f"{exc}\n") from None
    except (CompressionError, WireError, ValueError) as exc:
        raise web.HTTPBadRequest(text=f"{str(exc)[:200]}\n") from None


async def _reply(hub: HubState, agency: str, req: SyncRequest, accepted: tuple[str, ...],
                 refused: tuple[Refusal, ...]) -> SyncReply:
    """The reply, its inbox and receipts filled within the byte budget (hub/reply.py)."""
    reply = SyncReply(
        time_ms=hub.store.clock(),
        accepted=accepted,
        refused=refused,
        need=tuple(await hub.store.needs(agency))[:MAX_NEED],
        inbox=(),
        receipts=(),
        config=HubConfig(frame_max=hub.frame_max, dict_id=hub.compressor.newest(),
                         trust=hub.signatures.bundle),
    )
    room = REPLY_BUDGET - fixed_size(reply)
    inbox = within(await hub.store.inbox(agency, room), inbox_item_size, room)
    room -= sum(inbox_item_size(i) for i in inbox)
    receipts = within(await hub.store.receipts(agency, req.rcursor), receipt_size, room)
    return replace(reply, inbox=inbox, receipts=receipts)
