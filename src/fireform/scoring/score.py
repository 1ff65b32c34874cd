"""``score(obs, model)``: two burned-area DataArrays in, a tidy :class:`ScoreCard` out.

Both arrays are (time, lat, lon) with a ``units`` attribute; both are converted to burned
fraction (``fireform.drivers.units``). Time: cut to the months both cover (ILAMB's
``MakeComparable`` with ``clip_ref``), then to ``period``; cells where the reference is missing
in every month are dropped. The grids must match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from fireform.drivers import convert, month_index, parse_years, region_set, spherical_cell_area
from fireform.drivers.load import grid_coords
from fireform.exceptions import ScoringError
from fireform.scoring.card import ScoreCard
from fireform.scoring.prepared import Benchmark

__all__ = ["score"]


def _prepare(da: xr.DataArray, label: str) -> tuple[xr.DataArray, pd.DatetimeIndex, np.ndarray, np.ndarray]:
    lat, lon = grid_coords(da)
    tname = next((str(d) for d in da.dims if str(d).lower() in ("time", "t")), None)
    if lat is None or lon is None or tname is None:
        raise ScoringError(f"{label}: expected dims (time, lat, lon), got {da.dims}")
    time = month_index(da.to_dataset(name="_v") if da.name is None else da.to_dataset(), label=label,
                       tname=tname)
    da = da.transpose(tname, lat, lon)
    la = np.asarray(da[lat].values, float)
    lo = np.asarray(da[lon].values, float)
    vals = np.asarray(da.values, float)
    if np.any(np.diff(la) < 0):
        k = np.argsort(la, kind="stable")
        vals, la = vals[:, k, :], la[k]
    lo = np.where(lo > 180.0, lo - 360.0, lo)
    if np.any(np.diff(lo) < 0):
        k = np.argsort(lo, kind="stable")
        vals, lo = vals[:, :, k], lo[k]
    return xr.DataArray(vals, dims=("time", "lat", "lon"), attrs=dict(da.attrs)), time, la, lo


def score(obs: xr.DataArray, model: xr.DataArray, *, regions: str = "ilamb", period: str | None = None,
          mass_weighting: bool = True, model_name: str | None = None, obs_label: str = "reference",
          model_label: str = "model") -> ScoreCard:
    """ILAMB 2.x-conformant scores of ``model`` against ``obs`` (every component, every Overall
    convention, every region of ``regions``: ilamb | gfed | global)."""
    ro, to, lat, lon = _prepare(obs, obs_label)
    rm, tm, lat2, lon2 = _prepare(model, model_label)
    if lat.shape != lat2.shape or lon.shape != lon2.shape or not (
            np.allclose(lat, lat2) and np.allclose(lon, lon2)):
        raise ScoringError(
            f"grids differ: {obs_label} is {lat.size}x{lon.size} (lat {lat.min():g}..{lat.max():g}, "
            f"lon {lon.min():g}..{lon.max():g}), {model_label} is {lat2.size}x{lon2.size} "
            f"(lat {lat2.min():g}..{lat2.max():g}, lon {lon2.min():g}..{lon2.max():g})")
    common = to.intersection(tm)
    if period:
        a, b = parse_years(period, what="period")
        common = common[(common.year >= a) & (common.year <= b)]
    if common.size == 0:
        raise ScoringError(f"no common months: {obs_label} {to[0]:%Y-%m}..{to[-1]:%Y-%m}, "
                           f"{model_label} {tm[0]:%Y-%m}..{tm[-1]:%Y-%m}, period {period or 'all'}")
    io, im = to.get_indexer(common), tm.get_indexer(common)
    r = convert(ro.values[io], ro.attrs.get("units"), "burned_fraction", file=obs_label, var=str(obs.name))
    c = convert(rm.values[im], rm.attrs.get("units"), "burned_fraction", file=model_label, var=str(model.name))
    nt = common.size
    R, C = r.reshape(nt, -1).T, c.reshape(nt, -1).T
    keep = ~np.isnan(R).all(axis=1)
    rs = region_set(regions, lat, lon)
    masks = {k: m.ravel()[keep] for k, m in rs.masks.items()}
    area = spherical_cell_area(lat, lon).ravel()[keep]
    bench = Benchmark.prepare(R[keep], area=area, time=common, regions=masks,
                              mass_weighting=mass_weighting, n_grid=lat.size * lon.size)
    label = f"{common[0]:%Y}-{common[-1]:%Y}"
    return bench.card(C[keep], model=model_name or model_label, period=label)
