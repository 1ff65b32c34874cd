"""Run ILAMB 2.7.3 and ilamb3 2026.4.20 on synthetic gridded worlds (conformance test support).

ILAMB 2.x: the lowest entry point that computes every score is
``ilamblib.AnalysisMeanStateSpace(ref, com, dataset=...)``; it only needs two ``Variable``s and an
open netCDF4 dataset to write its scalars into (a diskless in-memory one here). The Variables are
read from temporary CF netCDF files with a ``standard`` calendar, so ILAMB's own time handling
(conversion to noleap) is exercised. ilamb3: its analysis classes on in-memory xarray Datasets
with nanosecond times and time bounds (2026.4.20 silently skips the cycle analysis otherwise).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

ILAMB2_NAMES = {
    "bias": "Bias Score",
    "rmse": "RMSE Score",
    "seasonal": "Seasonal Cycle Score",
    "spatial": "Spatial Distribution Score",
    "iav": "Interannual Variability Score",
}


@dataclass
class World:
    name: str
    lat: np.ndarray
    lon: np.ndarray
    time: pd.DatetimeIndex
    obs: np.ndarray  # (time, lat, lon), NaN missing
    mod: np.ndarray
    regions: list[str] = field(default_factory=lambda: ["global"])

    @property
    def n_grid(self) -> int:
        return self.lat.size * self.lon.size

    def packed(self):
        """(obs, mod) as (cells, months) over every grid cell, C order."""
        nt = self.time.size
        return (self.obs.reshape(nt, -1).T.copy(), self.mod.reshape(nt, -1).T.copy())

    def area(self) -> np.ndarray:
        from ILAMB.ilamblib import CellAreas

        lb = _bnds(self.lat)
        ob = _bnds(self.lon)
        return CellAreas(None, None, lat_bnds=lb, lon_bnds=ob).ravel()

    def region_masks(self) -> dict[str, np.ndarray]:
        """Masks exactly as ILAMB 2.x Regions.getMask draws them on this grid."""
        from ILAMB.Regions import Regions

        class _V:  # getMask only reads lat, lon, ndata
            lat, lon, ndata = self.lat, self.lon, None

        r = Regions()
        return {k: ~np.asarray(r.getMask(k, _V), dtype=bool).ravel() for k in self.regions}


def _bnds(x):
    b = np.empty((x.size, 2))
    mid = 0.5 * (x[1:] + x[:-1])
    b[1:, 0] = mid
    b[:-1, 1] = mid
    b[0, 0] = x[0] - 0.5 * (x[1] - x[0])
    b[-1, 1] = x[-1] + 0.5 * (x[-1] - x[-2])
    return b


def write_netcdf(path: str, world: World, data: np.ndarray, name: str = "burntArea") -> None:
    write_grid_netcdf(path, world.lat, world.lon, world.time, data, name=name)


def write_grid_netcdf(path: str, lat, lon, time, data: np.ndarray, *, name: str = "burntArea",
                      lat_bnds=None, lon_bnds=None, units: str = "1") -> None:
    """A CF netCDF file (standard calendar, time bounds, fill 1e20); ``lat_bnds``/``lon_bnds``
    written as ``lat_bnds``/``lon_bnds`` named by the coordinates' ``bounds`` attribute."""
    t = pd.DatetimeIndex(time)
    tb = np.stack([t, t + pd.offsets.MonthBegin(1)], axis=1)
    lat_attrs, lon_attrs = {"units": "degrees_north"}, {"units": "degrees_east"}
    extra = {}
    if lat_bnds is not None:
        lat_attrs["bounds"] = "lat_bnds"
        extra["lat_bnds"] = (("lat", "nv"), np.asarray(lat_bnds, float))
    if lon_bnds is not None:
        lon_attrs["bounds"] = "lon_bnds"
        extra["lon_bnds"] = (("lon", "nv"), np.asarray(lon_bnds, float))
    ds = xr.Dataset(
        {name: (("time", "lat", "lon"), np.ma.filled(data, np.nan).astype("f8"), {"units": units}),
         "time_bnds": (("time", "nv"), tb), **extra},
        coords={"time": ("time", t, {"bounds": "time_bnds"}),
                "lat": ("lat", np.asarray(lat, float), lat_attrs),
                "lon": ("lon", np.asarray(lon, float), lon_attrs)},
    )
    enc = {"time": {"units": "days since 1850-01-01", "calendar": "standard"},
           "time_bnds": {"units": "days since 1850-01-01", "calendar": "standard"},
           name: {"_FillValue": 1e20}}
    ds.to_netcdf(path, encoding=enc, format="NETCDF4")


def run_ilamb2(world: World, *, mass_weighting: bool, rmse_basis: str = "cycle") -> dict:
    """{(region, component): value} from ILAMB 2.7.3's AnalysisMeanStateSpace (IAV on)."""
    with tempfile.TemporaryDirectory() as tmp:
        fo, fm = os.path.join(tmp, "obs.nc"), os.path.join(tmp, "mod.nc")
        write_netcdf(fo, world, world.obs)
        write_netcdf(fm, world, world.mod)
        return run_ilamb2_files(fo, fm, regions=world.regions, mass_weighting=mass_weighting,
                                rmse_basis=rmse_basis)


