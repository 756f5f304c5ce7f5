"""The ``gateway`` command. Exit codes: 0 ok, 2 usage, 1 refused or failed (reason on stderr),
130 stopped with Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import threading
from collections.abc import Sequence

from gateway.cli import admin, documents, hub
from gateway.cli.doc_view import candidate_lines
from gateway.cli.parser import FILTERS, build_parser
from gateway.cli.table import terminal_width
from gateway.model import Problem, Refused, ui_language
from gateway.model.errors import (
    identity_damaged,
    is_utf8,
    not_utf8,
    system_error,
    unexpected_error,
)
from gateway.model.safe_text import safe_text
from gateway.services.documents import mark, retry
from gateway.services.lookup import AmbiguousId, resolved_id
from gateway.services.send import SendRequest
from gateway.services.triage import Filter, Sort

__all__ = ["build_parser", "main"]

_STOPPED = Problem("stopped", "Đã dừng theo yêu cầu.", "Stopped at your request.")
# Refusals that go away by themselves (the link comes back): exit 75, EX_TEMPFAIL of
# sysexits.h, so that a script (first boot) can tell "try again" from "fix something".
_TRY_LATER = frozenset({"enroll.unreachable"})
EX_TEMPFAIL = 75


async def _dispatch(args: argparse.Namespace, lang: str) -> int:
    if getattr(args, "doc_id", None) is not None:  # a unique prefix names the document
        args.doc_id = await resolved_id(args.data, args.doc_id)
    match args.command:
        case "init":
            await admin.init(args.data, args.agency, args.hub, args.directory, args.token)
            if args.restore is not None:  # a replacement box, enrolled just now
                await hub.restore_box(args.data, args.restore)
        case "run":
            return await hub.run(args.data, args.log_level)
        case "demo":
            return await hub.demo(args.data, args.profile, args.seed, args.once, args.scale,
                                  lang)
        case "enroll":
            await hub.enroll(args.data, args.hub, args.token, args.restore)
        case "hub":
            return await hub.hub_command(args)
        case "send":
            await documents.send_document(SendRequest(
                data=args.data, to=args.to.split(","), subject=args.subject,
                number=args.number, doc_type=args.doc_type, urgency=args.urgency,
                due=args.due, secret=args.secret, files=args.files,
                place=args.place, signer=args.signer), lang)
        case "list":
            await documents.list_docs(args.data, args.direction, args.json, lang,
                                      _list_view(args))
        case "show":
            await documents.show(args.data, args.doc_id, args.json, lang)
        case "export" if args.edxml is not None:
            await documents.export_edxml(args.data, args.doc_id, args.edxml)
        case "verify":
            return 0 if await documents.verify(args.data, args.doc_id, lang) else 1
        case "export":
            await documents.export(args.data, args.doc_id, args.dest, lang)
        case "import":
            await documents.import_edxml(args.data, args.file, lang)
        case "status":
            await admin.status(args.data, args.json, lang, args.now)
        case "scrub":
            return 0 if await admin.scrub(args.data, lang) else 1
        case "agencies":
            admin.agencies(args.data, args.search, args.json)
        case "mark":
            await mark(args.data, args.doc_id, args.status, args.note)
        case "retry":
            await retry(args.data, args.doc_id)
        case _:
            return 2
    return 0


# Arguments that name files may hold any bytes the file system allows; every other argument
# becomes document text, which must be valid UTF-8.
_PATH_ARGS = frozenset({"data", "dest", "directory", "files", "file", "edxml"})


def _check_text_arguments(args: argparse.Namespace) -> None:
    for name, value in vars(args).items():
        if name in _PATH_ARGS:
            continue
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not is_utf8(text):
                option = f"--{name.replace('_', '-')}"
                raise Refused(not_utf8(option, option, text))


def _one_line(exc: BaseException, lang: str) -> str:
    """The reason for a failure nobody refused on purpose, in one line."""
    from gateway.security.certs import PkiError  # only on this path: it loads cryptography

    if isinstance(exc, PkiError):
        return identity_damaged(str(exc)).text(lang)
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return system_error(f"{exc.strerror}{where}").text(lang)
    return unexpected_error(f"{type(exc).__name__}: {exc}").text(lang)


def _say(line: str) -> None:
    print(f"gateway: {safe_text(' '.join(line.split()))}", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace, lang: str) -> int:
    try:
        _check_text_arguments(args)
        code = asyncio.run(_dispatch(args, lang))
        sys.stdout.flush()  # a closed pipe shows up here, while it can still be handled
        return code
    except AmbiguousId as exc:
        _say(exc.text(lang))
        for line in candidate_lines(exc, lang, terminal_width()):
            print(line, file=sys.stderr)
        return 2
    except Refused as exc:
        _say(exc.text(lang))
        return EX_TEMPFAIL if set(exc.codes) <= _TRY_LATER else 1
    except BrokenPipeError:
        # The reader (``head``, a pager) has gone: nothing left to say to it. Point stdout at
        # /dev/null so the interpreter's final flush does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:  # Ctrl-C before a command set up its own handling of it
        _say(_STOPPED.text(lang))
        return 130
    except Exception as exc:
        if os.environ.get("GATEWAY_DEBUG"):
            raise
        _say(_one_line(exc, lang))
        return 1


def _list_view(args: argparse.Namespace) -> documents.ListView | None:
    """The triage ``gateway list`` was asked for; ``None`` when none was."""
    if args.search is None and args.which is None and args.sort is None:
        return None
    return documents.ListView(query=args.search or "", which=FILTERS.get(args.which, Filter.ALL),
                              sort=Sort(args.sort or "date"))


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one subcommand; the language (``GATEWAY_LANG``) is read here, once."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Paths given on the command line may hold bytes that are not UTF-8; print them back
        # as they came instead of failing on them.
        sys.stdout.reconfigure(errors="surrogateescape")
    lang = ui_language()
    try:
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the command starts
        _say(_STOPPED.text(lang))
        return 130
    code = _run(args, lang)
    if code != 0 and any(t.is_alive() and not t.daemon for t in threading.enumerate()
                         if t is not threading.main_thread()):
        # Last resort: a worker thread left behind by a failure (an unclosed database
        # connection) would keep this process alive forever, and systemd would never restart
        # it. The reason is already printed; stop here.
        sys.stdout.flush()
        os._exit(code)
    return code

