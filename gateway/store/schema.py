"""The gateway's SQLite schema, as ordered migrations (append new steps; never edit old ones)."""

from gateway.store.db import Migration

GATEWAY_MIGRATIONS = (
    Migration(1, (
        """CREATE TABLE documents(
            id TEXT PRIMARY KEY,
            direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),
            sender TEXT NOT NULL,
            urgency INTEGER NOT NULL,
            created_ms INTEGER NOT NULL,
            envelope TEXT NOT NULL,
            inbox_status TEXT,
            received_ms INTEGER
        )""",
        "CREATE INDEX documents_direction ON documents(direction, created_ms)",
        """CREATE TABLE attachments(
            doc_id TEXT NOT NULL REFERENCES documents(id),
            idx INTEGER NOT NULL,
            name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            PRIMARY KEY (doc_id, idx)
        )""",
        "CREATE INDEX attachments_sha ON attachments(sha256)",
        """CREATE TABLE deliveries(
            doc_id TEXT NOT NULL REFERENCES documents(id),
            recipient TEXT NOT NULL,
            state TEXT NOT NULL,
            recall_pending INTEGER NOT NULL DEFAULT 0,
            updated_ms INTEGER NOT NULL,
            PRIMARY KEY (doc_id, recipient)
        )""",
        """CREATE TABLE events(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            doc_id TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            actor TEXT NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX events_doc ON events(doc_id, id)",
        # The event log is an audit trail: it is appended to, never rewritten.
        """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
           BEGIN SELECT RAISE(ABORT, 'event log is append-only'); END""",
        """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
           BEGIN SELECT RAISE(ABORT, 'event log is append-only'); END""",
        """CREATE TABLE outbound(
            doc_id TEXT PRIMARY KEY REFERENCES documents(id),
            state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'done', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_ms INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE inbound_pending(
            seq INTEGER PRIMARY KEY,
            doc_id TEXT NOT NULL,
            urgency INTEGER NOT NULL,
            envelope TEXT NOT NULL,
            first_seen_ms INTEGER NOT NULL
        )""",
        "CREATE TABLE acks(seq INTEGER PRIMARY KEY)",
        """CREATE TABLE status_out(
            sid TEXT PRIMARY KEY,
            doc_id TEXT NOT NULL,
            code TEXT NOT NULL,
            note TEXT NOT NULL,
            at_ms INTEGER NOT NULL
        )""",
        "CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )),
    # Blobs found damaged or missing (scrub, or a failed upload): 'refetch' ones come back from
    # the hub, 'lost' ones cannot (never uploaded). Their count is the heartbeat's blobs_bad.
    Migration(2, (
        """CREATE TABLE bad_blobs(
            sha256 TEXT PRIMARY KEY,
            state TEXT NOT NULL CHECK (state IN ('refetch', 'lost')),
            since_ms INTEGER NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        )""",
    )),
    # The signature verdict of each stored PDF blob (gateway/signing verdict JSON, "v": 1),
    # computed when the blob is stored or by `gateway verify`; absent means "not checked yet".
    Migration(3, (
        """CREATE TABLE verdicts(
            sha256 TEXT PRIMARY KEY,
            verdict TEXT NOT NULL,
            checked_ms INTEGER NOT NULL
        )""",
    )),
    # When the clerk first opened a received document (NULL: unread), for the inbox's unread
    # styling and count; written once per document.
    Migration(4, (
        "ALTER TABLE documents ADD COLUMN opened_ms INTEGER",
    )),
    # After a hub restore (gateway/store/reoffer.py): the statuses the hub confirmed, kept for
    # gateway.model.reoffer's window so they can be sent again, and the sent documents being
    # offered again until the hub holds them whole.
    Migration(5, (
        """CREATE TABLE status_sent(
            sid TEXT PRIMARY KEY,
            doc_id TEXT NOT NULL,
            code TEXT NOT NULL,
            note TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            proved_ms INTEGER NOT NULL  -- the hub's clock in the reply that confirmed it
        )""",
        "CREATE INDEX status_sent_doc ON status_sent(doc_id)",
        "CREATE INDEX status_sent_proved ON status_sent(proved_ms)",
        """CREATE TABLE reoffered(
            doc_id TEXT PRIMARY KEY REFERENCES documents(id),
            since_ms INTEGER NOT NULL
        )""",
    )),
)
