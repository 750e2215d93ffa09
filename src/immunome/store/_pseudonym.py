"""Keyed pseudonyms: ``P``/``S`` + 16 hex of ``HMAC-SHA256(key, site + ":" + raw_id)``.

The key lives in ``<store>/secret.key`` (mode 0600) or ``$IMMUNOME_SECRET_FILE``; never in the
database or a release.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from immunome.errors import StoreError

SECRET_ENV = "IMMUNOME_SECRET_FILE"


def secret_path(store_dir: Path) -> Path:
    """Where the store's key lives (``$IMMUNOME_SECRET_FILE`` wins)."""
    env = os.environ.get(SECRET_ENV)
    return Path(env) if env else store_dir / "secret.key"


def load_secret(store_dir: Path, *, create: bool) -> bytes:
    """Read the store key, creating a random 256-bit key (mode 0600) when allowed.

    Example:
        >>> import tempfile, pathlib
        >>> len(load_secret(pathlib.Path(tempfile.mkdtemp()), create=True))
        64
    """
    p = secret_path(store_dir)
    if not p.exists():
        if not create:
            raise StoreError(f"{p}: store secret key is missing; pseudonyms cannot be computed")
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    key = p.read_text().strip().encode()
    if len(key) < 32:
        raise StoreError(f"{p}: secret key is too short ({len(key)} chars; need >= 32)")
    return key


def pseudonyms(key: bytes, site: str, raw_ids: Iterable[str], *, prefix: str) -> list[str]:
    """Pseudonymise IDs of one site.

    Example:
        >>> pseudonyms(b"k" * 32, "S1", ["a"], prefix="P")
        ['P6790beef3ee70476']
    """
    inner, outer = _hmac_states(key, f"{site}:".encode())
    out = []
    for raw in raw_ids:
        i = inner.copy()
        i.update(str(raw).encode())
        o = outer.copy()
        o.update(i.digest())
        out.append(prefix + o.digest()[:8].hex())
    return out


def _hmac_states(key: bytes, prefix: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256 (RFC 2104) with the keyed inner/outer states precomputed once.

    Copying two precomputed hash states per ID is ~2.5x faster than re-keying with
    ``hmac.digest`` for every ID; the output is identical (checked in tests).
    """
    block = 64
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k) + prefix)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in k))
    return inner, outer
