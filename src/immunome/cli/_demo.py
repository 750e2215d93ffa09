"""`immunome demo` — the main job: an end-to-end run of the platform on the embedded default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from immunome.cli._common import store_path


def _data_dir(opt: Path | None) -> Path:
    from immunome.datasets import fetch

    if opt:
        return opt
    return (
        Path(fetch("10kip")).parent
        if not os.environ.get("IMMUNOME_DATA")
        else Path(os.environ["IMMUNOME_DATA"])
    )


def demo(
    store: Annotated[Path | None, typer.Option("--store", "-s", help="Store directory.")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Public data root (default: $IMMUNOME_DATA mirror, else download)."),
    ] = None,
    models: Annotated[bool, typer.Option(help="Train the demo models.")] = True,
    cmipb: Annotated[
        bool, typer.Option(help="Also import the CMI-PB vaccine-response data.")
    ] = True,
    serve: Annotated[
        bool, typer.Option(help="Serve the portal on the demo store at the end.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8765,
) -> None:
    """Init a store, import 10KIP (and CMI-PB), create a release, print the datasheet, train models."""
    from immunome.demo import run_demo

    path = store_path(store) if store else Path("immunome-demo")
    run_demo(path, data_dir=_data_dir(data_dir), models=models, cmipb=cmipb, echo=typer.echo)
    if serve:
        from immunome.api import serve as _serve

        typer.echo(f"serving the portal on http://127.0.0.1:{port}/  (Ctrl-C to stop)")
        _serve(path, host="127.0.0.1", port=port)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
