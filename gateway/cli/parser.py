"""The command line: every subcommand, its options and their defaults."""

from __future__ import annotations

import argparse

from gateway.logs import LEVELS
from gateway.services.triage import Filter

# ``gateway list --filter``: the Vietnamese names, and English ones for scripts.
FILTERS = {"chua-xu-ly": Filter.UNHANDLED, "unhandled": Filter.UNHANDLED,
           "qua-han": Filter.OVERDUE, "overdue": Filter.OVERDUE}

DESCRIPTION = ("The ``gateway`` command. Exit codes: 0 ok, 2 usage, 1 refused or failed "
               "(reason on stderr).")


def _log_level(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-level", choices=LEVELS, default="info",
                   help="least severe log lines to write (default: info)")


def _restore_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--restore", type=int, metavar="DAYS", help="a replacement box: once "
                   "enrolled, take back the commune's documents of the last DAYS days, with "
                   "their statuses, from the hub")


def _local_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="create a gateway data directory")
    p.add_argument("--data", required=True)
    p.add_argument("--agency", required=True)
    p.add_argument("--hub")
    p.add_argument("--directory")
    p.add_argument("--token", help="one-time enrollment token from the hub")
    _restore_option(p)

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
    p.add_argument("--search", metavar="TEXT", help="words of the subject, number, type or "
                   "agency (no accents needed: 'so tan' finds 'sơ tán')")
    p.add_argument("--filter", choices=sorted(FILTERS), dest="which",
                   help="chua-xu-ly (unhandled: not done, rejected or recalled) or qua-han "
                   "(overdue: unhandled and past its due date)")
    p.add_argument("--sort", choices=["date", "urgency"],
                   help="date: newest first (default); urgency: most urgent first. Unhandled "
                   "Hỏa tốc and Khẩn documents stay on top either way")

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
    _restore_option(p)

    hub = sub.add_parser("hub", help="the provincial hub").add_subparsers(dest="hub_command",
                                                                         required=True)
    p = hub.add_parser("init", help="create a hub: data, provincial CA, TLS certificate")
    p.add_argument("--data", required=True)
    p.add_argument("--province", required=True, help="level-1 code, e.g. H35")
    p.add_argument("--directory")
    p.add_argument("--name", action="append", default=[], dest="names",
                   help="a DNS name or IP the hub is reached by (repeatable)")
    p.add_argument("--ca-offline", metavar="DIR", help="keep the CA key in DIR (a USB stick), "
                   "not in --data; enrollments then wait for 'gateway hub ca sign'")
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
    _hub_admin_parsers(hub)


def _hub_admin_parsers(hub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Keeping the hub: backup and restore, its certificates, the CA, a replaced box."""
    p = hub.add_parser("backup", help="a consistent backup of a hub, taken while it runs, "
                       "into DIR/hub-YYYYMMDDTHHMMSSZ (nightly: commune-hub-backup.timer)")
    p.add_argument("--data", required=True)
    p.add_argument("--to", required=True, dest="target", help="folder of backups (not inside "
                   "--data; best on another disk)")
    p.add_argument("--keep", type=int, default=7, help="backups kept in DIR (default: 7)")
    p = hub.add_parser("restore", help="a hub data folder from a backup (checked first)")
    p.add_argument("--from", required=True, dest="source",
                   help="one backup folder, or a folder of backups (the newest is used)")
    p.add_argument("--data", required=True, help="the new data folder (empty or absent)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --data; the "
                   "old folder is moved aside, never deleted")
    p = hub.add_parser("renew-cert", help="a new TLS server certificate from the same CA "
                       "(boxes keep trusting it); the hub uses it from its next restart")
    p.add_argument("--data", required=True)
    p.add_argument("--name", action="append", default=[], dest="names",
                   help="a DNS name or IP (repeatable; default: the current certificate's)")
    p.add_argument("--ca", dest="ca_dir", help="the CA folder when the key is offline")
    ca = hub.add_parser("ca", help="the provincial CA kept offline").add_subparsers(
        dest="ca_command", required=True)
    p = ca.add_parser("export", help="move the CA key out of --data into DIR")
    p.add_argument("--data", required=True)
    p.add_argument("--to", required=True, dest="target")
    p = ca.add_parser("import", help="copy the CA key from DIR back into --data")
    p.add_argument("--data", required=True)
    p.add_argument("--from", required=True, dest="source")
    p = ca.add_parser("requests", help="write the enrollments waiting for the offline CA "
                      "into FILE")
    p.add_argument("--data", required=True)
    p.add_argument("--to", required=True, dest="target")
    p = ca.add_parser("sign", help="at the CA: sign a requests FILE into OUT")
    p.add_argument("--ca", required=True, dest="ca_dir")
    p.add_argument("--requests", required=True)
    p.add_argument("--out", required=True)
    p = ca.add_parser("install", help="file the certificates the offline CA signed")
    p.add_argument("--data", required=True)
    p.add_argument("--from", required=True, dest="source")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    _local_parsers(sub)
    _service_parsers(sub)
    return parser
