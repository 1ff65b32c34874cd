"""Score a model file against a reference file (the library behind ``fireform score``).

``read_field`` reads one variable with its grid and the file's cell bounds (``lat_bnds`` /
``lon_bnds``: named by the coordinate's CF ``bounds`` attribute, else ``<coord>_bnds`` or
``<coord>_bounds``; none: mid-points between centres, as ILAMB 2.x); its time is decoded from the
whole file (time bounds included). ``score_files`` scores two such files on any two lat/lon grids
(``score.score_fields``: ILAMB 2.x's composed grid and nearest neighbour by default, or
conservative remapping) and says what it did (``Scored.regridding.line()``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from fireform.drivers import month_index, open_file
from fireform.drivers.load import grid_coords
from fireform.exceptions import ScoringError
from fireform.scoring.score import REGRID_METHODS, Field, Scored, field_of, score_fields

__all__ = ["score_files", "read_field", "REGRID_METHODS"]


def _bounds(ds: xr.Dataset, coord: str, where: str):
    """The bounds of ``coord`` as (n, 2), or None when the file has none."""
    names = [ds[coord].attrs.get("bounds"), f"{coord}_bnds", f"{coord}_bounds"]
    name = next((n for n in names if n and n in ds.variables), None)
    if name is None:
        return None
    b = ds[name]
    if b.ndim != 2 or coord not in b.dims:
        raise ScoringError(f"{where}: bounds {name!r} of {coord!r} have dims {b.dims}; "
                           f"expected ({coord}, 2)")
    return np.asarray(b.transpose(coord, ...).values, dtype=float)


def read_field(path: str, var: str) -> Field:
    """Read ``var`` of ``path`` with its grid normalised as ILAMB 2.x reads it."""
    ds = open_file(path)
    if var not in ds.data_vars:
        raise ScoringError(f"file {path!r} has no variable {var!r}; it holds: "
                           f"{', '.join(map(str, ds.data_vars))}")
    da = ds[var]
    where = f"{path!r} {var!r}"
    lat, lon = grid_coords(da)
    tname = next((str(d) for d in da.dims if str(d).lower() in ("time", "t")), None)
    if lat is None or lon is None or tname is None:
        raise ScoringError(f"{where}: expected dims (time, lat, lon), got {da.dims}")
    lat_b = _bounds(ds, lat, where) if lat in ds.variables else None
    lon_b = _bounds(ds, lon, where) if lon in ds.variables else None
    return field_of(da, label=path, lat_bnds=lat_b, lon_bnds=lon_b,
                    time=month_index(ds, label=path, tname=tname))


def score_files(obs: str, obs_var: str, model: str, model_var: str, *, regions: str = "ilamb",
                period: str | None = None, mass_weighting: bool = True,
                regrid: str = "nearest", check: bool = True, override_checks: bool = False) -> Scored:
    """Score ``model_var`` of ``model`` against ``obs_var`` of ``obs`` (module docstring).

    Units: both converted to burned fraction (``drivers.units``). Time: cut to the months both
    cover (ILAMB's ``MakeComparable`` with ``clip_ref``), then to ``period`` ("YYYY" or
    "YYYY-YYYY"). A region holding no cell of the scoring grid scores NaN with that reason.
    ``check`` / ``override_checks``: the input gate on both fields (``score_fields``).
    """
    ref, mod = read_field(obs, obs_var), read_field(model, model_var)
    return score_fields(ref, mod, regions=regions, period=period, mass_weighting=mass_weighting,
                        regrid=regrid, model_name=Path(model).stem, check=check,
                        override_checks=override_checks)
