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

import hashlib
import importlib.util
import json
import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from fireform.drivers.catalog import catalog
from fireform.drivers.dataset import Drivers, spherical_cell_area
from fireform.drivers.regions import ilamb_regions
from fireform.exceptions import (
    DataNotFoundError,
    FireformError,
    InvalidValueError,
    MissingVariableError,
)

__all__ = [
    "SYNTH_VARIABLES",
    "LandGrid",
    "land_grid",
    "land_mask",
    "make_world",
    "write_world",
    "world_drivers",
    "add_truth",
    "load_truth_form",
    "wet_day_intensity",
    "miami_npp",
    "saturation_vapour_pressure",
    "hamon_pet",
    "day_length",
]

GENERATOR = "fireform.drivers.synth"
GENERATOR_VERSION = "1"
SPIN_YEARS = 3  # years of weather run before the first requested year (pool spin-up)
NOISE_ORIGIN = 1900  # AR(1) noise starts here so a year's weather is range-independent
SOUTH_CUT = -60.0  # drop Antarctica: land cells with centres south of this are not used
KM_PER_DEG = 111.195  # great-circle km per degree on the 6371 km sphere
CARBON_PER_DM = 0.47  # g C per g dry matter
BUCKET_MM = 150.0  # root-zone water capacity

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

# Independent random streams (the number is the stream's key in the SeedSequence).
_STREAM = {"enso": 1, "tnoise": 2, "pnoise": 3, "wnoise": 4, "static": 5, "popd": 6, "lnoise": 7, "truth": 8}


# ------------------------------------------------------------------------------------------
# Geography
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LandGrid:
    """A regular global grid and its land cells (packed in C order, lat-major).

    ``land`` excludes Antarctica (cells south of ``SOUTH_CUT``); ``land_full`` keeps it (used for
    distances to the sea, which Antarctic ice does not shorten).
    """

    res: float
    lat: np.ndarray  # (nlat,) ascending cell centres
    lon: np.ndarray  # (nlon,) ascending cell centres in -180..180
    land: np.ndarray  # (nlat, nlon) bool
    land_full: np.ndarray  # (nlat, nlon) bool, incl. Antarctica

    @property
    def iy(self) -> np.ndarray:
        return np.nonzero(self.land)[0]

    @property
    def ix(self) -> np.ndarray:
        return np.nonzero(self.land)[1]

    @property
    def n_cells(self) -> int:
        return int(self.land.sum())


def _grid_axes(res: float) -> tuple[np.ndarray, np.ndarray]:
    n = 180.0 / res
    if not (0.25 <= res <= 5.0) or abs(n - round(n)) > 1e-9:
        raise InvalidValueError(
            f"synth: resolution res={res!r} degrees is not supported; expected a value in "
            "0.25..5 that divides 180 (e.g. 0.5, 1 or 2)"
        )
    nlat, nlon = int(round(n)), int(round(2 * n))
    lat = -90.0 + res * (np.arange(nlat) + 0.5)
    lon = -180.0 + res * (np.arange(nlon) + 0.5)
    return lat, lon


def _npy_header(f) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    return np.lib.format.read_array_header_2_0(f)


