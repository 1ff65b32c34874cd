"""``score(obs, model)``: two burned-area DataArrays in, a tidy :class:`ScoreCard` out, on any
two regular lat/lon grids.

Both arrays are (time, lat, lon) with a ``units`` attribute; both are converted to burned
fraction (``fireform.drivers.units``). Time: cut to the months both cover (ILAMB's
``MakeComparable`` with ``clip_ref``), then to ``period``; cells where the reference is missing
in every month are dropped. Grids: read as ILAMB 2.x reads them (``regrid.read_grid``: latitude
south-to-north, longitude -180..180, bounds given or at mid-points), then (``regrid=``):

- ``"nearest"`` (default, ILAMB 2.x): both onto the grid composed of both grids' cell
  boundaries, nearest neighbour, scored there with its cell areas (``regrid.py``). Same grids:
  the composed grid is that grid and nothing moves.
- ``"conservative"``: the model remapped onto the reference's grid by first-order conservative
  remapping (``conservative.py``; burned area conserved); the reference is left as measured.

``score_fields`` is the core (it also says what it did: ``Scored.regridding``); files are read by
``files.score_files``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from fireform.drivers import InputReport, conversion, convert, month_index, parse_years, region_set
from fireform.drivers.check import gate_fields
from fireform.drivers.load import grid_coords
from fireform.drivers.units import is_area
from fireform.exceptions import ScoringError, UnknownNameError
from fireform.scoring.card import ScoreCard
from fireform.scoring.conservative import remap_conservative
from fireform.scoring.prepared import Benchmark
from fireform.scoring.regrid import Grid, compose, nearest, read_grid, rebuilt

__all__ = ["score", "score_fields", "field_of", "Field", "Scored", "Regridding", "REGRID_METHODS"]

REGRID_METHODS = ("nearest", "conservative")


@dataclass(frozen=True, eq=False)
class Field:
    """One burned-area variable: (months, lat, lon) in its grid's order (south-to-north,
    -180..180), its month starts, grid and units; ``label`` (a file path) and ``name`` (the
    variable) name it in messages."""

    label: str
    name: str
    data: np.ndarray
    time: pd.DatetimeIndex
    grid: Grid
    units: str | None


def field_of(da: xr.DataArray, *, label: str, lat_bnds=None, lon_bnds=None,
             time: pd.DatetimeIndex | None = None) -> Field:
    """A ``Field`` from a (time, lat, lon) DataArray; ``time`` (month starts) when already decoded
    from the whole file, else from ``da``'s own time coordinate."""
    where = f"{label!r} {str(da.name)!r}"
    lat, lon = grid_coords(da)
    tname = next((str(d) for d in da.dims if str(d).lower() in ("time", "t")), None)
    if lat is None or lon is None or tname is None or da.ndim != 3:
        raise ScoringError(f"{where}: expected dims (time, lat, lon), got {da.dims}")
    for d in (lat, lon):
        if d not in da.coords or da[d].ndim != 1:
            raise ScoringError(f"{where}: dimension {d!r} has no 1-D coordinate (2-D lat/lon: "
                               "curvilinear grids are not supported; regrid to lat/lon first)")
    if time is None:
        ds = da.to_dataset(name="_v") if da.name is None else da.to_dataset()
        time = month_index(ds, label=label, tname=tname)
    g = read_grid(da[lat].values, da[lon].values, lat_bnds, lon_bnds, label=where)
    data = g.put(np.asarray(da.transpose(tname, lat, lon).values, dtype=float))
    return Field(label, str(da.name), data, time, g.grid, da.attrs.get("units"))


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
class Scored:
    """A scoring: the ``ScoreCard`` and how the grids were matched."""

    card: ScoreCard
    regridding: Regridding
    inputs: InputReport | None = None  # the input gate's report (None: check=False)


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


def _common_months(ref: Field, mod: Field, period: str | None) -> pd.DatetimeIndex:
    common = ref.time.intersection(mod.time)
    if period:
        a, b = parse_years(period, what="period")
        common = common[(common.year >= a) & (common.year <= b)]
    if common.size == 0:
        raise ScoringError(
            f"no common months: {ref.label} {ref.time[0]:%Y-%m}..{ref.time[-1]:%Y-%m}, "
            f"{mod.label} {mod.time[0]:%Y-%m}..{mod.time[-1]:%Y-%m}, period {period or 'all'}")
    return common


def _months(f: Field, common: pd.DatetimeIndex) -> np.ndarray:
    i = f.time.get_indexer(common)
    return f.data if np.array_equal(i, np.arange(f.time.size)) else f.data[i]


