"""Read a submission bundle (a directory or a ``.zip`` of one) safely.

Zip archives are checked before anything is extracted: no absolute paths, no ``..`` (zip-slip),
no symlinks, at most :data:`MAX_FILES` entries, and a total uncompressed size and compression
ratio below limits (zip bombs). Nothing is ever written to disk; members are read into memory
with a hard byte limit so a lying header cannot exceed it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from immunome.errors import UnusableInputError
from immunome.submission._manifest import MANIFEST, Manifest, parse_manifest
from immunome.submission._report import ValidationReport

MAX_FILES = 1000
MAX_TOTAL_BYTES = 8 * 1024**3
MAX_RATIO = 200
_RATIO_MIN_BYTES = 1024**2
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db")


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle, read lazily."""

    name: str
    size: int
    _path: Path | None = None
    _zip: Path | None = None
    _member: str | None = None

    def read_bytes(self) -> bytes:
        """Return the file content (zip members are read with a hard size limit)."""
        if self._path is not None:
            return self._path.read_bytes()
        assert self._zip is not None and self._member is not None
        with zipfile.ZipFile(self._zip) as zf, zf.open(self._member) as fh:
            data = fh.read(self.size + 1)
        if len(data) > self.size:
            raise UnusableInputError(
                f"{self._zip}: member {self._member} is larger than its header says (zip bomb?)"
            )
        return data

    @property
    def path(self) -> Path | None:
        """Filesystem path for directory bundles (fast memory-mapped reads), else None."""
        return self._path


@dataclass
class Bundle:
    """A bundle opened by :func:`read_bundle`: its manifest and files, nothing parsed yet."""

    source: Path
    files: dict[str, BundleFile]
    manifest_text: str
    manifest: Manifest | None = None
    issues: ValidationReport = field(default_factory=ValidationReport)

    def file(self, name: str) -> BundleFile | None:
        """The bundle file ``name`` (relative POSIX path) or None."""
        return self.files.get(name)

    def content_sha256(self) -> str:
        """sha256 over sorted ``path<TAB>sha256`` lines of the manifest and every file it names.

        Only content counts: zipping or unzipping, file dates and archive order do not change it.
        """
        names = {MANIFEST}
        if self.manifest is not None:
            names.update(n for n in self.manifest.files() if n in self.files)
        lines = [f"{n}\t{file_sha256(self.files[n])}\n" for n in sorted(names)]
        return hashlib.sha256("".join(lines).encode()).hexdigest()


def file_sha256(bf: BundleFile) -> str:
    """sha256 of one bundle file, streamed for directory files."""
    h = hashlib.sha256()
    if bf.path is not None:
        with open(bf.path, "rb") as fh:
            while chunk := fh.read(8 * 1024 * 1024):
                h.update(chunk)
    else:
        h.update(bf.read_bytes())
    return h.hexdigest()


def _unusable(src: Path, msg: str) -> UnusableInputError:
    return UnusableInputError(f"{src}: {msg}", file=str(src))


def _dir_files(root: Path) -> dict[str, BundleFile]:
    out: dict[str, BundleFile] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for d in dirnames:
            if (Path(dirpath) / d).is_symlink():
                raise _unusable(root, f"symlink {Path(dirpath, d).relative_to(root)} not allowed")
        for f in filenames:
            p = Path(dirpath) / f
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                raise _unusable(root, f"symlink {rel} not allowed in a bundle")
            if len(out) >= MAX_FILES:
                raise _unusable(root, f"more than {MAX_FILES} files in bundle")
            out[rel] = BundleFile(rel, p.stat().st_size, _path=p)
    return out


def _zip_files(src: Path) -> dict[str, BundleFile]:
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as e:
        raise _unusable(src, f"not a readable zip archive ({e})") from e
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_FILES:
            raise _unusable(src, f"{len(infos)} entries; at most {MAX_FILES} allowed")
        total = 0
        out: dict[str, BundleFile] = {}
        for info in infos:
            name = info.filename
            pure = PurePosixPath(name.replace("\\", "/"))
            if (
                name.startswith(("/", "\\"))
                or (len(name) > 1 and name[1] == ":")
                or pure.is_absolute()
            ):
                raise _unusable(src, f"zip entry {name!r} has an absolute path (zip-slip)")
            if ".." in pure.parts:
                raise _unusable(src, f"zip entry {name!r} escapes the bundle with '..' (zip-slip)")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _unusable(src, f"zip entry {name!r} is a symlink; not allowed")
            if info.is_dir() or any(name.startswith(j) or name.endswith(j) for j in _JUNK):
                continue
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise _unusable(
                    src, f"uncompressed size exceeds {MAX_TOTAL_BYTES} bytes (zip bomb?)"
                )
            if info.file_size > _RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise _unusable(
                    src,
                    f"zip entry {name!r} expands {info.file_size // max(info.compress_size, 1)}x "
                    f"(limit {MAX_RATIO}x; zip bomb?)",
                )
            out[pure.as_posix()] = BundleFile(
                pure.as_posix(), info.file_size, _zip=src, _member=name
            )
    return _strip_top_folder(src, out)


def _strip_top_folder(src: Path, files: dict[str, BundleFile]) -> dict[str, BundleFile]:
    """A zip of a folder holds ``folder/manifest.yaml``; re-root it so paths match the manifest."""
    if MANIFEST in files:
        return files
    tops = {n.split("/", 1)[0] for n in files}
    if len(tops) == 1 and all("/" in n for n in files):
        top = tops.pop() + "/"
        return {
            n[len(top) :]: BundleFile(n[len(top) :], f.size, _zip=f._zip, _member=f._member)
            for n, f in files.items()
        }
    return files


def read_bundle(path: str | Path) -> Bundle:
    """Open a bundle directory or zip, check it is safe, and parse its manifest.

    Raises :class:`~immunome.errors.UnusableInputError` (exit 2) when the input cannot be read
    at all; manifest *content* problems are collected in ``bundle.issues`` instead.

    Example:
        >>> from immunome.submission import example_bundle_path
        >>> read_bundle(example_bundle_path()).manifest.site
        'EXAMPLE01'
    """
    src = Path(path)
    if src.is_symlink():
        raise _unusable(src, "a bundle may not be a symlink")
    if src.is_dir():
        files = _dir_files(src)
    elif src.is_file() and zipfile.is_zipfile(src):
        files = _zip_files(src)
    elif src.is_file():
        raise _unusable(src, "not a bundle: expected a directory or a .zip archive")
    else:
        raise _unusable(src, "no such file or directory")
    if MANIFEST not in files:
        raise _unusable(src, f"no {MANIFEST} at the top of the bundle")
    raw = files[MANIFEST].read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _unusable(src, f"{MANIFEST} is not UTF-8 (byte offset {e.start})") from e
    report = ValidationReport(source=str(src))
    bundle = Bundle(source=src, files=files, manifest_text=text, issues=report)
    bundle.manifest = parse_manifest(text, report)
    if bundle.manifest is not None:
        report.site = bundle.manifest.site
        report.protocol = bundle.manifest.protocol
        report.protocol_version = bundle.manifest.protocol_version
    return bundle
