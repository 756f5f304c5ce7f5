"""``make bench`` / ``make bench-quick``: delivery over bad links against real alternatives.

Phases, one after the other so none steals CPU from another:

1. transfers: for each link profile, concurrently and each in its own process (see
   bench.scenarios): the gateway's own sync (with cuts, and the same link without cuts),
   a Hỏa tốc run (probes queued behind the bulk), rsync and curl, each behind its own link
   proxy with the same profile and seed; plus a small corpus with frequent cuts (connections
   per cut, ours and rsync);
2. cross-document compression on a born-digital one-office corpus, offline (bench.crossdoc);
3. hub scale: N simulated gateways against one hub process (bench.hubscale);
4. footprint: a ``gateway run`` process's memory and CPU during a ~20 MiB upload
   (bench.footprint), and its traffic while idle before it (bench.idle_traffic).

Prints the issue #10 table (ours next to rsync and the goal, bench.issue_table), then the
detailed table (figures next to their targets) and writes bench/results/latest.json.
Every figure is a ratio of quantities measured in the same run: the machine is shared, so
absolute seconds are not comparable across runs, ratios are.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import crossdoc, footprint, hubmem, hubscale, idle_traffic, issue_table, ledger, report
from bench.baselines import TOOLS, ensure_tools
from bench.corpus import CorpusFile, MiB, make_corpus, make_office_corpus
from bench.procstat import machine
from bench.scenarios import Spec, Transfer, link_profile
from gateway.linkemu import PROFILES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results" / "latest.json"


def say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class Plan:
    quick: bool
    seed: int
    corpus_mb: float
    corpus_3g_mb: float  # quick mode: a shorter 3g-bad run on the first files of the corpus
    profiles: tuple[str, ...]
    hub_n: tuple[int, ...]
    hub_seconds: float
    hub_concurrency: int
    footprint_mb: float
    probes: int
    probe_gap_s: float
    ours_cap: float  # × the expected time (corpus at the link rate, plus blackouts)
    tool_cap: float
    skip: frozenset[str]
    lead_s: float  # each link proxy starts this long before its transfer (same cut schedule)
    idle_s: float  # footprint: how long the daemon is watched idle
    small_mb: float  # the connections figure's corpus (small documents only)
    crossdoc_count: int  # documents in the one-office corpus


def make_plan(args: argparse.Namespace) -> Plan:
    q = bool(args.quick)
    corpus = args.corpus_mb if args.corpus_mb is not None else (3.0 if q else 10.0)
    corpus_3g = args.corpus_3g_mb if args.corpus_3g_mb is not None else (
        min(1.0, corpus) if q else corpus)
    hub_n = tuple(args.hub_n) if args.hub_n else ((100, 1000) if q else (100, 1000, 5000, 10_000))
    return Plan(q, args.seed, corpus, corpus_3g, tuple(args.profiles.split(",")), hub_n,
                args.hub_seconds or (5.0 if q else 15.0), 32,
                args.footprint_mb if args.footprint_mb is not None else (8.0 if q else 20.0),
                args.probes or (2 if q else 3), args.probe_gap or (8.0 if q else 15.0), 2.5,
                2.0, _skips(args), args.lead,
                args.idle_seconds or (90.0 if q else 240.0),
                args.small_mb if args.small_mb is not None else 1.2,
                args.crossdoc_count or (12 if q else 24))


HOATOC_ONLY = frozenset({"ours", "rsync", "curl", "conn", "office", "crossdoc", "hub",
                         "footprint", "install"})


def _skips(args: argparse.Namespace) -> frozenset[str]:
    skip = frozenset(s for s in args.skip.split(",") if s)
    return skip | HOATOC_ONLY if args.hoatoc_only else skip


def expected_s(corpus_bytes: int, profile: str) -> float:
    """Corpus at the uplink rate, stretched by the share of time the link is blacked out."""
    p = PROFILES[profile]
    assert p.up_bps is not None
    down = p.blackout_s / p.cut_every_s if p.cut_every_s else 0.0
    return corpus_bytes / (p.up_bps / 8) * (1 + down)


def _subset(files: Sequence[CorpusFile], target: int, out: Path) -> Path:
    """Hard links to the first files of the corpus, up to about ``target`` bytes."""
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for f in files:
        if total >= target:
            break
        os.link(f.path, out / f.path.name)
        total += f.size
    return out


def _small(files: Sequence[CorpusFile], target: int, out: Path) -> Path:
    """Hard links to the first documents of at most 200 KiB, up to about ``target`` bytes."""
    return _subset([f for f in files if f.size <= 200 * 1024], target, out)


def _tools(skip: frozenset[str]) -> frozenset[str]:
    """Baseline tools to skip: missing ones (after trying apt-get when we are root)."""
    missing = ensure_tools()
    if missing and os.geteuid() == 0 and shutil.which("apt-get") and "install" not in skip:
        say(f"installing {' '.join(missing)} with apt-get (running as root)")
        subprocess.run(["apt-get", "install", "-y", *missing], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        missing = ensure_tools()
    for tool in missing:
        print(f"NOTE: {tool} is not installed: the {tool} comparison is skipped "
              f"(apt-get install -y {tool})", flush=True)
    return frozenset(missing) | frozenset(t for t in TOOLS if t in skip)


async def _scenario(spec: Spec, limit_s: float) -> Transfer | str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.scenarios", json.dumps(dataclasses.asdict(spec)),
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=None)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), limit_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return f"{spec.name}: killed after {limit_s:.0f} s"
    lines = out.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        return f"{spec.name}: exit {proc.returncode}"
    return Transfer.from_json(json.loads(lines[-1]))


async def transfers(plan: Plan, work: Path, corpus: list[CorpusFile],
                    skip_tools: frozenset[str]) -> tuple[dict[str, Transfer], list[str]]:
    probes = make_corpus(work / "probes", seed=plan.seed + 1000, total_bytes=900 * 1024)
    picks = [f for f in probes if f.kind == "digital" and 30_000 <= f.size <= 150_000]
    picks = (picks + [f for f in probes if f not in picks])[:plan.probes]
    specs = []
    for p in plan.profiles:
        mb = plan.corpus_3g_mb if p == "3g-bad" else plan.corpus_mb
        cdir = work / "corpus" if mb >= plan.corpus_mb else _subset(
            corpus, int(mb * MiB), work / f"corpus-{p}")
        size = sum(f.stat().st_size for f in cdir.iterdir())
        exp = expected_s(size, p)
        kinds = [(k, cuts) for k in ("ours", "hoatoc") if k not in plan.skip
                 for cuts in (True, False)]
        kinds += [(t, True) for t in ("rsync", "curl") if t not in skip_tools]
        for kind, cuts in kinds:
            factor = plan.tool_cap if kind in ("rsync", "curl") else plan.ours_cap
            specs.append(Spec(kind, p, cuts, str(cdir), str(work / f"{kind}-{p}-{cuts}"),
                              plan.seed, round(factor * exp + 10, 1), plan.lead_s,
                              probes=tuple(str(f.path) for f in picks) if kind == "hoatoc"
                              else (), probe_gap_s=plan.probe_gap_s))
        say(f"{p} ({link_profile(p, True).describe()}): {size / MiB:.2f} MiB corpus, "
            f"expected ≈ {exp:.0f} s; ours capped at {plan.ours_cap:g}×, rsync/curl at "
            f"{plan.tool_cap:g}×")
    specs += _extra_specs(plan, work, corpus, skip_tools)
    outcomes = await asyncio.gather(*(_scenario(s, s.cap_s + 120) for s in specs))
    runs = {o.name: o for o in outcomes if isinstance(o, Transfer)}
    errors = [o for o in outcomes if isinstance(o, str)]
    return runs, errors


def _extra_specs(plan: Plan, work: Path, corpus: list[CorpusFile],
                 skip_tools: frozenset[str]) -> list[Spec]:
    """The connections figure (a small corpus, a cut every few seconds, ours and rsync), on
    3g-bad when it is measured, else the first profile; and the one-office corpus over the
    real engine on every profile (ours and rsync), which shows the cross-document dictionary
    on the wire."""
    p = "3g-bad" if "3g-bad" in plan.profiles else plan.profiles[0]
    specs = []
    if "office" not in plan.skip:
        office = make_office_corpus(work / "office-wire", seed=plan.seed,
                                    count=plan.crossdoc_count)
        size = sum(f.size for f in office)
        for prof in plan.profiles:
            for kind in ("ours", *(("rsync",) if "rsync" not in skip_tools else ())):
                factor = plan.tool_cap if kind == "rsync" else plan.ours_cap
                specs.append(Spec(kind, prof, True, str(work / "office-wire"),
                                  str(work / f"{kind}-{prof}-office"), plan.seed,
                                  round(factor * expected_s(size, prof) + 30, 1), plan.lead_s,
                                  variant=issue_table.OFFICE))
    if "conn" not in plan.skip:
        cdir = _small(corpus, int(plan.small_mb * MiB), work / "corpus-small")
        size = sum(f.stat().st_size for f in cdir.iterdir())
        share = issue_table.SMALL_BLACKOUT_S / issue_table.SMALL_CUT_EVERY_S
        cap = round(plan.ours_cap * size / (PROFILES[p].up_bps or 1) * 8 * (1 + share) + 30, 1)
        for kind in ("ours", *(("rsync",) if "rsync" not in skip_tools else ())):
            specs.append(Spec(kind, p, True, str(cdir), str(work / f"{kind}-{p}-small"),
                              plan.seed, cap, plan.lead_s, variant=issue_table.SMALL_CUTS,
                              cut_every_s=issue_table.SMALL_CUT_EVERY_S,
                              blackout_s=issue_table.SMALL_BLACKOUT_S))
    return specs


def _git() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True,
                               check=False).stdout.strip()
    except OSError:
        return "unknown"
    return head + ("+uncommitted changes" if dirty else "")


async def main_async(plan: Plan, out: Path, keep: bool) -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    meta: dict[str, object] = {
        "mode": "quick" if plan.quick else "full", "plan": dataclasses.asdict(plan),
        "git": _git(), "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "link": "gateway.linkemu: one token bucket per link direction",
    }
    meta["plan"] = {k: sorted(v) if isinstance(v, frozenset) else v
                    for k, v in dataclasses.asdict(plan).items()}
    rows: list[report.Row] = []
    runs: dict[str, Transfer] = {}
    errors: list[str] = []
    hub: list[dict[str, object]] = []
    fp: dict[str, object] | None = None
    xdoc: dict[str, object] | None = None
    try:
        say(f"{meta['mode']} run; work dir {work}")
        corpus = make_corpus(work / "corpus", seed=plan.seed, total_bytes=int(plan.corpus_mb * MiB))
        meta["corpus"] = {"files": len(corpus), "bytes": sum(f.size for f in corpus),
                          "seed": plan.seed}
        if "transfers" not in plan.skip:
            runs, errors = await transfers(plan, work, corpus, _tools(plan.skip))
            rows += report.transfer_rows(runs, plan.profiles)
        if "crossdoc" not in plan.skip:
            say(f"cross-document compression on {plan.crossdoc_count} one-office documents")
            xdoc = await asyncio.to_thread(crossdoc.run, work / "office", seed=plan.seed,
                                           count=plan.crossdoc_count)
        if "hub" not in plan.skip:
            for n in plan.hub_n:
                try:
                    hub.append(await hubscale.run_one(
                        work / "hubscale", n, fleet_s=plan.hub_seconds,
                        capacity_s=plan.hub_seconds, concurrency=plan.hub_concurrency,
                        p_doc=0.02, say=say))
                except Exception as exc:  # report it and go on with the other figures
                    errors.append(f"hub N={n}: {type(exc).__name__}: {exc}")
                    say(errors[-1])
            rows += report.hub_rows(hub) + hubmem.rows(hub)
        if "footprint" not in plan.skip:
            files = make_corpus(work / "footprint-corpus", seed=plan.seed + 2000,
                                total_bytes=int(plan.footprint_mb * MiB))
            try:
                fp = await footprint.measure(work / "footprint", [f.path for f in files],
                                             idle_s=plan.idle_s, cap_s=300,
                                             say=say)
            except Exception as exc:
                errors.append(f"footprint: {type(exc).__name__}: {exc}")
                say(errors[-1])
            rows += report.footprint_rows(fp) + idle_traffic.rows(fp)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    meta["duration_s"] = round(time.monotonic() - started, 1)
    issue = issue_table.issue_rows(runs, plan.profiles, hub, xdoc, fp)
    _write_json(out, {
        "meta": meta, "issue_rows": [r.as_dict() for r in issue],
        "rows": [r.as_dict() for r in rows], "crossdoc": xdoc,
        "transfers": {k: dataclasses.asdict(v) for k, v in sorted(runs.items())},
        "hub": hub, "footprint": fp, "errors": errors})
    print(_header(meta, plan))
    print("### Issue #10 figures: the gateway next to rsync, in this run\n")
    print(issue_table.markdown(issue))
    print("\n### All figures\n")
    print(report.markdown(rows))
    accounts = ledger.accounting_markdown(
        {k: dataclasses.asdict(v) for k, v in runs.items()})
    if accounts:
        print("\n### Where the bytes went (bench.ledger)\n")
        print(accounts)
    for e in errors:
        print(f"\nERROR: {e}")
    print(f"\nraw results: {out}")
    return 1 if errors else 0


def _write_json(path: Path, data: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _machine(m: object) -> str:
    if not isinstance(m, dict):
        return str(m)
    load = "/".join(str(x) for x in m.get("loadavg", []))
    return f"{m.get('cpus')} CPUs, load average {load} at start, Linux {m.get('kernel')}"


def _header(meta: dict[str, object], plan: Plan) -> str:
    corpus = meta.get("corpus")
    size = corpus.get("bytes", 0) if isinstance(corpus, dict) else 0
    lines = [f"## Benchmark ({meta['mode']} mode, {meta['date']}, git {meta['git']})", "",
             f"- machine: {_machine(meta['machine'])}; took {meta['duration_s']} s",
             f"- corpus: seed {plan.seed}, {int(size) / MiB:.2f} MiB"
             + (f"; 3g-bad uses its first ~{plan.corpus_3g_mb:g} MiB (shorter run)"
                if plan.corpus_3g_mb < plan.corpus_mb else ""),
             "- links: " + "; ".join(PROFILES[p].describe() for p in plan.profiles),
             f"- link emulation: {meta['link']}", ""]
    if plan.quick:
        lines.insert(2, "- QUICK MODE: smaller corpus, shorter 3g-bad run, hub N "
                        f"{', '.join(map(str, plan.hub_n))}, footprint on "
                        f"{plan.footprint_mb:g} MiB — figures are indicative; use `make bench`")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="under 3 minutes, smaller everything")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus-mb", type=float, help="corpus size (default 10, quick 3)")
    ap.add_argument("--corpus-3g-mb", type=float, help="3g-bad corpus (default: all; quick 1)")
    ap.add_argument("--profiles", default="adsl,3g-bad")
    ap.add_argument("--hub-n", type=int, nargs="*", help="simulated gateways per hub run")
    ap.add_argument("--hub-seconds", type=float, help="length of each hub phase")
    ap.add_argument("--footprint-mb", type=float, help="upload size for the footprint")
    ap.add_argument("--skip", default="",
                    help="comma list of: transfers, hub, footprint, rsync, curl, install, "
                         "conn, crossdoc, office, ours (the bulk transfers), hoatoc")
    ap.add_argument("--hoatoc-only", action="store_true",
                    help="only the Hỏa tốc runs (with and without cuts, every profile)")
    ap.add_argument("--probe-gap", type=float, help="seconds between Hỏa tốc probes")
    ap.add_argument("--probes", type=int, help="Hỏa tốc probes per run (3, quick 2); the bulk "
                    "must outlast them: about probes × (gap + 4 s) of uplink time")
    ap.add_argument("--lead", type=float, default=3.0, help="proxy start → transfer start")
    ap.add_argument("--idle-seconds", type=float, help="footprint: idle observation time")
    ap.add_argument("--small-mb", type=float, help="connections figure: corpus (1.2)")
    ap.add_argument("--crossdoc-count", type=int, help="one-office documents (24, quick 12)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    unknown = set(args.profiles.split(",")) - set(PROFILES)
    if unknown:
        ap.error(f"unknown profiles {sorted(unknown)}; known: {sorted(PROFILES)}")
    return asyncio.run(main_async(make_plan(args), args.out, args.keep))


if __name__ == "__main__":
    raise SystemExit(main())
