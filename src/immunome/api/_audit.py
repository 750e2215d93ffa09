"""Append-only, hash-chained audit log of every participant-level access.

One JSON object per line in ``<store>/audit.jsonl``. Each entry carries ``prev`` (the previous
entry's ``sha256``) and its own ``sha256`` over its content, so editing or deleting a line breaks
the chain and :meth:`AuditLog.verify` names the first bad line. Appends are serialised with an
exclusive file lock, so several server processes can share one log.

Example:
    >>> import tempfile, pathlib
    >>> log = AuditLog(pathlib.Path(tempfile.mkdtemp()))
    >>> _ = log.append(user="ada", tier="researcher", action="read", resource="/x", rows=3)
    >>> log.verify()
    1
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from immunome.errors import IntegrityError

AUDIT_FILE = "audit.jsonl"
GENESIS = "0" * 64


def _digest(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "sha256"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


class AuditLog:
    """The audit log of one store folder."""

    def __init__(self, store_path: Path | str):
        self.path = Path(store_path) / AUDIT_FILE

    def append(
        self, *, user: str | None, tier: str, action: str, resource: str, **fields: Any
    ) -> dict[str, Any]:
        """Append one entry (``request_id``, ``release_id``, ``rows``, ``client`` … as fields)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            prev, seq = self._tail(fd)
            entry = {
                "seq": seq + 1,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "user": user,
                "tier": tier,
                "action": action,
                "resource": resource,
                **fields,
                "prev": prev,
            }
            entry["sha256"] = _digest(entry)
            os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
            os.fsync(fd)
            return entry
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @staticmethod
    def _tail(fd: int) -> tuple[str, int]:
        size = os.lseek(fd, 0, os.SEEK_END)
        if size == 0:
            return GENESIS, 0
        chunk = min(size, 65536)
        os.lseek(fd, size - chunk, os.SEEK_SET)
        last = os.read(fd, chunk).decode().rstrip("\n").rsplit("\n", 1)[-1]
        entry = json.loads(last)
        return entry["sha256"], int(entry["seq"])

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def verify(self) -> int:
        """Check the hash chain; return the number of entries or raise :class:`IntegrityError`."""
        prev = GENESIS
        entries = self.entries()
        for n, e in enumerate(entries, start=1):
            if e.get("prev") != prev or _digest(e) != e.get("sha256") or e.get("seq") != n:
                raise IntegrityError(f"{self.path}:{n}: audit entry altered, removed or reordered")
            prev = e["sha256"]
        return len(entries)
