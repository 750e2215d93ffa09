"""Users, API tokens and data-use agreements in the store's own ``access.duckdb``.

Tokens are random (``imm_`` + 43 url-safe chars); only their sha256 is stored, so a stolen
database does not give working tokens. Revoking sets ``revoked_at``; nothing is deleted.
The file is opened per operation (DuckDB allows one writer process), so ``immunome users``
works while the server runs; the server caches the tables and reloads them when the file
changes, so a revocation takes effect on the next request.

Example:
    >>> import tempfile, pathlib
    >>> acc = AccessStore(pathlib.Path(tempfile.mkdtemp()))
    >>> user = acc.add_user("ada", tier="researcher")
    >>> token = acc.create_token("ada")
    >>> acc.authenticate(token).tier
    'researcher'
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from immunome.errors import AccessDenied, StoreError

ACCESS_FILE = "access.duckdb"
FORMAT_VERSION = "1"
TIERS = ("public", "researcher", "submitter", "admin")
DUA_VERSION = "immunome-dua/1"
DUA_TEXT = (
    "I will use the pseudonymised participant-level data only for the research I registered; "
    "I will not attempt to re-identify any participant or site member, link the data with other "
    "sources to that end, or share the data with anyone who has not accepted this agreement. "
    "I accept that every participant-level access is logged."
)
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_SITE = re.compile(r"^[A-Za-z0-9_-]{2,32}$")

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS access_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS users (
        name VARCHAR PRIMARY KEY, tier VARCHAR NOT NULL, site VARCHAR, email VARCHAR,
        created_at VARCHAR NOT NULL, disabled_at VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS tokens (
        token_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, token_sha256 VARCHAR UNIQUE NOT NULL,
        label VARCHAR, created_at VARCHAR NOT NULL, revoked_at VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS dua (
        name VARCHAR NOT NULL, dua_version VARCHAR NOT NULL, text_sha256 VARCHAR NOT NULL,
        accepted_at VARCHAR NOT NULL, request_id VARCHAR)""",
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def token_hash(token: str) -> str:
    """sha256 hex of a token (what is stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who is calling: tier, site scope, and whether the data-use agreement was accepted."""

    name: str | None = None
    tier: str = "public"
    site: str | None = None
    token_id: str | None = None
    dua_accepted_at: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.name is not None

    def can_read_participants(self) -> bool:
        """Researchers with a recorded DUA, and admins."""
        return self.tier == "admin" or (
            self.tier == "researcher" and self.dua_accepted_at is not None
        )


ANONYMOUS = Caller()


