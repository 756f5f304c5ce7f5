"""Hub ``/metrics``: the fleet and the hub itself, in the Prometheus text format.

Every agency in the directory has a series, including boxes that never connected: for those
``gateway_ever_seen`` is 0 and ``gateway_online`` 0, and the series that only a heartbeat can
fill (last seen, queue, disk, skew, version…) are absent rather than a made-up zero, so an
alert on ``gateway_ever_seen == 0`` fires and a disk alert does not. Series names are the
contract with ``deploy/prometheus/`` (alert rules and dashboard); a test checks that every name
those files use appears here.
"""

from __future__ import annotations

import re

from aiohttp import web

from gateway import __version__
from gateway.hub.exposition import Exposition, Sample
from gateway.hub.fleet import GatewayHealth, fleet
from gateway.hub.state import HUB, HubState

_ERROR_CLASS = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,63}")


def error_class(last_error: str) -> str:
    """The class part of a heartbeat's ``Class: text``; remote text, so a strict pattern."""
    match = _ERROR_CLASS.match(last_error.partition(":")[0].strip())
    return match.group(0) if match else "other"


def _per(entries: list[GatewayHealth], field: str) -> list[Sample]:
    """One sample per gateway of an integer field of its health."""
    return [({"agency": e.agency}, int(getattr(e, field))) for e in entries]


def _seconds(ms: int) -> float | int:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


async def render(hub: HubState) -> str:
    every = await fleet(hub)
    seen = [e for e in every if e.seen]
    now = hub.store.clock()
    docs = await hub.store.fleet.document_counts()
    out = Exposition()
    f = out.family

    # The hub itself.
    f("gateway_hub_version_info", "gauge", "The hub's software version.",
      [({"version": __version__}, 1)])
    f("gateway_hub_gateways_online", "gauge", "Gateways seen within the last 3 minutes.",
      [({}, sum(1 for e in seen if e.online))])
    f("gateway_hub_requests_total", "counter",
      "Requests handled, by kind (patch_dict: blobs of PATCHes decoded against a dictionary; "
      "chain: chain frames taken, each one more blob in a PATCH; patch_recode: PATCHes that "
      "announced recoded frames).",
      [({"kind": k}, v) for k, v in sorted(hub.requests.items())])
    f("gateway_hub_upload_lost_bytes_total", "counter",
      "Upload bytes received in frames that a cut left incomplete, and not kept.",
      [({}, hub.lost_bytes)])
    held = hub.held_frames
    f("gateway_hub_upload_pieces_total", "counter",
      "Pieces of frames a cut interrupted: kept for the gateway to go on with, and gone on with.",
      [({"event": "kept"}, held.kept), ({"event": "resumed"}, held.resumed)])
    f("gateway_hub_upload_resumed_bytes_total", "counter",
      "Upload bytes of interrupted frames that a gateway did not send again.",
      [({}, held.resumed_bytes)])
    f("gateway_hub_upload_held_bytes", "gauge",
      "Bytes of interrupted frames held in memory now.", [({}, held.held_bytes)])
    f("gateway_hub_refused_total", "counter", "Content the hub refused, by reason.",
      [({"reason": k}, v) for k, v in sorted(hub.refusals.items())])
    f("gateway_hub_documents", "gauge", "Documents held by the hub, by state.",
      [({"state": "complete"}, docs.complete), ({"state": "incomplete"}, docs.incomplete)])
    f("gateway_hub_disk_free_bytes", "gauge", "Free disk space where the hub keeps its blobs.",
      [({}, hub.store.blobs.free_bytes())])
    f("gateway_hub_database_bytes", "gauge", "Size of the hub's database and its log.",
      [({}, hub.store.db.size_bytes())])
    f("gateway_hub_certificate_expiry_timestamp_seconds", "gauge",
      "When the provincial CA and the hub's server certificate expire (Unix time).",
      [({"certificate": k}, v) for k, v in sorted(hub.cert_expiry_s.items())])

    # Every agency in the directory.
    f("gateway_ever_seen", "gauge", "1 if the gateway ever synced with this hub, else 0.",
      [({"agency": e.agency}, int(e.seen)) for e in every])
    f("gateway_online", "gauge", "1 if the gateway synced within the last 3 minutes.",
      [({"agency": e.agency}, int(e.online)) for e in every])
    f("gateway_inbox_waiting_documents", "gauge", "Documents at the hub not yet fetched.",
      [({"agency": e.agency}, e.inbox_waiting) for e in every])
    f("gateway_inbox_oldest_age_seconds", "gauge",
      "Age of the oldest document waiting at the hub for the gateway.",
      [({"agency": e.agency}, _seconds(now - e.inbox_oldest_ms)) for e in every
       if e.inbox_oldest_ms is not None])

    # Gateways that sent a heartbeat.
    f("gateway_last_seen_timestamp_seconds", "gauge", "When the gateway last synced (Unix time).",
      [({"agency": e.agency}, _seconds(e.last_seen_ms or 0)) for e in seen])
    f("gateway_last_seen_age_seconds", "gauge", "Seconds since the gateway last synced.",
      [({"agency": e.agency}, _seconds(now - (e.last_seen_ms or now))) for e in seen])
    f("gateway_version_info", "gauge", "The software version the gateway last reported.",
      [({"agency": e.agency, "version": e.version}, 1) for e in seen])
    f("gateway_queue_documents", "gauge", "Documents waiting in the gateway's outbound queue.",
      _per(seen, "queue"))
    f("gateway_dead_letter_documents", "gauge",
      "Documents the gateway gave up sending (dead letters; a clerk must retry them).",
      _per(seen, "dead"))
    f("gateway_clock_skew_seconds", "gauge", "Hub clock minus gateway clock.",
      [({"agency": e.agency}, _seconds(e.skew_ms)) for e in seen])
    f("gateway_disk_free_bytes", "gauge", "Free disk space on the gateway.",
      _per(seen, "disk_free"))
    f("gateway_corrupt_blobs", "gauge", "Blobs the gateway's scrub found corrupt.",
      _per(seen, "blobs_bad"))
    f("gateway_stalled", "gauge",
      "1 if the gateway syncs but has taken nothing in for 15 minutes while documents wait.",
      [({"agency": e.agency}, int(e.stalled)) for e in seen])
    f("gateway_last_error_info", "gauge",
      "The class of the gateway's last sync failure, when it reported one.",
      [({"agency": e.agency, "class": error_class(e.last_error)}, 1) for e in seen
       if e.last_error])
    counts = await hub.store.signatures.signed_counts()
    f("gateway_documents_issued_total", "counter",
      "Documents routed by the hub, by issuing agency.",
      [({"agency": c.agency}, c.issued) for c in counts])
    f("gateway_documents_signed_total", "counter",
      "Routed documents with a PDF validly signed by a trusted signer, by issuing agency.",
      [({"agency": c.agency}, c.signed) for c in counts])
    return out.text()


async def handle_metrics(request: web.Request) -> web.Response:
    return web.Response(text=await render(request.app[HUB]),
                        content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})
