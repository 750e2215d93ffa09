"""`immunome init` and `immunome store check`."""

from __future__ import annotations

from typing import Annotated

import typer

from immunome.cli._common import StoreOpt, echo_json, open_cli_store, store_path

store_app = typer.Typer(help="Store maintenance.", no_args_is_help=True)


def init(store: StoreOpt = None) -> None:
    """Create a store (DuckDB file, secret key, releases/ and models/ folders)."""
    existed = (store_path(store) / "immunome.duckdb").exists()
    s = open_cli_store(store, create=True)
    typer.echo(
        f"{'store already exists' if existed else 'created store'}: {s.path} "
        f"(format version {s.format_version}; key {s.secret_path})"
    )


@store_app.command("check")
def check(
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Verify store integrity (exit 1 listing every problem)."""
    summary = open_cli_store(store, create=False).check()
    if as_json:
        echo_json(summary)
        return
    typer.echo("store OK: " + ", ".join(f"{k}={v}" for k, v in summary.items() if k != "ok"))


def register(app: typer.Typer) -> None:
    """Add ``init`` and the ``store`` group to the root ``app``."""
    app.command("init")(init)
    app.add_typer(store_app, name="store")
