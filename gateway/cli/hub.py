"""Subcommands that talk to the hub or are one: enroll, run, demo and ``gateway hub …``.

The two daemons (``run``, ``hub run``) configure logging first (:mod:`gateway.logs`) and stop
cleanly on SIGINT or SIGTERM. The sync engine, the hub and the testbed are imported only by
the subcommand that needs them, so the clerk's quick commands start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
from pathlib import Path

from gateway import logs
from gateway.model import Problem, Refused

# ``gateway hub`` subcommands that keep a hub over the years (gateway/cli/hub_admin.py).
HUB_ADMIN = frozenset({"backup", "restore", "renew-cert", "ca"})


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run(data: str, log_level: str) -> int:
    from gateway.services import daemon

    logs.configure(log_level)
    return await daemon.run(data, stop_on_signals())


async def enroll(data: str, hub: str, token: str, restore: int | None = None) -> None:
    from gateway.services import daemon

    print(await daemon.enroll(data, hub, token))
    if restore is not None:
        await restore_box(data, restore)


async def restore_box(data: str, days: int) -> None:
    """A replacement box takes its commune's recent documents back (after enrolling)."""
    from gateway.cli.hub_admin import say
    from gateway.services.box_restore import restore_box as take_back

    r = await take_back(data, days)
    say(f"Đã lấy lại từ máy chủ tỉnh {r.received} văn bản đến và {r.sent} văn bản đi của "
        f"{days} ngày qua; tệp đính kèm đang được tải về.",
        f"Took back from the hub {r.received} received and {r.sent} sent documents of the "
        f"last {days} days; their attachments are being fetched.")


async def demo(data: str | None, profile: str, seed: int, once: bool, scale: float,
               lang: str) -> int:
    # Ctrl-C only asks the demo to stop, from here on: before the (slow) imports below, so
    # that no Ctrl-C cancels it half-way through starting the hub.
    stop = stop_on_signals()
    from gateway.linkemu import get_profile
    from gateway.testbed import demo as demo_run

    try:
        link = get_profile(profile)
    except ValueError as exc:
        raise Refused(Problem("profile.unknown", str(exc), str(exc))) from None
    with contextlib.ExitStack() as stack:
        # A file still being closed must not turn the end of a run into a failure.
        root = Path(data) if data else Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="gateway-demo-", ignore_cleanup_errors=True)))
        result = await demo_run.run(root, link, seed, sys.stdout, once=once, stop=stop,
                                    scale=scale, lang=lang)
    if result.stopped:
        return 130  # stopped by the person running it (Ctrl-C), as a shell reports SIGINT
    return 0 if result.ok else 1


async def _serve(data: str, listen: str, log_level: str) -> None:
    from gateway.services.hub import hub_keep_alive, hub_serve

    logs.configure(log_level)
    stop = stop_on_signals()
    hub = await hub_serve(data, listen)
    host = listen.rpartition(":")[0]
    print(f"hub listening on https://{host}:{hub.port}", flush=True)
    watch = asyncio.create_task(hub_keep_alive(hub, stop))
    try:
        await stop.wait()
    finally:
        watch.cancel()  # it says STOPPING=1 on its way out
        with contextlib.suppress(asyncio.CancelledError):
            await watch
        await hub.close()


async def hub_command(args: argparse.Namespace) -> int:
    """``gateway hub …``; the hub's modules load only here, never for the box's commands."""
    from gateway.services import hub

    if args.hub_command in HUB_ADMIN:
        from gateway.cli import hub_admin

        return await hub_admin.command(args)
    match args.hub_command:
        case "init" if args.ca_offline:
            from gateway.cli.hub_admin import init_offline

            await init_offline(args)
        case "init":
            print(await hub.hub_init(args.data, args.province, args.directory, args.names))
        case "run":
            await _serve(args.data, args.listen, args.log_level)
        case "token":
            print(await hub.hub_token(args.data, args.agency, args.ttl))
        case "admin-token":
            print(await hub.hub_admin_token(args.data, args.ttl))
        case "revoke":
            print(await hub.hub_revoke(args.data, args.agency))
        case "directory":
            print(await hub.hub_directory(args.data))
        case "report":
            from gateway.cli.kpi_report import csv_report, text_report

            kpi = await hub.hub_report(args.data, args.first, args.end)
            sys.stdout.write(csv_report(kpi) if args.csv else text_report(kpi))
    return 0
