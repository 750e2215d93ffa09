"""The server's read/write view of one store: releases, cohorts, submissions and models.

Only the public faces of the other modules are used (``immunome.open``, ``Store``, ``Cohort``,
``immunome.models``). Releases are immutable, so cohorts and summaries are cached by release id;
the release list is re-read when ``releases/index.jsonl`` changes. The store's DuckDB file is
opened only for submissions, so ``immunome`` CLI commands keep working while the server runs.

Example:
    >>> b = Backend("my-store")                       # doctest: +SKIP
    >>> [r["release_id"] for r in b.releases()]       # doctest: +SKIP
    ['r-3f1c…']
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from immunome.errors import ModelError, ReleaseError, StoreError


class Backend:
    """Adapter between the HTTP layer and the store folder at ``store_path``."""

    def __init__(self, store_path: Path | str):
        self.path = Path(store_path)
        self._lock = threading.Lock()
        self._releases: tuple[Any, list[dict[str, Any]]] | None = None
        self._cohorts: dict[str, Any] = {}
        self.cache: dict[tuple, Any] = {}

    # store -------------------------------------------------------------------------------------
    def open_store(self) -> Any:
        """Open the store (per call; the store holds its DuckDB file only while in use)."""
        import immunome

        try:
            return immunome.open(self.path)
        except StoreError:
            raise
        except (OSError, RuntimeError) as e:
            raise StoreError(f"{self.path}: cannot open store: {e}") from e

    def _index_signature(self) -> Any:
        f = self.path / "releases" / "index.jsonl"
        try:
            st = f.stat()
            return (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            return None

    # releases ----------------------------------------------------------------------------------
    def releases(self) -> list[dict[str, Any]]:
        """Every release, oldest first, as JSON-ready dicts (no server paths)."""
        sig = self._index_signature()
        cached = self._releases
        if cached is not None and cached[0] == sig:
            return cached[1]
        if sig is None:
            rows: list[dict[str, Any]] = []
        else:
            store = self.open_store()
            try:
                rows = [_release_dict(r) for r in store.releases()]
            finally:
                _close(store)
        self._releases = (sig, rows)
        return rows

    def resolve(self, ref: str) -> str:
        """Release id for ``ref`` (``latest``, an id, a unique id prefix or a label)."""
        rows = self.releases()
        if not rows:
            raise ReleaseError("the store has no release yet; run `immunome release create`")
        if ref == "latest":
            return rows[-1]["release_id"]
        hits = [r for r in rows if r["release_id"] == ref or r.get("label") == ref]
        hits = hits or [r for r in rows if len(ref) >= 6 and r["release_id"].startswith(ref)]
        if len({r["release_id"] for r in hits}) != 1:
            raise ReleaseError(
                f"unknown or ambiguous release {ref!r}",
                allowed=["latest"] + [r["release_id"] for r in rows],
            )
        return hits[-1]["release_id"]

    def release_info(self, ref: str) -> dict[str, Any]:
        rid = self.resolve(ref)
        return next(r for r in self.releases() if r["release_id"] == rid)

    def cohort(self, ref: str) -> Any:
        """The :class:`~immunome.Cohort` of a release (cached: releases never change)."""
        from immunome.cohort import Cohort

        rid = self.resolve(ref)
        with self._lock:
            if rid not in self._cohorts:
                self._cohorts[rid] = Cohort.from_path(self.path / "releases" / rid)
            return self._cohorts[rid]

    def release_dir(self, ref: str) -> Path:
        return self.path / "releases" / self.resolve(ref)

    # submissions -------------------------------------------------------------------------------
    def validate(self, bundle: Path) -> Any:
        """Validate a bundle against the store's protocols (writes nothing)."""
        store = self.open_store()
        try:
            return store.validate(bundle)
        finally:
            _close(store)

    def submit(self, bundle: Path) -> Any:
        """Validate and ingest a bundle; raises ``ValidationFailed`` with the report if invalid."""
        store = self.open_store()
        try:
            return store.submit(bundle)
        finally:
            _close(store)

    def submissions(self) -> list[dict[str, Any]]:
        """Every submission recorded by the store (newest last)."""
        store = self.open_store()
        try:
            fn = getattr(store, "submissions", None)
            if fn is None:
                return []
            rows = fn() if callable(fn) else fn
            if isinstance(rows, pd.DataFrame):
                rows = rows.to_dict(orient="records")
            return [_plain_submission(r) for r in rows]
        finally:
            _close(store)

    # models ------------------------------------------------------------------------------------
    def models(self) -> list[dict[str, Any]]:
        """Registered models with their cards."""
        mod = _models_module()
        if mod is None:
            return []
        lister = getattr(mod, "list_models", None)
        if lister is None:
            return []
        out = []
        for m in lister(self.path):
            out.append(_card_dict(m))
        return out

    def model(self, name: str) -> Any:
        mod = _models_module()
        if mod is None:
            raise ModelError(f"unknown model {name!r}: no model registry is available", allowed=[])
        return mod.load_model(self.path, name)

    def model_card(self, name: str) -> dict[str, Any]:
        m = self.model(name)
        return _card_dict(getattr(m, "card", m))

    def predict(self, name: str, rows: pd.DataFrame | Path) -> pd.DataFrame:
        """Predict through ``immunome.models.predict`` — the same schema checks as the CLI
        (``SchemaMismatchError`` on missing features or unknown categories). ``rows`` is a
        DataFrame or the path of an uploaded CSV/TSV."""
        mod = _models_module()
        model = self.model(name)
        fn = getattr(mod, "predict", None)
        out = fn(model, rows) if callable(fn) else model.predict(rows)
        if isinstance(out, pd.Series):
            out = out.to_frame(name=out.name or "prediction")
        if not isinstance(out, pd.DataFrame):
            out = pd.DataFrame({"prediction": list(out)})
        return out


@lru_cache(maxsize=1)
def _models_module() -> Any:
    try:
        import immunome.models as mod
    except ImportError:
        return None
    return mod if hasattr(mod, "load_model") else None


def _close(obj: Any) -> None:
    fn = getattr(obj, "close", None)
    if callable(fn):
        fn()


def _release_dict(r: Any) -> dict[str, Any]:
    d = r.to_dict() if hasattr(r, "to_dict") else dict(r)
    d.pop("path", None)
    d.pop("new", None)
    return d


def _plain_submission(r: Any) -> dict[str, Any]:
    d = r.to_dict() if hasattr(r, "to_dict") else dict(r)
    keep = (
        "submission_id",
        "site",
        "protocol",
        "protocol_version",
        "content_sha256",
        "submitted_at",
        "status",
        "supersedes",
        "n_participants",
        "n_samples",
        "n_measurements",
    )
    return {
        k: (str(d[k]) if k == "submitted_at" and d.get(k) is not None else d.get(k)) for k in keep
    }


def _card_dict(card: Any) -> dict[str, Any]:
    for attr in ("to_dict", "model_dump"):
        fn = getattr(card, attr, None)
        if callable(fn):
            return fn()
    if isinstance(card, dict):
        return card
    return {"name": str(card)}
