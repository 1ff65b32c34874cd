"""A CMOR-style bundle written from a twin world with a known truth: what a modeller brings.

``write_cmor_bundle(folder)`` writes the twin world of ``make_world(res, years, seed)`` with the
truth of ``add_truth(..., sigma=noise, seed=seed)`` (the world a ``source = "twin"`` spec with the
same values builds) the way CMIP/TRENDY model output and GFED-style observations come:

- model files ``model/<var>_<model>.nc``, one variable per file, CMOR names and SI units:
  ``tas``/``tasmax`` (K), ``pr``/``gpp``/``npp`` (kg m-2 s-1), ``hurs`` (%), ``mrso`` with the
  static ``mrsofc`` (kg m-2), ``cVeg``/``cLitter`` (kg m-2), ``sfcWind`` (m s-1), ``cropFrac``/
  ``treeFrac`` (%), ``lightning`` (km-2 day-1), ``popd`` (km-2) and the model's own
  ``burntFractionAll`` (%): a model whose fire is the noise-free truth times ``fire_bias``;
- a noleap calendar counted from 1700 (``days since 1700-01-01``, mid-month stamps with bounds),
  1e20 fills (``_FillValue`` and ``missing_value``), longitudes 0..360, latitude north to south;
- observations ``obs/burntArea.nc``: the noisy truth in percent on a grid twice as fine (each
  model cell split in four), a standard calendar counted from 1990, longitudes -180..180.

Values are converted with the loader's own conversions (``drivers.conversion``), so reading the
bundle back gives the world's values to float32 rounding, through the loader's derivations from
model outputs (``drivers.from_model``): VPD from ``tas`` + ``hurs`` (``vpd`` itself, which CMOR
lacks, only with ``vpd=True``), soil wetness from ``mrso`` = wetness x ``mrsofc``, above-ground
biomass from ``cVeg`` = agb / ``ABOVE_GROUND_FRACTION``, fine fuel from ``cLitter``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cftime
import numpy as np
import xarray as xr

from fireform.drivers import conversion, variable
from fireform.drivers.from_model import ABOVE_GROUND_FRACTION
from fireform.twin import add_truth, demo_truth, make_world

__all__ = ["CmorBundle", "write_cmor_bundle", "CMOR_FILES"]

FILL = 1e20
# catalog name -> (CMOR/file variable name, units written)
CMOR_FILES: dict[str, tuple[str, str]] = {
    "tas": ("tas", "K"),
    "tasmax": ("tasmax", "K"),
    "pr": ("pr", "kg m-2 s-1"),
    "rh": ("hurs", "%"),
    "gpp": ("gpp", "kg m-2 s-1"),
    "npp": ("npp", "kg m-2 s-1"),
    "agb": ("cVeg", "kg m-2"),  # whole-plant carbon: agb / ABOVE_GROUND_FRACTION
    "fuel": ("cLitter", "kg m-2"),
    "wind": ("sfcWind", "m s-1"),
    "lightning": ("lightning", "km-2 day-1"),
    "popd": ("popd", "km-2"),
    "cropland": ("cropFrac", "%"),
    "tree_cover": ("treeFrac", "%"),
}
_STANDARD = {"tas": "air_temperature", "tasmax": "air_temperature", "pr": "precipitation_flux",
             "hurs": "relative_humidity", "sfcWind": "wind_speed",
             "gpp": "gross_primary_productivity_of_biomass_expressed_as_carbon",
             "npp": "net_primary_productivity_of_biomass_expressed_as_carbon"}


@dataclass(frozen=True)
class CmorBundle:
    """The files written and the world they came from (canonical units, the twin's grid)."""

    folder: Path
    model_dir: Path
    model_files: list[Path]
    obs_file: Path
    world: xr.Dataset


def _to(values: np.ndarray, name: str, units: str) -> np.ndarray:
    """Canonical values of catalog ``name`` in ``units``: the inverse of the loader's conversion."""
    c = conversion(units, variable(name).units, file="<bundle>", var=name)
    return ((np.asarray(values, np.float64) - c.offset) / c.scale).astype(np.float32)


def _model_time(years: tuple[int, int], calendar: str) -> tuple[np.ndarray, np.ndarray]:
    """Mid-month stamps and month bounds in days since 1700-01-01 of ``calendar``."""
    lo, hi = [], []
    for y in range(years[0], years[1] + 1):
        for m in range(1, 13):
            a = cftime.datetime(y, m, 1, calendar=calendar)
            b = cftime.datetime(y + (m == 12), m % 12 + 1, 1, calendar=calendar)
            lo.append(cftime.date2num(a, "days since 1700-01-01", calendar=calendar))
            hi.append(cftime.date2num(b, "days since 1700-01-01", calendar=calendar))
    bnds = np.stack([lo, hi], axis=1).astype(float)
    return bnds.mean(axis=1), bnds


def _model_grid(da: xr.DataArray) -> xr.DataArray:
    """Longitudes 0..360 (ascending), latitude north to south."""
    da = da.assign_coords(lon=np.mod(da.lon.values, 360.0)).sortby("lon")
    return da.isel(lat=slice(None, None, -1))


def _write(path: Path, name: str, da: xr.DataArray, units: str, tnum, tbnds, calendar: str,
           tunits: str, extra: dict | None = None) -> Path:
    attrs = {"units": units, "missing_value": np.float32(FILL), **(extra or {})}
    if name in _STANDARD:
        attrs["standard_name"] = _STANDARD[name]
    values = np.asarray(da.values, np.float32)
    coords: dict[str, tuple] = {"lat": ("lat", da.lat.values, {"units": "degrees_north", "standard_name": "latitude"}),
              "lon": ("lon", da.lon.values, {"units": "degrees_east", "standard_name": "longitude"})}
    data_vars: dict[str, tuple] = {}
    if "time" in da.dims:
        coords["time"] = ("time", tnum, {"units": tunits, "calendar": calendar, "bounds": "time_bnds",
                                         "standard_name": "time"})
        data_vars["time_bnds"] = (("time", "bnds"), tbnds)
    data_vars[name] = (da.dims, values, attrs)
    ds = xr.Dataset(data_vars, coords=coords, attrs={"Conventions": "CF-1.7 CMIP-6.2",
                                                    "source": "fireform.testing.cmor (twin world)"})
    enc: dict[str, dict] = {name: {"_FillValue": np.float32(FILL), "dtype": "float32"}, "lat": {"_FillValue": None},
           "lon": {"_FillValue": None}}
    if "time" in da.dims:
        enc["time"] = {"_FillValue": None}
        enc["time_bnds"] = {"_FillValue": None}
    ds.to_netcdf(path, encoding=enc)
    return path


def write_cmor_bundle(folder: str | Path, *, res: float = 5.0, years: tuple[int, int] = (2001, 2006),
                      seed: int = 0, noise: float = 0.2, fire_bias: float = 0.6, vpd: bool = False,
                      model_name: str = "TWIN-ESM", calendar: str = "noleap", obs_refine: int = 2,
                      obs_percent: bool = True, obs_lon_360: bool = False, obs_lat_north_first: bool = False,
                      ) -> CmorBundle:
    """Write the bundle (module docstring) into ``folder``; returns where everything is.

    Variations: ``calendar`` of the model files (noleap, 360_day, standard, ...); the
    observations ``obs_refine`` times finer (1: the model's grid), in percent or as a fraction,
    on longitudes -180..180 or 0..360, latitude south-to-north or north-to-south."""
    root = Path(folder)
    mdir, odir = root / "model", root / "obs"
    mdir.mkdir(parents=True, exist_ok=True)
    odir.mkdir(parents=True, exist_ok=True)
    world = add_truth(make_world(res=res, years=years, seed=seed), demo_truth(), sigma=noise, seed=seed)
    clean = add_truth(make_world(res=res, years=years, seed=seed), demo_truth(), sigma=0.0, seed=seed)
    tnum, tbnds = _model_time(years, calendar)
    files = []
    table = dict(CMOR_FILES)
    if vpd:
        table["vpd"] = ("vpd", "kPa")
    for name, (cmor, units) in table.items():
        vals = world[name].values / (ABOVE_GROUND_FRACTION if cmor == "cVeg" else 1.0)
        da = _model_grid(world[name].copy(data=_to(vals, name, units)))
        files.append(_write(mdir / f"{cmor}_{model_name}.nc", cmor, da, units, tnum, tbnds, calendar,
                            "days since 1700-01-01"))
    # soil moisture: a field capacity per cell and the water content it implies
    fc = (300.0 + 400.0 * (0.5 + 0.5 * np.cos(np.deg2rad(world.lat.values)))[:, None]
          * np.ones(world.lon.size)[None, :]).astype(np.float32)
    fc_da = _model_grid(xr.DataArray(np.where(np.isfinite(world["tas"].values[0]), fc, np.nan),
                                     dims=("lat", "lon"), coords={"lat": world.lat, "lon": world.lon}))
    files.append(_write(mdir / f"mrsofc_{model_name}.nc", "mrsofc", fc_da, "kg m-2", tnum, tbnds,
                        calendar, "days since 1700-01-01",
                        {"standard_name": "soil_moisture_content_at_field_capacity"}))
    mrso = world["soil_moisture"] * xr.DataArray(fc, dims=("lat", "lon"), coords={"lat": world.lat, "lon": world.lon})
    files.append(_write(mdir / f"mrso_{model_name}.nc", "mrso", _model_grid(mrso.astype(np.float32)), "kg m-2",
                        tnum, tbnds, calendar, "days since 1700-01-01",
                        {"standard_name": "mass_content_of_water_in_soil"}))
    fire = _model_grid(clean["burned_fraction"] * fire_bias * 100.0)
    files.append(_write(mdir / f"burntFractionAll_{model_name}.nc", "burntFractionAll", fire, "%", tnum, tbnds,
                        calendar, "days since 1700-01-01"))
    # observations: twice as fine (each cell split in four), standard calendar, lon -180..180
    obs = world["burned_fraction"] * (100.0 if obs_percent else 1.0)
    k = int(obs_refine)
    off = (np.arange(k) - (k - 1) / 2) * res / k  # sub-cell centres around each model cell's centre
    fine = obs.values.repeat(k, axis=1).repeat(k, axis=2)
    lat = np.repeat(world.lat.values, k) + np.tile(off, world.lat.size)
    lon = np.repeat(world.lon.values, k) + np.tile(off, world.lon.size)
    obs_da = xr.DataArray(fine, dims=("time", "lat", "lon"), coords={"time": world.time, "lat": lat, "lon": lon})
    if obs_lon_360:
        obs_da = obs_da.assign_coords(lon=np.mod(lon, 360.0)).sortby("lon")
    if obs_lat_north_first:
        obs_da = obs_da.isel(lat=slice(None, None, -1))
    lo = [cftime.DatetimeGregorian(y, m, 1) for y in range(years[0], years[1] + 1) for m in range(1, 13)]
    hi = [cftime.DatetimeGregorian(y + (m == 12), m % 12 + 1, 1) for y in range(years[0], years[1] + 1)
          for m in range(1, 13)]
    ob = np.stack([cftime.date2num(lo, "days since 1990-01-01", calendar="standard"),
                   cftime.date2num(hi, "days since 1990-01-01", calendar="standard")], axis=1).astype(float)
    obs_file = _write(odir / "burntArea.nc", "burntArea", obs_da, "%" if obs_percent else "1", ob.mean(axis=1), ob,
                      "standard",
                      "days since 1990-01-01", {"long_name": "burned area (GFED-style)"})
    return CmorBundle(root, mdir, files, obs_file, world)
