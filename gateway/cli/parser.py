"""The command line: every subcommand, its options and their defaults."""

from __future__ import annotations

import argparse

from gateway.logs import LEVELS

DESCRIPTION = ("The ``gateway`` command. Exit codes: 0 ok, 2 usage, 1 refused or failed "
               "(reason on stderr).")


def _log_level(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-level", choices=LEVELS, default="info",
                   help="least severe log lines to write (default: info)")


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
    p.add_argument("--due", help="due date: 31/12/2026, 31/12 (this year) or 2026-12-31")
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

    p = sub.add_parser("verify", help="check a document's PDF signatures again, now "
                       "(exit 0 only if every PDF attachment is validly signed and trusted)")
    p.add_argument("--data", required=True)
    p.add_argument("doc_id")

    p = sub.add_parser("export", help="write a document's attachments to a folder, or the "
                       "document as an edXML package")
    p.add_argument("--data", required=True)
    p.add_argument("doc_id")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", dest="dest", help="folder for the attachments")
    target.add_argument("--edxml", help="new file for the edXML package (never overwritten)")

    p = sub.add_parser("import", help="queue an edXML package issued by this agency; prints "
                       "the document id")
    p.add_argument("--data", required=True)
    p.add_argument("file", metavar="FILE.edxml")

    p = sub.add_parser("status", help="queue, inbox and link state of this box")
    p.add_argument("--data", required=True)
    p.add_argument("--json", action="store_true")
    p.add_argument("--now", action="store_true",
                   help="wake the sync daemon to try the hub at once, then report")

    p = sub.add_parser("scrub", help="verify every stored attachment")
    p.add_argument("--data", required=True)

    p = sub.add_parser("agencies", help="the agency directory")
    p.add_argument("--data")
    p.add_argument("--search", default="", help="words of the name or code (no accents needed)")
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
    _log_level(p)

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
    _log_level(p)
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
    p = hub.add_parser("directory", help="print the directory for boxes: the province's "
                       "agencies and the national ones the axis link knows")
    p.add_argument("--data", required=True)
    p = hub.add_parser("report", help="provincial KPIs per agency and in total over "
                       "[--from, --to) (UTC+7 days; default: this month so far)")
    p.add_argument("--data", required=True)
    p.add_argument("--from", dest="first", metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="first day not counted")
    p.add_argument("--csv", action="store_true", help="CSV with a header row")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    _local_parsers(sub)
    _service_parsers(sub)
    return parser
