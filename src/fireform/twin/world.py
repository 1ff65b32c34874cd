"""The twin world: synthetic, physically patterned drivers on real geography.

``make_world`` builds monthly drivers for every land cell of a regular global grid (land from the
``global-land-mask`` package, Antarctica below 60 S dropped) in the catalog's canonical units.
The climate is a handful of textbook circulation features laid on the real coastlines, so the
structure that fire formulas key on (wet-dry tropical seasons, deserts, boreal summers) emerges
from geography rather than being painted on:

- **Temperature** (deg C): T = T_ann + h(lat) A cos(2 pi (m - 0.54)), with
  T_ann = 27 - 36 s^2 - 8 k s^2 + 10 exp(-F_w / 1500 km) s^2 + 6 k exp(-((|lat| - 25)/8)^2 / 2),
  s = sin(lat), A = 1 + |s| (5 + 27 k), h = tanh(lat / 4 deg) flipping the season across the
  equator (maximum mid-July in the north, a month after the solstice). k = 1 - exp(-d / 800 km)
  is continentality from the distance d to the sea (Euclidean distance transform of the land
  mask), so interiors get large seasonal ranges and cold winters; F_w, the land fetch to the open
  ocean upwind (west), gives mild maritime west coasts; the last term heats subtropical interiors.
- **Precipitation** (mm/day): a rain belt following the sun with a six-week lag
  (lat_I = -2 + 12 cos(2 pi (m - 0.62)): 10 N in August, 14 S in February) plus equatorial
  convection; Hadley descent suppressing rain near 26 +- 4 degrees, strongest in winter and on
  west coasts (cold currents); regional summer monsoons (South and East Asia, Indochina, West
  Africa, North America, northern Australia, South America, southern Africa; after the monsoon
  domains of Wang & Ding 2008); onshore easterlies on tropical and subtropical east coasts;
  mid-latitude storm tracks migrating poleward in summer and decaying with the fetch from the
  western ocean (wet west coasts, dry interiors, Mediterranean dry summers); summer convection
  over warm extra-tropical land. Deserts (Sahara, Arabia, inner Australia, Namib, Atacama) emerge.
- **Interannual variability**: an ENSO-like AR(1) index (monthly rho = 0.93) with a teleconnection
  pattern (dry Indonesia, northern Australia, Amazon, southern Africa and India; wet south-east
  South America, East Africa and the southern USA; warm tropics), plus smooth AR(1) weather noise.
- **Soil moisture**: a 150 mm bucket (Thornthwaite & Mather 1955) with Hamon (1963) potential
  evapotranspiration, PET = 29.8 D e_s(T) / (T + 273.2) mm/day (D day length in hours).
- **RH, VPD**: dew-point depression from moisture availability, e_s from Tetens (1930):
  e_s = 0.6108 exp(17.27 T / (T + 237.3)) kPa, RH = 100 e_s(T_d) / e_s(T), VPD = e_s (1 - RH/100).
- **dry_days** = n_days exp(-P / P_w): days below 1 mm in a month with mean rate P, wet-day
  intensity P_w = 2 + 0.15 max(T, 0) mm/day (convective rain falls on fewer days) - monotone in P.
- **NPP** from the Miami model (Lieth 1975) on each calendar year's mean T and total P:
  NPP_DM = min(3000 / (1 + exp(1.315 - 0.119 T)), 3000 (1 - exp(-0.000664 P))) g DM m-2 yr-1,
  times 0.47 g C per g DM, spread over the months by a growth weight (temperature x soil
  moisture) normalised to mean 1 within the year, so monthly values are annualised rates whose
  annual mean is the Miami value. GPP = NPP / CUE, CUE = 0.5 - 0.1 clip(T_ann / 25, 0, 1)
  (lower carbon-use efficiency in the tropics; DeLucia et al. 2007).
- **Pools**: above-ground woody biomass dB/dt = a_w NPP - B / tau (tau ~ 40 yr, shorter where dry,
  a_w rising with tree cover); leaves dC/dt = a_l NPP - r C with shedding r higher when cold or
  dry; litter dL/dt = r C + f B / tau - k_d L with
  k_d = 0.25 2^((T - 10)/10) (0.2 + 0.8 s) + 0.5 (1 - s) yr-1 (decay plus photodegradation).
  fuel = C + L (g C m-2). Pools start at steady state and spin up for 3 years.
- **Lightning** (CG flashes km-2 month-1) = 4 clip((T - 5)/22, 0)^2.5 P / (P + 3) (1 + 0.5 k):
  warm, wet, convective, continental. **Wind**: storm tracks, trades and coasts.
- **Static**: population density (log-normal clusters around habitable places), cropland
  (temperate climates where people live) and tree cover (rising with the moisture index P/PET,
  thinned by a long dry season, limited by a 10 deg C warmest month), all from the noise-free
  climatology so they do not depend on the years.

Randomness: every stochastic series is drawn from ``SeedSequence([seed, stream, year])``, and the
AR(1) processes run from 1900 (or earlier if asked), so the weather of a given year is the same
whichever range of years is requested; pools depend on the spin-up start. Same arguments ->
bit-identical output.

Designed for a demo truth (``add_truth``): savannas have a long dry season after a productive
wet one (N-African savanna dry in Dec-Feb, S-African in Jun-Sep), boreal summers are warm with a
soil-moisture minimum and VPD maximum in June-August, the hyperarid cores (Sahara, inner
Australia) get ~130 mm/yr and < 100 g C m-2 of fuel, and agb and fuel track GPP across space
(a decoy for GPP gating). VPD in wet-dry tropics peaks late in the dry season (as observed), so
a truth that needs the early dry-season fire peak should gate on dry_days or a short GPP window.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from fireform.drivers import Drivers, catalog, ilamb_regions, spherical_cell_area
from fireform.exceptions import InvalidValueError, MissingVariableError
from fireform.twin.climate import SPIN_YEARS, bucket, climate, seasonal_pr, seasonal_t, time_axis
from fireform.twin.geography import geography, land_grid, land_mask
from fireform.twin.physics import (
    Interp,
    ar1_monthly,
    day_length,
    hamon_pet,
    saturation_vapour_pressure,
    stream_rng,
    wet_day_intensity,
)
from fireform.twin.vegetation import static_fields, vegetation

__all__ = ["SYNTH_VARIABLES", "estimate_bytes", "make_world", "write_world", "world_drivers", "var_attrs", "GENERATOR"]

GENERATOR = "fireform.twin"
GENERATOR_VERSION = "1"

# Dynamic then static variables the twin world writes (burned_fraction only with a truth form).
SYNTH_VARIABLES: tuple[str, ...] = (
    "tas", "tasmax", "pr", "rh", "vpd", "soil_moisture", "dry_days", "lightning", "wind",
    "gpp", "npp", "agb", "fuel", "popd", "cropland", "tree_cover",
)

# CF standard names, only where the CF table has one that means exactly this quantity.
_STANDARD_NAMES = {
    "tas": "air_temperature",
    "tasmax": "air_temperature",
    "pr": "lwe_precipitation_rate",
    "rh": "relative_humidity",
    "vpd": "water_vapor_saturation_deficit_in_air",
    "wind": "wind_speed",
    "gpp": "gross_primary_productivity_of_biomass_expressed_as_carbon",
    "npp": "net_primary_productivity_of_biomass_expressed_as_carbon",
}
_LONG_NAMES = {
    "tas": "Near-surface air temperature",
    "tasmax": "Daily maximum near-surface air temperature",
    "pr": "Precipitation",
    "rh": "Near-surface relative humidity",
    "vpd": "Vapour-pressure deficit",
    "soil_moisture": "Relative root-zone soil wetness",
    "dry_days": "Days with precipitation below 1 mm",
    "lightning": "Cloud-to-ground lightning flash density",
    "wind": "Near-surface wind speed",
    "gpp": "Gross primary production (carbon, annualised rate)",
    "npp": "Net primary production (carbon, annualised rate)",
    "agb": "Above-ground biomass carbon",
    "fuel": "Fine fuel carbon (leaves + litter + fine woody debris)",
    "popd": "Population density",
    "cropland": "Cropland area fraction",
    "tree_cover": "Tree canopy cover fraction",
    "burned_fraction": "Burned fraction of the cell",
}
_CELL_METHODS = {"tasmax": "time: maximum within days time: mean over days"}


def _check_years(years) -> tuple[int, int]:
    try:
        first, last = (int(years[0]), int(years[1]))
    except (TypeError, ValueError, IndexError):
        raise InvalidValueError(f"synth: years={years!r}; expected (first, last), e.g. (2001, 2016)") from None
    if not (1000 <= first <= last <= 9000):
        raise InvalidValueError(
            f"synth: years=({first}, {last}); expected first <= last, both within 1000..9000"
        )
    return first, last


# float64 working arrays of (months incl. spin-up) x land cells alive at once in the generator,
# measured with tracemalloc at 2 and 5 degrees (a generous bound), and the float32 output grids
_WORK_ARRAYS = 40


def estimate_bytes(res: float, years: tuple[int, int]) -> int:
    """Peak memory of :func:`make_world` at ``res`` degrees over ``years`` (an upper estimate):
    land is ~29% of the grid, the generator keeps ~40 float64 (months x land cells) arrays, and
    the output holds 13 float32 (months x grid) fields."""
    n = 180.0 / res
    cells = n * 2 * n
    months_out = 12 * (int(years[1]) - int(years[0]) + 1)
    months_all = months_out + 12 * SPIN_YEARS
    return int(_WORK_ARRAYS * 8 * months_all * 0.29 * cells + 13 * 4 * months_out * cells)


def _available_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def make_world(*, res: float = 1.0, years: tuple[int, int] = (2001, 2016), seed: int = 0) -> xr.Dataset:
    """A twin world: monthly drivers on the real land of a ``res``-degree global grid.

    Returns an xarray Dataset with dims (time, lat, lon) (static variables (lat, lon)), month-start
    ``datetime64[ns]`` times for every month of ``years`` (inclusive), float32 values in the
    catalog's canonical units, NaN over sea and Antarctica, CF attributes, and global attributes
    recording the generator, its version and the seed. See the module docstring for the physics.
    """
    first, last = _check_years(years)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidValueError(f"synth: seed={seed!r}; expected a non-negative integer")
    seed = int(seed)
    grid = land_grid(res)  # validates res first
    need, have = estimate_bytes(res, (first, last)), _available_bytes()
    if have is not None and need > 0.8 * have:
        raise InvalidValueError(
            f"synth: a {res:g} degree world over {first}-{last} needs about {need / 2**30:.1f} GiB of "
            f"memory; {have / 2**30:.1f} GiB is available. Use a coarser res or fewer years")
    geo = geography(grid)
    tax = time_axis(first, last)

    # Smooth static heterogeneity on a 5-degree node grid (resolution-independent).
    snodes = Interp.build(geo.lat, geo.lon, 5.0)
    z = snodes(stream_rng(seed, "static", 0).standard_normal((6,) + snodes.shape))
    static_t = 1.0 * z[3]
    static_p = np.exp(0.2 * z[4] - 0.02)
    tau_mult = np.exp(0.25 * z[5])

    interp = Interp.build(geo.lat, geo.lon, 10.0)
    clim = climate(geo, tax, seed, static_t, static_p, interp)
    tas, pr = clim.tas, clim.pr

    # Noise-free climatology for the static fields (independent of years and weather).
    phase12 = (np.arange(12) + 0.5) / 12.0
    t_clim = seasonal_t(geo, phase12, static_t)
    p_clim = seasonal_pr(geo, phase12, t_clim, static_p)
    static = static_fields(geo, grid, t_clim, p_clim, seed, z)

    dl = day_length(geo.lat[None, :], tax.doy[:, None])
    pet = hamon_pet(tas, dl)
    soil = bucket(pr, pet, tax.ndays)
    # Moisture availability mixes soil wetness with this month's rain.
    wet = 0.5 * soil + 0.5 * (1.0 - np.exp(-pr / 3.0))
    coast = np.exp(-geo.dist_km / 250.0)[None, :]
    depression = (1.5 + 22.0 * (1.0 - wet) ** 1.5 * np.clip((tas + 15.0) / 45.0, 0.05, 1.0)) * (1.0 - 0.3 * coast)
    es = saturation_vapour_pressure(tas)
    rh = np.clip(100.0 * saturation_vapour_pressure(tas - depression) / es, 1.0, 100.0)
    vpd = es * (1.0 - rh / 100.0)
    tasmax = tas + 0.5 * (5.0 + 12.0 * (1.0 - wet))
    # Wet-day intensity grows with temperature (convective rain falls on fewer, heavier days).
    dry_days = tax.ndays[:, None] * np.exp(-pr / wet_day_intensity(tas))
    k = 1.0 - np.exp(-geo.dist_km / 800.0)
    lnoise = interp(ar1_monthly(seed, "lnoise", int(tax.year[0]), last, interp.shape, rho=0.3))
    lightning = (
        4.0 * np.clip((tas - 5.0) / 22.0, 0.0, None) ** 2.5 * pr / (pr + 3.0) * (1.0 + 0.5 * k)[None, :]
    ) * np.exp(0.3 * lnoise)
    veg = vegetation(
        tas, pr, soil, tax, static["tree_cover"], static["cropland"], tau_mult,
    )

    out = slice(tas.shape[0] - tax.n_out, None)
    dynamic = {
        "tas": tas + 273.15,
        "tasmax": tasmax + 273.15,
        "pr": pr,
        "rh": rh,
        "vpd": vpd,
        "soil_moisture": soil,
        "dry_days": dry_days,
        "lightning": lightning,
        "wind": clim.wind,
        "gpp": veg.gpp,
        "npp": veg.npp,
        "agb": veg.agb,
        "fuel": veg.fuel,
    }
    nlat, nlon = grid.lat.size, grid.lon.size
    iy, ix = grid.iy, grid.ix
    n_out = tax.n_out
    cat = catalog()
    data_vars = {}
    for name in SYNTH_VARIABLES:
        if name in dynamic:
            a = np.full((n_out, nlat, nlon), np.nan, dtype=np.float32)
            a[:, iy, ix] = dynamic[name][out]
            dims: tuple[str, ...] = ("time", "lat", "lon")
        else:
            a = np.full((nlat, nlon), np.nan, dtype=np.float32)
            a[iy, ix] = static[name]
            dims = ("lat", "lon")
        data_vars[name] = xr.Variable(dims, a, var_attrs(name, cat))
    ds = xr.Dataset(
        data_vars,
        coords={
            "time": ("time", tax.time[out].values.astype("datetime64[ns]"), {"standard_name": "time", "axis": "T"}),
            "lat": ("lat", grid.lat, {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude", "axis": "Y"}),
            "lon": ("lon", grid.lon, {"units": "degrees_east", "standard_name": "longitude", "long_name": "longitude", "axis": "X"}),
        },
        attrs={
            "Conventions": "CF-1.8",
            "title": "fireform twin world: synthetic, physically patterned fire drivers",
            "source": f"{GENERATOR} version {GENERATOR_VERSION}",
            "fireform_generator": GENERATOR,
            "fireform_generator_version": GENERATOR_VERSION,
            "fireform_seed": seed,
            "fireform_res": float(res),
            "fireform_years": f"{first}-{last}",
            "fireform_spin_years": SPIN_YEARS,
            "comment": (
                "Land from global-land-mask (GLOBE 1 km, nearest to cell centre), Antarctica "
                "south of 60S dropped; NaN over sea. Climate from idealised circulation "
                "features on real coastlines; NPP from the Miami model (Lieth 1975)."
            ),
            "references": (
                "Lieth (1975) Modeling the primary productivity of the world; Tetens (1930); "
                "Hamon (1963); Thornthwaite & Mather (1955); Ropelewski & Halpert (1987)"
            ),
        },
    )
    _assert_in_catalog_ranges(ds)
    return ds


def var_attrs(name: str, cat) -> dict[str, str]:
    attrs = {"units": cat[name].units, "long_name": _LONG_NAMES.get(name, cat[name].description)}
    if name in _STANDARD_NAMES:
        attrs["standard_name"] = _STANDARD_NAMES[name]
    if name in _CELL_METHODS:
        attrs["cell_methods"] = _CELL_METHODS[name]
    return attrs


def _assert_in_catalog_ranges(ds: xr.Dataset) -> None:
    """A generator bug, not bad input, if any value leaves its catalog range."""
    cat = catalog()
    for name, da in ds.data_vars.items():
        v = cat[name]
        lo, hi = float(da.min()), float(da.max())
        if not (np.isfinite(lo) and lo >= v.lo and hi <= v.hi):
            raise InvalidValueError(
                f"synth: generated {name} spans {lo:g}..{hi:g} {v.units}, outside the catalog "
                f"range {v.lo:g}..{v.hi:g} (a generator bug)"
            )


def write_world(path: str | Path, ds: xr.Dataset) -> Path:
    """Write a twin world as CF-compliant, compressed (zlib 1, shuffle) float32 netCDF-4.

    Time is encoded as ``days since 1850-01-01`` on the standard calendar; sea cells carry the
    CF ``_FillValue`` 1e20. Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    enc: dict[str, dict] = {}
    for name, da in ds.data_vars.items():
        chunks = (min(12, da.shape[0]),) + da.shape[1:] if "time" in da.dims else da.shape
        enc[name] = {
            "dtype": "float32",
            "zlib": True,
            "complevel": 1,  # level 4+ saves ~4% here at twice the time
            "shuffle": True,
            "_FillValue": np.float32(1.0e20),
            "chunksizes": chunks,
        }
    enc["time"] = {"units": "days since 1850-01-01", "calendar": "standard", "dtype": "float64"}
    enc["lat"] = {"dtype": "float64", "_FillValue": None}
    enc["lon"] = {"dtype": "float64", "_FillValue": None}
    ds.to_netcdf(path, format="NETCDF4", engine="netcdf4", encoding=enc)
    return path


def world_drivers(ds: xr.Dataset) -> Drivers:
    """``Drivers`` for a twin world (or any global grid): land mask from global-land-mask at cell
    centres (Antarctica dropped), ILAMB regions, spherical cell areas."""
    for c in ("lat", "lon", "time"):
        if c not in ds.coords:
            raise MissingVariableError(f"world dataset has no {c!r} coordinate; coords: {list(ds.coords)}")
    lat = np.asarray(ds["lat"].values, dtype=float)
    lon = np.asarray(ds["lon"].values, dtype=float)
    mask = land_mask(lat, lon)
    target = "burned_fraction" if "burned_fraction" in ds.data_vars else None
    src = str(ds.encoding.get("source", ds.attrs.get("fireform_generator", GENERATOR)))
    # The truth record stays in the world file; drivers (what fits and proposers see) carry none.
    ds = ds.copy()  # shallow: the arrays are shared
    ds.attrs = {k: v for k, v in ds.attrs.items() if not k.startswith("fireform_truth")}
    return Drivers(
        ds=ds,
        cell_area=spherical_cell_area(lat, lon),
        mask=mask,
        regions=ilamb_regions(lat, lon),
        target=target,
        sources={str(v): src for v in ds.data_vars},
    )

