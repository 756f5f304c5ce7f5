"""The issue #10 table's parts: the one-office corpus, the cross-document figure, the byte
ledger's request kinds and the table's arithmetic (what each row divides by what)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from yarl import URL

from bench import issue_table
from bench.corpus import CorpusFile, make_office_corpus
from bench.crossdoc import measure
from bench.ledger import accounting, kind_of
from bench.probe_trace import PHASES, HubWatch, ProbeTrace, Request
from bench.scenarios import Probe, Transfer, down_within
from gateway.store.blobs import BlobStore


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> list[CorpusFile]:
    return make_office_corpus(tmp_path_factory.mktemp("office"), seed=3, count=4)


def test_office_corpus_is_deterministic_and_shares_logo_and_seal(
        office: list[CorpusFile], tmp_path: Path) -> None:
    again = make_office_corpus(tmp_path, seed=3, count=4)
    assert [f.sha256 for f in again] == [f.sha256 for f in office]
    datas = [f.path.read_bytes() for f in office]
    jpegs = [set(re.findall(rb"/DCTDecode /Length \d+ >>\nstream\n(.{64})", d, re.S))
             for d in datas]
    shared = set.intersection(*jpegs)
    assert len(shared) >= 2, "logo and seal are the same images in every document"
    fonts = [re.findall(rb"/Length1 \d+ /Filter /FlateDecode /Length \d+ >>\nstream\n(.{64})",
                        d, re.S) for d in datas]
    assert all(fonts) and len({f[0] for f in fonts}) == len(fonts), "each embeds its own subset"
    assert len(set(datas)) == len(datas)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) missing")
def test_office_documents_are_readable_pdfs_of_one_commune(office: list[CorpusFile]) -> None:
    texts = [subprocess.run(["pdftotext", str(f.path), "-"], capture_output=True, text=True,
                            check=True).stdout for f in office]
    communes = {m.group(1).strip() for t in texts if (m := re.search(r"^XÃ (.+)$", t, re.M))}
    assert len(communes) == 1, communes
    assert all("ỦY BAN NHÂN DÂN" in t for t in texts)


def test_crossdoc_measure_uses_the_previous_document(office: list[CorpusFile]) -> None:
    m = measure(office, level=3)
    assert m["files"] == 4 and m["bytes"] == sum(f.size for f in office)
    assert float(m["with_dict"]) < float(m["per_file"]) - 0.1
    assert float(m["together"]) <= float(m["per_file"])


def test_ledger_kinds() -> None:
    sha = "ab" * 32
    assert kind_of("POST", URL("https://h/v1/sync")) == "sync"
    assert kind_of("PATCH", URL(f"https://h/v1/blobs/{sha}")) == "patch"
    assert kind_of("HEAD", URL(f"https://h/v1/blobs/{sha}")) == "head"
    assert kind_of("GET", URL(f"https://h/v1/blobs/{sha}")) == "download"
    assert kind_of("GET", URL("https://h/v1/health")) == "other"


def _t(name: str, *, elapsed: float = 110.0, corpus: int = 320_000, wire: int = 300_000,
       cuts: int = 5, conns: int = 7, blackout: float = 10.0, kind: str = "ours",
       delivered: int = 3) -> Transfer:
    profile = name.split("/")[1]
    return Transfer(name, kind, profile, True, corpus, 3, True, elapsed, None, wire, 0, cuts,
                    blackout, conns, 0, delivered, corpus)


def test_time_bytes_and_connection_rows_divide_what_the_issue_divides() -> None:
    # 320 kB at 32 kB/s = 10 s + 10 s blacked out: 22 s is 1.1 × the usable-link limit.
    runs = {"ours/3g-bad": _t("ours/3g-bad", elapsed=22.0),
            "rsync/3g-bad": _t("rsync/3g-bad", elapsed=21.0, kind="rsync", wire=316_800),
            "ours/3g-bad/small-cuts": _t("ours/3g-bad/small-cuts", conns=7, cuts=5),
            "rsync/3g-bad/small-cuts": _t("rsync/3g-bad/small-cuts", conns=5, kind="rsync")}
    time_row, bytes_row = (issue_table.time_rows(runs, ["3g-bad"])
                           + issue_table.bytes_rows(runs, ["3g-bad"]))
    assert (time_row.measured, time_row.rsync, time_row.verdict) == ("1.100", "1.050",
                                                                     "MISSED")
    assert (bytes_row.measured, bytes_row.rsync, bytes_row.verdict) == ("0.938", "0.990",
                                                                        "met")
    (conn,) = issue_table.connection_rows(runs)
    assert (conn.measured, conn.rsync, conn.verdict) == ("7 for 5 cuts", "5 for 5 cuts", "met")
    runs["ours/3g-bad/small-cuts"] = _t("ours/3g-bad/small-cuts", conns=8, cuts=5)
    assert issue_table.connection_rows(runs)[0].verdict == "MISSED"
    runs["ours/3g-bad"] = _t("ours/3g-bad", delivered=2)
    assert issue_table.time_rows(runs, ["3g-bad"])[0].verdict == "MISSED"


def test_hoatoc_rows_judge_median_and_worst() -> None:
    run = _t("hoatoc/adsl", kind="hoatoc")
    run.probes = [Probe(64_000, 1.0, 0.1, at, None, False) for at in (1.5, 2.0, 5.0)]
    (row,) = issue_table.hoatoc_rows({"hoatoc/adsl": run}, ["adsl"])
    assert row.verdict == "MISSED" and row.measured.startswith("1.")  # worst over 3


def test_hub_memory_rows_use_the_largest_held_run() -> None:
    def held(n: int, per: float, mib: float, resets: int = 0) -> dict[str, object]:
        return {"n": n, "held": {"n": n, "per_conn_kib": per, "held_rss_mb": mib,
                                 "errors": {"ConnectionResetError": resets}}}

    hub: list[dict[str, object]] = [held(100, 90.0, 60.0), held(5000, 300.0, 1527.0)]
    per, fleet = issue_table.hub_memory_rows(hub)
    assert per.measured == "307 KB" and per.verdict == "MISSED"
    assert fleet.measured == "not run" and fleet.verdict == "—"
    hub.append(held(10_000, 50.0, 620.0))
    per, fleet = issue_table.hub_memory_rows(hub)
    assert per.measured == "51 KB" and per.verdict == "met"
    assert (fleet.measured, fleet.verdict) == ("650 MB", "met")
    hub[-1] = held(10_000, 50.0, 1100.0, resets=6650)  # resets met while connecting: retried
    per, fleet = issue_table.hub_memory_rows(hub)
    assert fleet.verdict == "MISSED" and "retried while connecting: 6650" in fleet.detail
    assert [r.measured for r in issue_table.hub_memory_rows([{"n": 20}])] == ["not run"]


def test_idle_row_is_per_minute_both_ways() -> None:
    fp = {"idle_traffic": {"per_min": 1000, "bytes_up": 600, "bytes_down": 400,
                           "window_s": 60, "exchanges": 2, "connections": 0}}
    (row,) = issue_table.idle_rows(fp)
    assert (row.measured, row.verdict) == ("1,000 B", "met")
    assert issue_table.idle_rows(None) == [] and issue_table.idle_rows({}) == []


def test_accounting_splits_the_wire_bytes_and_adds_up() -> None:
    def run(wire: int, conns: int, patch: int, sync: int, heads: int) -> dict[str, object]:
        kinds = {"patch": {"requests": 3, "header_up": 900, "header_down": 300,
                           "body_up": patch, "body_down": 0, "total": patch + 1200},
                 "sync": {"requests": 5, "header_up": 1000, "header_down": 800,
                          "body_up": sync, "body_down": sync, "total": 2 * sync + 1800},
                 "head": {"requests": heads, "header_up": 200 * heads, "header_down": 0,
                          "body_up": 0, "body_down": 0, "total": 200 * heads}}
        http = sum(int(k["total"]) for k in kinds.values())
        return {"wire_up": wire, "wire_down": 0, "connections": conns,
                "ledger": {"kinds": kinds, "http_total": http}}
    # HTTP 106 000 B (101 200 PATCH, 4 800 sync) + 2 connections × 10 kB of TLS
    nocut = run(wire=106_000 + 20_000, conns=2, patch=100_000, sync=1500, heads=0)
    # 4 connections (TLS 2 × 10 kB more), 30 kB of PATCH body more, of which 8 kB was lost
    # i.e. HTTP 136 400 B + 40 kB of TLS − 8 kB lost
    cut = run(wire=136_400 + 40_000 - 8_000, conns=4, patch=130_000, sync=1500, heads=2)
    rows = dict(accounting(cut, nocut))
    assert rows["blob frames of the corpus (after zstd, with chunk framing)"] == 100_000
    assert rows["frame bytes sent again that reached the link (cut mid-frame)"] == 22_000
    assert rows["TLS: 4 connections × 10.0 kB (handshake, records)"] == 40_000
    parts = [n for what, n in accounting(cut, nocut) if not what.startswith("wire total")]
    assert sum(parts) == rows["wire total (A's link, up + down)"]


def test_an_unfinished_transfer_shows_bounds() -> None:
    runs = {"ours/3g-bad": _t("ours/3g-bad", elapsed=40.0, wire=640_000, delivered=2)}
    (time_row,) = issue_table.time_rows(runs, ["3g-bad"])
    (bytes_row,) = issue_table.bytes_rows(runs, ["3g-bad"])
    assert (time_row.measured, time_row.verdict) == ("> 2.00", "MISSED")
    assert (bytes_row.measured, bytes_row.verdict) == ("> 2.00", "MISSED")


def test_hoatoc_own_time_counts_the_links_down_time_and_shows_both() -> None:
    # 64 000 B at 64 kB/s + 80 ms = 1.08 s; 1.08 s down on its way doubles its own time.
    run = _t("hoatoc/adsl", kind="hoatoc")
    run.probes = [Probe(64_000, 1.0, 0.1, 3.24, None, True, down_s=1.08),
                  Probe(64_000, 9.0, 0.3, 2.16, None, False)]
    (row,) = issue_table.hoatoc_rows({"hoatoc/adsl": run}, ["adsl"])
    assert row.measured == "1.75 (worst 2.00)" and row.verdict == "met"
    assert "1.50, 2.00" in row.detail and ": 2.50 (worst 3.00)" in row.detail
    assert "no probe traced in full" in row.detail


def test_down_within_counts_only_the_overlap() -> None:
    downs = [(0.0, 5.0), (10.0, 12.0), (20.0, 25.0)]
    assert down_within(downs, 4.0, 11.0) == 2.0
    assert down_within(downs, 5.0, 10.0) == 0.0
    assert down_within([], 0.0, 100.0) == 0.0


def test_probe_phases_add_up_to_the_latency() -> None:
    sha = "ab" * 32
    trace = ProbeTrace(lambda: 0)
    bulk = Request("PATCH", "/v1/blobs/" + "cd" * 32, 0.0, True, 0.1, 0.2, 1.3, 1.4,
                   body=24_000, pieces=[(0.2, 8000), (0.3, 8000), (1.3, 8000)])
    sync = Request("POST", "/v1/sync", 0.15, False, 0.15, 0.16, 0.16, 0.40, body=500)
    early = Request("POST", "/v1/sync", 0.05, False, 0.05, end=0.09)  # before the send returned
    patch = Request("PATCH", f"/v1/blobs/{sha}", 0.45, True, 0.60, 0.61, 1.90, 2.1,
                    body=90_000, link_up_at_first=1000)
    trace.requests = [bulk, early, sync, patch]
    trace.needs = [(0.09, frozenset()), (0.42, frozenset({sha}))]
    watch = HubWatch(BlobStore(Path("/nonexistent")), sha, 90_000, lambda: 0)
    watch.all_at, watch.link_up_at_all = 2.0, 101_000
    got = trace.phases(sha, 0.0, 0.1, watch, 2.05)
    assert sum(got[k] for k, _ in PHASES) == pytest.approx(2.05)
    assert (got["wake"], got["sync"], got["apply"], got["pick"]) == (0.05, 0.25, 0.02, 0.03)
    assert got["patch_conn"] == 0.15
    assert (got["drain"], got["verify"]) == (0.1, 0.05)
    assert (got["sync_new_conn"], got["patch_new_conn"], got["patches"]) == (0.0, 1.0, 1.0)
    assert got["link_shared_b"] == 10_000
    assert got["bulk_after_need_b"] == 8000  # the piece after the need arrived (0.40 s)
    assert trace.phases("ef" * 32, 0.0, 0.1, watch, 2.05) == {}  # never traced: no phases
