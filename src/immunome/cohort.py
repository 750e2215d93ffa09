"""The central read object: a release seen as participants × samples × features × layers.

Example:
    >>> import immunome
    >>> cohort = immunome.open("my-store").release("latest")   # doctest: +SKIP
    >>> cohort.matrix("cytof_pbmc", layer="normalized").shape    # doctest: +SKIP
    (579, 24)
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow.dataset as ds

from immunome.errors import ReleaseError

if TYPE_CHECKING:
    import anndata


class Cohort:
    """A read-only view of one release. Stages add layers in *derived* releases, never overwrite."""

    def __init__(self, path: Path, manifest: dict[str, Any]):
        self.path = Path(path)
        self.manifest = manifest

    @classmethod
    def from_path(cls, path: str | Path) -> Cohort:
        """Open a release folder (as written by ``Store.create_release``)."""
        p = Path(path)
        mf = p / "manifest.json"
        if not mf.exists():
            raise ReleaseError(f"{p}: not a release folder (manifest.json missing)")
        return cls(p, json.loads(mf.read_text()))

    def __repr__(self) -> str:
        c = self.manifest.get("counts", {})
        return (
            f"Cohort(release={self.release_id}, participants={c.get('participants')}, "
            f"samples={c.get('samples')}, assays={self.assays}, layers={self.layers})"
        )

    # identity ---------------------------------------------------------------------------
    @property
    def release_id(self) -> str:
        return self.manifest["release_id"]

    @property
    def layers(self) -> list[str]:
        return list(self.manifest.get("layers", []))

    @property
    def assays(self) -> list[str]:
        return list(self.manifest.get("assays", []))

    @property
    def uns(self) -> dict[str, Any]:
        """Provenance and release metadata (like AnnData's ``uns``)."""
        keep = ("release_id", "parent", "protocols", "provenance", "layers", "submissions")
        return {k: self.manifest.get(k) for k in keep}

    @cached_property
    def datasheet(self) -> dict[str, Any]:
        return json.loads((self.path / "datasheet.json").read_text())

    # tables -----------------------------------------------------------------------------
    @cached_property
    def participants(self) -> pd.DataFrame:
        """Participants (pseudonymised ``participant_id`` index; site, age, sex, race, …)."""
        return pd.read_parquet(self.path / "participants.parquet").set_index("participant_id")

    @cached_property
    def samples(self) -> pd.DataFrame:
        """Samples (``sample_id`` index; participant_id, site, visit, day, batch)."""
        return pd.read_parquet(self.path / "samples.parquet").set_index("sample_id")

    @cached_property
    def features(self) -> pd.DataFrame:
        """Feature catalogue: assay, feature, label, unit, ontology, population, denominator, …"""
        return pd.read_parquet(self.path / "features.parquet")

    @cached_property
    def qc(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "qc.parquet")

    def _check(self, *, assay: str | None, layer: str) -> None:
        if layer not in self.layers:
            raise ReleaseError(
                f"release {self.release_id} has no layer {layer!r}", allowed=self.layers
            )
        if assay is not None and assay not in self.assays:
            raise ReleaseError(
                f"release {self.release_id} has no assay {assay!r}", allowed=self.assays
            )

    def tidy(self, *, assay: str | None = None, layer: str = "raw") -> pd.DataFrame:
        """Long table ``sample_id, assay, feature, value`` for one layer (optionally one assay)."""
        self._check(assay=assay, layer=layer)
        root = self.path / "measurements" / f"layer={layer}"
        dirs = [root / f"assay={assay}"] if assay else sorted(root.glob("assay=*"))
        frames = []
        for d in dirs:
            if not d.exists():
                continue
            t = ds.dataset(d, format="parquet").to_table(columns=["sample_id", "feature", "value"])
            df = t.to_pandas()
            df.insert(1, "assay", d.name.split("=", 1)[1])
            frames.append(df)
        if not frames:
            return pd.DataFrame(columns=["sample_id", "assay", "feature", "value"])
        return pd.concat(frames, ignore_index=True)

    def _sample_filter(self, *, visit: str | None, day: int | None) -> pd.Index | None:
        if visit is None and day is None:
            return None
        s = self.samples
        mask = pd.Series(True, index=s.index)
        if visit is not None:
            mask &= s["visit"] == visit
        if day is not None:
            mask &= s["day"] == day
        return s.index[mask]

    def matrix(
        self,
        assay: str,
        *,
        layer: str = "raw",
        visit: str | None = None,
        day: int | None = None,
    ) -> pd.DataFrame:
        """Samples × features of ``assay`` for ``layer`` (NaN where not measured).

        Columns follow the feature catalogue order; rows are sorted by ``sample_id``.
        """
        t = self.tidy(assay=assay, layer=layer)
        m = t.pivot_table(
            index="sample_id", columns="feature", values="value", aggfunc="first", dropna=False
        )
        cols = self.features.loc[self.features["assay"] == assay, "feature"].tolist()
        m = m.reindex(columns=[c for c in cols if c in m.columns]).sort_index()
        keep = self._sample_filter(visit=visit, day=day)
        if keep is not None:
            m = m.loc[m.index.intersection(keep)]
        m.columns.name = None
        return m

    def obs(
        self, assay: str, *, layer: str = "raw", visit: str | None = None, day: int | None = None
    ) -> pd.DataFrame:
        """Sample + participant annotations aligned with the rows of :meth:`matrix`."""
        idx = self.matrix(assay, layer=layer, visit=visit, day=day).index
        s = self.samples.loc[idx]
        p = self.participants.drop(columns=["site"], errors="ignore")
        return s.join(p, on="participant_id")

    def to_anndata(
        self, assay: str, *, layer: str = "raw", visit: str | None = None
    ) -> anndata.AnnData:
        """An AnnData: ``X`` = ``layer``, ``.layers`` = every layer, obs = samples+participants."""
        import anndata as ad

        X = self.matrix(assay, layer=layer, visit=visit)
        obs = self.obs(assay, layer=layer, visit=visit).loc[X.index]
        obs = _h5ad_safe(obs)
        var = self.features[self.features["assay"] == assay].set_index("feature").loc[X.columns]
        var = _h5ad_safe(var)
        layers = {
            name: self.matrix(assay, layer=name, visit=visit)
            .reindex(index=X.index, columns=X.columns)
            .to_numpy(float)
            for name in self.layers
        }
        uns = {
            k: (v if isinstance(v, str) else json.dumps(v, default=str))
            for k, v in self.uns.items()
        }
        uns = {k: v for k, v in uns.items() if v is not None} | {"assay": assay, "X_layer": layer}
        return ad.AnnData(X=X.to_numpy(float), obs=obs, var=var, layers=layers, uns=uns)


def _h5ad_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Make object columns writable to .h5ad (strings, missing → empty category)."""
    out = df.copy()
    out.index = out.index.astype(str)
    for c in out.columns:
        if out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].astype("string").fillna("NA").astype("category")
        elif out[c].dtype == bool:
            out[c] = out[c].astype(int)
    return out
