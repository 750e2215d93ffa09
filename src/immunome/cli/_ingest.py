"""`immunome validate BUNDLE` and `immunome submit BUNDLE`.

Exit codes: 0 valid / ingested, 1 invalid, 2 unusable input.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from immunome.cli._common import StoreOpt, echo_json, open_cli_store
from immunome.errors import UnusableInputError, ValidationFailed


class Fmt(StrEnum):
    text = "text"
    json = "json"


FormatOpt = Annotated[Fmt, typer.Option("--format", "-f", help="Output format.")]
ProtocolOpt = Annotated[
    Path | None,
    typer.Option("--protocol-file", help="Validate against this protocol YAML file or folder."),
]
BundleArg = Annotated[Path, typer.Argument(help="Bundle directory or .zip.")]


def _unusable(e: UnusableInputError, fmt: Fmt) -> typer.Exit:
    if fmt is Fmt.json:
        typer.echo(
            json.dumps(
                {
                    "ok": False,
                    "unusable": True,
                    "errors": 1,
                    "warnings": 0,
                    "message": str(e),
                    "issues": [],
                },
                indent=2,
            )
        )
    else:
        typer.echo(f"error: {e}", err=True)
    return typer.Exit(e.exit_code)


def validate(
    bundle: BundleArg, fmt: FormatOpt = Fmt.text, protocol_file: ProtocolOpt = None
) -> None:
    """Validate a submission bundle; print every problem as file:line:column: rule message."""
    from immunome.submission import validate_bundle

    try:
        report = validate_bundle(bundle, protocol=protocol_file)
    except UnusableInputError as e:
        raise _unusable(e, fmt) from e
    typer.echo(report.to_json() if fmt is Fmt.json else report.to_text())
    if not report.ok:
        raise typer.Exit(1)


def submit(
    bundle: BundleArg,
    store: StoreOpt = None,
    fmt: FormatOpt = Fmt.text,
    protocol_file: ProtocolOpt = None,
) -> None:
    """Validate a bundle, then ingest it into the store in one transaction."""
    try:
        result = open_cli_store(store, create=True).submit(bundle, protocol=protocol_file)
    except UnusableInputError as e:
        raise _unusable(e, fmt) from e
    except ValidationFailed as e:
        typer.echo(e.report.to_json() if fmt is Fmt.json else e.report.to_text())
        if fmt is Fmt.text:
            typer.echo(f"error: {e.message}", err=True)
        raise typer.Exit(1) from e
    if fmt is Fmt.json:
        echo_json(
            {**result.to_dict(), "warnings": len(result.report.warnings) if result.report else 0}
        )
        return
    if result.report is not None:
        for issue in result.report.warnings:
            typer.echo(issue.to_text())
    msg = {
        "ingested": "ingested",
        "superseded": f"ingested; supersedes {result.supersedes}",
        "unchanged": "unchanged: identical content is already the site's active submission "
        "(nothing written)",
    }[result.status]
    typer.echo(
        f"{result.submission_id} ({result.site}): {msg} — {result.n_participants} participants, "
        f"{result.n_samples} samples, {result.n_measurements} measurements"
    )


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``submit`` to the root ``app``."""
    app.command("validate")(validate)
    app.command("submit")(submit)
