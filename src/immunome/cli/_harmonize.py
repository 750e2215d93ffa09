"""`immunome harmonize report|fit|apply` — cross-site diagnostics and correction.

Example:
    $ immunome harmonize fit --store st --assay cytof_pbmc --report out/
    $ immunome harmonize apply --store st --assay cytof_pbmc --estimates-from r-0123abcd
    $ immunome harmonize report --store st --assay cytof_pbmc --out out/
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from immunome.cli._common import StoreOpt, echo_json, open_cli_store

harmonize_app = typer.Typer(
    help="Measure and remove site effects; write a 'harmonized' layer in a derived release.",
    no_args_is_help=True,
)

ReleaseOpt = Annotated[str, typer.Option("--release", "-r", help="Release id, label or 'latest'.")]
AssayOpt = Annotated[list[str], typer.Option("--assay", "-a", help="Assay id (repeatable).")]
LayerOpt = Annotated[
    str | None, typer.Option(help="Input layer (default: normalized if present, else raw).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _run_quiet(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught]


@harmonize_app.command("report")
def report_cmd(
    assay: AssayOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    store: StoreOpt = None,
    release: ReleaseOpt = "latest",
    layers: Annotated[
        str | None, typer.Option(help="Comma-separated layers; first is the baseline.")
    ] = None,
    protected: Annotated[str, typer.Option(help="Protected covariates.")] = "age,sex",
    as_json: JsonOpt = False,
) -> None:
    """Write report.md + report.json + figures comparing layers of a release."""
    from immunome import harmonize

    cohort = open_cli_store(store).release(release)
    results = {}
    for a in assay:
        rep = harmonize.report(
            cohort,
            assay=a,
            out=out / a if len(assay) > 1 else out,
            layers=_csv(layers) if layers else None,
            protected=_csv(protected),
        )
        results[a] = {
            "layers": {n: _headline(m) for n, m in rep.layers.items()},
            "comparison": rep.comparison,
        }
    if as_json:
        echo_json(results)
        return
    for a, r in results.items():
        typer.echo(f"{a}: report written to {out / a if len(assay) > 1 else out}")
        for n, m in r["layers"].items():
            typer.echo(f"  {n}: {m}")


def _headline(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "median_site_ve": m["median_site_ve"],
        "median_biology_ve": m["median_biology_ve"],
        "silhouette": m["silhouette"],
        "loso_age_mae": m["loso_age_mae"]["mae"],
    }


@harmonize_app.command("fit")
def fit_cmd(
    assay: AssayOpt,
    store: StoreOpt = None,
    release: ReleaseOpt = "latest",
    method: Annotated[str, typer.Option(help="combat | bridge")] = "combat",
    protected: Annotated[str, typer.Option(help="Protected covariates (kept).")] = "age,sex",
    layer: LayerOpt = None,
    key_added: Annotated[str, typer.Option(help="Name of the new layer.")] = "harmonized",
    reference: Annotated[
        str | None, typer.Option(help="Reference site left unchanged (others mapped onto it).")
    ] = None,
    bridge: Annotated[
        str | None, typer.Option(help="obs column with shared bridge-sample ids (bridge method).")
    ] = None,
    on_confounded: Annotated[str, typer.Option(help="flag | skip | error")] = "flag",
    min_site_size: Annotated[int, typer.Option(help="Minimum participants per site.")] = 3,
    label: Annotated[str | None, typer.Option(help="Label of the derived release.")] = None,
    report_dir: Annotated[
        Path | None, typer.Option("--report", help="Also write a before/after report here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit a correction on a release and write a derived release with the new layer."""
    from immunome import harmonize

    st = open_cli_store(store)
    cohort = st.release(release)
    results, notes = [], []
    for a in assay:
        h, w = _run_quiet(
            harmonize.fit,
            cohort,
            assay=a,
            method=method,
            protected=_csv(protected),
            layer=layer,
            key_added=key_added,
            reference=reference,
            bridge=bridge,
            on_confounded=on_confounded,
            min_site_size=min_site_size,
        )
        results.append(h)
        notes += w
    _finish(st, cohort, results, notes, label=label, report_dir=report_dir, as_json=as_json)


@harmonize_app.command("apply")
def apply_cmd(
    assay: AssayOpt,
    store: StoreOpt = None,
    release: ReleaseOpt = "latest",
    estimates_from: Annotated[
        str | None,
        typer.Option(help="Release whose extras/harmonize/<assay>/estimates.json to use."),
    ] = None,
    estimates: Annotated[
        Path | None, typer.Option(help="Estimates JSON file (single assay).")
    ] = None,
    layer: LayerOpt = None,
    key_added: Annotated[str, typer.Option(help="Name of the new layer.")] = "harmonized",
    bridge: Annotated[str | None, typer.Option(help="obs column with bridge-sample ids.")] = None,
    on_confounded: Annotated[str, typer.Option(help="flag | skip | error (new sites)")] = "flag",
    label: Annotated[str | None, typer.Option(help="Label of the derived release.")] = None,
    report_dir: Annotated[
        Path | None, typer.Option("--report", help="Write a report here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply stored estimates (frozen mode) to a release: existing sites unchanged, new ones
    estimated against the frozen reference."""
    from immunome import harmonize
    from immunome.errors import HarmonizeError

    if (estimates_from is None) == (estimates is None):
        raise HarmonizeError("give exactly one of --estimates-from RELEASE or --estimates FILE")
    st = open_cli_store(store)
    cohort = st.release(release)
    source: Any = st.release(estimates_from) if estimates_from else estimates
    results, notes = [], []
    for a in assay:
        h, w = _run_quiet(
            harmonize.apply,
            cohort,
            assay=a,
            estimates=source,
            layer=layer,
            key_added=key_added,
            bridge=bridge,
            on_confounded=on_confounded,
        )
        results.append(h)
        notes += w
    _finish(st, cohort, results, notes, label=label, report_dir=report_dir, as_json=as_json)


def _finish(
    st: Any,
    cohort: Any,
    results: list[Any],
    notes: list[str],
    *,
    label: str | None,
    report_dir: Path | None,
    as_json: bool,
) -> None:
    from immunome import harmonize

    info = harmonize.derive(st, results, parent=cohort.release_id, label=label)
    reports = {}
    if report_dir is not None:
        for h in results:
            out = report_dir / h.assay if len(results) > 1 else report_dir
            rep = harmonize.report(cohort, assay=h.assay, out=out, harmonization=h)
            reports[h.assay] = rep.comparison
    payload = {
        "release_id": info.release_id,
        "parent": cohort.release_id,
        "layers": info.layers,
        "assays": {h.assay: h.summary() for h in results},
        "warnings": notes,
        "reports": reports,
    }
    if as_json:
        echo_json(payload)
        return
    for n in notes:
        typer.echo(f"warning: {n}", err=True)
    typer.echo(f"release {info.release_id} (parent {cohort.release_id}) layers: {info.layers}")
    for h in results:
        s = h.summary()
        typer.echo(
            f"  {h.assay}: {s['cells_corrected']}/{s['cells_observed']} cells corrected; "
            f"flags {s['flags'] or 'none'}"
        )
    for a, c in reports.items():
        typer.echo(f"  report {a}: {c}")


def register(app: typer.Typer) -> None:
    """Add ``immunome harmonize`` to the root ``app``."""
    app.add_typer(harmonize_app, name="harmonize")
