"""Score a model file against a reference file (the library behind ``fireform score``).

Steps: read each variable with its grid (``regrid.read_grid``: latitude south-to-north, longitude
-180..180, bounds from ``lat_bnds``/``lon_bnds`` when the file has them, else mid-points); cut both
to the months they share (and ``period``); convert both to burned fraction; put both on one grid;
score with ``Benchmark`` (every component, region and convention).

Grids (``regrid=``):
- ``"nearest"`` (default, ILAMB 2.x): both onto the grid composed of both grids' cell boundaries,
  nearest neighbour, scored there with its cell areas (``regrid.py``). Same grids: the composed
  grid is that grid and nothing moves.
- ``"conservative"``: the model remapped onto the reference's grid by first-order conservative
  remapping (``conservative.py``; burned area conserved); the reference is left as measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from fireform.drivers.load import grid_coords, month_index, open_file
from fireform.drivers.regions import global_region, ilamb_regions
from fireform.drivers.units import convert
from fireform.exceptions import ScoringError, UnknownNameError
from fireform.scoring.card import ScoreCard
from fireform.scoring.conservative import remap_conservative
from fireform.scoring.prepared import Benchmark
from fireform.scoring.regrid import Grid, compose, nearest, read_grid, rebuilt

__all__ = ["score_files", "FileScore", "Regridding", "Field", "read_field", "REGRID_METHODS",
           "REGION_SETS"]

REGRID_METHODS = ("nearest", "conservative")
REGION_SETS = ("ilamb", "gfed", "global")


@dataclass(frozen=True, eq=False)
class Field:
    """One variable of one file: (months, lat, lon) in its grid's order (south-to-north,
    -180..180), its month starts, grid and units."""

    path: str
    var: str
    data: np.ndarray
    time: pd.DatetimeIndex
    grid: Grid
    units: str | None


def _bounds(ds: xr.Dataset, coord: str, label: str):
    """The bounds variable of ``coord``: its CF ``bounds`` attribute, else ``<coord>_bnds`` or
    ``<coord>_bounds``; None when the file has none."""
    names = [ds[coord].attrs.get("bounds"), f"{coord}_bnds", f"{coord}_bounds"]
    name = next((n for n in names if n and n in ds.variables), None)
    if name is None:
        return None
    b = ds[name]
    if b.ndim != 2 or coord not in b.dims:
        raise ScoringError(f"{label}: bounds {name!r} of {coord!r} have dims {b.dims}; "
                           f"expected ({coord}, 2)")
    return np.asarray(b.transpose(coord, ...).values, dtype=float)


def read_field(path: str, var: str) -> Field:
    """Read ``var`` of ``path`` with its grid normalised as ILAMB 2.x reads it."""
    ds = open_file(path)
    if var not in ds.data_vars:
        raise ScoringError(f"file {path!r} has no variable {var!r}; it holds: "
                           f"{', '.join(map(str, ds.data_vars))}")
    da = ds[var]
    lat, lon = grid_coords(da)
    if lat is None or lon is None or "time" not in da.dims or da.ndim != 3:
        raise ScoringError(f"{path!r} {var!r}: expected dims (time, lat, lon), got {da.dims}")
    label = f"{path!r} {var!r}"
    for d in (lat, lon):
        if d not in ds.variables or ds[d].ndim != 1:
            raise ScoringError(f"{label}: dimension {d!r} has no 1-D coordinate (2-D lat/lon: "
                               "curvilinear grids are not supported; regrid to lat/lon first)")
    g = read_grid(ds[lat].values, ds[lon].values, _bounds(ds, lat, label), _bounds(ds, lon, label),
                  label=label)
    data = g.put(np.asarray(da.transpose("time", lat, lon).values, dtype=float))
    return Field(path, var, data, month_index(ds, label=path), g.grid, da.attrs.get("units"))


@dataclass(frozen=True, eq=False)
class Regridding:
    """What was done to put model and reference on one grid."""

    method: str  # "same grid" | "nearest" | "conservative"
    reference: Grid
    model: Grid
    target: Grid

    def line(self) -> str:
        """One greppable line naming the method and the grids."""
        how = {
            "same grid": "same grid, no regridding",
            "nearest": "nearest neighbour onto the grid composed of both grids' cell boundaries "
                       "(ILAMB 2.x)",
            "conservative": "first-order conservative remapping of the model onto the reference "
                            "grid",
        }[self.method]
        return (f"regrid: {how}; reference {self.reference.describe()}; "
                f"model {self.model.describe()}; scored on {self.target.describe()}")


@dataclass(frozen=True, eq=False)
class FileScore:
    """A file scoring: the ``ScoreCard`` and how the grids were matched."""

    card: ScoreCard
    regridding: Regridding


def _region_masks(regions: str, grid: Grid) -> dict[str, np.ndarray]:
    if regions == "ilamb":
        rs = ilamb_regions(grid.lat, grid.lon)
    elif regions == "global":
        rs = global_region(grid.lat, grid.lon)
    elif regions == "gfed":
        from fireform.drivers.bundles import load_gfed_regions  # reads the data bundle

        rs = load_gfed_regions(grid.lat, grid.lon)
    else:
        raise UnknownNameError(f"unknown region set {regions!r}; valid: {', '.join(REGION_SETS)}")
    return rs.masks


def _common_months(ref: Field, mod: Field, period: str | None) -> pd.DatetimeIndex:
    common = ref.time.intersection(mod.time)
    if period:
        a, _, b = period.partition("-")
        try:
            y0, y1 = int(a), int(b or a)
        except ValueError:
            raise ScoringError(f"period {period!r} is not YYYY or YYYY-YYYY") from None
        common = common[(common.year >= y0) & (common.year <= y1)]
    if common.size == 0:
        raise ScoringError(
            f"no common months: reference {ref.path!r} {ref.time[0]:%Y-%m}..{ref.time[-1]:%Y-%m}, "
            f"model {mod.path!r} {mod.time[0]:%Y-%m}..{mod.time[-1]:%Y-%m}, "
            f"period {period or 'all'}")
    return common


def _plan(ref: Grid, mod: Grid, method: str) -> Regridding:
    if method not in REGRID_METHODS:
        raise UnknownNameError(f"unknown regrid method {method!r}; "
                               f"valid: {', '.join(REGRID_METHODS)}")
    if ref.same_as(mod):
        target = ref if method == "conservative" else compose(ref, mod)  # the same cells
        return Regridding("same grid", ref, mod, target)
    if method == "conservative":
        return Regridding("conservative", ref, mod, ref)
    return Regridding("nearest", ref, mod, compose(ref, mod))


def _index(src: Grid, dst: Grid, how: Regridding) -> np.ndarray:
    """The flat source cell of each ``dst`` cell. Only index arrays are built at the scoring
    grid's size (a 0.5 degree composed grid over 16 years would hold 400 MB per variable)."""
    if how.method == "nearest":
        rows, cols = nearest(src, dst)
        return (rows[:, None] * src.lon.size + cols[None, :]).ravel()
    return np.arange(dst.size)


