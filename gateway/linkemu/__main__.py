"""``python -m gateway.linkemu``: run the link emulator standalone, for demos and manual tests.

Example::

    python -m gateway.linkemu --listen 127.0.0.1:9000 --target 127.0.0.1:8443 --profile 3g-bad

Then point the gateway at 127.0.0.1:9000 instead of the hub. Prints a stats line every few
seconds; Ctrl-C (or SIGTERM) stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import signal
import sys

from gateway.linkemu.profiles import PROFILES, LinkProfile, get_profile
from gateway.linkemu.proxy import LinkProxy, LinkStats

__all__ = ["format_stats", "main"]


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.linkemu",
        description="TCP proxy emulating a slow, unreliable link (loopback only).",
    )
    parser.add_argument(
        "--listen",
        type=_address,
        default=("127.0.0.1", 9000),
        metavar="HOST:PORT",
        help="where clients connect (default 127.0.0.1:9000)",
    )
    parser.add_argument(
        "--target",
        type=_address,
        metavar="HOST:PORT",
        help="where to forward to (the hub); required",
    )
    parser.add_argument(
        "--profile", default="3g-bad", help=f"link profile: {', '.join(PROFILES)} (default 3g-bad)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the cut schedule")
    parser.add_argument("--no-cuts", action="store_true", help="disable scheduled cuts")
    parser.add_argument(
        "--interval",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds between stats lines (default 5)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="exit after S seconds (default: run until Ctrl-C)",
    )
    parser.add_argument("--list-profiles", action="store_true", help="list profiles and exit")
    return parser


def format_stats(stats: LinkStats, elapsed: float) -> str:
    """One log line; KiB so it can be compared with the profile rates at a glance."""
    return (
        f"[{elapsed:8.1f} s] up {stats.bytes_up / 1024:10.1f} KiB  "
        f"down {stats.bytes_down / 1024:10.1f} KiB  conns {stats.connections}  "
        f"cuts {stats.cuts}  refused {stats.refused}  blackout {stats.blackout_seconds:.1f} s"
    )


async def _run(args: argparse.Namespace, profile: LinkProfile) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available off the main thread or on Windows: Ctrl-C then ends asyncio.run.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    (listen_host, listen_port), (target_host, target_port) = args.listen, args.target
    proxy = LinkProxy(
        target_host,
        target_port,
        profile,
        listen_host=listen_host,
        listen_port=listen_port,
        seed=args.seed,
        auto_cuts=not args.no_cuts,
    )
    async with proxy:
        print(
            f"linkemu {listen_host}:{proxy.port} -> {target_host}:{target_port}  "
            f"[{profile.describe()}]",
            flush=True,
        )
        started = loop.time()
        deadline = math.inf if args.duration is None else started + args.duration
        while not stop.is_set() and (remaining := deadline - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(args.interval, remaining)):
                    await stop.wait()
            print(format_stats(proxy.stats, loop.time() - started), flush=True)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit status instead of exiting (for the project CLI)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error, already printed by argparse
        return exc.code if isinstance(exc.code, int) else 2
    if args.list_profiles:
        for profile in PROFILES.values():
            print(profile.describe())
        return 0
    if args.target is None:
        parser.print_usage(sys.stderr)
        print("error: --target HOST:PORT is required", file=sys.stderr)
        return 2
    try:
        profile = get_profile(args.profile)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.interval <= 0:
        print("error: --interval must be positive", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        asyncio.run(_run(args, profile))
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # typically "address already in use"
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
