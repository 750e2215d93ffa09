"""`immunome model train|list|show|evaluate|predict` — thin wrappers over :mod:`immunome.models`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from immunome.cli._common import StoreOpt, echo_json, open_cli_store, store_path

model_app = typer.Typer(
    help="Train, inspect and apply predictive models (registry under <store>/models).",
    no_args_is_help=True,
)

RegistryOpt = Annotated[
    Path | None, typer.Option("--registry", help="Model registry directory (default: the store).")
]


def _registry(store: Path | None, registry: Path | None) -> Path:
    return registry or store_path(store)


def _read_spec(path: Path | None) -> dict:
    if path is None:
        return {}
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@model_app.command("train")
def train_cmd(
    store: StoreOpt = None,
    registry: RegistryOpt = None,
    task: Annotated[str, typer.Option(help="immune_age or vaccine_response.")] = "immune_age",
    spec: Annotated[
        Path | None, typer.Option(help="YAML/JSON spec file (keys: see docs/models.md).")
    ] = None,
    release: Annotated[str, typer.Option(help="Release id or 'latest'.")] = "latest",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Train model(s) on a release and save them as new registry versions."""
    from immunome.models import save_model, train

    cohort = open_cli_store(store).release(release)
    resolved = {"task": task, **_read_spec(spec)}
    rows = []
    for m in train(cohort, spec=resolved):
        path = save_model(m, _registry(store, registry))
        rows.append(
            {
                "model": m.name,
                "version": m.version,
                "path": str(path),
                "headline": m.card.get("headline"),
            }
        )
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['model']} v{r['version']}: {json.dumps(r['headline'], sort_keys=True)}")


@model_app.command("list")
def list_cmd(
    store: StoreOpt = None,
    registry: RegistryOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every model version in the registry."""
    from immunome.models import list_models

    rows = list_models(_registry(store, registry))
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        typer.echo(
            f"{r['name']}\tv{r['version']}\t{r['algorithm']}\t{json.dumps(r['headline'], sort_keys=True)}"
        )


@model_app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="Model name (or a model folder).")],
    store: StoreOpt = None,
    registry: RegistryOpt = None,
    version: Annotated[str, typer.Option(help="Version or 'latest'.")] = "latest",
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
) -> None:
    """Print a model card (Markdown or JSON) after verifying the artifact."""
    from immunome.models import load_model, render_card_markdown

    m = _load(name, store, registry, version, load_model)
    typer.echo(
        json.dumps(m.card, indent=2, sort_keys=True)
        if fmt == "json"
        else render_card_markdown(m.card)
    )


def _load(name: str, store: Path | None, registry: Path | None, version: str, loader):
    if Path(name).is_dir() and (Path(name) / "manifest.json").exists():
        return loader(Path(name))
    return loader(_registry(store, registry), name, version=version)


@model_app.command("evaluate")
def evaluate_cmd(
    name: Annotated[str, typer.Argument(help="Model name (or a model folder).")],
    data: Annotated[
        Path | None, typer.Argument(help="Labelled CSV/bundle to score (optional).")
    ] = None,
    target: Annotated[str, typer.Option(help="Column holding the true value in DATA.")] = "age",
    store: StoreOpt = None,
    registry: RegistryOpt = None,
    version: Annotated[str, typer.Option(help="Version or 'latest'.")] = "latest",
) -> None:
    """Show the card's metrics beside baselines; with DATA, also score the model on it."""
    import numpy as np

    from immunome.models import load_model, predict, read_input, regression_metrics
    from immunome.models._card import markdown_table

    m = _load(name, store, registry, version, load_model)
    typer.echo(markdown_table(m.card.get("metrics_table", [])))
    if data is not None:
        df, _ = read_input(data, m.schema)
        if target not in df.columns:
            from immunome.errors import SchemaMismatchError

            raise SchemaMismatchError(
                f"{data}: no target column {target!r}", allowed=list(map(str, df.columns))
            )
        out = predict(m, df.drop(columns=[target]))
        y = np.asarray(df[target], dtype=float)
        lo = out["lower"].to_numpy() if "lower" in out else None
        hi = out["upper"].to_numpy() if "upper" in out else None
        echo_json(regression_metrics(y, out["prediction"].to_numpy(), lo, hi))


@model_app.command("predict")
def predict_cmd(
    name: Annotated[
        str, typer.Argument(help="Model name, a model folder, or a name prefix with --all.")
    ],
    data: Annotated[
        Path, typer.Argument(help="CSV/TSV/Parquet file or submission bundle (dir or .zip).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output TSV (default: stdout).")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option(help="With --all: folder for one <model>.tsv per model.")
    ] = None,
    all_prefix: Annotated[
        bool, typer.Option("--all", help="Predict with every model whose name starts with NAME.")
    ] = False,
    store: StoreOpt = None,
    registry: RegistryOpt = None,
    version: Annotated[str, typer.Option(help="Version or 'latest'.")] = "latest",
) -> None:
    """Predict with a model; writes id, prediction, interval, rank, ood, imputed columns as TSV."""
    from immunome.models import list_models, load_model, predict

    if all_prefix:
        names = sorted(
            {
                r["name"]
                for r in list_models(_registry(store, registry))
                if r["name"].startswith(name)
            }
        )
        target = out_dir or Path(".")
        target.mkdir(parents=True, exist_ok=True)
        for n in names:
            res = predict(load_model(_registry(store, registry), n), data)
            res.to_csv(target / f"{n}.tsv", sep="\t", index=False)
            typer.echo(f"{n}: {len(res)} rows -> {target / f'{n}.tsv'}")
        return
    m = _load(name, store, registry, version, load_model)
    res = predict(m, data)
    if res.attrs.get("imputed_columns"):
        typer.echo(f"imputed columns: {', '.join(res.attrs['imputed_columns'])}", err=True)
    text = res.to_csv(sep="\t", index=False)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(res)} predictions -> {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add the ``model`` group to the root ``app``."""
    app.add_typer(model_app, name="model")
