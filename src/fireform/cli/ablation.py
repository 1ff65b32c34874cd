"""``fireform shapley FORM.json --data ...``: Shapley ablation of a form's mechanisms, with a
progress bar; writes the tables (CSV) and the bar chart + interaction heatmap (PNG)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fireform.ablation import shapley, write_plots
from fireform.cli.common import DataOptions, data_options, load_checked
from fireform.fitting import SAMPLERS, SUBSET_SAMPLER, Objective, Split
from fireform.forms import Form

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("shapley")
    @data_options
    def shapley_cmd(
        form_path: Path = typer.Argument(..., help="form JSON (fireform.forms canonical shape)"),
        workers: int = typer.Option(None, "--workers", help="local worker processes (default: all cores)"),
        scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://...) or scheduler file"),
        trials: int = typer.Option(250, "--trials", help="trials per subset fit (2+ terms)"),
        patience: int = typer.Option(0, "--patience", help="stop a fit after this many trials without gain (0: never; --generations wins)"),
        generations: int = typer.Option(4, "--generations", help="stop a fit after this many CMA-ES generations without gain (0: use --patience)"),
        first_trials: int = typer.Option(None, "--first-trials", help="trials of the broad fits (default min(3 x trials, 450))"),
        broad_size: int = typer.Option(2, "--broad-size", help="coalitions of up to this many terms get the broad fit (whole-box CMA-ES, stopped once converged)"),
        sampler: str = typer.Option(SUBSET_SAMPLER, "--sampler", help=f"{SUBSET_SAMPLER} (local CMA-ES from the warm start) | " + " | ".join(s for s in SAMPLERS if s != SUBSET_SAMPLER)),
        seed: int = typer.Option(0, "--seed"),
        method: str = typer.Option("auto", "--method", help="auto | exact | permutation | kernelshap | svarm"),
        train: str = typer.Option(None, "--train", help="training years, e.g. 2001-2012 (default: all)"),
        convention: str = typer.Option("ilamb2", "--convention"),
        metric: str = typer.Option("overall", "--metric"),
        region: str = typer.Option("global", "--region"),
        out: Path = typer.Option(Path("shapley_out"), "--out", help="output folder (tables, PNGs, fit cache)"),
        data_opts: DataOptions = DataOptions(),
    ) -> None:
        """Fit every subset of FORM's mechanisms (exact up to 10, sampled above) and write the
        Shapley values, shares, interactions, per-region/component tables and plots to OUT."""
        form = Form.load(form_path)
        drivers, _ = load_checked(data_opts)
        src = Split(drivers, train_years=train) if train else drivers
        obj = Objective(metric=metric, convention=convention, region=region)
        n = len(form.terms)
        exact = method == "exact" or (method == "auto" and n <= 10)
        out.mkdir(parents=True, exist_ok=True)
        with Progress(TextColumn("[bold]shapley"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TextColumn("{task.description}")) as bar:
            task = bar.add_task("", total=2**n if exact else None)

            def progress(k, label, res):
                bar.update(task, completed=k, description=f"{label} {res.value:.4f}")

            r = shapley(form, src, objective=obj, trials=trials, patience=patience or None,
                        patience_generations=generations or None, first_trials=first_trials,
                        broad_size=broad_size, sampler=sampler, seed=seed, method=method, workers=workers,
                        scheduler=scheduler, cache=out / "cache", progress=progress,
                        override_checks=data_opts.override)
        paths = r.to_dir(out)
        pngs = write_plots(r, out)
        typer.echo(r.line())
        typer.echo(r.values.to_string(index=False))
        for p in [*paths.values(), *pngs.values()]:
            typer.echo(f"wrote {p}")
