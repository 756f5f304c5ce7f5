"""Runs `gateway send` over and over in one process, for the SIGKILL crash test.

Usage: python -m tests.crash_sender DATA_DIR FILE... ; prints "ready", then one id per sent
document (printed by the real CLI only after its commit).
"""

from __future__ import annotations

import itertools
import sys

from gateway.cli import main as gateway_main


def run(data: str, files: list[str]) -> None:
    print("ready", flush=True)
    recipients = ["000.00.32.H35", "000.00.33.H35,000.00.01.H35", "000.00.34.H35"]
    for n in itertools.count():
        rc = gateway_main([
            "send", "--data", data, "--to", recipients[n % 3], "--subject", f"Văn bản số {n}",
            "--number", f"{n}/UBND", "--urgency", ["thuong", "hoa-toc"][n % 2],
            files[n % len(files)], files[(n + 1) % len(files)],
        ])
        if rc != 0:
            sys.exit(rc)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2:])
