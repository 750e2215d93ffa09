"""``immunome datasets list|fetch`` and ``immunome import 10kip|cmipb``.

Example:
    $ immunome datasets list
    $ IMMUNOME_DATA=../shared/data immunome datasets fetch 10kip
    $ immunome import 10kip --store ./immunome-store --data-dir ../shared/data --report import.json
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from immunome.errors import DatasetError


class Format(StrEnum):
    """Output formats."""

    text = "text"
    json = "json"


def _store_path(store: Path | None) -> Path:
    return store or Path(os.environ.get("IMMUNOME_STORE") or "immunome-store")


def _data_dir(data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir
    env = os.environ.get("IMMUNOME_DATA")
    if not env:
        raise DatasetError(
            "no data folder: pass --data-dir or set IMMUNOME_DATA to the dataset mirror"
        )
    return Path(env)


StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Store folder (default $IMMUNOME_STORE or ./immunome-store)."),
]
DataOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Dataset mirror root (default $IMMUNOME_DATA).")
]


def list_cmd(fmt: Annotated[Format, typer.Option("--format")] = Format.text) -> None:
    """List the pinned public datasets."""
    from immunome.datasets import list_datasets

    ds = list_datasets()
    if fmt is Format.json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": d.name,
                        "title": d.title,
                        "files": len(d.files),
                        "bytes": sum(f.size for f in d.files),
                        "repositories": {k: r.model_dump() for k, r in d.repositories.items()},
                        "citation": d.citation,
                    }
                    for d in ds
                ],
                indent=2,
            )
        )
        return
    for d in ds:
        size = sum(f.size for f in d.files) / 1e6
        repos = ", ".join(f"{r.url}@{r.commit[:10]}" for r in d.repositories.values())
        typer.echo(f"{d.name:6} {len(d.files):4d} files {size:7.1f} MB  {d.title}\n       {repos}")


def fetch_cmd(
    name: Annotated[str, typer.Argument(help="Dataset name (see `immunome datasets list`).")],
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Download cache (default ~/.cache/immunome).")
    ] = None,
) -> None:
    """Fetch a dataset (verify the $IMMUNOME_DATA mirror, or download into the cache) and print its folder."""
    from immunome.datasets import fetch

    typer.echo(str(fetch(name, cache_dir=cache_dir)))


def import_10kip_cmd(
    store: StoreOpt = None,
    data_dir: DataOpt = None,
    work_dir: Annotated[
        Path | None, typer.Option("--work-dir", help="Keep the generated bundles here.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the JSON import report here.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Check each file's pinned sha256.")
    ] = True,
) -> None:
    """Import every 10KIP table: one bundle per ImmPort study, each through `store.submit`."""
    from immunome.datasets import import_10kip

    rep = import_10kip(_store_path(store), _data_dir(data_dir), work_dir=work_dir, verify=verify)
    if report is not None:
        report.write_text(rep.to_json(), encoding="utf-8")
    typer.echo(rep.to_json() if fmt is Format.json else rep.to_text())
    if not rep.balanced:
        raise typer.Exit(1)


def import_cmipb_cmd(
    store: StoreOpt = None,
    data_dir: DataOpt = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the generated bundles here (e.g. to predict the 2021 cohort)."),
    ] = None,
    rnaseq_genes: Annotated[
        str, typer.Option(help="RNA-seq genes to import: N most variable (+ task genes) or 'all'.")
    ] = "200",
) -> None:
    """Import the CMI-PB pertussis-booster cohorts (2020 training, 2021 baseline)."""
    from immunome.datasets import import_cmipb

    genes = None if rnaseq_genes == "all" else int(rnaseq_genes)
    res = import_cmipb(
        _store_path(store), _data_dir(data_dir), work_dir=work_dir, rnaseq_genes=genes
    )
    to_text = getattr(res, "to_text", None)
    typer.echo(to_text() if callable(to_text) else str(res))


def register(app: typer.Typer) -> None:
    """Add the ``datasets`` and ``import`` groups to the root ``app``."""
    ds = typer.Typer(help="Pinned public datasets (10KIP, CMI-PB, FlowKit).", no_args_is_help=True)
    ds.command("list")(list_cmd)
    ds.command("fetch")(fetch_cmd)
    app.add_typer(ds, name="datasets")
    imp = typer.Typer(
        help="Import a public dataset into a store through the normal submission path.",
        no_args_is_help=True,
    )
    imp.command("10kip")(import_10kip_cmd)
    imp.command("cmipb")(import_cmipb_cmd)
    app.add_typer(imp, name="import")
