"""The twin world's geography: a regular global grid, its land cells (from ``global-land-mask``)
and per-cell distances to the sea and fetches to the open ocean."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

from fireform.exceptions import DataNotFoundError, InvalidValueError

__all__ = ["LandGrid", "land_grid", "land_mask", "Geo", "geography", "angular_km", "SOUTH_CUT", "KM_PER_DEG"]

SOUTH_CUT = -60.0  # drop Antarctica: land cells with centres south of this are not used
KM_PER_DEG = 111.195  # great-circle km per degree on the 6371 km sphere


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
    if not (0.25 <= res <= 5.0) or abs(180.0 / res - round(180.0 / res)) > 1e-9:
        raise InvalidValueError(
            f"synth: resolution res={res!r} degrees is not supported; expected a value in "
            "0.25..5 that divides 180 (e.g. 0.5, 1 or 2)"
        )
    n = 180.0 / res
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
class Geo:
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


def geography(g: LandGrid) -> Geo:
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
    return Geo(
        lat=g.lat[iy],
        lon=g.lon[ix],
        dist_km=dist[iy, ix],
        fetch_west_km=fw[iy, ix],
        fetch_east_km=fe[iy, ix],
    )


def angular_km(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Great-circle distance (km) from (lat0, lon0), haversine."""
    p1, p2 = np.deg2rad(lat), np.deg2rad(lat0)
    dl = np.deg2rad(lon - lon0)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))

