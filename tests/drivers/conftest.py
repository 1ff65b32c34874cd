"""Small real netCDF files written in tmp_path, for the loader and check tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr


def write_nc(
    path,
    name: str,
    values: np.ndarray,
    *,
    units: str | None,
    lat: np.ndarray | None = None,
    lon: np.ndarray | None = None,
    start: str = "2001-01",
    time_units: str = "days since 1850-01-01",
    calendar: str = "standard",
    mid_month: bool = False,
    attrs: dict | None = None,
) -> str:
    """Write ``values`` (time, lat, lon) or (lat, lon) as a CF netCDF file with numeric time."""
    values = np.asarray(values, dtype=np.float32)
    ny, nx = values.shape[-2:]
    lat = np.linspace(-10.0, 10.0, ny) if lat is None else np.asarray(lat, float)
    lon = np.linspace(20.0, 40.0, nx) if lon is None else np.asarray(lon, float)
    a = dict(attrs or {})
    if units is not None:
        a["units"] = units
    coords = {"lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
              "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"})}
    if values.ndim == 3:
        t = pd.date_range(start, periods=values.shape[0], freq="MS")
        if mid_month:
            t = t + pd.Timedelta(days=14)
        ds = xr.Dataset({name: (("time", "lat", "lon"), values, a)}, coords={"time": t, **coords})
        ds["time"].encoding.update(units=time_units, calendar=calendar, dtype="float64")
    else:
        ds = xr.Dataset({name: (("lat", "lon"), values, a)}, coords=coords)
    ds.to_netcdf(path)
    return str(path)


@pytest.fixture
def nc(tmp_path):
    """``nc(filename, name, values, **kw)`` -> path of a small netCDF file in tmp_path."""

    def make(filename, name, values, **kw):
        return write_nc(tmp_path / filename, name, values, **kw)

    return make


@pytest.fixture
def small_world(nc):
    """Target + pr + tas files on a 4 x 5 grid, 24 months; returns (paths, arrays)."""
    rng = np.random.default_rng(0)
    shape = (24, 4, 5)
    ba = rng.uniform(0, 5, shape)  # percent
    pr = rng.uniform(0, 1e-4, shape)  # kg m-2 s-1
    tas = rng.uniform(10, 30, shape)  # degC
    paths = [
        nc("ba.nc", "burnt", ba, units="%"),
        nc("pr.nc", "pr", pr, units="kg m-2 s-1", time_units="hours since 1900-01-01", mid_month=True),
        nc("tas.nc", "tas", tas, units="degC", time_units="days since 2000-01-01", calendar="noleap"),
    ]
    return paths, {"ba": ba, "pr": pr, "tas": tas}
