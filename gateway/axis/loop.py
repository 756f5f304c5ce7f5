"""One round of the hub ↔ axis exchange, independent of how the hub stores things.

``pull`` runs list → get → persist → acknowledge: a package is acknowledged ``done`` only after
``persist`` returned (so it is durable), ``fail`` when it cannot be read, and a package whose
dedupe key was already persisted is acknowledged without persisting it again. ``push`` sends a
package unless its key was already accepted by the axis. The dedupe key is the DocumentId plus
what the package does with it, because the SDK's revoke, update and replace packages reuse the
DocumentId of the document they act on; for a status package it is the answered DocumentId,
the status code and the sender.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.axis.client import AxisTransport, ReceivedItem
from gateway.edxml import DocumentPackage, EdxmlRefused, Imported, Package, read_package


def dedupe_key(pkg: Package) -> str:
    if isinstance(pkg, DocumentPackage):
        bus = pkg.bussiness
        kind = (bus.bussiness_doc_type or "0").strip() if bus else "0"
        return f"edoc|{pkg.header.document_id or ''}|{kind}"
    h = pkg.header
    return (f"status|{h.response_for.document_id if h.response_for else ''}|"
            f"{h.status_code or ''}|{h.from_.organ_id if h.from_ else ''}")


@dataclass
class PullReport:
    persisted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


async def pull(axis: AxisTransport, *, seen: Callable[[str], Awaitable[bool]],
               persist: Callable[[Imported, bytes, ReceivedItem], Awaitable[None]]) -> PullReport:
    report = PullReport()
    for item in await axis.received():
        data = await axis.get_edoc(item.doc_id)
        try:
            imported = read_package(data)
        except EdxmlRefused:
            await axis.update_status(item.doc_id, done=False)
            report.refused.append(item.doc_id)
            continue
        if await seen(dedupe_key(imported.package)):
            report.duplicates.append(item.doc_id)
        else:
            await persist(imported, data, item)
            report.persisted.append(item.doc_id)
        await axis.update_status(item.doc_id, done=True)
    return report


async def push(axis: AxisTransport, package: bytes, pkg: Package, *,
               sent: Callable[[str], Awaitable[str | None]],
               record: Callable[[str, str], Awaitable[None]]) -> str:
    """Sends once: returns the axis docId, from ``sent`` when this key already went."""
    key = dedupe_key(pkg)
    if (earlier := await sent(key)) is not None:
        return earlier
    doc_id = await axis.send_edoc(package)
    await record(key, doc_id)
    return doc_id
