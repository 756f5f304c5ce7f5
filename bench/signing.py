"""``make bench-signing``: seconds per MiB of PDF to sign and to verify, on this machine.

PDFs of several sizes (a page with a "scan" of random bytes, like real scanned documents) are
signed with a PKCS#12 key and a visible stamp, then verified through the sandboxed worker that
the daemon and hub use. The fixed cost (per document) and the slope (per MiB) are reported
separately: hashing is linear in size, the CMS and stamp are per document. The Raspberry Pi
figure is an estimate, not a measurement: fixed costs (Python, CMS, stamp) ×4–6 for a Pi 4
core, the per-MiB part (SHA-256) ×8–12 because the Pi 4's BCM2711 lacks the ARMv8 crypto
extensions that x86 SHA-NI matches.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from gateway.signing import TrustConfig, Verifier
from gateway.signing.keys import Pkcs12Key, open_signer
from gateway.signing.sign import sign_pdf
from gateway.signing.stamp import IssueInfo, StampConfig
from gateway.testbed.pdf_samples import make_pdf

MiB = 1024 * 1024
PI_FACTOR = (4.0, 6.0)  # Python work on one Cortex-A72 core vs a current x86 core
PI_HASH_FACTOR = (8.0, 12.0)  # SHA-256: x86 has SHA extensions, the Pi 4's BCM2711 has none


def _pki(d: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.signing_pki import P12_PASSWORD, make_pki

    pki = make_pki(d)
    os.environ["GW_BENCH_P12"] = P12_PASSWORD
    return pki.agency.p12, pki.roots_pem


def _best(runs: int, fn: object) -> float:
    assert callable(fn)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="0.1,1,10", help="PDF sizes in MiB")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",")]
    d = Path(tempfile.mkdtemp(prefix="gw-bench-signing-"))
    rows = []
    try:
        p12, roots = _pki(d)
        trust = TrustConfig.from_files(roots)
        issue = IssueInfo("UBND xã Tân Phong", "123/UBND-VP", datetime.now(UTC))
        start = time.perf_counter()
        with Verifier() as verifier:
            verifier.verify(make_pdf(), trust)
            spawn = time.perf_counter() - start
            with open_signer(Pkcs12Key(p12, password_env="GW_BENCH_P12")) as signer:
                for mib in sizes:
                    src = d / f"in-{mib}.pdf"
                    src.write_bytes(make_pdf(size=int(mib * MiB)))
                    out = d / f"out-{mib}.pdf"
                    sign_s = _best(args.runs, lambda src=src, out=out: sign_pdf(
                        src, out, signer, StampConfig(), issue))
                    verify_s = _best(args.runs, lambda out=out: verifier.verify(out, trust))
                    assert verifier.verify(out, trust).all_valid_trusted
                    rows.append({"mib": mib, "sign_s": sign_s, "verify_s": verify_s})
    finally:
        shutil.rmtree(d, ignore_errors=True)
    small, large = rows[0], rows[-1]
    span = large["mib"] - small["mib"] or 1.0
    slope = {k: (large[k] - small[k]) / span for k in ("sign_s", "verify_s")}
    print("| PDF MiB | sign s | verify s | sign s/MiB | verify s/MiB |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mib']:g} | {r['sign_s']:.3f} | {r['verify_s']:.3f} | "
              f"{r['sign_s'] / r['mib']:.3f} | {r['verify_s'] / r['mib']:.3f} |")
    lo, hi = PI_FACTOR
    hlo, hhi = PI_HASH_FACTOR
    print(f"\nper document (fixed): sign {small['sign_s']:.3f} s, verify "
          f"{small['verify_s']:.3f} s; per MiB (slope {small['mib']:g}→{large['mib']:g} MiB): "
          f"sign {slope['sign_s']:.4f} s, verify {slope['verify_s']:.4f} s")
    print(f"verifier worker start (python + pyhanko import, first PDF): {spawn:.2f} s")

    def pi(kind: str, mib: float, factor: float, hash_factor: float) -> float:
        return small[kind] * factor + slope[kind] * mib * hash_factor

    m = large["mib"]
    print(f"Raspberry Pi 4 estimate (fixed costs ×{lo:g}–{hi:g}, per-MiB hashing "
          f"×{hlo:g}–{hhi:g}): a {m:g} MiB PDF signs in {pi('sign_s', m, lo, hlo):.1f}–"
          f"{pi('sign_s', m, hi, hhi):.1f} s and verifies in {pi('verify_s', m, lo, hlo):.1f}–"
          f"{pi('verify_s', m, hi, hhi):.1f} s; worker start {spawn * lo:.1f}–{spawn * hi:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "slope": slope, "spawn_s": spawn,
                                         "pi_factor": PI_FACTOR,
                                         "pi_hash_factor": PI_HASH_FACTOR}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
