"""Who is connected to the local axis: systems, their secrets, and the agencies under each.

Read from ``systems.json`` in the service's data folder::

    {"systems": [{"id": "hub-h35", "secret": "…",
                  "agencies": [{"code": "000.00.00.H35", "name": "UBND tỉnh"}, …]}, …]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import GatewayError
from gateway.model.agency import AgencyCode
from gateway.model.errors import Refused

MAX_SYSTEMS = 1000


class RegistryError(GatewayError):
    """The axis's own configuration is unusable (an operator error, not a client's)."""


@dataclass(frozen=True)
class AxisAgency:
    code: str
    name: str
    system: str


@dataclass(frozen=True)
class Registry:
    secrets: dict[str, bytes]
    agencies: dict[str, AxisAgency]

    def owner(self, code: str) -> str | None:
        """The system an agency code belongs to: exact, else its nearest registered parent."""
        try:
            parsed: AgencyCode | None = AgencyCode.parse(code)
        except Refused:
            return None
        while parsed is not None:
            if parsed.text in self.agencies:
                return self.agencies[parsed.text].system
            parsed = parsed.parent
        return None

    @classmethod
    def load(cls, path: Path) -> Registry:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            systems = data["systems"][:MAX_SYSTEMS]
            secrets = {str(s["id"]): str(s["secret"]).encode() for s in systems}
            agencies = {}
            for s in systems:
                for a in s.get("agencies", []):
                    code = AgencyCode.parse(str(a["code"])).text
                    agencies[code] = AxisAgency(code, str(a.get("name", code)), str(s["id"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RegistryError(f"{path}: {exc}") from None
        return cls(secrets, agencies)
