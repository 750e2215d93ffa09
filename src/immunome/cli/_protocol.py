"""``immunome protocol show|validate`` — inspect and check study protocols.

Example:
    $ immunome protocol show --assay cytof_pbmc --format text
    $ immunome protocol validate src/immunome/protocol/data/global-immunome-study/v1
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from immunome.errors import ProtocolError
from immunome.protocol import DEFAULT_PROTOCOL, Assay, Protocol, load_protocol, protocol_from_path


class Format(StrEnum):
    """Output formats of ``protocol show``."""

    yaml = "yaml"
    json = "json"
    text = "text"


def _assay_text(a: Assay) -> list[str]:
    head = f"{a.id} — {a.label} [{a.kind}, {a.technology}, {a.sample_type}, scale={a.scale}]"
    lines = [
        head,
        f"  {len(a.features)} features"
        + (" (open: undeclared ids accepted)" if a.open_features else ""),
    ]
    for f in a.features:
        freq = f" {f.population} % of {f.denominator}" if f.population else ""
        rng = f" range={list(f.range)}" if f.range else ""
        ont = f" {f.ontology}" if f.ontology else ""
        lines.append(f"  - {f.id} ({f.unit}, {f.value_type}){freq}{rng}{ont}")
    return lines


def _text(p: Protocol, assay: str | None) -> str:
    if assay:
        return "\n".join(_assay_text(p.assay(assay)))
    lines = [
        f"{p.id} v{p.version}: {p.title}",
        f"reference event: {p.reference_event}",
        "participant fields:",
    ]
    lines += [
        f"  - {f.name} ({f.value_type}{', required' if f.required else ''})"
        for f in p.participant_fields
    ]
    lines.append("visits: " + ", ".join(f"{v.name} (day {v.day})" for v in p.visits))
    lines.append(f"populations: {len(p.populations)}")
    lines.append("assays:")
    lines += [f"  - {a.id}: {a.label} ({len(a.features)} features, {a.kind})" for a in p.assays]
    return "\n".join(lines)


def _data(p: Protocol, assay: str | None) -> Any:
    return p.assay(assay).model_dump(mode="json") if assay else p.model_dump(mode="json")


def show(
    assay: Annotated[str | None, typer.Option("--assay", help="Show one assay only.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="yaml, json or text.")] = Format.text,
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol id.")] = DEFAULT_PROTOCOL,
    version: Annotated[
        int | None, typer.Option("--version", help="Protocol version (default latest).")
    ] = None,
) -> None:
    """Print the study protocol (or one assay of it)."""
    p = load_protocol(protocol, version)
    if fmt is Format.text:
        typer.echo(_text(p, assay))
    elif fmt is Format.json:
        typer.echo(json.dumps(_data(p, assay), indent=2, ensure_ascii=False))
    else:
        typer.echo(yaml.safe_dump(_data(p, assay), sort_keys=False, allow_unicode=True))


def validate(
    path: Annotated[
        Path,
        typer.Argument(help="A protocol YAML file or a version folder (protocol.yaml + assays/)."),
    ],
    fmt: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
) -> None:
    """Check a protocol file or folder; exit 0 if valid, 1 with file:line:column problems if not."""
    try:
        p = protocol_from_path(path)
    except ProtocolError as e:
        problems = e.context.get("problems") or [str(e)]
        if fmt is Format.json:
            typer.echo(
                json.dumps({"ok": False, "errors": len(problems), "issues": problems}, indent=2)
            )
        else:
            typer.echo("\n".join(problems), err=True)
            typer.echo(f"invalid: {len(problems)} problem(s)", err=True)
        raise typer.Exit(1) from None
    n_feat = sum(len(a.features) for a in p.assays)
    if fmt is Format.json:
        typer.echo(
            json.dumps(
                {"ok": True, "errors": 0, "issues": [], "protocol": p.id, "version": p.version}
            )
        )
    else:
        typer.echo(
            f"ok: {p.id} v{p.version} — {len(p.assays)} assays, {n_feat} features, {len(p.populations)} populations"
        )


def register(app: typer.Typer) -> None:
    """Add the ``protocol`` group to the root ``app``."""
    group = typer.Typer(help="Show or validate the study protocol.", no_args_is_help=True)
    group.command("show")(show)
    group.command("validate")(validate)
    app.add_typer(group, name="protocol")
