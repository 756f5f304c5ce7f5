"""The hub's SQLite schema, as ordered migrations (append new steps; never edit old ones)."""

from gateway.store.db import Migration

HUB_MIGRATIONS = (
    Migration(1, (
        """CREATE TABLE documents(
            id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            urgency INTEGER NOT NULL,
            envelope TEXT NOT NULL,
            accepted_ms INTEGER NOT NULL,
            complete_ms INTEGER
        )""",
        "CREATE INDEX documents_pending ON documents(sender, complete_ms)",
        """CREATE TABLE doc_blobs(
            doc_id TEXT NOT NULL REFERENCES documents(id),
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            PRIMARY KEY (doc_id, sha256)
        )""",
        "CREATE INDEX doc_blobs_sha ON doc_blobs(sha256)",
        """CREATE TABLE inbox(
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            recipient TEXT NOT NULL,
            doc_id TEXT NOT NULL REFERENCES documents(id),
            urgency INTEGER NOT NULL,
            routed_ms INTEGER NOT NULL,
            acked_ms INTEGER,
            UNIQUE (recipient, doc_id)
        )""",
        "CREATE INDEX inbox_unacked ON inbox(recipient, acked_ms)",
        """CREATE TABLE receipts(
            rseq INTEGER PRIMARY KEY AUTOINCREMENT,
            sender TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            event TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX receipts_sender ON receipts(sender, rseq)",
        """CREATE TABLE statuses(
            sid TEXT PRIMARY KEY,
            doc_id TEXT NOT NULL,
            agency TEXT NOT NULL,
            code TEXT NOT NULL,
            at_ms INTEGER NOT NULL
        )""",
        """CREATE TABLE gateways(
            agency TEXT PRIMARY KEY,
            first_seen_ms INTEGER NOT NULL,
            last_seen_ms INTEGER NOT NULL,
            version TEXT NOT NULL,
            skew_ms INTEGER NOT NULL,
            queue INTEGER NOT NULL,
            disk_free INTEGER NOT NULL,
            blobs_bad INTEGER NOT NULL,
            uptime_s INTEGER NOT NULL,
            syncs INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE tokens(
            digest TEXT PRIMARY KEY,
            agency TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('enroll', 'admin')),
            expires_ms INTEGER NOT NULL,
            used_ms INTEGER,
            -- what the token was spent on, so a retried enrollment with the same key gets
            -- the same certificate instead of a dead end
            key_sha256 TEXT,
            cert_pem TEXT
        )""",
        """CREATE TABLE certificates(
            serial TEXT PRIMARY KEY,
            agency TEXT NOT NULL,
            issued_ms INTEGER NOT NULL,
            revoked_ms INTEGER
        )""",
        "CREATE INDEX certificates_agency ON certificates(agency)",
        # Who has demonstrably had a blob's bytes (uploaded or received them). Knowing a
        # sha256 is not enough to claim a blob, so dedupe cannot become a read oracle.
        """CREATE TABLE blob_holders(
            sha256 TEXT NOT NULL,
            agency TEXT NOT NULL,
            PRIMARY KEY (sha256, agency)
        )""",
        "CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )),
    # A status id is unique per sending agency, not globally: one commune cannot take
    # another's id, and two recipients' automatic "01" never collide. Counted per document.
    Migration(2, (
        """CREATE TABLE statuses_v2(
            agency TEXT NOT NULL,
            sid TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            code TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            PRIMARY KEY (agency, sid)
        )""",
        "INSERT INTO statuses_v2(agency, sid, doc_id, code, at_ms)"
        " SELECT agency, sid, doc_id, code, at_ms FROM statuses",
        "DROP TABLE statuses",
        "ALTER TABLE statuses_v2 RENAME TO statuses",
        "CREATE INDEX statuses_doc ON statuses(doc_id, agency)",
        # Fleet: the oldest document still waiting for each recipient.
        "CREATE INDEX inbox_waiting ON inbox(recipient, acked_ms, routed_ms)",
    )),
    # The national axis (gateway/store/hub/axis.py): the agencies reached through it, what
    # was pulled (dedupe keys), the edXML DocumentId of each exchanged document, deliveries
    # still to push, and what the axis already accepted from us.
    Migration(3, (
        """CREATE TABLE axis_agencies(
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            system TEXT NOT NULL
        )""",
        """CREATE TABLE axis_pulled(
            key TEXT PRIMARY KEY,
            axis_id TEXT NOT NULL,
            doc_id TEXT,
            at_ms INTEGER NOT NULL
        )""",
        """CREATE TABLE axis_docs(
            doc_id TEXT PRIMARY KEY REFERENCES documents(id),
            document_id TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('in', 'out'))
        )""",
        "CREATE INDEX axis_docs_edxml ON axis_docs(document_id, direction)",
        """CREATE TABLE axis_out(
            doc_id TEXT NOT NULL REFERENCES documents(id),
            recipient TEXT NOT NULL,
            sent_ms INTEGER,
            PRIMARY KEY (doc_id, recipient)
        )""",
        """CREATE TABLE axis_pushed(
            key TEXT PRIMARY KEY,
            axis_id TEXT NOT NULL,
            at_ms INTEGER NOT NULL
        )""",
    )),
    # Fleet: the heartbeat's optional last error (class and short text) and dead letters.
    Migration(4, (
        "ALTER TABLE gateways ADD COLUMN last_error TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE gateways ADD COLUMN dead INTEGER NOT NULL DEFAULT 0",
    )),
    # Signature verdicts of PDF attachments (issue 11): which blobs are PDFs (the envelope's
    # rule, kept per row so the checker never parses envelopes), and one verdict per digest.
    Migration(5, (
        "ALTER TABLE doc_blobs ADD COLUMN pdf INTEGER NOT NULL DEFAULT 0",
        "UPDATE doc_blobs SET pdf = 1 WHERE EXISTS (SELECT 1 FROM documents d,"
        " json_each(d.envelope, '$.attachments') j WHERE d.id = doc_blobs.doc_id"
        " AND json_extract(j.value, '$.sha256') = doc_blobs.sha256"
        " AND (json_extract(j.value, '$.type') = 'application/pdf'"
        " OR lower(json_extract(j.value, '$.name')) LIKE '%.pdf'))",
        "CREATE INDEX doc_blobs_pdf ON doc_blobs(sha256) WHERE pdf = 1",
        """CREATE TABLE signature_verdicts(
            sha256 TEXT PRIMARY KEY,
            verdict TEXT NOT NULL,
            trusted INTEGER NOT NULL,  -- at least one valid, trusted signature (the KPI)
            checked_ms INTEGER NOT NULL
        )""",
    )),
    # Keeping the hub (issue 14): enrollments waiting for the offline CA to sign them, and the
    # box a new enrollment replaced, with what its last heartbeat said was still unsent.
    Migration(6, (
        """CREATE TABLE enroll_requests(
            digest TEXT PRIMARY KEY,
            agency TEXT NOT NULL,
            key_sha256 TEXT NOT NULL,
            csr_pem TEXT NOT NULL,
            requested_ms INTEGER NOT NULL
        )""",
        """CREATE TABLE replaced_boxes(
            agency TEXT PRIMARY KEY,
            replaced_ms INTEGER NOT NULL,
            last_seen_ms INTEGER NOT NULL,
            unsent INTEGER NOT NULL,
            dead INTEGER NOT NULL
        )""",
    )),
    # The hub's epoch (the brief of issue 14's gap): one random id for this hub's history,
    # made here with the database (or on upgrade) and replaced by ``gateway hub restore``
    # (gateway/store/hub/epoch.py); boxes compare it to see that the hub lost recent history.
    Migration(7, (
        "INSERT OR IGNORE INTO kv(key, value) VALUES ('epoch', lower(hex(randomblob(16))))",
    )),
)
