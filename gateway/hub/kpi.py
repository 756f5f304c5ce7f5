"""The provincial KPIs, per agency and in total, over a period of Vietnamese calendar days.

What the province reports on its document exchange (../shared/DOMAIN.md): documents exchanged
electronically, the share digitally signed, how long a commune takes from a document's arrival
to 03 (Tiếp nhận) and to 06 (Hoàn thành), and documents left past their due date. A period is
``[from, to)`` in whole days of UTC+7, by default the current month so far; the facts come from
:mod:`gateway.store.hub.kpi` on the hub's clock. ``GET /v1/kpi?from=…&to=…`` serves them to the
admin token; ``gateway hub report`` prints them from the hub's data directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from aiohttp import web

from gateway.hub.state import HUB
from gateway.model import Problem, Refused
from gateway.model.document import VN_TZ
from gateway.store.hub.documents import HubStore
from gateway.store.hub.kpi import UnitFacts

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Period:
    first: date  # first day counted
    end: date  # first day not counted

    @property
    def from_ms(self) -> int:
        return _day_start_ms(self.first)

    @property
    def to_ms(self) -> int:
        return _day_start_ms(self.end)


def _day_start_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=VN_TZ).timestamp() * 1000)


def _day(text: str, which: str) -> date:
    try:
        if _DAY.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise Refused(Problem("kpi.date", f"Ngày {which} không hợp lệ (YYYY-MM-DD): {text[:40]!r}",
                          f"Invalid {which} date (YYYY-MM-DD): {text[:40]!r}"))


def period(first: str | None, end: str | None, now_ms: int) -> Period:
    """``[first, end)`` from ``YYYY-MM-DD`` texts; by default from the first of the month of
    the last day counted, to the end of today (UTC+7)."""
    today = datetime.fromtimestamp(now_ms / 1000, VN_TZ).date()
    end_day = _day(end, "to") if end is not None else today + timedelta(days=1)
    last = end_day - timedelta(days=1)
    first_day = _day(first, "from") if first is not None else last.replace(day=1)
    if first_day >= end_day:
        raise Refused(Problem("kpi.period", "Ngày bắt đầu phải trước ngày kết thúc.",
                              "The from date must be before the to date."))
    return Period(first_day, end_day)


@dataclass(frozen=True)
class UnitKpi:
    agency: str  # "" for the total
    name: str
    facts: UnitFacts
    signed: int | None  # None: unknown (the hub keeps no signature verdicts yet)

    @property
    def signed_share(self) -> float | None:
        if self.signed is None or not self.facts.issued:
            return None
        return self.signed / self.facts.issued

    @property
    def avg_to_03_s(self) -> int | None:
        return _avg_s(self.facts.ms_to_03, self.facts.reached_03)

    @property
    def avg_to_06_s(self) -> int | None:
        return _avg_s(self.facts.ms_to_06, self.facts.reached_06)

    def to_json(self) -> dict[str, str | int | float | None]:
        f = self.facts
        return {"agency": self.agency, "name": self.name, "issued": f.issued,
                "signed": self.signed, "signed_share": self.signed_share,
                "arrived": f.arrived, "reached_03": f.reached_03,
                "avg_to_03_s": self.avg_to_03_s, "reached_06": f.reached_06,
                "avg_to_06_s": self.avg_to_06_s, "overdue": f.overdue}


def _avg_s(total_ms: int, count: int) -> int | None:
    return round(total_ms / count / 1000) if count else None


@dataclass(frozen=True)
class KpiReport:
    period: Period
    now_ms: int
    units: list[UnitKpi]  # every directory agency and any other with something counted
    total: UnitKpi

    def to_json(self) -> dict[str, object]:
        return {"from": self.period.first.isoformat(), "to": self.period.end.isoformat(),
                "from_ms": self.period.from_ms, "to_ms": self.period.to_ms,
                "timezone": "UTC+7", "now_ms": self.now_ms,
                "total": self.total.to_json(), "units": [u.to_json() for u in self.units]}


async def report(store: HubStore, when: Period) -> KpiReport:
    now = store.clock()
    facts = await store.kpi.period(when.from_ms, when.to_ms, now)
    signed = facts.signed
    units = []
    for code in sorted(set(store.directory) | set(facts.units)):
        name = store.directory[code].name if code in store.directory else "?"
        unit = facts.units.get(code, UnitFacts(code))
        units.append(UnitKpi(code, name, unit,
                             None if signed is None else signed.get(code, 0)))
    total = UnitFacts("", **{k: sum(getattr(u.facts, k) for u in units) for k in (
        "issued", "arrived", "reached_03", "ms_to_03", "reached_06", "ms_to_06", "overdue")})
    return KpiReport(when, now, units, UnitKpi("", "Tổng cộng", total,
                                                None if signed is None else sum(signed.values())))


async def handle_kpi(request: web.Request) -> web.Response:
    store = request.app[HUB].store
    try:
        when = period(request.query.get("from"), request.query.get("to"), store.clock())
    except Refused as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    return web.json_response((await report(store, when)).to_json())
