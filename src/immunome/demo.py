"""The end-to-end demo as a library function (the CLI's `immunome demo` is a thin wrapper)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run_demo(
    store_dir: str | Path,
    *,
    data_dir: str | Path,
    models: bool = True,
    cmipb: bool = True,
    echo: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Init a store, import 10KIP (+ CMI-PB), create a release, print its datasheet, train models.

    Returns a summary dict (used by tests). Example:
        >>> run_demo("demo-store", data_dir="../shared/data")   # doctest: +SKIP
    """
    from immunome.datasets import import_10kip
    from immunome.store import open_store

    data_dir = Path(data_dir)
    store = open_store(store_dir, create=True)
    echo(f"store: {Path(store_dir).resolve()}")
    rep = import_10kip(store, data_dir)
    echo(rep.summary() if hasattr(rep, "summary") else str(rep))
    out: dict[str, Any] = {"store": str(store_dir), "import_10kip": _as_dict(rep)}
    if cmipb:
        from immunome.datasets import import_cmipb

        crep = import_cmipb(store, data_dir)
        echo(crep.summary() if hasattr(crep, "summary") else str(crep))
        out["import_cmipb"] = _as_dict(crep)
    info = store.create_release(label=None)
    echo(f"\nrelease {info.release_id} ({'new' if info.new else 'unchanged'}): {info.path}\n")
    echo(summarize_datasheet(json.loads((info.path / "datasheet.json").read_text())))
    echo(f"(full datasheet: {info.path / 'datasheet.md'})")
    out["release_id"] = info.release_id
    if models:
        from immunome.models import train_demo_models

        rows = train_demo_models(store)
        echo("\nModels (held-out metrics beside baselines):")
        for r in rows:
            echo("  " + "  ".join(f"{k}={v}" for k, v in r.items()))
        out["models"] = rows
    return out


def _as_dict(rep: Any) -> Any:
    return rep.to_dict() if hasattr(rep, "to_dict") else rep


def summarize_datasheet(sheet: dict[str, Any]) -> str:
    """A compact, terminal-sized view of a release datasheet.

    Example:
        >>> print(summarize_datasheet({"participants": 2, "samples": 2, "measurements": 4,
        ...     "sites": ["A"], "by_sex": {"female": 2}, "by_age_band": {"18-29": 2},
        ...     "by_ancestry": {"Asian": 2}, "by_site": {"A": 2}, "coverage": []}).splitlines()[0])
        Datasheet: 2 participants, 2 samples, 4 measurements, 1 sites
    """

    def line(title: str, d: dict[str, int]) -> str:
        return f"  {title:<12}" + ", ".join(f"{k}: {v}" for k, v in d.items())

    top = dict(sorted(sheet["by_site"].items(), key=lambda kv: -kv[1])[:8])
    out = [
        f"Datasheet: {sheet['participants']} participants, {sheet['samples']} samples, "
        f"{sheet['measurements']} measurements, {len(sheet['sites'])} sites",
        line("sex", sheet["by_sex"]),
        line("age band", sheet["by_age_band"]),
        line("ancestry", sheet["by_ancestry"]),
        line("top sites", top),
        "  assay coverage (sites / samples / participants):",
    ]
    cov: dict[str, list[int]] = {}
    for c in sheet["coverage"]:
        agg = cov.setdefault(c["assay"], [0, 0, 0])
        agg[0] += 1
        agg[1] += c["samples"]
        agg[2] += c["participants"]
    out += [f"    {a:<22}{v[0]:>4} / {v[1]:>6} / {v[2]:>6}" for a, v in sorted(cov.items())]
    return "\n".join(out)
