"""Versioned, immutable, content-addressed releases of a store.

A release is a folder of Parquet files plus ``manifest.json`` (sha256 of every file and of the
whole). The same content always gives the same release id; ``verify_release`` detects any change.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from immunome.errors import IntegrityError, ReleaseError
from immunome.store._datasheet import build_datasheet, datasheet_markdown
from immunome.store._release_io import (
    MANIFEST,
    RELEASE_FORMAT,
    content_hash,
    hash_tree,
    release_id_for,
    sha256_file,
    write_json,
    write_parquet,
)
from immunome.store._release_tables import (
    features_table,
    normalized_layer,
    read_active_tables,
)

if TYPE_CHECKING:
    from immunome.cohort import Cohort

INDEX = "index.jsonl"


@dataclass(frozen=True)
class ReleaseInfo:
    """What a release is: its id, folder and headline counts."""

    release_id: str
    path: Path
    created_at: str
    label: str | None = None
    parent: str | None = None
    layers: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    new: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def _releases_dir(store: Any) -> Path:
    d = Path(store.path) / "releases"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _read_index(store: Any) -> list[dict[str, Any]]:
    f = _releases_dir(store) / INDEX
    if not f.exists():
        return []
    rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return [r for r in rows if (_releases_dir(store) / r["release_id"]).is_dir()]


def _append_index(store: Any, row: dict[str, Any]) -> None:
    with open(_releases_dir(store) / INDEX, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _write_layers(root: Path, layers: dict[str, pd.DataFrame]) -> None:
    for layer, df in layers.items():
        for assay, part in df.groupby("assay", sort=True):
            cols = [c for c in ("sample_id", "feature", "value", "unit") if c in part.columns]
            out = part[cols].sort_values(["sample_id", "feature"], kind="mergesort")
            write_parquet(
                out, root / "measurements" / f"layer={layer}" / f"assay={assay}" / "part-0.parquet"
            )


def _finalise(
    store: Any,
    tmp: Path,
    *,
    manifest_extra: dict[str, Any],
    label: str | None,
    parent: str | None,
) -> ReleaseInfo:
    files = hash_tree(tmp)
    rid = release_id_for(files)
    manifest = {
        "format": RELEASE_FORMAT,
        "release_id": rid,
        "content_sha256": content_hash(files),
        "files": files,
        "parent": parent,
        **manifest_extra,
    }
    write_json(manifest, tmp / MANIFEST)
    dest = _releases_dir(store) / rid
    new = not dest.exists()
    if new:
        os.replace(tmp, dest)
    else:
        shutil.rmtree(tmp)
    known = {r["release_id"]: r for r in _read_index(store)}
    created = known.get(rid, {}).get("created_at") or datetime.now(UTC).isoformat(
        timespec="seconds"
    )
    if rid not in known:
        _append_index(
            store, {"release_id": rid, "created_at": created, "label": label, "parent": parent}
        )
    return ReleaseInfo(
        release_id=rid,
        path=dest,
        created_at=created,
        label=label or known.get(rid, {}).get("label"),
        parent=parent,
        layers=manifest_extra.get("layers", []),
        counts=manifest_extra.get("counts", {}),
        new=new,
    )


def create_release(store: Any, *, label: str | None = None) -> ReleaseInfo:
    """Snapshot the store's active submissions into an immutable release.

    Example:
        >>> info = store.create_release()          # doctest: +SKIP
        >>> info.release_id                        # doctest: +SKIP
        'r-3f1c…'
    """
    t = read_active_tables(store)
    if t.participants.empty:
        raise ReleaseError("the store holds no active submission; submit a bundle first")
    features = features_table(t.measurements, t.protocols)
    norm = normalized_layer(t.measurements, features, t.protocols)
    tmp = _releases_dir(store) / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        write_parquet(t.participants, tmp / "participants.parquet")
        write_parquet(t.samples, tmp / "samples.parquet")
        write_parquet(features, tmp / "features.parquet")
        write_parquet(t.qc, tmp / "qc.parquet")
        _write_layers(tmp, {"raw": t.measurements, "normalized": norm})
        sheet = build_datasheet(t.participants, t.samples, t.measurements, features)
        write_json(sheet, tmp / "datasheet.json")
        (tmp / "datasheet.md").write_text(datasheet_markdown(sheet))
        extra = {
            "layers": ["raw", "normalized"],
            "assays": sorted(features["assay"].unique().tolist()),
            "protocols": sorted(f"{p.id}/v{p.version}" for p in t.protocols.values()),
            "submissions": t.submission_ids,
            "counts": {
                "participants": int(len(t.participants)),
                "samples": int(len(t.samples)),
                "measurements": int(len(t.measurements)),
            },
            "provenance": [{"stage": "release", "from": "store"}],
        }
        return _finalise(store, tmp, manifest_extra=extra, label=label, parent=None)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def releases(store: Any) -> list[ReleaseInfo]:
    """List releases, oldest first."""
    out = []
    for r in _read_index(store):
        m = read_manifest(_releases_dir(store) / r["release_id"])
        out.append(
            ReleaseInfo(
                release_id=r["release_id"],
                path=_releases_dir(store) / r["release_id"],
                created_at=r["created_at"],
                label=r.get("label"),
                parent=m.get("parent"),
                layers=m.get("layers", []),
                counts=m.get("counts", {}),
                new=False,
            )
        )
    return out


def resolve(store: Any, ref: str = "latest") -> Path:
    """Folder of the release ``ref`` (an id, a unique id prefix, a label, or ``latest``)."""
    rows = releases(store)
    if not rows:
        raise ReleaseError("no release yet; run `immunome release create`")
    if ref == "latest":
        return rows[-1].path
    hits = [r for r in rows if r.release_id == ref or r.label == ref]
    hits = hits or [r for r in rows if r.release_id.startswith(ref)]
    if len({r.release_id for r in hits}) != 1:
        raise ReleaseError(
            f"unknown or ambiguous release {ref!r}", allowed=[r.release_id for r in rows]
        )
    return hits[-1].path


def read_manifest(path: Path) -> dict[str, Any]:
    f = Path(path) / MANIFEST
    if not f.exists():
        raise ReleaseError(f"{path}: not a release (no {MANIFEST})")
    return json.loads(f.read_text())


def release(store: Any, ref: str = "latest") -> Cohort:
    """Open a release as a :class:`~immunome.cohort.Cohort`."""
    from immunome.cohort import Cohort

    return Cohort.from_path(resolve(store, ref))


def verify_release(store: Any, ref: str = "latest") -> dict[str, Any]:
    """Re-hash every file; raise :class:`IntegrityError` naming each changed, missing or extra file."""
    return verify_release_path(resolve(store, ref))


def verify_release_path(path: Path) -> dict[str, Any]:
    """Verify a release folder against its manifest (works on exported copies too)."""
    path = Path(path)
    m = read_manifest(path)
    problems = []
    for rel, digest in sorted(m["files"].items()):
        f = path / rel
        if not f.is_file():
            problems.append(f"{rel}: missing")
        elif sha256_file(f) != digest:
            problems.append(f"{rel}: sha256 differs from manifest (file was modified)")
    extra = sorted(set(hash_tree(path)) - set(m["files"]))
    problems += [f"{rel}: not listed in manifest" for rel in extra]
    if content_hash(m["files"]) != m["content_sha256"]:
        problems.append("manifest.json: content_sha256 does not match the file list")
    if release_id_for(m["files"]) != m["release_id"]:
        problems.append("manifest.json: release_id does not match the content")
    if problems:
        raise IntegrityError(
            f"release {m['release_id']} failed verification:\n  " + "\n  ".join(problems)
        )
    return {"release_id": m["release_id"], "files": len(m["files"]), "ok": True}


def export_release(store: Any, ref: str, dest: str | Path) -> Path:
    """Copy a release folder to ``dest/<release_id>`` (verifiable there with ``verify_release_path``)."""
    src = resolve(store, ref)
    out = Path(dest) / src.name
    if out.exists():
        raise ReleaseError(f"{out} already exists")
    shutil.copytree(src, out)
    verify_release_path(out)
    return out


def derive_release(
    store: Any,
    *,
    parent: str = "latest",
    layers: dict[str, pd.DataFrame],
    extras: dict[str, bytes] | None = None,
    provenance: dict[str, Any] | None = None,
    label: str | None = None,
) -> ReleaseInfo:
    """A new release = ``parent`` + new layers (+ extra files). Existing layers are never replaced.

    ``layers`` maps a layer name to a tidy DataFrame with ``sample_id, assay, feature, value``.
    """
    src = resolve(store, parent)
    pm = read_manifest(src)
    clash = sorted(set(layers) & set(pm.get("layers", [])))
    if clash:
        raise ReleaseError(
            f"layer(s) {clash} already exist in {pm['release_id']}; choose a new name"
        )
    tmp = _releases_dir(store) / f".tmp-{uuid.uuid4().hex}"
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns(MANIFEST))
    try:
        _write_layers(tmp, layers)
        for rel, data in (extras or {}).items():
            f = (tmp / "extras" / rel).resolve()
            if not str(f).startswith(str((tmp / "extras").resolve())):
                raise ReleaseError(f"extra file {rel!r} escapes the release folder")
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(data)
        extra = {
            k: v
            for k, v in pm.items()
            if k not in {"files", "release_id", "content_sha256", "parent"}
        }
        extra["layers"] = pm.get("layers", []) + sorted(layers)
        extra["provenance"] = pm.get("provenance", []) + [provenance or {"stage": "derive"}]
        return _finalise(store, tmp, manifest_extra=extra, label=label, parent=pm["release_id"])
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
