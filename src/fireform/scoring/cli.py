"""``fireform score`` and ``fireform leaderboard``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from fireform.exceptions import ScoringError, UnknownNameError

__all__ = ["register", "score_files"]


def _print(df: pd.DataFrame, title: str) -> None:
    typer.echo(f"== {title}")
    with pd.option_context("display.width", 200, "display.max_columns", 40,
                           "display.float_format", "{:.4f}".format):
        typer.echo(df.to_string())


def _load(path: str, var: str):
    from fireform.drivers.load import open_file, month_index

    ds = open_file(path)
    if var not in ds.data_vars:
        raise ScoringError(f"file {path!r} has no variable {var!r}; it holds: {', '.join(map(str, ds.data_vars))}")
    da = ds[var]
    lat = next((c for c in da.dims if str(c).lower().startswith("lat")), None)
    lon = next((c for c in da.dims if str(c).lower().startswith("lon")), None)
    if lat is None or lon is None or "time" not in da.dims:
        raise ScoringError(f"{path!r} {var!r}: expected dims (time, lat, lon), got {da.dims}")
    time = month_index(ds, label=path)
    return da.transpose("time", lat, lon), time, np.asarray(ds[lat].values, float), np.asarray(ds[lon].values, float)


def score_files(obs: str, obs_var: str, model: str, model_var: str, *, regions: str = "ilamb",
                period: str | None = None, mass_weighting: bool = True):
    """Score a model file against a reference file on the same grid; returns a ScoreCard.

    Units: both converted to burned fraction (``drivers.units``). Time: cut to the months both
    cover (ILAMB's ``MakeComparable`` with ``clip_ref``), then to ``period``. Grids must match
    (ILAMB 2.x would regrid by nearest neighbour; fireform asks for a common grid instead).
    """
    from fireform.drivers.dataset import spherical_cell_area
    from fireform.drivers.regions import global_region, ilamb_regions
    from fireform.drivers.units import convert
    from fireform.scoring.prepared import Benchmark

    ro, to, lat, lon = _load(obs, obs_var)
    rm, tm, lat2, lon2 = _load(model, model_var)
    if lat.shape != lat2.shape or lon.shape != lon2.shape or not (
            np.allclose(lat, lat2) and np.allclose(lon, lon2)):
        raise ScoringError(
            f"grids differ: reference {obs!r} is {lat.size}x{lon.size} "
            f"(lat {lat.min():g}..{lat.max():g}, lon {lon.min():g}..{lon.max():g}), model {model!r} is "
            f"{lat2.size}x{lon2.size} (lat {lat2.min():g}..{lat2.max():g}, lon {lon2.min():g}..{lon2.max():g})")
    common = to.intersection(tm)
    if period:
        a, _, b = period.partition("-")
        common = common[(common.year >= int(a)) & (common.year <= int(b or a))]
    if common.size == 0:
        raise ScoringError(f"no common months: reference {to[0]:%Y-%m}..{to[-1]:%Y-%m}, "
                           f"model {tm[0]:%Y-%m}..{tm[-1]:%Y-%m}, period {period or 'all'}")
    io, im = to.get_indexer(common), tm.get_indexer(common)
    r = convert(np.asarray(ro.values[io], float), ro.attrs.get("units"), "burned_fraction", file=obs, var=obs_var)
    c = convert(np.asarray(rm.values[im], float), rm.attrs.get("units"), "burned_fraction", file=model, var=model_var)
    nt = common.size
    R, C = r.reshape(nt, -1).T, c.reshape(nt, -1).T
    keep = ~np.isnan(R).all(axis=1)
    if regions == "ilamb":
        rs = ilamb_regions(lat, lon)
    elif regions == "global":
        rs = global_region(lat, lon)
    elif regions == "gfed":
        from fireform.drivers.bundles import load_gfed_regions
        rs = load_gfed_regions(lat, lon)
    else:
        raise UnknownNameError(f"unknown region set {regions!r}; valid: ilamb, gfed, global")
    masks = {k: m.ravel()[keep] for k, m in rs.masks.items()}
    area = spherical_cell_area(lat, lon).ravel()[keep]
    bench = Benchmark.prepare(R[keep], area=area, time=common, regions=masks,
                              mass_weighting=mass_weighting, n_grid=lat.size * lon.size)
    label = f"{common[0]:%Y}-{common[-1]:%Y}"
    return bench.card(C[keep], model=Path(model).stem, period=label)


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
        from fireform.scoring.overall import CONVENTIONS

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
        from fireform.scoring import leaderboard as lb

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
