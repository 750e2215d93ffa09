"""Fetch a pinned dataset: from the ``IMMUNOME_DATA`` mirror, or download into a local cache.

Nothing is downloaded at import time; only :func:`fetch` touches the network, and only when no
mirror is configured. Every file is verified against its pinned sha256.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from immunome.datasets._registry import Dataset, DatasetFile, get_dataset
from immunome.errors import DatasetError

ENV_MIRROR = "IMMUNOME_DATA"
ENV_CACHE = "IMMUNOME_CACHE"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(root: Path, f: DatasetFile, *, dataset: str) -> Path:
    """Check that ``root/f.path`` exists and has the pinned sha256; return its path."""
    p = root / f.path
    if not p.is_file():
        raise DatasetError(f"{p}: missing file of dataset {dataset!r} (expected sha256 {f.sha256})")
    got = sha256_file(p)
    if got != f.sha256:
        raise DatasetError(
            f"{p}: sha256 mismatch for dataset {dataset!r}: got {got}, pinned {f.sha256} — "
            "the file was changed or is a different version; re-fetch it",
            expected=f.sha256,
            got=got,
        )
    return p


def default_cache_dir() -> Path:
    """``$IMMUNOME_CACHE`` or ``~/.cache/immunome``."""
    env = os.environ.get(ENV_CACHE)
    return Path(env) if env else Path.home() / ".cache" / "immunome"


def _download(ds: Dataset, f: DatasetFile, dest: Path) -> None:
    url = ds.url(f)
    if url is None:
        raise DatasetError(
            f"{f.path}: no pinned download URL (mirror-only file of {ds.name!r}); set {ENV_MIRROR} to a mirror"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        got = sha256_file(Path(tmp))
        if got != f.sha256:
            raise DatasetError(
                f"{url}: sha256 mismatch: got {got}, pinned {f.sha256}", expected=f.sha256, got=got
            )
        os.replace(tmp, dest)
    except OSError as e:
        raise DatasetError(f"{url}: download failed: {e}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch(
    name: str,
    *,
    cache_dir: str | Path | None = None,
    mirror: str | Path | None = None,
    files: list[str] | None = None,
) -> Path:
    """Return the local root folder of dataset ``name``, every file verified by sha256.

    With a mirror (``mirror=`` or ``$IMMUNOME_DATA``) the files are read from ``<mirror>/<name>/``
    and never downloaded; a missing or changed file is a :class:`DatasetError`. Without one, the
    pinned raw URLs are downloaded into ``<cache_dir>/<name>/`` (default ``~/.cache/immunome``);
    files already cached with the right checksum are not downloaded again. ``files`` restricts the
    work to some relative paths.

    Example:
        >>> import os
        >>> root = fetch("10kip", files=["hla.csv"])  # doctest: +SKIP
        >>> (root / "hla.csv").is_file()  # doctest: +SKIP
        True
    """
    ds = get_dataset(name)
    wanted = ds.files if files is None else [ds.file(p) for p in files]
    mirror = mirror if mirror is not None else os.environ.get(ENV_MIRROR)
    if mirror:
        root = Path(mirror) / name
        if not root.is_dir():
            raise DatasetError(
                f"{root}: dataset {name!r} not found in mirror {mirror} ({ENV_MIRROR})"
            )
        for f in wanted:
            verify_file(root, f, dataset=name)
        return root
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    root = root / name
    for f in wanted:
        p = root / f.path
        if p.is_file() and sha256_file(p) == f.sha256:
            continue
        _download(ds, f, p)
    return root
