"""``fireform fit FORM.json --data ...``: fit a form, print its parameters and every convention."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import typer

from fireform.cli.common import DataOptions, data_options, load_checked
from fireform.cli.progress import FitProgress
from fireform.fitting import DEFAULT_SAMPLER, SAMPLERS, Objective, Split, fit
from fireform.fitting.cache import resolve_storage
from fireform.forms import Form
from fireform.scoring import CONVENTIONS

__all__ = ["register"]


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None


def register(app: typer.Typer) -> None:
    @app.command("fit")
    @data_options
    def fit_cmd(
        form_path: Path = typer.Argument(..., help="form JSON (fireform.forms canonical shape)"),
        trials: int = typer.Option(1000, "--trials", help="number of trials"),
        sampler: str = typer.Option(DEFAULT_SAMPLER, "--sampler", help=" | ".join(SAMPLERS)),
        seed: int = typer.Option(0, "--seed"),
        train: str = typer.Option(None, "--train", help="training years, e.g. 2001-2012 (default: all)"),
        convention: str = typer.Option("ilamb2", "--convention", help="Overall convention optimised"),
        metric: str = typer.Option("overall", "--metric", help="overall or a component name"),
        region: str = typer.Option("global", "--region"),
        run_dir: Path = typer.Option(None, "--run-dir", help="run folder: cache + study journal"),
        in_flight: int = typer.Option(1, "--in-flight", help="trials evaluated while the sampler works"),
        storage: str = typer.Option(None, "--storage", help="journal:PATH or an RDB URL"),
        out: Path = typer.Option(None, "--out", help="write the fitted parameters here (JSON that "
                                 "`form export --params` and `deploy-check --params` read)"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress line (trials, best, elapsed, ETA) on stderr"),
        data_opts: DataOptions = DataOptions(),
    ) -> None:
        """Fit FORM's parameters with Optuna on the training years; print the best parameters
        and the training score vector under every Overall convention."""
        form = Form.load(form_path)
        drivers, _ = load_checked(data_opts)
        src = Split(drivers, train_years=train) if train else drivers
        obj = Objective(metric=metric, convention=convention, region=region)
        # the progress thread reads the study from the storage the fit writes to: the same object
        # (in memory or given), or the run folder's study journal the fit cache picks
        store = resolve_storage(storage) if storage else (None if run_dir else optuna.storages.InMemoryStorage())
        progress = FitProgress(trials, storage=store, folder=run_dir if store is None else None)
        with progress if not quiet else _Nothing():
            res = fit(form, src, objective=obj, trials=trials, sampler=sampler, seed=seed,
                      cache=run_dir, storage=store, in_flight=in_flight, override_checks=data_opts.override)
        typer.echo(res.line())
        typer.echo(f"form {form.name or form.hash}  [{form.hash}]  training years "
                   f"{res.years[0]}..{res.years[-1]}")
        typer.echo("best parameters:")
        width = max(len(n) for n in res.params)
        edge = set(res.at_bounds())
        for p in form.params:
            typer.echo(f"  {p.name:<{width}}  {res.params[p.name]:.6g}  {p.units}  [{p.lo:g}, {p.hi:g}]"
                       f"{' log' if p.log else ''}{'  AT A BOUND' if p.name in edge else ''}")
        if edge:
            typer.echo(f"note: {len(edge)} parameter(s) at a bound of their box ({', '.join(sorted(edge))}): "
                       "the bound, not the data, set them")
        typer.echo("score vector (global, training period):")
        for k, v in res.vector().items():
            typer.echo(f"  {k:<16} {v:.4f}")
        typer.echo("overall by convention (global):")
        for c in CONVENTIONS:
            typer.echo(f"  {c:<12} {res.overall(c):.4f}")
        if out is not None:
            out.write_text(json.dumps(res.params_file(), indent=2, sort_keys=True))
            typer.echo(f"wrote {out}")
