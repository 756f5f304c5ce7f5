"""Every limit of the sync protocol, in one place (docs/protocol.md states each one).

Both ends read their limits from here, so the hub never sends what the box refuses to read and
the box never builds what the hub refuses; ``tests/test_protocol_doc.py`` reads the document
and checks each number it states against these constants, so the two cannot drift.
"""

from __future__ import annotations

VERSION = 1

# Media types of the two kinds of body (§3, §7).
SYNC_TYPE = "application/x-gateway-sync"
FRAMES_TYPE = "application/x-gateway-frames"

# Sync bodies (§3): msgpack inside one zstd frame.
MAX_COMPRESSED_BODY = 2**20
MAX_BODY = 8 * 2**20  # decompressed
ZSTD_LEVEL = 3
MAX_ZSTD_WINDOW = 2**23  # level 3 never needs more than 2 MiB; bounds a hostile frame header
MAX_DICTS_HEADER = 256  # length of an ``X-Sync-Dicts`` value worth parsing
MAX_REQUEST_BODY = MAX_COMPRESSED_BODY + 64 * 1024  # any request body, frames included
MAX_ENROLL_BODY = 32 * 1024

# The msgpack decoder's shape limits, checked before anything is built.
MAX_STR_BYTES = 4096  # 1000 chars of 4-byte UTF-8; the typed checks then count chars
MAX_ARRAY = 1024  # acks, need; every other list is shorter
MAX_MAP = 64  # envelope ``extra`` (32) is the widest map
MAX_DEPTH_REQUEST = 5  # body > out > envelope > att > attachment
MAX_DEPTH_REPLY = 6  # body > inbox > item > envelope > att > attachment
MAX_ITEMS = 100_000  # containers + elements in one body; a full legal body needs ~65 000
MAX_INT = 2**63 - 1  # fits SQLite's signed INTEGER

# Items per message (§4).
MAX_OUT = 64
MAX_ACKS = 1024
MAX_STATUSES = 256
MAX_INBOX = 64
MAX_RECEIPTS = 512
MAX_NEED = 1024
MAX_ACCEPTED = MAX_OUT  # answers to one request's ``out``
MAX_REFUSED = MAX_OUT
MAX_WAIT = 60  # long-poll seconds

# Bytes, not only counts: the client refuses a reply over MAX_COMPRESSED_BODY / MAX_BODY, so the
# hub fills a reply's inbox and receipts up to REPLY_BUDGET msgpack bytes, always with at least
# one of each that waits. An envelope is capped at acceptance so that one of them always fits.
MAX_ENVELOPE_BYTES = 128 * 1024  # msgpack size of one envelope
REPLY_BUDGET = 512 * 1024

# A recipient's statuses at the hub: a document never needs more than a handful, and a peer
# never more than a few full syncs' worth in a window (the excess is answered 429, kept).
MAX_STATUSES_PER_DOC = 16  # per (document, agency sending the status), ever
STATUS_WINDOW_S = 600
MAX_STATUSES_PER_WINDOW = 2048

# The hub's trust bundle (PEM roots for signature checks) named in the reply's config (§3).
MAX_TRUST_BUNDLE = 4 * 2**20

# Text fields of messages (§4).
MAX_NOTE = 500
MAX_REASON = 1000
MAX_DOC_ID = 36
MAX_AGENCY = 32
MAX_CODE = 64
MAX_VERSION_TEXT = 64
MAX_LAST_ERROR = 200  # heartbeat's optional last_error
MAX_EPOCH = 64  # the reply's optional epoch (the hub's history id)

# Blob frames (§7).
MAX_FRAME_RAW = 4 * 2**20
MAX_FRAME_OVERHEAD = 1024  # wire_len may exceed raw_len by this much (never, from our encoder)
FRAME_ZSTD_LEVEL = 3
# A frame of a slow link (frames are about one second of link time, so a small frame means a
# slow link) is worth more CPU: level 19 sends ~1 % fewer bytes of the general corpus than
# level 3, with its match tables capped (2^17 entries) so that it needs ~4 MB, not ~66 MB, next
# to a 1 MiB dictionary (docs/benchmarks.md: 0.16 s/MB on the bench machine).
FRAME_SLOW_LEVEL = 19
SLOW_LINK_FRAME = 128 * 1024  # ~1 Mbit/s: level 19 then costs a Pi under a tenth of link time
SLOW_TABLE_LOG = 17
MIN_FRAME = 8 * 1024
MAX_FRAME = 2**20
# Cross-document dictionary (§7, ``Upload-Dict``): the first bytes of an earlier blob of the
# same sender that the hub holds verified.
MAX_XDOC_DICT = 2**20
MAX_XDOC_REFS = 8  # earlier blobs one dictionary joins (their lengths together ≤ MAX_XDOC_DICT)
MIN_XDOC_REF = 4 * 1024  # a smaller reference cannot hold a template worth pointing back to
MAX_XDOC_HEADER = 80  # "<sha256 hex>:<length>" is 64 + 1 + 7
XDOC_WAIT_S = 10  # the hub waits this long for a reference whose last frame is on its way
# Recoded frames (§7, kinds 4 and 5, gateway.protocol.pdf_streams): deflated streams inside a
# blob travel inflated. Bounds on what a sender looks for, and on a recipe the hub follows.
MAX_RECODE_BLOB = 32 * 2**20  # a larger blob goes as it is (the box reads it whole to scan)
MAX_RECODE_STREAM = 2 * 2**20  # deflated bytes of one stream (SPAN × the largest frame)
MAX_RECODE_INFLATED = MAX_FRAME_RAW  # inflated bytes of one stream: a recipe must hold it
MAX_RECODE_STREAMS = 4096
MAX_RECODE_TOTAL = 64 * 2**20  # inflated bytes of one blob
MAX_RECIPE_PER_RAW = 16  # a recipe is at most this × its frame (+ the slack): bounded work
MAX_RECIPE_SLACK = 64 * 1024
XDOC_LEVEL = 3  # bench.crossdoc: levels 9 and 19 gain < 1 % more, at 1.5 and 6 times the CPU
START_FRAME = 32 * 1024  # one second of a 256 kbit/s uplink, before anything is measured
FRAME_TARGET_S = 1.0  # link time per frame: what a cut loses, what Hỏa tốc waits behind

# A replacement box's restore (§2b, ``POST /v1/restore``): documents per page, the reply's
# size, and how far back it may ask (the hub may allow less: ``restore_days`` in hub.json).
MAX_RESTORE_PAGE = 200
MAX_RESTORE_BODY = 8 * 2**20
MAX_RESTORE_DAYS = 366
