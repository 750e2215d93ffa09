"""Options and helpers shared by CLI command groups."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

DEFAULT_STORE = "immunome-store"

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store", "-s", help="Store directory (default: $IMMUNOME_STORE or ./immunome-store)."
    ),
]


def store_path(opt: Path | None) -> Path:
    """Resolve the store directory from the option, ``$IMMUNOME_STORE`` or the default."""
    return Path(opt or os.environ.get("IMMUNOME_STORE") or DEFAULT_STORE)


def open_cli_store(opt: Path | None, *, create: bool = False) -> Any:
    from immunome.store import open_store

    return open_store(store_path(opt), create=create)


def echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))
