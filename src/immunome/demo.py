"""The end-to-end demo as a library function (the CLI's `immunome demo` is a thin wrapper)."""

from __future__ import annotations

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
    echo(_short_datasheet((info.path / "datasheet.md").read_text()))
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


def _short_datasheet(md: str, *, max_lines: int = 60) -> str:
    cut = md.split("## Missingness per feature")[0]
    lines = cut.splitlines()
    more = "\n… (full datasheet: datasheet.md in the release folder)"
    return "\n".join(lines[:max_lines]) + more
