"""The clerk's subcommands: send, import, list, show, export, mark, retry — the use cases of
:mod:`gateway.services`, printed."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import signal
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from gateway.cli.doc_view import count_line, doc_table, doc_text
from gateway.cli.render import doc_json, emit_json, signature_lines, signatures_json, warn
from gateway.cli.table import terminal_width
from gateway.model.document import VN_TZ
from gateway.model.safe_text import safe_text
from gateway.services import documents, listing, signatures, triage
from gateway.services import import_edxml as edxml
from gateway.services.send import SendRequest, send
from gateway.signing.keys import PinPrompt


@dataclass(frozen=True)
class ListView:
    """What ``gateway list --search/--filter/--sort`` asked for."""
    query: str = ""
    which: triage.Filter = triage.Filter.ALL
    sort: triage.Sort = triage.Sort.DATE


_PIN_QUESTION = {
    "vi": "Nhập mã PIN của thiết bị ký số (USB token) để ký văn bản (không hiện khi gõ): ",
    "en": "PIN of the signing token (USB token) to sign the document (not shown as you type): ",
}


async def _ask_pin(lang: str) -> str:
    """getpass on the main thread (the loop's, idle while the send waits), with Ctrl-C's usual
    KeyboardInterrupt: asyncio's own handler would only cancel the main task and leave the
    send's worker thread reading the terminal, then try whatever was half typed."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return getpass.getpass(_PIN_QUESTION["en" if lang == "en" else "vi"])
    finally:
        signal.signal(signal.SIGINT, previous)


def terminal_pin(loop: asyncio.AbstractEventLoop, lang: str) -> PinPrompt:
    """A token PIN prompt for the send's worker thread: the question goes to the terminal,
    which never echoes the PIN. Only asked when the key is on a token without ``pin_file``
    and there is a PDF to sign; the PIN is never an argument (``ps`` shows arguments)."""
    def ask() -> str:
        return asyncio.run_coroutine_threadsafe(_ask_pin(lang), loop).result()
    return ask


async def send_document(req: SendRequest, lang: str) -> None:
    """Prints the new document's id. A PIN is asked only on a terminal: from a script (stdin
    not a terminal) a token without ``pin_file`` is refused, saying what to do."""
    tty = sys.stdin is not None and sys.stdin.isatty()
    prompt = terminal_pin(asyncio.get_running_loop(), lang) if tty else None
    print(await send(replace(req, pin_prompt=prompt)), flush=True)


async def import_edxml(data: str, name: str, lang: str) -> None:
    """Prints the document id like ``send``; each warning about the package on stderr."""
    done = await edxml.import_package(data, name)
    for problem in done.warnings:
        print(f"gateway: {safe_text(problem.text(lang))}", file=sys.stderr)
    print(done.doc_id, flush=True)


async def export_edxml(data: str, doc_id: str, dest: str) -> None:
    print(await edxml.export_package(data, doc_id, dest))


async def list_docs(data: str, direction: str | None, as_json: bool, lang: str,
                    view: ListView | None = None) -> None:
    """The table (or JSON) of ``gateway list``. The table is triaged as the TUI's inbox is:
    unhandled Hỏa tốc and Khẩn documents on top; JSON keeps the store's order (newest first)
    unless a search, filter or sort is asked for."""
    if as_json and view is None:
        emit_json([doc_json(d, lang) for d in await documents.list_documents(data, direction)])
        return
    found = await listing.listing(data, direction)
    view = view or ListView()
    today = datetime.now(VN_TZ).date()
    shown = triage.arranged(found.docs, found.names.directory, today, query=view.query,
                            which=view.which, sort=view.sort)
    if as_json:
        emit_json([doc_json(d, lang) for d in shown])
        return
    warn(found.names.problem, lang)
    for line in doc_table(shown, found.names.directory, found.prefix, lang,
                          terminal_width(), direction, today):
        print(line)
    if direction != "out":
        print(count_line(triage.counts(found.docs, today), len(shown), len(found.docs), lang))


async def show(data: str, doc_id: str, as_json: bool, lang: str) -> None:
    doc, events = await documents.document(data, doc_id)
    verdicts = await signatures.stored(data, doc_id)
    if as_json:
        emit_json({**doc_json(doc, lang, events), "signatures": signatures_json(verdicts)})
    else:
        names = await asyncio.to_thread(listing.box_names, data)
        warn(names.problem, lang)
        print(doc_text(doc, events, lang, verdicts, names.directory, terminal_width()))


async def verify(data: str, doc_id: str, lang: str) -> bool:
    """One line per attachment; true when every PDF attachment is validly signed and
    trusted (and there is at least one)."""
    verdicts = await signatures.verify(data, doc_id)
    for line in signature_lines(verdicts, lang, pdf_only=False):
        print(line)
    pdfs = [v for v in verdicts if v.attachment.is_pdf]
    return bool(pdfs) and all(v.trusted for v in pdfs)


async def export(data: str, doc_id: str, dest: str, lang: str) -> None:
    """Prints the path of each file written; a file written under another name (taken, or
    not writable on a USB stick) is also reported on stderr, so the clerk knows what to look
    for."""
    written: list[Path] = []
    async with contextlib.aclosing(documents.export(data, doc_id, dest)) as files:
        async for exported in files:
            if (renamed := exported.renamed) is not None:
                print(f"gateway: {safe_text(renamed.text(lang))}.", file=sys.stderr)
            written.append(exported.path)
    for path in written:
        print(path)
