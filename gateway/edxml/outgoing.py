"""An outgoing package from a stored envelope, its attachments and, when it came as
edXML, the original package (so the fields the envelope does not model come back unchanged).

Shared by the box's ``gateway export --edxml`` and the hub's push to the axis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from gateway.edxml.limits import DEFAULT_LIMITS, ParseLimits
from gateway.edxml.mapping import package_from_envelope
from gateway.edxml.model import Organ
from gateway.edxml.package import DocumentPackage, read_package
from gateway.model.document import Envelope


def outgoing_package(env: Envelope, blobs: Mapping[str, bytes], *,
                     name_of: Callable[[str], str | None], now: datetime,
                     original: bytes | None = None,
                     limits: ParseLimits = DEFAULT_LIMITS) -> DocumentPackage:
    """``name_of`` gives an agency's name for From/To (the directory or the axis list); an
    organ that the original package described keeps every detail it had there."""
    base = read_package(original, limits).package if original is not None else None
    pkg = base if isinstance(base, DocumentPackage) else None
    known = {} if pkg is None else {
        o.organ_id: o for o in (pkg.header.from_, *pkg.header.to) if o is not None and o.organ_id}

    def organ(code: str) -> Organ:
        return known.get(code) or Organ(organ_id=code, organ_name=name_of(code) or code)

    return package_from_envelope(env, blobs, organ=organ, now=now, original=pkg)