def _months(f: Field, common: pd.DatetimeIndex) -> np.ndarray:
    i = f.time.get_indexer(common)
    return f.data if np.array_equal(i, np.arange(f.time.size)) else f.data[i]


def score_files(obs: str, obs_var: str, model: str, model_var: str, *, regions: str = "ilamb",
                period: str | None = None, mass_weighting: bool = True,
                regrid: str = "nearest") -> FileScore:
    """Score ``model_var`` of ``model`` against ``obs_var`` of ``obs`` (module docstring).

    Units: both converted to burned fraction (``drivers.units``). Time: cut to the months both
    cover (ILAMB's ``MakeComparable`` with ``clip_ref``), then to ``period`` ("YYYY" or
    "YYYY-YYYY"). A region holding no cell of the scoring grid scores NaN with that reason.
    """
    if regions not in REGION_SETS:
        raise UnknownNameError(f"unknown region set {regions!r}; valid: {', '.join(REGION_SETS)}")
    ref, mod = read_field(obs, obs_var), read_field(model, model_var)
    common = _common_months(ref, mod, period)
    r = convert(_months(ref, common), ref.units, "burned_fraction", file=obs, var=obs_var)
    c = convert(_months(mod, common), mod.units, "burned_fraction", file=model, var=model_var)
    how = _plan(ref.grid, mod.grid, regrid)
    grid, nt = how.target, common.size
    if how.method == "conservative":
        c = remap_conservative(c, mod.grid, grid).values
    r2, c2 = np.asarray(r, float).reshape(nt, -1), np.asarray(c, float).reshape(nt, -1)
    ir, ic = _index(ref.grid, grid, how), _index(mod.grid, grid, how)
    keep = (~np.isnan(r2).all(axis=0))[ir]  # scoring-grid cells with reference data
    R, C = np.ascontiguousarray(r2[:, ir[keep]].T), np.ascontiguousarray(c2[:, ic[keep]].T)
    full = {k: np.asarray(m, bool).ravel() for k, m in _region_masks(regions, grid).items()}
    # 2.x weighs Bias and Seasonal by areas of bounds rebuilt from the centres (regrid.rebuilt)
    area_diff = rebuilt(grid).area().ravel()[keep] if how.method != "conservative" else None
    bench = Benchmark.prepare(R, area=grid.area().ravel()[keep],
                              time=common, regions={k: m[keep] for k, m in full.items()},
                              mass_weighting=mass_weighting, n_grid=grid.size,
                              area_diff=area_diff)
    card = bench.card(C, model=Path(model).stem,
                      period=f"{common[0]:%Y}-{common[-1]:%Y}")
    empty = [k for k, m in full.items() if not m.any()]
    if empty:
        f = card.frame.copy()
        sel = f.region.isin(empty) & (f.convention == "component")
        f.loc[sel, "reason"] = (f"no cell of the scoring grid {grid.shape[0]}x{grid.shape[1]} "
                                "lies in this region")
        card = ScoreCard(f)
    return FileScore(card, how)
