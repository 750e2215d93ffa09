"""``immunome flow``: process FCS files into population frequencies, QC, bundles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from immunome.cli._common import StoreOpt, open_cli_store

flow_app = typer.Typer(
    help="Flow cytometry: FCS → compensation → transforms → Gating-ML gates → populations.",
    no_args_is_help=True,
)


@flow_app.command("templates")
def templates(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the shipped Gating-ML example templates."""
    from immunome.assays.flow import list_templates

    rows = [
        {"name": t.name, "assay": t.assay, "path": t.path, "description": t.description}
        for t in list_templates()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['name']}\tassay={r['assay']}\t{r['description']}\n\t{r['path']}")


@flow_app.command("qc")
def qc(
    files: Annotated[list[Path], typer.Argument(help="FCS files.")],
    comp: Annotated[Path | None, typer.Option("--comp", help="Spillover matrix CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per-file QC only (event count, margins, negative scatter, time stability, spillover)."""
    import pandas as pd

    from immunome.assays.flow import qc_table, read_comp_csv, read_fcs
    from immunome.assays.flow._comp import check_against_sample, spill_from_sample
    from immunome.errors import FlowError

    matrix = read_comp_csv(comp) if comp else None
    frames, failed = [], 0
    for f in files:
        try:
            s = read_fcs(f)
            m = matrix or spill_from_sample(s, file=str(f))
            if m is not None:
                check_against_sample(m, s, file=str(f))
            frames.append(qc_table(s, m).assign(file=str(f)))
        except FlowError as e:
            failed += 1
            typer.echo(f"error: {e}", err=True)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if as_json:
        typer.echo(table.to_json(orient="records", indent=2))
    elif len(table):
        typer.echo(table.to_string(index=False))
    if failed:
        raise typer.Exit(1)


def _echo_summary(res) -> None:  # noqa: ANN001
    for r in res.results:
        flags = [
            f"{m}={fl}" for m, fl in zip(r.qc["metric"], r.qc["flag"], strict=True) if fl != "pass"
        ]
        state = "cached" if r.cached else "processed"
        typer.echo(
            f"{state}: {r.file} ({r.n_events} events){' QC: ' + ', '.join(flags) if flags else ''}"
        )
    if res.failures:
        typer.echo(f"\n{len(res.failures)} file(s) failed:", err=True)
        for f in res.failures:
            typer.echo(f"  {f.error}", err=True)


@flow_app.command("process")
def process(
    files: Annotated[list[Path], typer.Argument(help="FCS files (2.0/3.0/3.1).")],
    template: Annotated[
        str, typer.Option("--template", "-t", help="Shipped template name or Gating-ML file.")
    ],
    comp: Annotated[
        Path | None,
        typer.Option("--comp", help="Spillover matrix CSV (default: the file's $SPILL)."),
    ] = None,
    assay: Annotated[
        str | None, typer.Option("--assay", help="Protocol assay id (default: the template's).")
    ] = None,
    sample_sheet: Annotated[
        Path | None,
        typer.Option("--sample-sheet", help="CSV: file, participant_id, day, age, sex, …"),
    ] = None,
    site: Annotated[str, typer.Option("--site", help="Site code for the bundle.")] = "SITE01",
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Write a submission bundle here.")
    ] = None,
    submit: Annotated[bool, typer.Option("--submit", help="Submit the bundle to --store.")] = False,
    store: StoreOpt = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address (default: a LocalCluster)."),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="LocalCluster workers; 0 = in this process.")
    ] = 2,
    cache: Annotated[
        Path | None, typer.Option("--cache", help="Resumable cache directory.")
    ] = Path(".immunome-flow-cache"),
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a JSON report here.")
    ] = None,
    populations: Annotated[
        Path | None, typer.Option("--populations", help="Write the tidy population table (CSV).")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
) -> None:
    """Process FCS files in a batch; failures are listed at the end (exit 1) and in --report."""
    import tempfile

    from immunome.assays.flow import load_template
    from immunome.assays.flow._batch import process_batch
    from immunome.assays.flow._bundle import write_bundle
    from immunome.errors import FlowError

    if (bundle or submit) and sample_sheet is None:
        raise FlowError("--bundle/--submit need --sample-sheet (file, participant_id, day, …)")
    tpl = load_template(template, assay=assay)
    res = process_batch(
        files,
        template=tpl,
        comp=comp,
        cache_dir=cache,
        scheduler=scheduler,
        n_workers=workers,
        progress=progress,
    )
    _echo_summary(res)
    if report:
        res.write_report(report)
    if populations and res.results:
        populations.parent.mkdir(parents=True, exist_ok=True)
        res.populations().to_csv(populations, index=False)
    if res.results and (bundle or submit):
        out = bundle or Path(tempfile.mkdtemp(prefix="immunome-flow-bundle-"))
        write_bundle(res.results, out, sample_sheet=sample_sheet, site=site, assay=tpl.assay)
        typer.echo(f"bundle: {out}")
        if submit:
            result = open_cli_store(store, create=True).submit(out)
            typer.echo(f"submitted: {getattr(result, 'status', result)}")
    if res.failures:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``flow`` group to the root ``app``."""
    app.add_typer(flow_app, name="flow")
