"""Model registry: ``<root>/models/<name>/<version>/`` folders of JSON + text files with sha256s.

Files: ``estimator.json`` (spec + fitted state + conformal), optional LightGBM ``*.txt``,
``schema.json``, ``card.json``, ``card.md`` and ``manifest.json`` recording the sha256 of every
other file. Loading checks every hash first, refuses unknown files, and only parses JSON and
LightGBM text — it never unpickles or imports anything named by the artifact.

Example:
    >>> import tempfile, pandas as pd
    >>> from immunome.models._model import fit_model
    >>> m = fit_model(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [1.0, 2.0, 3.0], spec={"kind": "mean"}, name="m")
    >>> root = tempfile.mkdtemp()
    >>> save_model(m, root).name
    '1'
    >>> load_model(root, "m").version
    '1'
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from immunome.errors import ModelError
from immunome.models._card import render_card_markdown
from immunome.models._estimators import estimator_from_state
from immunome.models._model import Model

MODEL_FORMAT = "immunome-model/1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ALLOWED_SUFFIXES = (".json", ".md", ".txt")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def models_dir(root: str | Path) -> Path:
    """The registry folder of a store (``<store>/models``) or any directory used as a registry."""
    root = Path(root)
    return (
        root / "models"
        if (root / "immunome.duckdb").exists() or (root / "models").is_dir()
        else root
    )


def _dump(obj: Any, *, sort_keys: bool = True) -> str:
    return json.dumps(obj, indent=2, sort_keys=sort_keys, allow_nan=True, default=str) + "\n"


def save_model(model: Model, root: str | Path, *, version: str | None = None) -> Path:
    """Write ``model`` as a new version (``1``, ``2``, … unless given) and return its folder."""
    if not _NAME.match(model.name):
        raise ModelError(f"model name {model.name!r} must match {_NAME.pattern}")
    base = models_dir(root) / model.name
    if version is None:
        nums = [int(p.name) for p in base.glob("*") if p.name.isdigit()] if base.is_dir() else []
        version = str(max(nums, default=0) + 1)
    if not _NAME.match(version):
        raise ModelError(f"model version {version!r} must match {_NAME.pattern}")
    out = base / version
    if out.exists():
        raise ModelError(
            f"model {model.name} version {version} already exists at {out}; versions are immutable"
        )
    out.mkdir(parents=True)
    state, blobs = model.estimator.to_state()
    files = {
        "estimator.json": _dump(
            {
                "format": MODEL_FORMAT,
                "spec": model.spec,
                "state": state,
                "conformal": model.conformal,
            }
        ),
        "schema.json": _dump(model.schema),
        "card.json": _dump(model.card, sort_keys=False),  # keep section/column order
        "card.md": render_card_markdown(model.card),
        **blobs,
    }
    for fname, text in files.items():
        (out / fname).write_text(text, encoding="utf-8")
    manifest = {
        "format": MODEL_FORMAT,
        "name": model.name,
        "version": version,
        "files": {f: _sha256(out / f) for f in sorted(files)},
    }
    (out / "manifest.json").write_text(_dump(manifest), encoding="utf-8")
    model.version, model.path = version, out
    return out


def _resolve(root: str | Path, name: str | None, version: str | None) -> Path:
    p = Path(root)
    if name is None and (p / "manifest.json").exists():
        return p
    if name is None:
        raise ModelError(f"{p} is not a model folder (no manifest.json); give a model name")
    base = models_dir(p) / name
    versions = sorted(
        (q.name for q in base.glob("*") if (q / "manifest.json").exists()),
        key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v),
    )
    if not versions:
        raise ModelError(f"no model named {name!r} in {models_dir(p)}", allowed=list_model_names(p))
    if version in (None, "latest"):
        return base / versions[-1]
    if version not in versions:
        raise ModelError(f"model {name!r} has no version {version!r}", allowed=versions)
    return base / version


def _read_json(folder: Path, fname: str) -> Any:
    try:
        return json.loads((folder / fname).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{folder / fname}: not readable JSON: {e}") from e


def verify_model_dir(folder: Path) -> dict[str, Any]:
    """Check the manifest and every file hash; raise :class:`ModelError` naming the first problem."""
    manifest = _read_json(folder, "manifest.json")
    if manifest.get("format") != MODEL_FORMAT:
        raise ModelError(
            f"{folder}/manifest.json: format {manifest.get('format')!r} is not supported",
            allowed=[MODEL_FORMAT],
        )
    listed = manifest.get("files", {})
    present = {p.name for p in folder.iterdir() if p.name != "manifest.json"}
    extra = sorted(present - set(listed))
    if extra:
        raise ModelError(
            f"{folder}: unexpected file(s) not in manifest.json: {', '.join(extra)} "
            "(a model folder may hold only the files its manifest lists)"
        )
    for fname, digest in listed.items():
        if "/" in fname or "\\" in fname or not fname.endswith(_ALLOWED_SUFFIXES):
            raise ModelError(
                f"{folder}/manifest.json: file name {fname!r} is not allowed",
                allowed=list(_ALLOWED_SUFFIXES),
            )
        if not (folder / fname).is_file():
            raise ModelError(f"{folder}: file {fname} listed in manifest.json is missing")
        actual = _sha256(folder / fname)
        if actual != digest:
            raise ModelError(
                f"{folder / fname}: sha256 mismatch (manifest {digest[:12]}…, file {actual[:12]}…): "
                "the artifact was modified after it was saved; refusing to load it"
            )
    return manifest


def load_model(
    root: str | Path, name: str | None = None, *, version: str | None = "latest"
) -> Model:
    """Load a model folder (or ``name``/``version`` from a registry) after verifying every sha256."""
    folder = _resolve(root, name, version)
    manifest = verify_model_dir(folder)
    est_doc = _read_json(folder, "estimator.json")
    blobs = {
        f: (folder / f).read_text(encoding="utf-8") for f in manifest["files"] if f.endswith(".txt")
    }
    est = estimator_from_state(est_doc["spec"], est_doc["state"], blobs)
    return Model(
        name=manifest["name"],
        spec=est_doc["spec"],
        estimator=est,
        schema=_read_json(folder, "schema.json"),
        conformal=est_doc.get("conformal"),
        card=_read_json(folder, "card.json"),
        version=manifest["version"],
        path=folder,
    )


def list_model_names(root: str | Path) -> list[str]:
    """Names of the models in a registry."""
    base = models_dir(root)
    return sorted(
        p.name
        for p in base.glob("*")
        if p.is_dir() and any((q / "manifest.json").exists() for q in p.glob("*"))
    )


def list_models(root: str | Path) -> list[dict[str, Any]]:
    """One row per model version: name, version, task, algorithm, headline metric, release id."""
    rows = []
    for name in list_model_names(root):
        for folder in sorted((models_dir(root) / name).glob("*/manifest.json")):
            card = _read_json(folder.parent, "card.json")
            rows.append(
                {
                    "name": name,
                    "version": folder.parent.name,
                    "task": card.get("task"),
                    "algorithm": card.get("algorithm", {}).get("name"),
                    "headline": card.get("headline"),
                    "release_id": card.get("data", {}).get("release_id"),
                }
            )
    return rows
