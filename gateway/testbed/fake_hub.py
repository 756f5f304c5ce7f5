"""An in-memory hub for scheduling tests: a typed :class:`gateway.sync.link.HubLink`.

It keeps what the real hub keeps, for one box: the envelopes it accepted, the bytes it holds
of each blob (frames decoded with the real codec, offsets as the real hub reports them; chained
blobs too while :attr:`FakeHub.upload_chain`, each answer naming its blob), an inbox with
downloads, and receipts once a document's blobs are complete. Every request is
logged with the virtual time it came at, and faults are injected per blob: a server error or a
refusal for every request, a 422 at completion, a cut after some bytes (it resets an open
long-poll too, as a real cut resets every connection), an exception that is not a hub error
at all, or a pause after some frames that the test releases; and the whole link
goes down (every request refused) while :attr:`FakeHub.down` names a failure kind.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

from gateway.model import Envelope
from gateway.protocol.crossdoc import Reference
from gateway.protocol.frame_resume import HeldPiece
from gateway.protocol.frames import ChainTo, FrameDecoder
from gateway.protocol.limits import MAX_FRAME, MAX_XDOC_DICT
from gateway.protocol.pdf_streams import expanded
from gateway.protocol.seen import inbox_digest
from gateway.protocol.wire import (
    BlobNeed,
    HubConfig,
    InboxItem,
    Receipt,
    SyncReply,
    SyncRequest,
)
from gateway.sync.link import (
    BlobRejected,
    DictRefused,
    HubError,
    HubFault,
    HubRefused,
    HubUnavailable,
    ResumeRefused,
    UploadResult,
)
from gateway.testbed.clock import VirtualTime


class Kind(enum.Enum):
    FAULT = "fault"  # HubFault(status) for every request of the blob
    REFUSE = "refuse"  # HubRefused(status) for every request of the blob
    REJECT = "reject"  # 422 when the blob completes, once
    CUT = "cut"  # the link drops after ``after`` more payload bytes, once
    CRASH = "crash"  # an exception no worker expects, for every request of the blob


@dataclass
class Fault:
    kind: Kind
    status: int = 0
    after: int = 0
    error: Exception | None = None


@dataclass(frozen=True)
class Call:
    """One request as the hub saw it; ``offset`` is where it started, ``held`` what the hub
    held when it ended, ``clean`` whether an upload body ended on a frame boundary."""

    at_ms: int
    method: str
    sha256: str = ""
    offset: int = 0
    held: int = 0
    outcome: str = "ok"
    clean: bool = True


@dataclass
class Gate:
    after_frames: int
    release: asyncio.Event = field(default_factory=asyncio.Event)
    reached: asyncio.Event = field(default_factory=asyncio.Event)


class FakeHub:
    def __init__(self, time: VirtualTime, agency: str) -> None:
        self.time = time
        self.agency = agency
        self.docs: dict[str, Envelope] = {}
        self.held: dict[str, bytearray] = {}
        self.complete: set[str] = set()
        self.inbox: dict[int, Envelope] = {}
        self.served: dict[str, bytes] = {}
        self.receipts: list[Receipt] = []
        self.calls: list[Call] = []
        self.faults: dict[str, Fault] = {}
        self.gates: dict[str, Gate] = {}
        self._news = asyncio.Event()
        self.seen: list[str] = []  # X-Sync-Seen of every sync, in order
        self.down: str | None = None  # the link refuses every request: the failure kind
        self.cancelled_polls = 0  # long-polls the box cancelled (each closes a connection)
        self.sends_news = True  # False: an older hub without X-Sync-News
        self.polls: list[int] = []  # when each long-poll began (virtual ms)
        self._cut = asyncio.Event()  # a cut resets every connection: an open long-poll too
        self.news = ""  # HubLink: the X-Sync-News of the last sync reply
        self.frames_held: dict[str, HeldPiece] = {}  # HubLink: never any (no upload_resume)

    # -- what a test arranges ---------------------------------------------------------------

    def fault(self, sha256: str, kind: Kind, *, status: int = 0, after: int = 0,
              error: Exception | None = None) -> None:
        self.faults[sha256] = Fault(kind, status, after, error)

    def heal(self, sha256: str) -> None:
        self.faults.pop(sha256, None)

    def pause_after(self, sha256: str, frames: int) -> Gate:
        """Holds the blob's upload after ``frames`` frames until the gate is released; 0: as its
        part of a request begins, before the hub checks it."""
        gate = self.gates[sha256] = Gate(frames)
        return gate

    def deliver(self, seq: int, env: Envelope, blobs: dict[str, bytes]) -> None:
        """Puts a document for the box in the inbox, with its attachments to download."""
        self.inbox[seq] = env
        self.served.update(blobs)
        self._news.set()

    def uploads(self, sha256: str) -> list[Call]:
        """The blob's part of every upload request: its own ("PATCH") or a chain's ("CHAIN")."""
        return [c for c in self.calls if c.sha256 == sha256 and c.method in ("PATCH", "CHAIN")]

    def requests(self) -> list[Call]:
        """One call per upload request that reached the hub: the first blob of each."""
        return [c for c in self.calls if c.method == "PATCH" and c.outcome != "down"]

    # -- HubLink ----------------------------------------------------------------------------

    async def sync(self, req: SyncRequest, seen: str = "") -> SyncReply:
        self._link("SYNC")
        accepted = tuple(env.id for env in req.out)
        self.docs.update((env.id, env) for env in req.out)
        for seq in req.acks:
            self.inbox.pop(seq, None)
        self.seen.append(seen)
        self._news.set()  # ends an earlier long-poll the box stopped waiting for
        inbox = [InboxItem(seq, env) for seq, env in self.inbox.items()]
        if req.wait and not (accepted or self._receipts_after(req.rcursor)
                             or (inbox and inbox_digest(inbox) != seen)):
            self._news.clear()
            self.polls.append(self.time.clock())
            cut: asyncio.Task[bool] = asyncio.ensure_future(self._cut.wait())
            waiters: list[asyncio.Future[None] | asyncio.Task[bool]] = [
                self.time.sleep(req.wait), asyncio.ensure_future(self._news.wait()), cut]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                if cut.done():
                    raise HubUnavailable("connection reset (fake cut)", "dropped")
            except asyncio.CancelledError:
                self.cancelled_polls += 1
                raise
            finally:
                for waiter in waiters:
                    waiter.cancel()
        self.calls.append(Call(self.time.clock(), "SYNC"))
        self.news = self._mark()
        return SyncReply(
            time_ms=self.time.clock(), accepted=accepted, refused=(), need=self._needs(),
            inbox=tuple(InboxItem(seq, env) for seq, env in sorted(
                self.inbox.items(), key=lambda i: (-int(i[1].urgency), i[0]))),
            receipts=self._receipts_after(req.rcursor),
            config=HubConfig(frame_max=MAX_FRAME, dict_id=0))

    async def head(self, sha256: str) -> UploadResult:
        self._link("HEAD", sha256)
        self._check(sha256, "HEAD")
        held = len(self.held.get(sha256, b""))
        done = sha256 in self.complete
        self.calls.append(Call(self.time.clock(), "HEAD", sha256, held=held))
        return UploadResult(self._size(sha256) if done else held, done)

    upload_dict_max = 0  # a test sets it to offer dictionaries (§7)
    upload_chain = False  # a test sets it to take chained uploads (§4)
    upload_recode = False  # a test sets it to take recoded frames (§7)
    upload_dict_refs = 1  # a test sets it to take dictionaries of several blobs
    upload_resume = False  # a test sets it; it never holds a piece of an interrupted frame

    async def upload(self, sha256: str, offset: int, size: int, frames: AsyncIterator[bytes],
                     references: tuple[Reference, ...] = (),
                     recode: bool = False, resume: HeldPiece | None = None) -> UploadResult:
        """Decodes the body as the real hub does, chain frames included while
        :attr:`upload_chain`: each blob of a chain is logged as a call of its own, "PATCH"
        for the request's first and "CHAIN" for the others."""
        self._link("PATCH", sha256, offset)
        if resume is not None:  # it keeps no piece: as the real hub after a restart
            refused = ResumeRefused(409, "no such piece of a frame held")
            refused.blob = sha256
            self.calls.append(Call(self.time.clock(), "PATCH", sha256, offset, outcome="resume"))
            raise refused
        blob, method, count = ChainTo(sha256, offset, size, references), "PATCH", 0
        try:
            await self._gate(blob.sha256, 0)
            early, dictionary = self._begin(blob, method, recode)
            if early is not None:
                return early
            decoder = FrameDecoder(chain=self.upload_chain, dictionary=dictionary, recode=recode)
            fault = self.faults.get(blob.sha256)
            async for data in frames:
                while True:
                    held = self.held[blob.sha256]
                    for payload in decoder.feed(data):
                        held += payload
                        count += 1
                        if fault is not None and fault.kind is Kind.CUT and \
                                len(held) - blob.offset >= fault.after:
                            self._cut_now(blob, method)
                        await self._gate(blob.sha256, count)
                    if decoder.chained is None:
                        break
                    if len(held) < blob.size:
                        raise HubRefused(400, "chain frame after a blob that is not whole")
                    self._finish(blob, method, clean=True)
                    blob, method, data, count = decoder.chained, "CHAIN", b"", 0
                    await self._gate(blob.sha256, 0)
                    early, dictionary = self._begin(blob, method, recode)
                    if early is not None:
                        return early
                    decoder.switch(dictionary)
                    fault = self.faults.get(blob.sha256)
            held = self.held[blob.sha256]
            if len(held) < blob.size:
                self.calls.append(Call(self.time.clock(), method, blob.sha256, blob.offset,
                                       len(held), clean=decoder.buffered == 0))
                return UploadResult(len(held), False, self._mark(), blob.sha256)
            self._finish(blob, method, clean=decoder.buffered == 0)
            return UploadResult(blob.size, True, self._mark(), blob.sha256)
        except HubError as exc:
            exc.blob = blob.sha256
            raise
        finally:
            if isinstance(frames, AsyncGenerator):  # a real hub's answer ends the body too
                await frames.aclose()

    def _begin(self, blob: ChainTo, method: str,
               recode: bool) -> tuple[UploadResult | None, bytes | None]:
        """Checks a blob as a request's first or a chain's next one: the answer if it stops
        here (it is complete, or the offset is not the hub's), else the frames' dictionary."""
        self._check(blob.sha256, method, blob.offset)
        held = self.held.setdefault(blob.sha256, bytearray())
        done = blob.sha256 in self.complete
        if done or blob.offset != len(held):
            self.calls.append(Call(self.time.clock(), method, blob.sha256, blob.offset,
                                   len(held), "offset"))
            return UploadResult(blob.size if done else len(held), done, self._mark(),
                                blob.sha256), None
        if any(ref.sha256 not in self.complete for ref in blob.references):
            raise DictRefused(409, "dictionary refused: no complete blob of yours")
        if not blob.references:
            return None, None
        parts = [bytes(self.held[ref.sha256]) for ref in blob.references]
        return None, b"".join(
            expanded(whole[:MAX_XDOC_DICT], ref.length) if recode else whole[:ref.length]
            for ref, whole in zip(blob.references, parts, strict=True))

    def _finish(self, blob: ChainTo, method: str, *, clean: bool) -> None:
        """A whole blob verified: complete and routed, or discarded with a 422."""
        held = self.held[blob.sha256]
        if self._pop(blob.sha256, Kind.REJECT) or hashlib.sha256(held).hexdigest() != blob.sha256:
            held.clear()
            self.calls.append(Call(self.time.clock(), method, blob.sha256, blob.offset, 0, "422"))
            raise BlobRejected(f"hub found sha256 mismatch for {blob.sha256[:12]}")
        self.complete.add(blob.sha256)
        self._completed(blob.sha256)
        self.calls.append(Call(self.time.clock(), method, blob.sha256, blob.offset, blob.size,
                               "complete", clean))

    def _cut_now(self, blob: ChainTo, method: str) -> None:
        self.heal(blob.sha256)
        self.calls.append(Call(self.time.clock(), method, blob.sha256, blob.offset,
                               len(self.held[blob.sha256]), "cut", clean=False))
        self._cut.set()
        self._cut = asyncio.Event()
        raise HubUnavailable("connection reset (fake cut)")

    async def download(self, sha256: str, offset: int, limit: int,
                       frame: int) -> AsyncIterator[bytes]:
        self._link("GET", sha256, offset)
        self._check(sha256, "GET", offset)
        self.calls.append(Call(self.time.clock(), "GET", sha256, offset))
        data = self.served[sha256][offset:offset + limit]
        fault = self.faults.get(sha256)
        for at in range(0, len(data), frame):
            if fault is not None and fault.kind is Kind.CUT and at >= fault.after:
                self.heal(sha256)
                raise HubUnavailable("connection reset (fake cut)")
            yield data[at:at + frame]

    async def close(self) -> None:
        self._news.set()

    # -- the hub's bookkeeping --------------------------------------------------------------

    def _link(self, method: str, sha256: str = "", offset: int = 0) -> None:
        """While :attr:`down`, every request fails as a refused or timed-out connection."""
        if self.down is not None:
            self.calls.append(Call(self.time.clock(), method, sha256, offset, outcome="down"))
            raise HubUnavailable(f"fake link down ({self.down})", self.down)

    def _check(self, sha256: str, method: str, offset: int = 0) -> None:
        fault = self.faults.get(sha256)
        if fault is None or fault.kind in (Kind.REJECT, Kind.CUT):
            return
        self.calls.append(Call(self.time.clock(), method, sha256, offset,
                               len(self.held.get(sha256, b"")), fault.kind.value))
        if fault.kind is Kind.FAULT:
            raise HubFault(fault.status, "fake server error")
        if fault.kind is Kind.REFUSE:
            raise HubRefused(fault.status, "fake refusal")
        raise fault.error or RuntimeError("fake crash")

    def _pop(self, sha256: str, kind: Kind) -> bool:
        fault = self.faults.get(sha256)
        if fault is not None and fault.kind is kind:
            self.heal(sha256)
            return True
        return False

    async def _gate(self, sha256: str, frames: int) -> None:
        gate = self.gates.get(sha256)
        if gate is not None and frames >= gate.after_frames and not gate.release.is_set():
            gate.reached.set()
            await gate.release.wait()

    def _size(self, sha256: str) -> int:
        return next(a.size for env in self.docs.values() for a in env.attachments
                    if a.sha256 == sha256)

    def _needs(self) -> tuple[BlobNeed, ...]:
        needs: dict[str, BlobNeed] = {}
        for env in sorted(self.docs.values(), key=lambda e: -int(e.urgency)):
            for a in env.attachments:
                if a.sha256 not in self.complete and a.sha256 not in needs:
                    needs[a.sha256] = BlobNeed(a.sha256, len(self.held.get(a.sha256, b"")),
                                               a.size, int(env.urgency))
        return tuple(needs.values())

    def _completed(self, sha256: str) -> None:
        """Documents whose blobs are all here are routed and, in this fake, delivered."""
        for env in self.docs.values():
            if sha256 in {a.sha256 for a in env.attachments} and \
                    all(a.sha256 in self.complete for a in env.attachments):
                for to in env.recipients:
                    for event in ("at_hub", "delivered"):
                        self.receipts.append(Receipt(len(self.receipts) + 1, env.id, to,
                                                     event, self.time.clock(), ""))
        self._news.set()

    def _mark(self) -> str:
        """X-Sync-News: the newest inbox entry not acked, as the real hub's inbox_mark."""
        return str(max(self.inbox, default=0)) if self.sends_news else ""

    def _receipts_after(self, rcursor: int) -> tuple[Receipt, ...]:
        return tuple(r for r in self.receipts if r.rseq > rcursor)
