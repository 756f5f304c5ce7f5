"""The main screen: inbox and outbox tabs under a plain-words link and queue line."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static, TabbedContent, TabPane

from gateway.services.triage import Filter, Sort, arranged
from gateway.services.triage import unread as triage_unread
from gateway.store.local import Doc
from tui.backend import Backend, explain
from tui.i18n import lang, set_language, t
from tui.link import LinkInfo, describe
from tui.messages import DocumentChosen
from tui.screens.base import ClerkScreen
from tui.screens.compose import ComposeScreen
from tui.screens.detail import DetailScreen
from tui.undo import offer, take_back
from tui.widgets.common import ClerkFooter, MessageBar, TextField, Title
from tui.widgets.main import DocTable, LinkBar

REFRESH_S = 2.0


class MainScreen(ClerkScreen[None]):
    HELP_SECTION = "help.main"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "compose", "key.compose"),
        Binding("1", "tab('inbox')", "key.inbox"),
        Binding("2", "tab('outbox')", "key.outbox"),
        Binding("enter", "open", "key.open", show=False),
        Binding("f5", "reload", "key.refresh"),
        Binding("t", "retry_now", "key.retry_now"),
        Binding("slash", "search", "key.search", key_display="/"),
        Binding("l", "filter", "key.filter"),
        Binding("s", "sort", "key.sort"),
        Binding("escape", "clear_search", "key.cancel", show=False),
        Binding("u", "undo", "key.undo"),
        Binding("f2", "language", "key.lang"),
    ]
    DEFAULT_CSS = """
    MainScreen TabbedContent { height: 1fr; }
    MainScreen TabPane { padding: 0; }
    MainScreen .empty { padding: 1 2; color: $text-muted; }
    MainScreen #search { display: none; }
    MainScreen #search.-open { display: block; }
    """

    def __init__(self, backend: Backend, *, refresh_s: float = REFRESH_S) -> None:
        super().__init__()
        self.backend = backend
        self.refresh_s = refresh_s
        self.info: LinkInfo | None = None
        self.inbox: list[Doc] = []
        self.outbox: list[Doc] = []
        self._signature: tuple[int, ...] | None = None
        self._busy = False
        self.which = Filter.ALL
        self.sort = Sort.DATE
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield Title(t("app.title", agency=self.backend.agency_name), id="title")
        yield LinkBar()
        with TabbedContent(initial="inbox"):
            with TabPane(t("tab.inbox", n=0), id="inbox"):
                yield DocTable("in", id="inbox-table")
                yield Static(t("empty.inbox"), classes="empty", id="inbox-empty")
            with TabPane(t("tab.outbox", n=0), id="outbox"):
                yield DocTable("out", id="outbox-table")
                yield Static(t("empty.outbox"), classes="empty", id="outbox-empty")
        yield TextField(t("triage.search"), id="search")
        yield MessageBar()
        yield ClerkFooter()

    async def on_mount(self) -> None:
        for table in self.query(DocTable):
            table.setup_columns()
        await self.refresh_data(force=True)
        self.query_one("#inbox-table", DocTable).focus()
        self.set_interval(self.refresh_s, self._tick)

    def _tick(self) -> None:
        if not self._busy:
            self.run_worker(self.refresh_data(), exit_on_error=False)

    async def refresh_data(self, *, force: bool = False) -> None:
        """Reads the link line every tick; the lists only when the store changed."""
        self._busy = True
        try:
            self.info = await self.backend.link_info()
            signature = await self.backend.signature()
            if force or signature != self._signature:
                self.inbox, self.outbox = await self.backend.documents()
                self._signature = signature
                self._fill_tables()
            self.show_link()
        except Exception as exc:
            self.query_one(LinkBar).show(None, explain(exc))
        finally:
            self._busy = False

    def show_link(self) -> None:
        if self.info is not None:
            self.query_one(LinkBar).show(*describe(self.info, self.backend.clock()))

    def _fill_tables(self) -> None:
        tabs = self.query_one(TabbedContent)
        today = date.fromtimestamp(self.backend.clock() / 1000)
        directory = self.backend.directory
        shown = {
            "inbox": arranged(self.inbox, directory, today, query=self.query_text,
                              which=self.which, sort=self.sort),
            "outbox": arranged(self.outbox, directory, today, query=self.query_text,
                               sort=self.sort),
        }
        for pane, docs in (("inbox", self.inbox), ("outbox", self.outbox)):
            table = self.query_one(f"#{pane}-table", DocTable)
            table.today = today
            table.load(shown[pane], directory)
            self.query_one(f"#{pane}-empty", Static).display = not shown[pane]
            n = t("tab.shown", shown=len(shown[pane]), n=len(docs)) \
                if len(shown[pane]) != len(docs) else len(docs)
            unread = sum(1 for d in docs if triage_unread(d))
            label = t("tab.inbox_unread", n=n, u=unread) if unread else t(f"tab.{pane}", n=n)
            tabs.get_tab(pane).label = label

    def action_search(self) -> None:
        field = self.query_one("#search", TextField)
        field.add_class("-open")
        field.focus()

    def action_clear_search(self) -> None:
        field = self.query_one("#search", TextField)
        field.value = ""
        field.remove_class("-open")
        self._focus_table()

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self._fill_tables()
        if event.value.strip():
            pane = self.query_one(TabbedContent).active or "inbox"
            n = self.query_one(f"#{pane}-table", DocTable).row_count
            self.query_one(MessageBar).show(t("triage.found", q=event.value, n=n))

    @on(Input.Submitted, "#search")
    def search_done(self) -> None:
        self._focus_table()

    def _focus_table(self) -> None:
        pane = self.query_one(TabbedContent).active or "inbox"
        self.query_one(f"#{pane}-table", DocTable).focus()

    def action_filter(self) -> None:
        order = list(Filter)
        self.which = order[(order.index(self.which) + 1) % len(order)]
        self._show_view()

    def action_sort(self) -> None:
        self.sort = Sort.URGENCY if self.sort is Sort.DATE else Sort.DATE
        self._show_view()

    def _show_view(self) -> None:
        self._fill_tables()
        which = t(f"triage.filter.{self.which.value}")
        self.query_one(MessageBar).show(
            t("triage.view", filter=which, sort=t(f"triage.sort.{self.sort.value}")))

    def action_tab(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane
        self.query_one(f"#{pane}-table", DocTable).focus()

    def action_open(self) -> None:
        pane = self.query_one(TabbedContent).active or "inbox"
        doc_id = self.query_one(f"#{pane}-table", DocTable).current_id
        if doc_id is not None:
            self.post_message(DocumentChosen(doc_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":  # only while the clerk's last status may still be taken back
            return offer(self.backend) > 0
        return True

    async def action_undo(self) -> None:
        if self.backend.last_mark is not None:
            text, error = await take_back(self.app, self.backend, self.backend.last_mark[0])
            self.query_one(MessageBar).show(text, error=error)
            await self.refresh_data(force=True)

    async def action_reload(self) -> None:
        await self.refresh_data(force=True)

    async def action_retry_now(self) -> None:
        """Wakes the daemon; its next published state shows on the link line by itself."""
        self.backend.retry_now()
        self.query_one(MessageBar).show(t("msg.retrying"))

    def action_compose(self) -> None:
        self.app.push_screen(ComposeScreen(self.backend))

    @on(DocumentChosen)
    def open_document(self, event: DocumentChosen) -> None:
        def back(_: None) -> None:  # it is read now: the lists and the unread count follow
            self.run_worker(self.refresh_data(force=True), exit_on_error=False)

        self.app.push_screen(DetailScreen(self.backend, event.doc_id), back)

    async def action_language(self) -> None:
        set_language("vi" if lang() == "en" else "en")
        self.query_one("#title", Title).show(t("app.title", agency=self.backend.agency_name))
        self.query_one("#inbox-empty", Static).update(t("empty.inbox"))
        self.query_one("#outbox-empty", Static).update(t("empty.outbox"))
        for table in self.query(DocTable):
            table.setup_columns()
        self.query_one(MessageBar).show("")
        await self.refresh_data(force=True)
        self.refresh_bindings()

    async def show_sent(self, doc_id: str, code: str) -> None:
        """After compose: the outbox, the new document under the cursor, its id in words."""
        await self.refresh_data(force=True)
        self.action_tab("outbox")
        self.query_one("#outbox-table", DocTable).select_doc(doc_id)
        self.query_one(MessageBar).show(t("msg.sent", code=code, id=doc_id))
