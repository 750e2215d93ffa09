"""``immunome serve`` and ``immunome users add|token|revoke|list``.

Example:
    $ immunome users add ada --store st --tier researcher
    $ immunome users token ada --store st          # prints the token once
    $ immunome serve --store st --port 8000
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

StoreOpt = Annotated[Path, typer.Option("--store", help="store folder")]


def _access(store: Path):
    from immunome.api import AccessStore

    if not store.is_dir():
        from immunome.errors import StoreError

        raise StoreError(f"{store}: no such store folder")
    return AccessStore(store)


def serve_cmd(
    store: StoreOpt,
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    max_upload_mb: Annotated[int, typer.Option(help="largest accepted upload (MB)")] = 20,
    workers: Annotated[int, typer.Option(min=1, max=64, help="server processes")] = 1,
) -> None:
    """Serve the REST API (/api/v1) and the web portal (/) for a store."""
    from immunome.api import serve

    typer.echo(f"immunome portal: http://{host}:{port}/  (API: http://{host}:{port}/api/v1/docs)")
    serve(store, host, port, max_upload_bytes=max_upload_mb * 1024 * 1024, workers=workers)


def users_add(
    name: Annotated[str, typer.Argument(help="user name [A-Za-z0-9_.@-]{2,64}")],
    store: StoreOpt,
    tier: Annotated[
        str, typer.Option(help="public | researcher | submitter | admin")
    ] = "researcher",
    site: Annotated[str | None, typer.Option(help="site code (required for submitters)")] = None,
    email: Annotated[str | None, typer.Option(help="contact e-mail")] = None,
) -> None:
    """Register a user."""
    user = _access(store).add_user(name, tier=tier, site=site, email=email)
    typer.echo(json.dumps(user))


def users_token(
    name: Annotated[str, typer.Argument(help="user name")],
    store: StoreOpt,
    label: Annotated[str | None, typer.Option(help="what the token is for")] = None,
) -> None:
    """Create an API token (printed once; only its sha256 is stored)."""
    typer.echo(_access(store).create_token(name, label=label))


def users_revoke(
    who: Annotated[str, typer.Argument(help="token id (t-…), the token itself, or a user name")],
    store: StoreOpt,
) -> None:
    """Revoke a token, or every token of a user."""
    n = _access(store).revoke(who)
    typer.echo(f"revoked {n} token(s)")


def users_list(store: StoreOpt) -> None:
    """List users (tier, site, live tokens, DUA time)."""
    for u in _access(store).users():
        typer.echo(json.dumps(u))


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``users`` group to the root ``app``."""
    app.command("serve")(serve_cmd)
    users = typer.Typer(help="Users and API tokens of a store's portal/API.", no_args_is_help=True)
    users.command("add")(users_add)
    users.command("token")(users_token)
    users.command("revoke")(users_revoke)
    users.command("list")(users_list)
    app.add_typer(users, name="users")