def _fraction(f: Field, data: np.ndarray) -> np.ndarray:
    """Burned fraction of each cell: converted units, or an area per cell (GFED5 writes km2)
    divided by the cell's area on the field's own grid (ILAMB's CellAreas from bounds)."""
    if is_area(f.units):
        return conversion(f.units, "m2", file=f.label, var=f.name).apply(np.asarray(data, float)) / f.grid.area()
    return convert(data, f.units, "burned_fraction", file=f.label, var=f.name)


def score_fields(ref: Field, mod: Field, *, regions: str = "ilamb", period: str | None = None,
                 mass_weighting: bool = True, regrid: str = "nearest",
                 model_name: str = "model", check: bool = True,
                 override_checks: bool = False) -> Scored:
    """Score ``mod`` against ``ref`` (module docstring). A region holding no cell of the scoring
    grid scores NaN with that reason. ``check``: both fields pass the input gate
    (``drivers.check.gate_fields``: fills, inf, negative or above-1 fractions, the reference's
    magnitude) after unit conversion and before any scoring; errors raise InputCheckError unless
    ``override_checks`` (recorded in ``Scored.inputs``)."""
    how = _plan(ref.grid, mod.grid, regrid)
    common = _common_months(ref, mod, period)
    r, c = _fraction(ref, _months(ref, common)), _fraction(mod, _months(mod, common))
    inputs = None
    if check:
        named = {k: f.name if f.name not in ("", "None") else k for k, f in (("reference", ref), ("model", mod))}
        inputs = gate_fields((r, ref.grid.area(), ref.label, named["reference"]),
                             (c, mod.grid.area(), mod.label, named["model"]), override=override_checks)
    grid, nt = how.target, common.size
    if how.method == "conservative":
        c = remap_conservative(c, mod.grid, grid).values
    r2, c2 = np.asarray(r, float).reshape(nt, -1), np.asarray(c, float).reshape(nt, -1)
    ir, ic = _index(ref.grid, grid, how), _index(mod.grid, grid, how)
    keep = (~np.isnan(r2).all(axis=0))[ir]  # scoring-grid cells with reference data
    R, C = np.ascontiguousarray(r2[:, ir[keep]].T), np.ascontiguousarray(c2[:, ic[keep]].T)
    masks = region_set(regions, grid.lat, grid.lon).masks
    full = {k: np.asarray(m, bool).ravel() for k, m in masks.items()}
    # 2.x weighs Bias and Seasonal by areas of bounds rebuilt from the centres (regrid.rebuilt)
    area_diff = rebuilt(grid).area().ravel()[keep] if how.method != "conservative" else None
    bench = Benchmark.prepare(R, area=grid.area().ravel()[keep], time=common,
                              regions={k: m[keep] for k, m in full.items()},
                              mass_weighting=mass_weighting, n_grid=grid.size,
                              area_diff=area_diff)
    card = bench.card(C, model=model_name, period=f"{common[0]:%Y}-{common[-1]:%Y}")
    empty = [k for k, m in full.items() if not m.any()]
    if empty:
        f = card.frame.copy()
        sel = f.region.isin(empty) & (f.convention == "component")
        f.loc[sel, "reason"] = (f"no cell of the scoring grid {grid.shape[0]}x{grid.shape[1]} "
                                "lies in this region")
        card = ScoreCard(f)
    return Scored(card, how, inputs)


def score(obs: xr.DataArray, model: xr.DataArray, *, regions: str = "ilamb",
          period: str | None = None, mass_weighting: bool = True, model_name: str | None = None,
          obs_label: str = "reference", model_label: str = "model",
          regrid: str = "nearest", check: bool = True, override_checks: bool = False) -> ScoreCard:
    """ILAMB 2.x-conformant scores of ``model`` against ``obs`` (every component, every Overall
    convention, every region of ``regions``: ilamb | gfed | global), on any two lat/lon grids
    (module docstring; bounds at mid-points: files with bounds go through ``score_files``).
    ``check`` / ``override_checks``: the input gate (``score_fields``); skipping or overriding it
    is an explicit choice, warned about (the card carries no report: use ``score_fields``)."""
    ref = field_of(obs, label=obs_label)
    mod = field_of(model, label=model_label)
    res = score_fields(ref, mod, regions=regions, period=period, mass_weighting=mass_weighting,
                       regrid=regrid, model_name=model_name or model_label, check=check,
                       override_checks=override_checks)
    if res.inputs is None or res.inputs.overridden:
        warnings.warn("score: input checks " + ("skipped (check=False)" if res.inputs is None else
                      f"overridden ({res.inputs.summary()['error']} error(s))"), stacklevel=2)
    return res.card
