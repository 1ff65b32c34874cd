"""``fireform fit FORM.json --data ...``: fit a form, print its parameters and every convention."""

from __future__ import annotations

from pathlib import Path

import typer

from fireform.fitting.samplers import DEFAULT_SAMPLER, SAMPLERS

__all__ = ["register", "load_data"]


def load_data(data: list[str]):
    """``pantanal`` (the bundle's example) or netCDF/zarr paths read by ``load_drivers``."""
    if len(data) == 1 and data[0].lower() == "pantanal":
        from fireform.drivers.bundles import load_pantanal

        return load_pantanal()
    from fireform.drivers import load_drivers

    return load_drivers([str(p) for p in data])


def register(app: typer.Typer) -> None:
    @app.command("fit")
    def fit_cmd(
        form_path: Path = typer.Argument(..., help="form JSON (fireform.forms canonical shape)"),
        data: list[str] = typer.Option(..., "--data", help="netCDF/zarr paths, or 'pantanal'"),
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
    ) -> None:
        """Fit FORM's parameters with Optuna on the training years; print the best parameters
        and the training score vector under every Overall convention."""
        from fireform.fitting import Objective, Split, fit
        from fireform.forms import Form
        from fireform.scoring import CONVENTIONS

        form = Form.load(form_path)
        drivers = load_data(data)
        src = Split(drivers, train_years=train) if train else drivers
        obj = Objective(metric=metric, convention=convention, region=region)
        res = fit(form, src, objective=obj, trials=trials, sampler=sampler, seed=seed,
                  cache=run_dir, storage=storage, in_flight=in_flight)
        typer.echo(res.line())
        typer.echo(f"form {form.name or form.hash}  [{form.hash}]  training years "
                   f"{res.years[0]}..{res.years[-1]}")
        typer.echo("best parameters:")
        width = max(len(n) for n in res.params)
        for p in form.params:
            typer.echo(f"  {p.name:<{width}}  {res.params[p.name]:.6g}  {p.units}  [{p.lo:g}, {p.hi:g}]"
                       f"{' log' if p.log else ''}")
        typer.echo("score vector (global, training period):")
        for k, v in res.vector().items():
            typer.echo(f"  {k:<16} {v:.4f}")
        typer.echo("overall by convention (global):")
        for c in CONVENTIONS:
            typer.echo(f"  {c:<12} {res.overall(c):.4f}")
