"""Turns raw benchmark results into the figures, each next to its target, as markdown.

Targets are printed, never asserted: a benchmark that fails a build on a busy machine teaches
people to ignore it. A verdict is "met", "MISSED" or "—" (informational, or not measurable).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.scenarios import Probe, Transfer
from gateway.linkemu import PROFILES

MiB = 2**20


@dataclass(frozen=True)
class Row:
    figure: str
    link: str
    measured: str
    detail: str
    target: str
    verdict: str
    rsync: str = ""  # the issue table's side-by-side column (bench.issue_table)

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "MISSED")


def _kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def _mb(n: float) -> str:
    return f"{n / 1e6:,.2f} MB"


def up_rate(profile: str) -> float:
    bps = PROFILES[profile].up_bps
    assert bps is not None
    return bps / 8


def limit_s(t: Transfer) -> float:
    """Physical limit: the corpus bytes at the uplink rate, plus the time the link was down."""
    return t.corpus_bytes / up_rate(t.profile) + t.blackout_s


def own_time_s(size: int, profile: str, down_s: float = 0.0) -> float:
    """A document's own transfer time: its bytes at the uplink rate plus one round trip, plus
    ``down_s``, the seconds the link was blacked out while it was on its way (the physical
    limit of any transfer is bytes ÷ rate plus the time the link was down)."""
    return size / up_rate(profile) + PROFILES[profile].rtt_ms / 1000 + down_s


def probe_ratios(probes: Sequence[Probe], profile: str) -> tuple[list[float], list[float]]:
    """Each probe's latency ÷ own time: with its link's down time in the own time (the
    definition judged), and without it (the definition before the down time was recorded)."""
    with_down, bare = [], []
    for pr in probes:
        if pr.at_hub_s is None:
            with_down.append(float("inf"))
            bare.append(float("inf"))
            continue
        with_down.append(pr.at_hub_s / own_time_s(pr.size, profile, pr.down_s))
        bare.append(pr.at_hub_s / own_time_s(pr.size, profile))
    return with_down, bare


def transfer_rows(runs: Mapping[str, Transfer], profiles: Sequence[str]) -> list[Row]:
    rows: list[Row] = []
    for p in profiles:
        ours = runs.get(f"ours/{p}")
        if ours is None:  # --skip ours: the Hỏa tốc runs alone
            rows += _probe_rows(runs.get(f"hoatoc/{p}"), p, "4.")
            rows += _probe_rows(runs.get(f"hoatoc/{p}/no-cuts"), p, "4b.")
            continue
        lim = limit_s(ours)
        if ours.delivered_files == ours.files:
            ratio = ours.elapsed_s / lim
            rows.append(Row(
                "1. delivery time ÷ physical limit (until the hub verified all)", p,
                f"{ratio:.3f}",
                f"{ours.elapsed_s:.1f} s vs {lim:.1f} s = {ours.corpus_bytes / MiB:.2f} MiB corpus "
                f"at {up_rate(p) * 8 / 1000:g} kbit/s + {ours.blackout_s:.1f} s down "
                f"({ours.cuts} cuts); link up but idle {ours.idle_up_s:.1f} s; "
                f"{ours.connections} connections, {ours.syncs} syncs", "≤ 1.15",
                verdict(ratio <= 1.15)))
        else:
            rows.append(Row("1. delivery time ÷ physical limit (until the hub verified all)", p,
                            f"> {ours.elapsed_s / lim:.2f}",
                            f"NOT FINISHED: {ours.delivered_files}/{ours.files} documents "
                            f"({ours.delivered_bytes / ours.corpus_bytes:.0%} of bytes) at the "
                            f"hub after {ours.elapsed_s:.0f} s (cap); {ours.cuts} cuts, "
                            f"{ours.blackout_s:.0f} s down, link up but idle "
                            f"{ours.idle_up_s:.0f} s", "≤ 1.15", "MISSED"))
        if ours.elapsed_b_s is not None:
            rows.append(Row("1b. … until gateway B stored all", p,
                            f"{ours.elapsed_b_s / lim:.3f}",
                            f"{ours.elapsed_b_s:.1f} s (downlink "
                            f"{(PROFILES[p].down_bps or 0) / 1000:g} kbit/s, pipelined)",
                            "—", "—"))
        nocut = runs.get(f"ours/{p}/no-cuts")
        if nocut is not None and nocut.delivered_files == nocut.files:
            rows.append(Row("1c. … same link without cuts", p,
                            f"{nocut.elapsed_s / limit_s(nocut):.3f}",
                            f"{nocut.elapsed_s:.1f} s vs {limit_s(nocut):.1f} s; idle "
                            f"{nocut.idle_up_s:.1f} s; {nocut.connections} connections, "
                            f"{nocut.syncs} syncs", "—", "—"))
        wire = ours.wire_up + ours.wire_down
        if ours.delivered_files < ours.files:
            rows.append(Row("2–3. wire bytes, re-sent bytes per cut", p, "n/a",
                            "the transfer did not finish: no whole-corpus figure", "—", "—"))
            rows += _probe_rows(runs.get(f"hoatoc/{p}"), p, "4.")
            rows += _probe_rows(runs.get(f"hoatoc/{p}/no-cuts"), p, "4b.")
            for tool in ("rsync", "curl"):
                rows += _versus(ours, runs.get(f"{tool}/{p}"), tool, p)
            continue
        rows.append(Row("2. bytes on the wire ÷ corpus bytes", p,
                        f"{wire / ours.corpus_bytes:.3f}",
                        f"up {_mb(ours.wire_up)} + down {_mb(ours.wire_down)} for "
                        f"{_mb(ours.corpus_bytes)}", "—", "—"))
        rows += _resend_rows(ours, nocut, p)
        rows += _probe_rows(runs.get(f"hoatoc/{p}"), p, "4.")
        rows += _probe_rows(runs.get(f"hoatoc/{p}/no-cuts"), p, "4b.")
        for tool in ("rsync", "curl"):
            rows += _versus(ours, runs.get(f"{tool}/{p}"), tool, p)
    return rows


def _resend_rows(ours: Transfer, nocut: Transfer | None, p: str) -> list[Row]:
    frame = max(ours.max_frame, 1)
    if ours.cuts == 0:
        return [Row("3. re-sent bytes per cut", p, "n/a", "no cut happened during the run",
                    "≤ 1 frame", "—")]
    target = f"≤ 1 frame ({_kib(frame)})"
    rows = []
    if nocut is not None and nocut.delivered_files == nocut.files:
        extra = (ours.wire_up + ours.wire_down - nocut.wire_up - nocut.wire_down) / ours.cuts
        rows.append(Row("3. re-sent bytes per cut: wire bytes beyond the cut-free run ÷ cuts", p,
                        _kib(extra), f"everything a cut costs on the link (lost frames, TLS "
                        f"handshakes, HEAD, retried syncs), {ours.cuts} cuts; largest frame "
                        f"{_kib(frame)}", target, verdict(extra <= frame)))
    resent = (ours.blob_bytes_up - ours.corpus_bytes) / ours.cuts
    rows.append(Row("3b. payload handed to the socket again per cut (blob_bytes_up − corpus)",
                    p, _kib(resent), f"{_kib(ours.blob_bytes_up - ours.corpus_bytes)} over "
                    f"{ours.cuts} cuts: frames read and sent again, whether or not the first "
                    "copy reached the link", target, verdict(resent <= frame)))
    return rows


def _probe_rows(run: Transfer | None, p: str, label: str) -> list[Row]:
    if run is None or not run.probes:
        return []
    ratios, bare = probe_ratios(run.probes, p)
    parts = []
    for pr in run.probes:
        if pr.at_hub_s is None:
            parts.append(f"{_kib(pr.size)}: never arrived")
            continue
        parts.append(f"{_kib(pr.size)} at {pr.bulk_sent:.0%} of bulk: {pr.at_hub_s:.1f} s vs "
                     f"{own_time_s(pr.size, p, pr.down_s):.1f} s"
                     + (f" ({pr.down_s:.1f} s of it down)" if pr.down_s else "")
                     + (" (cut)" if pr.cut_during else "")
                     + (f", at B {pr.at_b_s:.1f} s" if pr.at_b_s is not None else ""))
    median = statistics.median(ratios)
    what = ("Hỏa tốc latency behind the bulk ÷ its own transfer time (median, at hub)"
            if run.cuts_enabled else "… same link without cuts")
    return [Row(f"{label} {what}", p, f"{median:.2f}× (worst {max(ratios):.2f}×)",
                "; ".join(parts) + f"; own time without down time: {statistics.median(bare):.2f}"
                f"× (worst {max(bare):.2f}×)", "≤ 2×" if run.cuts_enabled else "—",
                verdict(median <= 2.0) if run.cuts_enabled else "—")]


def _versus(ours: Transfer, other: Transfer | None, tool: str, p: str) -> list[Row]:
    if other is None:
        return []
    targeted = p == "3g-bad"
    ours_ok = ours.delivered_files == ours.files
    ours_bytes, their_bytes = ours.wire_up + ours.wire_down, other.wire_up + other.wire_down
    if not ours_ok:  # ours gave up at its cap: only a lower bound on our time is known
        t_ratio, b_ratio = ours.elapsed_s / other.elapsed_s, float("inf")
        t_text = f"> {t_ratio:.2f}" if other.finished else "n/a (neither finished)"
        b_text = "n/a (ours did not finish)"
        how = (f"{tool} took {other.elapsed_s:.1f} s ({other.cuts} cuts, idle "
               f"{other.idle_up_s:.1f} s), {other.attempts} runs" if other.finished else
               f"{tool} did NOT finish either ({other.delivered_files}/{other.files} files)")
    elif other.finished:
        t_ratio, b_ratio = ours.elapsed_s / other.elapsed_s, ours_bytes / their_bytes
        t_text, b_text = f"{t_ratio:.2f}", f"{b_ratio:.2f}"
        how = (f"{tool} took {other.elapsed_s:.1f} s ({other.cuts} cuts, idle "
               f"{other.idle_up_s:.1f} s), {other.attempts} runs; ours {ours.elapsed_s:.1f} s")
    else:  # it gave up at the cap: it would have needed more time and more bytes than that
        t_ratio = ours.elapsed_s / other.elapsed_s
        t_text = f"< {t_ratio:.2f}"
        b_ratio = ours_bytes / their_bytes
        b_text = f"< {b_ratio:.2f}" if b_ratio < 1 else f"{b_ratio:.2f} (theirs incomplete)"
        how = (f"{tool} did NOT finish in {other.elapsed_s:.0f} s ({other.attempts} runs): "
               f"{other.delivered_files}/{other.files} files, "
               f"{other.delivered_bytes / max(other.corpus_bytes, 1):.0%} of bytes")
    target = "< 1" if targeted else "—"
    return [
        Row(f"5. time ours ÷ {tool}", p, t_text, how, target,
            verdict(ours_ok and t_ratio < 1) if targeted else "—"),
        Row(f"5. wire bytes ours ÷ {tool}", p, b_text,
            f"ours {_mb(ours_bytes)}, {tool} {_mb(their_bytes)}", target,
            verdict(ours_ok and b_ratio < 1)
            if targeted and (other.finished or b_ratio < 1) and ours_ok
            else ("MISSED" if targeted and not ours_ok else "—")),
    ]


def _get(d: Mapping[str, object], *keys: str) -> object:
    cur: object = d
    for k in keys:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(k)
    return cur


def hub_rows(results: Sequence[Mapping[str, object]]) -> list[Row]:
    rows: list[Row] = []
    for r in results:
        n = r.get("n")
        fleet_p99 = _get(r, "fleet", "sync_p99_ms")
        ok = isinstance(fleet_p99, float | int) and fleet_p99 < 250
        rows.append(Row(
            "6. hub at fleet rate (1 sync / 25 s / gateway): sync p50 / p99", f"N={n}",
            f"{_get(r, 'fleet', 'sync_p50_ms')} / {fleet_p99} ms",
            f"{_get(r, 'fleet', 'req_per_s')} req/s (offered {_get(r, 'fleet', 'offered_per_s')}"
            f"), hub CPU {_get(r, 'fleet', 'hub_cpu')} core, hub RSS "
            f"{_get(r, 'fleet', 'hub_rss_mb')} MB, errors {_get(r, 'fleet', 'errors')}",
            "p99 < 250 ms at N ≥ 5000", verdict(ok) if n == 5000 else "—"))
        rows.append(Row(
            "6b. hub capacity, closed loop: req/s, sync p50 / p99", f"N={n}",
            f"{_get(r, 'capacity', 'req_per_s')} req/s, {_get(r, 'capacity', 'sync_p50_ms')} / "
            f"{_get(r, 'capacity', 'sync_p99_ms')} ms",
            f"{_get(r, 'concurrency')} in flight; hub CPU {_get(r, 'capacity', 'hub_cpu')}, "
            f"load generator CPU {_get(r, 'capacity', 'loadgen_cpu')} core; connect "
            f"p99 {_get(r, 'warm_up', 'connect_p99_ms')} ms; errors "
            f"{_get(r, 'capacity', 'errors')}", "—", "—"))
    return rows


def footprint_rows(fp: Mapping[str, object] | None) -> list[Row]:
    if not fp:
        return []
    peak = _get(fp, "peak_rss_mb")
    idle = _get(fp, "idle_rss_mb")
    ok = isinstance(peak, float | int) and peak < 80
    corpus = _get(fp, "corpus_bytes")
    size = f"{corpus / MiB:.1f} MiB" if isinstance(corpus, int) else "?"
    return [
        Row("7. gateway daemon RSS: idle / peak during transfer", "lan",
            f"{idle} / {peak} MB", f"`gateway run` process, VmRSS idle, VmHWM after a {size} "
            f"upload ({_get(fp, 'elapsed_s')} s)", "< 80 MB", verdict(ok)),
        Row("7b. gateway daemon CPU per MiB sent", "lan", f"{_get(fp, 'cpu_s_per_mib')} s/MiB",
            f"{_get(fp, 'cpu_s')} CPU s for {size}; idle CPU {_get(fp, 'idle_cpu_percent')} %",
            "—", "—"),
    ]


def markdown(rows: Sequence[Row]) -> str:
    out = ["| Figure | Link | Measured | Detail | Target | Verdict |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        cells = (r.figure, r.link, r.measured, r.detail, r.target, r.verdict)
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(out)
