"""``fireform score`` and ``fireform leaderboard``."""

from __future__ import annotations

import sys

import pandas as pd
import typer

from fireform.cli.common import DataOptions, data_options, say_override
from fireform.drivers import gate_paths, open_file
from fireform.exceptions import MissingVariableError, UnknownNameError
from fireform.loop import expand_paths, identified_mapping
from fireform.scoring import CONVENTIONS, REGRID_METHODS, score_files
from fireform.scoring import leaderboard as lb

__all__ = ["register", "score_files"]  # score_files re-exported: it lives in scoring/files.py


def _print(df: pd.DataFrame, title: str) -> None:
    typer.echo(f"== {title}")
    with pd.option_context("display.width", 200, "display.max_columns", 40,
                           "display.float_format", "{:.4f}".format):
        typer.echo(df.to_string())


def _burned(files: list[str], var: str | None, mapping: dict, what: str) -> tuple[str, str]:
    """(file, variable) of the burned area among ``files``: ``var`` when given (in the one file
    that holds it), else the variable the catalog's vocabulary identifies as burned_fraction."""
    if var:
        for f in files:
            ds = open_file(f)
            try:
                if var in ds.data_vars:
                    return f, var
            finally:
                ds.close()
        raise MissingVariableError(f"{what}: no file of {', '.join(files)} holds variable {var!r}")
    ref = identified_mapping(files, mapping).get("burned_fraction")
    if not isinstance(ref, list):
        raise MissingVariableError(
            f"{what}: no variable of {', '.join(files)} is identified as burned area (by name, e.g. "
            "burntFractionAll or burntArea, or standard_name burned_area_fraction); name it with "
            + ("--target VAR" if what == "--obs" else "--mapping burned_fraction=VAR"))
    if len(ref) > 1:
        raise MissingVariableError(f"{what}: the burned area is split over {len(ref)} files in time "
                                   f"({', '.join(str(p[0]) for p in ref)}); score reads one file: join them first")
    part = ref[0]  # identified parts are (file, variable)
    assert isinstance(part, tuple)
    return str(part[0]), str(part[1])


def register(app: typer.Typer) -> None:
    @app.command("score")
    @data_options(required=False)
    def score_cmd(
        obs_var: str = typer.Option(None, "--obs-var", help="the reference's variable (as --target)"),
        model: str = typer.Option(None, "--model", help="model netCDF (any regular lat/lon grid; as --data)"),
        model_var: str = typer.Option(None, "--model-var", help="the model's burned-area variable (as "
                                      "--mapping burned_fraction=VAR); default: identified"),
        regions: str = typer.Option("ilamb", "--regions", help="ilamb | gfed | global"),
        period: str = typer.Option(None, "--period", help="YYYY-YYYY"),
        convention: list[str] = typer.Option(None, "--convention", help="repeatable; default all"),
        out: str = typer.Option(None, "--out", help="card.csv or card.json"),
        no_mass_weighting: bool = typer.Option(False, "--no-mass-weighting"),
        regrid: str = typer.Option(
            "nearest", "--regrid",
            help="grids differ: nearest (ILAMB 2.x: composed grid, nearest neighbour) | conservative "
                 "(model remapped onto the reference grid, burned area conserved)"),
        data_opts: DataOptions = DataOptions(),
    ):
        """Score a model against a reference, ILAMB 2.x style, every convention side by side.
        The model: --data (files, folders or globs; the file holding its burned area is found by
        the catalog's vocabulary, e.g. burntFractionAll) or --model; the reference: --obs."""
        convs = tuple(convention) if convention else CONVENTIONS
        for c in convs:
            if c not in CONVENTIONS:
                raise UnknownNameError(f"unknown convention {c!r}; valid: {', '.join(CONVENTIONS)}")
        if regrid not in REGRID_METHODS:
            raise UnknownNameError(f"unknown regrid method {regrid!r}; valid: {', '.join(REGRID_METHODS)}")
        override_checks = data_opts.override
        if len(data_opts.obs) != 1:
            raise typer.BadParameter(f"give one reference file (got {len(data_opts.obs)})", param_hint="--obs")
        obs = expand_paths(data_opts.obs, what="--obs")[0]
        obs, obs_var = _burned([obs], data_opts.target or obs_var, {}, "--obs")
        if not data_opts.data and not model:
            raise typer.BadParameter("give the model: --data FILES or --model FILE", param_hint="--data")
        files = expand_paths(list(data_opts.data) or [model], what="--data")
        mapping = dict(data_opts.mapping)
        model, model_var = _burned(files,
                                   mapping.pop("burned_fraction", None) or model_var, mapping, "--data")
        typer.echo(f"reference {obs} variable {obs_var!r}; model {model} variable {model_var!r}")
        # The reference file passes the checks of ``fireform check`` (every variable it holds),
        # then both fields the value checks of scoring, before anything is scored.
        say_override(gate_paths([obs], target=obs_var, override=override_checks))
        res = score_files(obs, obs_var, model, model_var, regions=regions, period=period,
                          mass_weighting=not no_mass_weighting, regrid=regrid,
                          override_checks=override_checks)
        if res.inputs is not None:
            say_override(res.inputs)
        typer.echo(res.regridding.line())
        card = res.card
        regs = list(dict.fromkeys(card.frame.region))
        cols = ["bias", "rmse", "seasonal", "spatial", "iav"] + [f"overall_{c}" for c in convs]
        rows = [card.vectors(region=reg).reindex(columns=cols).iloc[0].rename(reg) for reg in regs]
        _print(pd.DataFrame(rows).rename_axis("region").rename_axis(columns=None), f"{model} vs {obs}")
        empty = card.frame[(card.frame.reason != "") & (card.frame.component == "bias")]
        for _, row in empty.iterrows():
            typer.echo(f"NaN in {row.region}: {row.reason}")
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