def _mask_file() -> Path:
    # Locate the package's data without importing it: its __init__ decompresses the full mask.
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError(
            "the global-land-mask package is not installed; `pip install global-land-mask`"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "globe_combined_mask_compressed.npz"
    if not path.is_file():
        raise DataNotFoundError(f"{path}: global-land-mask's mask file is missing")
    return path


def _cache_dir() -> Path:
    """Where sampled land masks are cached: $FIREFORM_CACHE, else ~/.cache/fireform."""
    root = os.environ.get("FIREFORM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "fireform"
    )
    return Path(root) / "landmask"


@lru_cache(maxsize=8)
def _land_at(lat_key: bytes, lon_key: bytes) -> np.ndarray:
    """Land (True) at every (lat, lon) cell centre, from global-land-mask's file.

    Decompressing the 1/120-degree mask takes seconds, so the sampled mask is cached on disk,
    keyed by the grid and the mask file's size and modification time; a cache that cannot be
    read or written is ignored.
    """
    src = _mask_file()
    st = src.stat()
    key = hashlib.sha256(lat_key + lon_key + f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:24]
    cached = _cache_dir() / f"{key}.npy"
    try:
        out = np.load(cached, allow_pickle=False)
        if out.dtype == bool and out.shape == (len(lat_key) // 8, len(lon_key) // 8):
            out.setflags(write=False)
            return out
    except (OSError, ValueError):
        pass
    out = _stream_land(src, lat_key, lon_key)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, out, allow_pickle=False)
        os.replace(tmp, cached)
    except OSError:
        pass
    out.setflags(write=False)
    return out


def _stream_land(src: Path, lat_key: bytes, lon_key: bytes) -> np.ndarray:
    """Read the rows we need from the package's npz, one block at a time.

    The package's own ``globe.is_land`` decompresses the whole mask (0.93 GB) into memory;
    streaming gives the same nearest-point answer in a few MB.
    """
    lat = np.frombuffer(lat_key, dtype=np.float64)
    lon = np.frombuffer(lon_key, dtype=np.float64)
    with zipfile.ZipFile(src) as z:
        with z.open("lat.npy") as f:
            _, _, dt = _npy_header(f)
            flat = np.frombuffer(f.read(), dtype=dt)
        with z.open("lon.npy") as f:
            _, _, dt = _npy_header(f)
            flon = np.frombuffer(f.read(), dtype=dt)
        # Nearest fine row / column of each centre (the fine lat axis runs from 90 downwards).
        rows = np.clip(np.rint((lat - flat[0]) / (flat[1] - flat[0])).astype(np.int64), 0, flat.size - 1)
        cols = np.clip(np.rint((lon - flon[0]) / (flon[1] - flon[0])).astype(np.int64), 0, flon.size - 1)
        out = np.zeros((lat.size, lon.size), dtype=bool)
        with z.open("mask.npy") as f:
            shape, fortran, dt = _npy_header(f)
            if fortran or dt != np.dtype(bool) or shape != (flat.size, flon.size):
                raise InvalidValueError(
                    f"{_mask_file()}: mask.npy has shape {shape}, dtype {dt}; expected "
                    f"({flat.size}, {flon.size}) bool in C order"
                )
            order = np.argsort(rows, kind="stable")
            need = rows[order]
            block = 240
            done = 0
            start = 0
            while done < need.size:
                buf = f.read(block * shape[1])
                if not buf:
                    break
                chunk = np.frombuffer(buf, dtype=bool).reshape(-1, shape[1])
                stop = start + chunk.shape[0]
                while done < need.size and need[done] < stop:
                    # The file's mask is True over the ocean (globe.is_ocean); land is its negation.
                    out[order[done]] = ~chunk[need[done] - start, cols]
                    done += 1
                start = stop
    return out


def land_mask(lat: np.ndarray, lon: np.ndarray, *, drop_antarctica: bool = True) -> np.ndarray:
    """Land at each cell centre of a lat/lon grid, from ``global-land-mask`` (GLOBE, 1 km).

    Lakes count as land (as in the package). With ``drop_antarctica`` cells south of 60 S are
    not land. Longitudes may be in 0..360.
    """
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    lon = np.ascontiguousarray(np.where(lon > 180.0, lon - 360.0, lon))
    keep = lat >= SOUTH_CUT if drop_antarctica else np.ones(lat.size, dtype=bool)
    m = np.zeros((lat.size, lon.size), dtype=bool)
    if keep.any():
        m[keep] = _land_at(np.ascontiguousarray(lat[keep]).tobytes(), lon.tobytes())
    return m


def land_grid(res: float) -> LandGrid:
    """The regular global grid at ``res`` degrees and its land cells."""
    lat, lon = _grid_axes(res)
    keep = lat >= SOUTH_CUT
    # Rows south of the cut are never used as cells; for distances to the sea they count as
    # land (Antarctica), which also saves reading a sixth of the mask file.
    full = np.ones((lat.size, lon.size), dtype=bool)
    full[keep] = land_mask(lat, lon)[keep]
    land = full & keep[:, None]
    return LandGrid(res=float(res), lat=lat, lon=lon, land=land, land_full=full)


@dataclass(frozen=True)
class _Geo:
    """Per land cell geography (packed vectors)."""

    lat: np.ndarray
    lon: np.ndarray
    dist_km: np.ndarray  # to the nearest sea cell (continentality)
    fetch_west_km: np.ndarray  # land (and inland sea) run to the west before the open ocean
    fetch_east_km: np.ndarray  # the same to the east


def _run_length(barrier_free: np.ndarray, axis: int, *, reverse: bool, wrap: bool) -> np.ndarray:
    """Cells from each cell back to the last barrier cell (where ``barrier_free`` is False)
    along ``axis``; 0 on a barrier cell."""
    a = np.moveaxis(barrier_free, axis, -1)
    if reverse:
        a = a[..., ::-1]
    n = a.shape[-1]
    if wrap:
        a = np.concatenate([a, a], axis=-1)
    idx = np.arange(a.shape[-1])
    last = np.where(~a, idx, -(10 * n))
    last = np.maximum.accumulate(last, axis=-1)
    run = np.minimum(idx - last, 2 * n).astype(float)
    if wrap:
        run = run[..., n:]
    if reverse:
        run = run[..., ::-1]
    return np.moveaxis(run, -1, axis)


OPEN_OCEAN_KM = 300.0  # sea this far from any land counts as open ocean (moisture source)


def _geography(g: LandGrid) -> _Geo:
    iy, ix = g.iy, g.ix
    land = g.land_full
    nlon = g.lon.size
    km_cell = g.res * KM_PER_DEG

    def edt_periodic(x: np.ndarray) -> np.ndarray:
        # Periodic in longitude: tile three times and keep the middle copy. Distances are in
        # grid units converted with km per degree of latitude, so high-latitude interiors come
        # out somewhat more continental than on the sphere (a stated simplification).
        tiled = np.concatenate([x, x, x], axis=1)
        return ndimage.distance_transform_edt(tiled)[:, nlon : 2 * nlon] * km_cell

    dist = edt_periodic(land)
    # Open ocean: sea cells far from land. Inland and marginal seas (Mediterranean, Red Sea,
    # Hudson Bay) do not feed the westerlies or trades here.
    open_ocean = ~land & (edt_periodic(~land) > OPEN_OCEAN_KM)
    km_lon = km_cell * np.maximum(np.cos(np.deg2rad(g.lat)), 0.05)[:, None]
    fw = _run_length(~open_ocean, 1, reverse=False, wrap=True) * km_lon
    fe = _run_length(~open_ocean, 1, reverse=True, wrap=True) * km_lon
    return _Geo(
        lat=g.lat[iy],
        lon=g.lon[ix],
        dist_km=dist[iy, ix],
        fetch_west_km=fw[iy, ix],
        fetch_east_km=fe[iy, ix],
    )


def _angular_km(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Great-circle distance (km) from (lat0, lon0), haversine."""
    p1, p2 = np.deg2rad(lat), np.deg2rad(lat0)
    dl = np.deg2rad(lon - lon0)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


# ------------------------------------------------------------------------------------------
# Formulas (each hand-checked in tests)
# ------------------------------------------------------------------------------------------
def miami_npp(tas_c, pr_mm_yr):
    """Miami model (Lieth 1975): annual NPP in g dry matter m-2 yr-1.

    NPP = min(3000 / (1 + exp(1.315 - 0.119 T)), 3000 (1 - exp(-0.000664 P))),
    T annual mean air temperature (deg C), P annual precipitation (mm yr-1).
    Multiply by ``CARBON_PER_DM`` (0.47) for g C.
    """
    t = np.asarray(tas_c, dtype=float)
    p = np.asarray(pr_mm_yr, dtype=float)
    npp_t = 3000.0 / (1.0 + np.exp(1.315 - 0.119 * t))
    npp_p = 3000.0 * (1.0 - np.exp(-0.000664 * p))
    return np.minimum(npp_t, npp_p)


def saturation_vapour_pressure(t_c):
    """Tetens (1930) saturation vapour pressure over water, kPa: 0.6108 exp(17.27 T / (T + 237.3))."""
    t = np.asarray(t_c, dtype=float)
    return 0.6108 * np.exp(17.27 * t / (t + 237.3))


def day_length(lat_deg, doy):
    """Day length (hours): 24/pi arccos(-tan(lat) tan(decl)), decl = 23.44 sin(2 pi (284 + doy)/365)
    (Cooper 1969); polar day and night clip to 24 and 0."""
    decl = np.deg2rad(23.44) * np.sin(2 * np.pi * (284.0 + np.asarray(doy, dtype=float)) / 365.0)
    x = -np.tan(np.deg2rad(lat_deg)) * np.tan(decl)
    return 24.0 / np.pi * np.arccos(np.clip(x, -1.0, 1.0))


def hamon_pet(t_c, day_length_h):
    """Hamon (1963) potential evapotranspiration, mm/day: 29.8 D e_s(T) / (T + 273.2) for T > 0
    (D day length in hours, e_s Tetens in kPa), 0 at or below freezing."""
    t = np.asarray(t_c, dtype=float)
    pet = 29.8 * np.asarray(day_length_h) * saturation_vapour_pressure(t) / (t + 273.2)
    return np.where(t > 0.0, pet, 0.0)


def wet_day_intensity(t_c):
    """Mean rain per wet day (mm/day) used to count dry days: P_w = 2 + 0.15 max(T, 0), T in deg C
    (about 2 mm in cold climates, 6 mm in the humid tropics).

    dry_days = n_days exp(-P / P_w) for a monthly mean rate P: the share of days below 1 mm falls
    monotonically as P rises, as in gamma-distributed daily rain with fixed intensity.
    """
    return 2.0 + 0.15 * np.clip(np.asarray(t_c, dtype=float), 0.0, None)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


# ------------------------------------------------------------------------------------------
# Randomness: keyed streams, coarse smooth fields
# ------------------------------------------------------------------------------------------
def _rng(seed: int, stream: str, year: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _STREAM[stream], year + 10_000]))


@dataclass(frozen=True)
class _Interp:
    """Bilinear weights from a periodic coarse lat/lon node grid to packed cells."""

    idx: np.ndarray  # (4, n_cells) flat node indices
    w: np.ndarray  # (4, n_cells)
    shape: tuple[int, int]

    @classmethod
    def build(cls, lat: np.ndarray, lon: np.ndarray, step: float) -> "_Interp":
        nla = int(round(180 / step)) + 1
        nlo = int(round(360 / step))
        fy = (lat + 90.0) / step
        fx = ((lon + 180.0) % 360.0) / step
        y0 = np.clip(np.floor(fy).astype(int), 0, nla - 2)
        x0 = np.floor(fx).astype(int) % nlo
        wy = fy - y0
        wx = fx - np.floor(fx)
        x1 = (x0 + 1) % nlo
        idx = np.stack([y0 * nlo + x0, y0 * nlo + x1, (y0 + 1) * nlo + x0, (y0 + 1) * nlo + x1])
        w = np.stack([(1 - wy) * (1 - wx), (1 - wy) * wx, wy * (1 - wx), wy * wx])
        return cls(idx=idx, w=w, shape=(nla, nlo))

    def __call__(self, nodes: np.ndarray) -> np.ndarray:
        """nodes (..., nla, nlo) -> (..., n_cells)."""
        flat = nodes.reshape(nodes.shape[:-2] + (-1,))
        out = flat[..., self.idx[0]] * self.w[0]
        for k in range(1, 4):
            out += flat[..., self.idx[k]] * self.w[k]
        return out


def _ar1_monthly(
    seed: int, stream: str, first_year: int, last_year: int, node_shape: tuple[int, ...], rho: float
) -> np.ndarray:
    """Unit-variance AR(1) series of node fields, months of first_year..last_year.

    Innovations for each year come from that year's own stream and the recursion starts at
    ``min(NOISE_ORIGIN, first_year)``, so a year's values do not depend on the range asked for.
    """
    origin = min(NOISE_ORIGIN, first_year)
    x = _rng(seed, stream, origin - 1).standard_normal(node_shape)  # stationary start
    keep = []
    c = np.sqrt(1.0 - rho * rho)
    for year in range(origin, last_year + 1):
        eps = _rng(seed, stream, year).standard_normal((12,) + node_shape)
        months = np.empty_like(eps)
        for m in range(12):
            x = rho * x + c * eps[m]
            months[m] = x
        if year >= first_year:
            keep.append(months)
    return np.concatenate(keep, axis=0)


# ------------------------------------------------------------------------------------------
# Climate
# ------------------------------------------------------------------------------------------
# ENSO teleconnections: (lat, lon, radius km, precipitation log-response, temperature response)
# per unit of the index (El Nino positive), after the canonical composites of Ropelewski &
# Halpert (1987).
_ENSO_CENTRES = (
    (0.0, 120.0, 1800.0, -0.35, 0.3),  # Maritime continent: drought
    (-18.0, 140.0, 1400.0, -0.30, 0.3),  # northern and eastern Australia
    (-3.0, -60.0, 1800.0, -0.25, 0.4),  # Amazonia
    (-18.0, 28.0, 1400.0, -0.20, 0.3),  # southern Africa
    (22.0, 78.0, 1200.0, -0.15, 0.2),  # India (weak monsoon)
    (-30.0, -57.0, 1000.0, 0.25, 0.0),  # south-eastern South America: wet
    (0.0, 38.0, 900.0, 0.25, 0.0),  # East Africa short rains
    (30.0, -100.0, 1200.0, 0.15, -0.2),  # southern USA and northern Mexico
    (58.0, -125.0, 1500.0, 0.0, 0.5),  # north-western North America: warm winter
)


@dataclass(frozen=True)
class _Time:
    time: pd.DatetimeIndex  # all months incl. spin-up
    n_out: int  # trailing months that are output
    month: np.ndarray  # 1..12
    year: np.ndarray
    ndays: np.ndarray
    phase: np.ndarray  # mid-month fraction of the year
    doy: np.ndarray  # mid-month day of year


def _time_axis(first: int, last: int) -> _Time:
    time = pd.date_range(f"{first - SPIN_YEARS}-01-01", f"{last}-12-01", freq="MS")
    month = np.asarray(time.month)
    ndays = np.asarray(time.days_in_month, dtype=float)
    doy = np.asarray(time.day_of_year, dtype=float) + 0.5 * ndays - 0.5
    return _Time(
        time=time,
        n_out=12 * (last - first + 1),
        month=month,
        year=np.asarray(time.year),
        ndays=ndays,
        phase=(month - 0.5) / 12.0,
        doy=doy,
    )


@dataclass(frozen=True)
class _Climate:
    tas: np.ndarray  # deg C (n_t, n_c)
    pr: np.ndarray  # mm/day
    wind: np.ndarray  # m/s


def _seasonal_t(geo: _Geo, phase: np.ndarray, static_t: np.ndarray) -> np.ndarray:
    """Noise-free temperature (deg C) for mid-month ``phase`` (n_t,) -> (n_t, n_c)."""
    lat = geo.lat
    s2 = np.sin(np.deg2rad(lat)) ** 2
    k = 1.0 - np.exp(-geo.dist_km / 800.0)
    # Zonal mean, colder continental interiors, and maritime west coasts at mid-high latitudes
    # (the warm side of the ocean gyres).
    maritime = 10.0 * np.exp(-geo.fetch_west_km / 1500.0) * s2
    # Hot subtropical interiors under the Hadley descent (Sahara, Arabia, inner Australia).
    hot = 6.0 * k * np.exp(-0.5 * ((np.abs(lat) - 25.0) / 8.0) ** 2)
    t_ann = 27.0 - 36.0 * s2 - 8.0 * k * s2 + maritime + hot + static_t
    # An ice-sheet stand-in: Greenland's interior is far colder than its latitude suggests
    # (the generator has no altitude).
    greenland = (lat > 60) & (geo.lon > -75) & (geo.lon < -10)
    t_ann = t_ann - 15.0 * greenland * (1.0 - np.exp(-geo.dist_km / 150.0))
    amp = 1.0 + np.sqrt(s2) * (5.0 + 27.0 * k)
    hemi = np.tanh(lat / 4.0)
    season = np.cos(2 * np.pi * (phase - 0.54))[:, None]
    return t_ann[None, :] + hemi[None, :] * amp[None, :] * season


# Regional summer monsoons (after the global monsoon domains of Wang & Ding 2008):
# (lat, lon, sigma_lat, sigma_lon, peak mm/day).
_MONSOONS = (
    (21.0, 80.0, 6.0, 11.0, 9.0),  # South Asia
    (16.0, 102.0, 6.0, 9.0, 8.0),  # Indochina
    (29.0, 114.0, 7.0, 11.0, 6.0),  # East Asia
    (9.0, 0.0, 3.5, 16.0, 4.0),  # West Africa
    (22.0, -104.0, 5.0, 7.0, 4.0),  # North America
    (-14.0, 133.0, 4.0, 11.0, 8.0),  # northern Australia
    (-13.0, -52.0, 7.0, 11.0, 5.0),  # South America
    (-15.0, 30.0, 6.0, 12.0, 3.0),  # southern Africa
)


def _seasonal_pr(geo: _Geo, phase: np.ndarray, tas: np.ndarray, static_p: np.ndarray) -> np.ndarray:
    """Noise-free precipitation (mm/day) for mid-month ``phase`` (n_t,) -> (n_t, n_c)."""
    lat = geo.lat[None, :]
    alat = np.abs(lat)
    ph = phase[:, None]
    hemi = np.tanh(lat / 4.0)
    # Local summer index, +1 at the height of the local warm season (lagging the solstice).
    summer = hemi * np.cos(2 * np.pi * (ph - 0.58))
    # Rain belt (ITCZ over land) following the sun with a ~6 week lag: 10 N in August,
    # 14 S in February; plus equatorial convection all year.
    lat_i = -2.0 + 12.0 * np.cos(2 * np.pi * (ph - 0.62))
    itcz = 7.0 * np.exp(-0.5 * ((lat - lat_i) / 5.5) ** 2) + 2.5 * np.exp(-0.5 * (lat / 7.0) ** 2)
    fw = geo.fetch_west_km[None, :]
    fe = geo.fetch_east_km[None, :]
    # Onshore easterlies and warm currents: wet tropical and subtropical east coasts.
    east = 4.5 * np.exp(-fe / 600.0) * np.exp(-0.5 * ((alat - 25.0) / 15.0) ** 2) * (0.7 + 0.3 * summer)
    # Storm tracks: centred 47 deg, ~39 deg in winter and ~55 deg in summer; wet west coasts,
    # drying with distance from the western ocean.
    lat_s = 47.0 + 8.0 * summer
    storm = (
        3.0
        * np.exp(-0.5 * ((alat - lat_s) / 10.0) ** 2)
        * (0.45 + 0.55 * np.exp(-fw / 1500.0) + 1.0 * np.exp(-fw / 250.0))
        * (1.0 - 0.2 * summer)
    )
    # Summer convection over warm extra-tropical land.
    extra = 1.0 - np.exp(-0.5 * (lat / 18.0) ** 2)
    conv = 2.0 * np.clip((tas - 8.0) / 14.0, 0.0, 1.0) * extra * np.exp(-geo.dist_km / 4000.0)[None, :]
    # Hadley descent: subtropical highs near 26 deg (poleward in summer), strongest in winter
    # and on the western sides of continents (cold currents: Namib, Atacama, Baja).
    lat_h = 26.0 + 4.0 * summer
    strength = 0.82 - 0.08 * summer + 0.3 * np.exp(-fw / 500.0)
    descent = 1.0 - np.clip(strength, 0.0, 0.97) * np.exp(-0.5 * ((alat - lat_h) / 8.0) ** 2)
    monsoon = np.zeros_like(lat)
    for la, lo, sla, slo, amp in _MONSOONS:
        dlon = (geo.lon - lo + 180.0) % 360.0 - 180.0
        monsoon = monsoon + amp * np.exp(-0.5 * (((geo.lat - la) / sla) ** 2 + (dlon / slo) ** 2))[None, :]
    monsoon = monsoon * np.clip(summer, 0.0, None) ** 1.5
    p = (itcz + storm + conv) * descent + east + monsoon + 0.05
    return p * static_p[None, :]


def _enso_patterns(geo: _Geo) -> tuple[np.ndarray, np.ndarray]:
    wp = np.zeros_like(geo.lat)
    wt = np.zeros_like(geo.lat)
    for la, lo, r, dp, dtemp in _ENSO_CENTRES:
        g = np.exp(-0.5 * (_angular_km(geo.lat, geo.lon, la, lo) / r) ** 2)
        wp += dp * g
        wt += dtemp * g
    return wp, wt


def _climate(geo: _Geo, tax: _Time, seed: int, static_t, static_p, interp: _Interp) -> _Climate:
    first, last = int(tax.year[0]), int(tax.year[-1])
    enso = _ar1_monthly(seed, "enso", first, last, (), rho=0.93)  # (n_t,)
    tnoise = interp(_ar1_monthly(seed, "tnoise", first, last, interp.shape, rho=0.5))
    pnoise = interp(_ar1_monthly(seed, "pnoise", first, last, interp.shape, rho=0.3))
    wnoise = interp(_ar1_monthly(seed, "wnoise", first, last, interp.shape, rho=0.3))
    wp, wt = _enso_patterns(geo)
    tas = _seasonal_t(geo, tax.phase, static_t)
    tas += enso[:, None] * wt[None, :] + 0.9 * tnoise
    pr = _seasonal_pr(geo, tax.phase, tas, static_p)
    # Log-normal weather noise with unit mean; bilinear interpolation shrinks the variance,
    # so the scale is set for ~0.35 in log space at the cells.
    sig = 0.45
    pr *= np.exp(sig * pnoise - 0.5 * sig * sig) * np.exp(enso[:, None] * wp[None, :])
    lat = geo.lat[None, :]
    alat = np.abs(lat)
    summer = np.tanh(lat / 4.0) * np.cos(2 * np.pi * (tax.phase[:, None] - 0.58))
    wind = (
        2.2
        + 3.0 * np.exp(-0.5 * ((alat - 48.0 - 6.0 * summer) / 12.0) ** 2) * (1.0 - 0.3 * summer)
        + 1.5 * np.exp(-0.5 * ((alat - 15.0) / 8.0) ** 2)
        + 2.0 * np.exp(-geo.dist_km / 150.0)[None, :]
    ) * np.exp(0.15 * wnoise)
    return _Climate(tas=tas, pr=pr, wind=wind)


# ------------------------------------------------------------------------------------------
# Land surface: bucket, humidity, vegetation pools
# ------------------------------------------------------------------------------------------
def _bucket(pr: np.ndarray, pet: np.ndarray, ndays: np.ndarray) -> np.ndarray:
    """Relative soil wetness W/W_max after each month (Thornthwaite-Mather bucket, Strang split:
    half the month's evaporative decay W <- W exp(-PET dt / 2 W_max), then rain filling to W_max,
    then the other half). Starts full and runs from the first (spin-up) month."""
    n_t, n_c = pr.shape
    s = np.empty((n_t, n_c))
    w = np.full(n_c, BUCKET_MM)
    for t in range(n_t):
        half = np.exp(-0.5 * pet[t] * ndays[t] / BUCKET_MM)
        w = np.minimum(BUCKET_MM, w * half + pr[t] * ndays[t]) * half
        s[t] = w / BUCKET_MM
    return s


@dataclass(frozen=True)
class _Vegetation:
    npp: np.ndarray
    gpp: np.ndarray
    agb: np.ndarray  # kg C m-2
    fuel: np.ndarray  # g C m-2


def _vegetation(
    tas: np.ndarray, pr: np.ndarray, soil: np.ndarray, tax: _Time, tree_cover: np.ndarray,
    cropland: np.ndarray, tau_mult: np.ndarray,
) -> _Vegetation:
    n_t, n_c = tas.shape
    years = tax.year.reshape(-1, 12)[:, 0]
    ny = years.size
    t_y = tas.reshape(ny, 12, n_c).mean(axis=1)
    p_y = (pr * tax.ndays[:, None]).reshape(ny, 12, n_c).sum(axis=1)
    npp_y = CARBON_PER_DM * miami_npp(t_y, p_y)  # g C m-2 yr-1
    # Growth weight: warm enough and moist enough; normalised within each year.
    g = _sigmoid((tas - 5.0) / 2.5) * np.clip(soil / 0.35, 0.0, 1.0)
    gw = (g + 0.05).reshape(ny, 12, n_c)
    gw = gw / gw.mean(axis=1, keepdims=True)
    npp = (gw * npp_y[:, None, :]).reshape(n_t, n_c)
    t_ann = np.repeat(t_y, 12, axis=0)
    cue = 0.5 - 0.1 * np.clip(t_ann / 25.0, 0.0, 1.0)
    gpp = npp / cue

    # Allocation: woody share grows with tree cover; croplands hold little wood.
    a_w = (0.08 + 0.32 * tree_cover) * (1.0 - 0.8 * cropland)
    a_l = 0.35
    tau = 40.0 * tau_mult * (0.5 + 0.5 * tree_cover)  # years
    dt = 1.0 / 12.0
    shed = 0.4 + 3.0 * (1.0 - g)  # yr-1: evergreen when growing, deciduous when cold or dry
    # Microbial decay (Q10 = 2) slowed by drought, plus photodegradation that keeps dry litter
    # from piling up in deserts (Austin & Vivanco 2006).
    kdec = 0.25 * 2.0 ** ((np.clip(tas, -20.0, 40.0) - 10.0) / 10.0) * (0.2 + 0.8 * soil) + 0.5 * (1.0 - soil)

    # Steady state of the first year's means as the starting point, then integrate monthly.
    n0 = npp[:12].mean(axis=0)
    b = a_w * n0 * tau / 1000.0  # kg C m-2
    leaf = a_l * n0 / shed[:12].mean(axis=0)
    lit = (a_l * n0 + 0.2 * b * 1000.0 / tau) / kdec[:12].mean(axis=0)
    agb = np.empty((n_t, n_c))
    fuel = np.empty((n_t, n_c))
    for t in range(n_t):
        b = b + dt * (a_w * npp[t] / 1000.0 - b / tau)
        lf_decay = np.exp(-shed[t] * dt)
        fall = leaf * (1.0 - lf_decay)
        leaf = leaf * lf_decay + a_l * npp[t] * dt
        kd = np.exp(-kdec[t] * dt)
        lit = lit * kd + fall + 0.2 * (b * 1000.0 / tau) * dt
        agb[t] = b
        fuel[t] = leaf + lit
    return _Vegetation(npp=npp, gpp=gpp, agb=agb, fuel=fuel)


# ------------------------------------------------------------------------------------------
# Static human and land-cover fields
# ------------------------------------------------------------------------------------------
def _static_fields(
    geo: _Geo, grid: LandGrid, t_clim: np.ndarray, p_clim: np.ndarray, seed: int, z: np.ndarray
) -> dict[str, np.ndarray]:
    """popd, cropland, tree_cover from the noise-free climatology (12, n_c) and smooth noise z.

    Moisture index MI = P_ann / PET_ann (Hamon PET) lets trees grow on less rain where it is cold;
    the share of months with P < 1 mm/day (dry season) thins savanna canopies.
    """
    t_ann = t_clim.mean(axis=0)
    t_warm = t_clim.max(axis=0)
    p_ann = p_clim.mean(axis=0) * 365.25
    mid_doy = np.array([15.5, 45.0, 74.5, 105.0, 135.5, 166.0, 196.5, 227.5, 258.0, 288.5, 319.0, 349.5])
    pet_ann = hamon_pet(t_clim, day_length(geo.lat[None, :], mid_doy[:, None])).mean(axis=0) * 365.25
    mi = p_ann / np.maximum(pet_ann, 50.0)
    dry_share = (p_clim < 1.0).mean(axis=0)
    habit = np.exp(-0.5 * ((t_ann - 18.0) / 11.0) ** 2) * (1.0 - np.exp(-p_ann / 450.0))
    rng = _rng(seed, "popd", 0)
    # Cluster centres: uniform on the sphere, kept where land and habitable.
    n_try = 3000
    clat = np.rad2deg(np.arcsin(rng.uniform(np.sin(np.deg2rad(SOUTH_CUT)), 1.0, n_try)))
    clon = rng.uniform(-180.0, 180.0, n_try)
    accept = rng.uniform(size=n_try)
    amp = rng.lognormal(np.log(15.0), 1.0, n_try)
    rad = rng.uniform(40.0, 250.0, n_try)
    # The grid cell under each candidate decides acceptance (sea and Antarctica reject).
    cy = np.clip(np.floor((clat + 90.0) / grid.res).astype(np.int64), 0, grid.lat.size - 1)
    cx = np.clip(np.floor((clon + 180.0) / grid.res).astype(np.int64), 0, grid.lon.size - 1)
    packed = np.full(grid.land.shape, -1, dtype=np.int64)
    packed[grid.iy, grid.ix] = np.arange(grid.n_cells)
    cand = packed[cy, cx]
    ok = (cand >= 0) & (accept < habit[np.maximum(cand, 0)] ** 1.5)
    base = (0.05 + 30.0 * habit**2) * np.exp(0.5 * z[0])
    boost = np.zeros_like(base)
    for i in np.nonzero(ok)[0]:
        d = _angular_km(geo.lat, geo.lon, clat[i], clon[i])
        near = d < 4.0 * rad[i]
        boost[near] += amp[i] * np.exp(-0.5 * (d[near] / rad[i]) ** 2)
    popd = np.clip(base * (1.0 + boost), 0.0, 5000.0)
    suit = np.exp(-0.5 * ((t_ann - 13.0) / 9.0) ** 2) * _sigmoid((mi - 0.45) / 0.1) * np.exp(-((p_ann / 2200.0) ** 2))
    crop = 0.85 * suit * _sigmoid(2.0 * (np.log10(popd + 1e-3) - 1.0)) * np.exp(0.35 * z[1])
    crop = np.clip(crop, 0.0, 0.95)
    tree = 0.92 * _sigmoid((mi - 0.9) / 0.12) * (1.0 - 0.6 * dry_share) * _sigmoid((t_warm - 10.0) / 1.5)
    tree = np.clip(tree * (1.0 - 0.75 * crop) * np.exp(0.25 * z[2]), 0.0, 0.95)
    return {"popd": popd, "cropland": crop, "tree_cover": tree}


# ------------------------------------------------------------------------------------------
# The world
# ------------------------------------------------------------------------------------------
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
    grid = land_grid(res)
    geo = _geography(grid)
    tax = _time_axis(first, last)

    # Smooth static heterogeneity on a 5-degree node grid (resolution-independent).
    snodes = _Interp.build(geo.lat, geo.lon, 5.0)
    z = snodes(_rng(seed, "static", 0).standard_normal((6,) + snodes.shape))
    static_t = 1.0 * z[3]
    static_p = np.exp(0.2 * z[4] - 0.02)
    tau_mult = np.exp(0.25 * z[5])

    interp = _Interp.build(geo.lat, geo.lon, 10.0)
    clim = _climate(geo, tax, seed, static_t, static_p, interp)
    tas, pr = clim.tas, clim.pr

    # Noise-free climatology for the static fields (independent of years and weather).
    phase12 = (np.arange(12) + 0.5) / 12.0
    t_clim = _seasonal_t(geo, phase12, static_t)
    p_clim = _seasonal_pr(geo, phase12, t_clim, static_p)
    static = _static_fields(geo, grid, t_clim, p_clim, seed, z)

    dl = day_length(geo.lat[None, :], tax.doy[:, None])
    pet = hamon_pet(tas, dl)
    soil = _bucket(pr, pet, tax.ndays)
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
    lnoise = interp(_ar1_monthly(seed, "lnoise", int(tax.year[0]), last, interp.shape, rho=0.3))
    lightning = (
        4.0 * np.clip((tas - 5.0) / 22.0, 0.0, None) ** 2.5 * pr / (pr + 3.0) * (1.0 + 0.5 * k)[None, :]
    ) * np.exp(0.3 * lnoise)
    veg = _vegetation(
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
            dims = ("time", "lat", "lon")
        else:
            a = np.full((nlat, nlon), np.nan, dtype=np.float32)
            a[iy, ix] = static[name]
            dims = ("lat", "lon")
        data_vars[name] = xr.Variable(dims, a, _var_attrs(name, cat))
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


def _var_attrs(name: str, cat) -> dict[str, str]:
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
    return Drivers(
        ds=ds,
        cell_area=spherical_cell_area(lat, lon),
        mask=mask,
        regions=ilamb_regions(lat, lon),
        target=target,
        sources={str(v): src for v in ds.data_vars},
    )


# ------------------------------------------------------------------------------------------
# Truth: burned area from a known form
# ------------------------------------------------------------------------------------------
DEFAULT_TRUTH_SIGMA = 0.3  # log-space sd of the multiplicative observation noise
DEFAULT_TRUTH_FLOOR = 1e-5  # burned fraction per month below which nothing is "detected"


def _form_class():
    """The Form class, if fireform.forms provides the two methods truth generation needs."""
    try:
        from fireform.forms.form import Form
    except ImportError:
        Form = None
    if Form is None or not (hasattr(Form, "from_json") and hasattr(Form, "evaluate")):
        raise FireformError(
            "synth --truth: burned area from a known form is not available yet "
            "(needs fireform.forms.Form.from_json and Form.evaluate)"
        )
    return Form


def load_truth_form(path: str | Path):
    """A truth form from a form JSON file (the Form JSON of fireform.forms)."""
    Form = _form_class()
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"synth --truth: form file {str(p)!r} does not exist")
    return Form.from_json(p.read_text())


def add_truth(
    ds: xr.Dataset,
    form,
    *,
    theta=None,
    sigma: float = DEFAULT_TRUTH_SIGMA,
    floor: float = DEFAULT_TRUTH_FLOOR,
    seed: int | None = None,
) -> xr.Dataset:
    """``ds`` plus ``burned_fraction`` generated by a known form (the twin world's truth).

    burned_fraction = clip(F(theta; drivers) exp(sigma z - sigma^2 / 2), 0, 1), z ~ N(0, 1)
    independently per cell and month (unit-mean log-normal observation noise), then values below
    ``floor`` are set to 0 (a detection limit). ``theta`` defaults to the form's defaults; derived
    inputs the form needs (running means, pr_annual, dryness) are computed from the world but not
    added to it. The form JSON, its hash, theta, sigma and floor are recorded in global attrs.
    """
    if not (sigma >= 0.0 and np.isfinite(sigma)):
        raise InvalidValueError(f"synth truth: noise sigma={sigma!r}; expected a finite value >= 0")
    if not (0.0 <= floor < 1.0):
        raise InvalidValueError(f"synth truth: detection floor={floor!r}; expected 0 <= floor < 1")
    from fireform.drivers.derived import add_derived

    seed = int(ds.attrs.get("fireform_seed", 0)) if seed is None else int(seed)
    drivers = world_drivers(ds)
    missing = [n for n in form.inputs if n not in drivers]
    raw_missing = [n for n in missing if catalog()[n].role != "derived"]
    if raw_missing:
        raise MissingVariableError(
            f"synth truth: form {form.name!r} reads {', '.join(raw_missing)}, which the twin world "
            f"does not hold (it holds: {', '.join(drivers.variables)})"
        )
    if missing:
        drivers = add_derived(drivers, missing)
    theta_vec = form.default_theta() if theta is None else form.theta_vector(theta)
    clean = np.asarray(form.evaluate(theta_vec, drivers), dtype=np.float64)  # (cells, months)
    if not np.all(np.isfinite(clean)):
        bad = int((~np.isfinite(clean)).sum())
        raise InvalidValueError(
            f"synth truth: form {form.name!r} gives {bad} non-finite burned fractions at theta "
            f"{form.theta_dict(theta_vec)}"
        )
    z = _rng(seed, "truth", 0).standard_normal(clean.shape)
    bf = np.clip(clean * np.exp(sigma * z - 0.5 * sigma * sigma), 0.0, 1.0)
    bf[bf < floor] = 0.0
    iy, ix = drivers.cell_index
    grid = np.full((ds.sizes["time"], ds.sizes["lat"], ds.sizes["lon"]), np.nan, dtype=np.float32)
    grid[:, iy, ix] = bf.T
    out = ds.assign(
        burned_fraction=xr.Variable(("time", "lat", "lon"), grid, _var_attrs("burned_fraction", catalog()))
    )
    out.attrs.update(
        {
            "fireform_truth_form": form.to_json(indent=None),
            "fireform_truth_form_hash": form.hash,
            "fireform_truth_theta": json.dumps(form.theta_dict(theta_vec), sort_keys=True),
            "fireform_truth_noise_sigma": float(sigma),
            "fireform_truth_detection_floor": float(floor),
        }
    )
    return out