class AccessStore:
    """The access database of one store folder."""

    def __init__(self, store_path: Path | str):
        self.path = Path(store_path) / ACCESS_FILE
        self._lock = threading.Lock()
        self._cache: tuple[tuple, dict[str, Caller]] | None = None
        with self._connect() as con:
            for stmt in _SCHEMA:
                con.execute(stmt)
            con.execute(
                "INSERT INTO access_meta VALUES ('format_version', ?) ON CONFLICT DO NOTHING",
                [FORMAT_VERSION],
            )

    # connection ------------------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as e:
                if "lock" not in str(e).lower() or time.monotonic() > deadline:
                    raise StoreError(f"{self.path}: cannot open access database: {e}") from e
                time.sleep(0.05)
        try:
            yield con
        finally:
            con.close()

    def _signature(self) -> tuple:
        sig = []
        for p in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                st = p.stat()
                sig.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                sig.append(None)
        return tuple(sig)

    # users -----------------------------------------------------------------------------------
    def add_user(
        self, name: str, *, tier: str, site: str | None = None, email: str | None = None
    ) -> dict[str, Any]:
        """Register a user. Submitters need a ``site``; names are ``[A-Za-z0-9_.@-]{2,64}``."""
        if not _NAME.match(name or ""):
            raise AccessDenied(f"invalid user name {name!r}: use [A-Za-z0-9_.@-]{{2,64}}")
        if tier not in TIERS:
            raise AccessDenied(f"unknown tier {tier!r}", allowed=TIERS)
        if tier == "submitter" and not site:
            raise AccessDenied("a site submitter needs --site (the site code it submits for)")
        if site is not None and not _SITE.match(site):
            raise AccessDenied(f"invalid site code {site!r}: use [A-Za-z0-9_-]{{2,32}}")
        with self._lock, self._connect() as con:
            if con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
                raise AccessDenied(f"user {name!r} already exists")
            con.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, NULL)", [name, tier, site, email, _now()]
            )
        self._cache = None
        return self.user(name)

    def user(self, name: str) -> dict[str, Any]:
        """One user as a dict (no token hashes)."""
        for u in self.users():
            if u["name"] == name:
                return u
        raise AccessDenied(f"unknown user {name!r}")

    def users(self) -> list[dict[str, Any]]:
        """Every user with its live token count and DUA time."""
        with self._connect() as con:
            rows = con.execute(
                """SELECT u.name, u.tier, u.site, u.email, u.created_at, u.disabled_at,
                          (SELECT count(*) FROM tokens t WHERE t.name = u.name AND t.revoked_at IS NULL),
                          (SELECT max(accepted_at) FROM dua d WHERE d.name = u.name)
                   FROM users u ORDER BY u.name"""
            ).fetchall()
        keys = (
            "name",
            "tier",
            "site",
            "email",
            "created_at",
            "disabled_at",
            "active_tokens",
            "dua_accepted_at",
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # tokens ----------------------------------------------------------------------------------
    def create_token(self, name: str, *, label: str | None = None) -> str:
        """Create and return a new API token for ``name`` (shown once, stored hashed)."""
        token = "imm_" + secrets.token_urlsafe(32)
        token_id = "t-" + secrets.token_hex(6)
        with self._lock, self._connect() as con:
            row = con.execute("SELECT disabled_at FROM users WHERE name = ?", [name]).fetchone()
            if row is None:
                raise AccessDenied(f"unknown user {name!r}; add it with `immunome users add`")
            con.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, NULL)",
                [token_id, name, token_hash(token), label, _now()],
            )
        self._cache = None
        return token

    def tokens(self, name: str | None = None) -> list[dict[str, Any]]:
        """Token ids (never hashes) with their state."""
        sql = "SELECT token_id, name, label, created_at, revoked_at FROM tokens"
        args: list[Any] = []
        if name:
            sql += " WHERE name = ?"
            args.append(name)
        with self._connect() as con:
            rows = con.execute(sql + " ORDER BY created_at, token_id", args).fetchall()
        keys = ("token_id", "name", "label", "created_at", "revoked_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def revoke(self, who: str) -> int:
        """Revoke a token (by token id or the token itself) or every token of a user name."""
        with self._lock, self._connect() as con:
            now = _now()
            n = con.execute(
                """UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL
                   AND (token_id = ? OR name = ? OR token_sha256 = ?) RETURNING token_id""",
                [now, who, who, token_hash(who)],
            ).fetchall()
        self._cache = None
        if not n:
            raise AccessDenied(
                f"no live token matches {who!r} (give a token id, a token or a user)"
            )
        return len(n)

    # data-use agreement -----------------------------------------------------------------------
    def accept_dua(self, name: str, *, request_id: str | None = None) -> str:
        """Record that ``name`` accepted the current DUA; returns the time recorded."""
        at = _now()
        digest = hashlib.sha256(DUA_TEXT.encode()).hexdigest()
        with self._lock, self._connect() as con:
            con.execute(
                "INSERT INTO dua VALUES (?, ?, ?, ?, ?)",
                [name, DUA_VERSION, digest, at, request_id],
            )
        self._cache = None
        return at

    # authentication --------------------------------------------------------------------------
    def _table(self) -> dict[str, Caller]:
        sig = self._signature()
        cached = self._cache
        if cached is not None and cached[0] == sig:
            return cached[1]
        with self._lock, self._connect() as con:
            rows = con.execute(
                """SELECT t.token_sha256, t.token_id, u.name, u.tier, u.site,
                          (SELECT max(accepted_at) FROM dua d WHERE d.name = u.name
                             AND d.dua_version = ?)
                   FROM tokens t JOIN users u USING (name)
                   WHERE t.revoked_at IS NULL AND u.disabled_at IS NULL""",
                [DUA_VERSION],
            ).fetchall()
        table = {
            h: Caller(name=n, tier=tier, site=site, token_id=tid, dua_accepted_at=dua)
            for h, tid, n, tier, site, dua in rows
        }
        self._cache = (self._signature(), table)
        return table

    def authenticate(self, token: str) -> Caller | None:
        """The caller a token belongs to, or None if unknown or revoked."""
        return self._table().get(token_hash(token))
