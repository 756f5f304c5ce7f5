"""The hub's records of who may connect: enrollment and admin tokens, issued certificates.

Only a token's digest is stored, never the token. A certificate is recorded when it is issued
and marked when revoked, because it outlives the box it was issued to: the hub checks every
request against these records, not against the certificate alone. Enrollment spends a token
and records the certificate in one transaction; whether to issue is the hub's decision
(:mod:`gateway.hub.enrollment`), passed in as ``issue``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.store.db import Conn, Database

# tokens.kind: the two values the schema's CHECK constraint allows.
ENROLL = "enroll"
ADMIN = "admin"


@dataclass(frozen=True)
class Certificate:
    agency: str
    revoked_ms: int | None


@dataclass(frozen=True)
class EnrollToken:
    agency: str
    expires_ms: int
    used_ms: int | None
    key_sha256: str | None  # the key it was spent on, so that key may fetch it again
    cert_pem: str | None


@dataclass(frozen=True)
class Issued:
    """A certificate the hub just signed for an enrollment token."""

    serial: str  # lower-case hex, as the TLS layer reports it
    agency: str
    pem: str


# The hub's decision on a token (None: unknown): a new certificate to record, or the PEM of
# the one already issued to the same key. It raises to refuse, which rolls everything back.
Issue = Callable[[EnrollToken | None], Issued | str]
# With the CA offline: the hub's decision on a token and the key of a request already kept
# for it (None: none yet). It returns the certificate already issued to this key, or None to
# keep (or keep waiting on) the request; it raises to refuse.
Decide = Callable[[EnrollToken | None, str | None], str | None]


class Credentials:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_token(self, digest: str, agency: str, kind: str, expires_ms: int) -> None:
        await self.db.write(lambda c: c.execute(
            "INSERT INTO tokens(digest, agency, kind, expires_ms) VALUES (?,?,?,?)",
            (digest, agency, kind, expires_ms)))

    async def admin_token_valid(self, digest: str, now: int) -> bool:
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT 1 FROM tokens WHERE digest = ? AND kind = ? AND expires_ms > ?",
            (digest, ADMIN, now)))
        return bool(list(rows))

    async def certificate(self, serial: str) -> Certificate | None:
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT agency, revoked_ms FROM certificates WHERE serial = ?", (serial,)))
        row = next(iter(rows), None)
        if row is None:
            return None
        return Certificate(str(row[0]), None if row[1] is None else int(row[1]))

    async def revoke(self, agency: str, now: int) -> int:
        """Revokes every live certificate of ``agency``; returns how many."""
        cur = await self.db.write(lambda c: c.execute(
            "UPDATE certificates SET revoked_ms = ? WHERE agency = ? AND revoked_ms IS NULL",
            (now, agency)))
        return int(cur.rowcount)

    async def certificate_count(self, agency: str) -> int:
        """How many certificates were ever issued to ``agency``, revoked or not."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT count(*) FROM certificates WHERE agency = ?", (agency,)))
        return int(next(iter(rows))[0])

    async def redeem(self, digest: str, key_sha256: str, now: int, issue: Issue) -> str:
        """Spends the enrollment token ``digest`` as ``issue`` decides; returns the PEM."""

        async def tx(conn: Conn) -> str:
            outcome = issue(await _enroll_token(conn, digest))
            if isinstance(outcome, str):
                return outcome
            await _spend(conn, digest, key_sha256, outcome, now)
            return outcome.pem

        return await self.db.write(tx)

    # With the CA key offline (gateway/security/offline_ca.py) -------------------------------

    async def request(self, digest: str, key_sha256: str, csr_pem: str, now: int,
                      decide: Decide) -> str | None:
        """Keeps a CSR for the offline CA, as ``decide`` allows; returns the certificate when
        this key's request was signed and installed already, else ``None`` (waiting)."""

        async def tx(conn: Conn) -> str | None:
            token = await _enroll_token(conn, digest)
            row = await (await conn.execute(
                "SELECT key_sha256 FROM enroll_requests WHERE digest = ?", (digest,))).fetchone()
            signed = decide(token, None if row is None else str(row[0]))
            if signed is not None or token is None:
                return signed
            await conn.execute(
                "INSERT OR IGNORE INTO enroll_requests(digest, agency, key_sha256, csr_pem,"
                " requested_ms) VALUES (?,?,?,?,?)",
                (digest, token.agency, key_sha256, csr_pem, now))
            return None

        return await self.db.write(tx)

    async def pending(self) -> list[tuple[str, str, str]]:
        """Requests waiting for the offline CA: (token digest, agency, CSR PEM), oldest first."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT digest, agency, csr_pem FROM enroll_requests ORDER BY requested_ms"))
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def pending_count(self) -> int:
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT count(*) FROM enroll_requests"))
        return int(next(iter(rows))[0])

    async def install(self, digest: str, key_sha256: str, issued: Issued, now: int) -> bool:
        """Spends the token of a waiting request with the certificate the offline CA signed
        for it; ``False`` when no request matches (already installed, or not ours)."""

        async def tx(conn: Conn) -> bool:
            row = await (await conn.execute(
                "SELECT 1 FROM enroll_requests WHERE digest = ? AND agency = ?"
                " AND key_sha256 = ?", (digest, issued.agency, key_sha256))).fetchone()
            if row is None:
                return False
            await _spend(conn, digest, key_sha256, issued, now)
            await conn.execute("DELETE FROM enroll_requests WHERE digest = ?", (digest,))
            return True

        return await self.db.write(tx)


async def _spend(conn: Conn, digest: str, key_sha256: str, issued: Issued, now: int) -> None:
    """Records a new certificate against its token. An agency that had one already got a new
    box: what the old box's last heartbeat said it still had to send is kept for the fleet."""
    await conn.execute(
        "INSERT INTO replaced_boxes(agency, replaced_ms, last_seen_ms, unsent, dead)"
        " SELECT g.agency, ?, g.last_seen_ms, g.queue, g.dead FROM gateways g"
        " WHERE g.agency = ? AND EXISTS (SELECT 1 FROM certificates c WHERE c.agency = ?)"
        " ON CONFLICT(agency) DO UPDATE SET replaced_ms = excluded.replaced_ms,"
        " last_seen_ms = excluded.last_seen_ms, unsent = excluded.unsent, dead = excluded.dead",
        (now, issued.agency, issued.agency))
    await conn.execute(
        "UPDATE tokens SET used_ms = ?, key_sha256 = ?, cert_pem = ? WHERE digest = ?",
        (now, key_sha256, issued.pem, digest))
    await conn.execute(
        "INSERT INTO certificates(serial, agency, issued_ms) VALUES (?,?,?)",
        (issued.serial, issued.agency, now))


async def _enroll_token(conn: Conn, digest: str) -> EnrollToken | None:
    row = await (await conn.execute(
        "SELECT agency, expires_ms, used_ms, key_sha256, cert_pem FROM tokens"
        " WHERE digest = ? AND kind = ?", (digest, ENROLL))).fetchone()
    if row is None:
        return None
    agency, expires, used, key, pem = row
    return EnrollToken(str(agency), int(expires), None if used is None else int(used),
                       None if key is None else str(key), None if pem is None else str(pem))
