"""The ``gateway`` command. Exit codes: 0 ok, 2 usage, 1 refused or failed (reason on stderr)."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import threading
from collections.abc import Sequence

from gateway.model import Problem, Refused, ui_language
from gateway.model.errors import (
    identity_damaged,
    is_utf8,
    not_utf8,
    system_error,
    unexpected_error,
)
from gateway.model.safe_text import safe_text


def _local_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="create a gateway data directory")
    p.add_argument("--data", required=True)
    p.add_argument("--agency", required=True)
    p.add_argument("--hub")
    p.add_argument("--directory")
    p.add_argument("--token", help="one-time enrollment token from the hub")

    p = sub.add_parser("send", help="queue a document for sending; prints its id")
    p.add_argument("--data", required=True)
    p.add_argument("--to", required=True, help="CODE[,CODE…]")
    p.add_argument("--subject", required=True)
    p.add_argument("--number", required=True, help="N/NOTATION, e.g. 12/UBND-VP")
    p.add_argument("--type", default="Công văn", dest="doc_type")
    p.add_argument("--urgency", default="thuong",
                   help="thuong | khan | thuong-khan | hoa-toc")
    p.add_argument("--due", help="YYYY-MM-DD")
    p.add_argument("--secret", help="secrecy level; any secret level is refused")
    p.add_argument("--place", default="")
    p.add_argument("--signer", default="")
    p.add_argument("files", nargs="+", metavar="FILE")

    p = sub.add_parser("list", help="list documents")
    p.add_argument("--data", required=True)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--inbox", action="store_const", const="in", dest="direction")
    group.add_argument("--outbox", action="store_const", const="out", dest="direction")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("show", help="one document with states and history")
    p.add_argument("--data", required=True)
    p.add_argument("doc_id")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("export", help="write a document's attachments to a folder")
    p.add_argument("--data", required=True)
    p.add_argument("doc_id")
    p.add_argument("--to", required=True, dest="dest")

    p = sub.add_parser("status", help="queue, inbox and link state of this box")
    p.add_argument("--data", required=True)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("scrub", help="verify every stored attachment")
    p.add_argument("--data", required=True)

    p = sub.add_parser("agencies", help="the agency directory")
    p.add_argument("--data")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("mark", help="record the clerk's status for a received document")
    p.add_argument("--data", required=True)
    p.add_argument("doc_id")
    p.add_argument("--status", required=True, choices=["01", "02", "03", "04", "05", "06"])
    p.add_argument("--note", default="")

    p = sub.add_parser("retry", help="put a failed document back in the queue")
    p.add_argument("--data", required=True)
    p.add_argument("doc_id")


def _service_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="the sync daemon: sync with the hub whenever it is reachable")
    p.add_argument("--data", required=True)

    p = sub.add_parser("demo", help="a hub and three communes behind emulated bad links")
    p.add_argument("--once", action="store_true", help="exit after the summary")
    p.add_argument("--profile", default="adsl", help="lan | adsl | 3g-bad")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", help="keep the province here (default: a temporary folder)")
    p.add_argument("--scale", type=float, default=1.0, help="document size factor")

    p = sub.add_parser("enroll", help="enroll this box with the hub using a one-time token")
    p.add_argument("--data", required=True)
    p.add_argument("--hub", required=True)
    p.add_argument("--token", required=True)

    hub = sub.add_parser("hub", help="the provincial hub").add_subparsers(dest="hub_command",
                                                                         required=True)
    p = hub.add_parser("init", help="create a hub: data, provincial CA, TLS certificate")
    p.add_argument("--data", required=True)
    p.add_argument("--province", required=True, help="level-1 code, e.g. H35")
    p.add_argument("--directory")
    p.add_argument("--name", action="append", default=[], dest="names",
                   help="a DNS name or IP the hub is reached by (repeatable)")
    p = hub.add_parser("run", help="serve the hub over mutual TLS")
    p.add_argument("--data", required=True)
    p.add_argument("--listen", default="127.0.0.1:8443")
    p = hub.add_parser("token", help="print a one-time enrollment token for an agency")
    p.add_argument("--data", required=True)
    p.add_argument("--agency", required=True)
    p.add_argument("--ttl", default="72h")
    p = hub.add_parser("admin-token", help="print a token for the fleet and metrics endpoints")
    p.add_argument("--data", required=True)
    p.add_argument("--ttl", default="365d")
    p = hub.add_parser("revoke", help="revoke an agency's gateway certificates")
    p.add_argument("--data", required=True)
    p.add_argument("--agency", required=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _local_parsers(sub)
    _service_parsers(sub)
    return parser


async def _hub(args: argparse.Namespace) -> int:
    from gateway.commands import services

    match args.hub_command:
        case "init":
            print(await services.hub_init(args.data, args.province, args.directory, args.names))
        case "run":
            await services.hub_run(args.data, args.listen)
        case "token":
            print(await services.hub_token(args.data, args.agency, args.ttl))
        case "admin-token":
            print(await services.hub_admin_token(args.data, args.ttl))
        case "revoke":
            print(await services.hub_revoke(args.data, args.agency))
    return 0


async def _dispatch(args: argparse.Namespace) -> int:
    from gateway.commands import documents, local_admin

    match args.command:
        case "init":
            layout = await local_admin.init(args.data, args.agency, args.hub, args.directory)
            if args.token:
                if not args.hub:
                    raise Refused(Problem("hub.unset", "--token cần đi kèm --hub.",
                                          "--token needs --hub."))
                from gateway.commands.services import gateway_enroll

                await gateway_enroll(args.data, args.hub, args.token)
            print(layout.root)
        case "run":
            from gateway.commands.services import gateway_run

            return await gateway_run(args.data)
        case "demo":
            from gateway.commands.services import demo

            return await demo(args.data, args.profile, args.seed, args.once, args.scale)
        case "enroll":
            from gateway.commands.services import gateway_enroll

            print(await gateway_enroll(args.data, args.hub, args.token))
        case "hub":
            return await _hub(args)
        case "send":
            print(await documents.send(documents.SendRequest(
                data=args.data, to=args.to.split(","), subject=args.subject,
                number=args.number, doc_type=args.doc_type, urgency=args.urgency,
                due=args.due, secret=args.secret, files=args.files,
                place=args.place, signer=args.signer)), flush=True)
        case "list":
            await documents.list_docs(args.data, args.direction, args.json)
        case "show":
            await documents.show(args.data, args.doc_id, args.json)
        case "export":
            for path in await documents.export(args.data, args.doc_id, args.dest):
                print(path)
        case "status":
            await local_admin.status(args.data, args.json)
        case "scrub":
            return 0 if await local_admin.scrub(args.data) else 1
        case "agencies":
            local_admin.agencies(args.data, args.json)
        case "mark":
            await documents.mark(args.data, args.doc_id, args.status, args.note)
        case "retry":
            await documents.retry(args.data, args.doc_id)
        case _:
            return 2
    return 0


# Arguments that name files may hold any bytes the file system allows; every other argument
# becomes document text, which must be valid UTF-8.
_PATH_ARGS = frozenset({"data", "dest", "directory", "files"})


def _check_text_arguments(args: argparse.Namespace) -> None:
    for name, value in vars(args).items():
        if name in _PATH_ARGS:
            continue
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not is_utf8(text):
                option = f"--{name.replace('_', '-')}"
                raise Refused(not_utf8(option, option, text))


def _one_line(exc: BaseException) -> str:
    """The reason for a failure nobody refused on purpose, in one line."""
    from gateway.security.certs import PkiError  # only on this path: it loads cryptography

    if isinstance(exc, PkiError):
        return identity_damaged(str(exc)).text()
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return system_error(f"{exc.strerror}{where}").text()
    return unexpected_error(f"{type(exc).__name__}: {exc}").text()


def _say(line: str) -> None:
    print(f"gateway: {safe_text(' '.join(line.split()))}", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    try:
        _check_text_arguments(args)
        code = asyncio.run(_dispatch(args))
        sys.stdout.flush()  # a closed pipe shows up here, while it can still be handled
        return code
    except Refused as exc:
        _say(exc.text(ui_language()))
        return 1
    except BrokenPipeError:
        # The reader (``head``, a pager) has gone: nothing left to say to it. Point stdout at
        # /dev/null so the interpreter's final flush does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("GATEWAY_DEBUG"):
            raise
        _say(_one_line(exc))
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Paths given on the command line may hold bytes that are not UTF-8; print them back
        # as they came instead of failing on them.
        sys.stdout.reconfigure(errors="surrogateescape")
    code = _run(build_parser().parse_args(argv))
    if code != 0 and any(t.is_alive() and not t.daemon for t in threading.enumerate()
                         if t is not threading.main_thread()):
        # Last resort: a worker thread left behind by a failure (an unclosed database
        # connection) would keep this process alive forever, and systemd would never restart
        # it. The reason is already printed; stop here.
        sys.stdout.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
