"""The ``immunome`` command line. Thin: parse, call the library, print.

Each command group lives in its own module and exposes ``register(app)``.
"""

from __future__ import annotations

import sys

import typer

from immunome.errors import ImmunomeError

app = typer.Typer(
    name="immunome",
    help="Validate, ingest, release, harmonise, model and serve multi-site immune-profiling data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_GROUPS = (
    "_protocol",
    "_ingest",
    "_store",
    "_release",
    "_datasets",
    "_flow",
    "_harmonize",
    "_model",
    "_serve",
    "_demo",
)


def _register_all() -> None:
    import importlib

    for name in _GROUPS:
        importlib.import_module(f"immunome.cli.{name}").register(app)


_register_all()


def main() -> None:
    """Entry point: run the CLI and turn :class:`ImmunomeError` into a clean message + exit code."""
    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except ImmunomeError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as e:  # click usage errors
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(2)
        raise
