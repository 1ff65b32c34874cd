"""``fireform score`` and ``fireform leaderboard``."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import typer

from fireform.drivers import month_index, open_file
from fireform.exceptions import ScoringError, UnknownNameError
from fireform.scoring import CONVENTIONS, ScoreCard, score
from fireform.scoring import leaderboard as lb

__all__ = ["register", "score_files"]


def _print(df: pd.DataFrame, title: str) -> None:
    typer.echo(f"== {title}")
    with pd.option_context("display.width", 200, "display.max_columns", 40,
                           "display.float_format", "{:.4f}".format):
        typer.echo(df.to_string())


def score_files(obs: str, obs_var: str, model: str, model_var: str, *, regions: str = "ilamb",
                period: str | None = None, mass_weighting: bool = True) -> ScoreCard:
    """Score a model file against a reference file (see :func:`fireform.scoring.score`)."""
    ro = _variable(obs, obs_var)
    rm = _variable(model, model_var)
    return score(ro, rm, regions=regions, period=period, mass_weighting=mass_weighting,
                 model_name=Path(model).stem, obs_label=obs, model_label=model)


def _variable(path: str, var: str):
    """The variable with its time decoded to month starts from the whole file (time bounds
    included, so stamps at any point of the month land in that month)."""
    ds = open_file(path)
    if var not in ds.data_vars:
        raise ScoringError(f"file {path!r} has no variable {var!r}; it holds: {', '.join(map(str, ds.data_vars))}")
    da = ds[var]
    tname = next((str(d) for d in da.dims if str(d).lower() in ("time", "t")), None)
    if tname is not None:
        da = da.assign_coords({tname: month_index(ds, label=path, tname=tname).values})
    return da


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score_cmd(
        obs: str = typer.Option(..., "--obs", help="reference netCDF"),
        obs_var: str = typer.Option(..., "--obs-var"),
        model: str = typer.Option(..., "--model", help="model netCDF (same grid)"),
        model_var: str = typer.Option(..., "--model-var"),
        regions: str = typer.Option("ilamb", "--regions", help="ilamb | gfed | global"),
        period: str = typer.Option(None, "--period", help="YYYY-YYYY"),
        convention: list[str] = typer.Option(None, "--convention", help="repeatable; default all"),
        out: str = typer.Option(None, "--out", help="card.csv or card.json"),
        no_mass_weighting: bool = typer.Option(False, "--no-mass-weighting"),
    ):
        """Score a model against a reference, ILAMB 2.x style, every convention side by side."""
        convs = tuple(convention) if convention else CONVENTIONS
        for c in convs:
            if c not in CONVENTIONS:
                raise UnknownNameError(f"unknown convention {c!r}; valid: {', '.join(CONVENTIONS)}")
        card = score_files(obs, obs_var, model, model_var, regions=regions, period=period,
                           mass_weighting=not no_mass_weighting)
        f = card.frame
        regs = list(dict.fromkeys(f.region))
        rows = []
        for reg in regs:
            v = card.vectors(region=reg).iloc[0]
            rows.append({"region": reg, **{k: v[k] for k in ("bias", "rmse", "seasonal", "spatial", "iav")},
                         **{f"overall_{c}": v[f"overall_{c}"] for c in convs}})
        _print(pd.DataFrame(rows).set_index("region"), f"{model} vs {obs}")
        if out:
            if out.endswith(".json"):
                card.to_json(out)
            else:
                card.to_csv(out)
            typer.echo(f"wrote {out}")

    @app.command("leaderboard")
    def leaderboard_cmd(
        which: str = typer.Argument(None, help="isimip3a-ar6"),
        reference_table: bool = typer.Option(False, "--reference-table",
                                             help="recompute the published TRENDY v14 table"),
        out: str = typer.Option(None, "--out"),
    ):
        """Ranked tables: the published TRENDY v14 check, or ISIMIP3a vs GFED5 (AR6 regions)."""
        if reference_table:
            t = lb.reference_table()
            _print(t, "TRENDY v14 burned area (ILAMB 2.x), Overall recomputed from printed components")
            ok = bool(t["within_rounding_bound"].all())
            typer.echo(f"printed-precision matches: {int(t['printed_precision_match'].sum())}/{len(t)}; "
                       f"all within the +-{lb.ROUNDING_BOUND:.4f} bound implied by 3-decimal inputs: {ok}; "
                       f"ranking preserved: {list(t['ilamb2'].rank(ascending=False)) == list(t['published_overall'].rank(ascending=False))}")
            if not ok:
                sys.exit(1)
            return
        if which != "isimip3a-ar6":
            raise UnknownNameError(f"unknown leaderboard {which!r}; valid: isimip3a-ar6 (or --reference-table)")
        v, card = lb.isimip3a_ar6_leaderboard()
        _print(v, "ISIMIP3a obsclim + FireCCI5.1 vs GFED5, AR6 regions as cells, 2001-2019")
        if out:
            (card.to_json if out.endswith(".json") else card.to_csv)(out)