def run_ilamb2_files(obs_path: str, mod_path: str, *, regions, mass_weighting: bool,
                     rmse_basis: str = "cycle", name: str = "burntArea") -> dict:
    """{(region, component): value} from ILAMB 2.7.3's AnalysisMeanStateSpace on two files (any
    grids: 2.x composes them itself); ``("error", region)`` holds what it raised, if it did."""
    import warnings

    from netCDF4 import Dataset

    import ILAMB.ilamblib as il
    from ILAMB.Variable import Variable

    ref = Variable(filename=obs_path, variable_name=name)
    com = Variable(filename=mod_path, variable_name=name)
    out = Dataset("res.nc", "w", diskless=True, persist=False)
    old = np.geterr()
    res = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            il.AnalysisMeanStateSpace(
                ref, com, dataset=out, regions=list(regions),
                mass_weighting=mass_weighting, skip_iav=False,
                rmse_score_basis=rmse_basis,
            )
    except Exception as e:  # noqa: BLE001 - recorded and asserted on by the tests
        res[("error", "all")] = repr(e)
        out.close()
        return res
    finally:
        np.seterr(**old)
    sc = out.groups["MeanState"].groups["scalars"]
    for region in regions:
        for comp, label in ILAMB2_NAMES.items():
            key = f"{label} {region}"
            if key in sc.variables:
                v = sc.variables[key][...]
                res[(region, comp)] = float(np.ma.filled(v, np.nan))
        key = f"Phase Shift {region}"
        if key in sc.variables:
            res[(region, "phase_shift_months")] = float(np.ma.filled(sc.variables[key][...], np.nan))
    out.close()
    return res


def ilamb3_dataset(world: World, data: np.ndarray) -> xr.Dataset:
    t = pd.DatetimeIndex(world.time).astype("datetime64[ns]")
    tb = np.stack([t.values, (t + pd.offsets.MonthBegin(1)).values.astype("datetime64[ns]")], axis=1)
    ds = xr.Dataset(
        {"burntArea": (("time", "lat", "lon"), data.astype("f8"), {"units": "1"}),
         "time_bnds": (("time", "nv"), tb)},
        coords={"time": ("time", t.values, {"bounds": "time_bnds"}),
                "lat": ("lat", world.lat, {"units": "degrees_north"}),
                "lon": ("lon", world.lon, {"units": "degrees_east"})},
    )
    return ds


def register_ilamb3_regions(world: World) -> list[str]:
    """Register this world's region masks in ilamb3 (as netCDF-style regions, exact masks)."""
    import ilamb3.regions as ilr

    labels = []
    for k, m in world.region_masks().items():
        if k == "global":
            continue
        lab = f"ff_{k}_{world.lat.size}x{world.lon.size}"
        ids = xr.DataArray(m.reshape(world.lat.size, world.lon.size).astype(int),
                           dims=("lat", "lon"), coords={"lat": world.lat, "lon": world.lon},
                           attrs={"labels": "labels", "names": "names"})
        dsr = xr.Dataset({"ids": ids, "labels": ("n", np.array([f"_out_{lab}", lab])),
                          "names": ("n", np.array([f"_out_{lab}", lab]))})
        ilr.Regions().add_netcdf(dsr)
        labels.append(lab)
    return labels


def run_ilamb3(world: World, *, mass_weighting: bool) -> dict:
    """{(region, component): value} from ilamb3's bias, rmse, cycle, spatial analyses."""
    import warnings

    from ilamb3.analysis.bias import bias_analysis
    from ilamb3.analysis.cycle import cycle_analysis
    from ilamb3.analysis.rmse import rmse_analysis
    from ilamb3.analysis.spatial_distribution import spatial_distribution_analysis

    labels = register_ilamb3_regions(world)
    names = {None: "global"} | {lab: k for lab, k in zip(labels, [r for r in world.regions if r != "global"])}
    regs = [None] + labels
    ref = ilamb3_dataset(world, world.obs)
    com = ilamb3_dataset(world, world.mod)
    res = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analyses = {
            "bias_ilamb3": bias_analysis("burntArea", regions=regs, mass_weighting=mass_weighting),
            "rmse_ilamb3": rmse_analysis("burntArea", regions=regs),
            "seasonal_ilamb3": cycle_analysis("burntArea", regions=regs),
            "spatial_ilamb3": spatial_distribution_analysis("burntArea", regions=regs),
        }
        for comp, a in analyses.items():
            try:
                df, _, _ = a(ref.copy(deep=True), com.copy(deep=True))
            except Exception as e:  # noqa: BLE001 - recorded and asserted on by the tests
                res[("error", comp)] = repr(e)
                continue
            df = df[df["type"] == "score"]
            for _, row in df.iterrows():
                reg = None if row["region"] == "None" else row["region"]
                res[(names[reg], comp)] = float(row["value"])
    return res
