"""`immunome release create|list|show|verify|export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from immunome.cli._common import StoreOpt, echo_json, open_cli_store

release_app = typer.Typer(help="Immutable, content-addressed data releases.", no_args_is_help=True)


@release_app.command("create")
def create(
    store: StoreOpt = None,
    label: Annotated[str | None, typer.Option(help="Human label, e.g. 2026-Q4.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Snapshot the store's active submissions into a release."""
    info = open_cli_store(store).create_release(label=label)
    if as_json:
        echo_json(info.to_dict())
        return
    what = "created" if info.new else "unchanged (same content as an existing release)"
    typer.echo(f"release {info.release_id} {what}: {info.path}")
    typer.echo(f"  counts: {info.counts}  layers: {', '.join(info.layers)}")


@release_app.command("list")
def list_(store: StoreOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List releases, oldest first."""
    rows = open_cli_store(store).releases()
    if as_json:
        echo_json([r.to_dict() for r in rows])
        return
    for r in rows:
        label = f" [{r.label}]" if r.label else ""
        parent = f" parent={r.parent}" if r.parent else ""
        typer.echo(f"{r.release_id}{label}  {r.created_at}  layers={','.join(r.layers)}{parent}")


@release_app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="Release id, prefix, label or 'latest'.")] = "latest",
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a release's manifest summary and datasheet."""
    cohort = open_cli_store(store).release(ref)
    if as_json:
        echo_json({"manifest": cohort.manifest, "datasheet": cohort.datasheet})
        return
    typer.echo(repr(cohort))
    typer.echo((cohort.path / "datasheet.md").read_text())


@release_app.command("verify")
def verify(
    ref: Annotated[str, typer.Argument()] = "latest",
    store: StoreOpt = None,
    path: Annotated[
        Path | None, typer.Option(help="Verify an exported release folder instead.")
    ] = None,
) -> None:
    """Re-hash every file against the manifest; exit 1 on any difference."""
    from immunome.store._release import verify_release_path

    res = verify_release_path(path) if path else open_cli_store(store).verify_release(ref)
    typer.echo(f"release {res['release_id']}: {res['files']} files verified OK")


@release_app.command("export")
def export(
    dest: Annotated[Path, typer.Argument(help="Destination folder.")],
    ref: Annotated[str, typer.Option("--release", "-r")] = "latest",
    store: StoreOpt = None,
) -> None:
    """Copy a release (Parquet + manifest + datasheet) to DEST/<release_id> and verify the copy."""
    out = open_cli_store(store).export_release(ref, dest)
    typer.echo(f"exported to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(release_app, name="release")
