"""Reference and model on different grids, written as netCDF files (tests of ``scoring.files``).

Each pair covers a patch over Africa (the ILAMB boxes nhaf and shaf both cut through it) with
seasonal burned fractions (``worlds._seasonal``) generated on each grid separately, 10% of the
reference's cells missing (ocean) and the model a month late and 30% high.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tests.scoring.reference_tools import write_grid_netcdf
from tests.scoring.worlds import _seasonal

TIME = pd.date_range("2001-01-01", "2004-12-01", freq="MS")
REGIONS = ["global", "nhaf", "shaf"]


@dataclass(frozen=True)
class Axis:
    """Cells of width ``step`` from ``lo`` to ``hi`` (degrees)."""

    lo: float
    hi: float
    step: float

    @property
    def centres(self) -> np.ndarray:
        return np.arange(self.lo + self.step / 2, self.hi, self.step)

    @property
    def bounds(self) -> np.ndarray:
        c = self.centres
        return np.stack([c - self.step / 2, c + self.step / 2], axis=1)


@dataclass(frozen=True)
class Spec:
    """One file's grid and layout: ``lon360`` writes longitudes in 0..360, ``north_first``
    latitudes north-to-south, ``bounds`` writes lat_bnds/lon_bnds."""

    lat: Axis
    lon: Axis
    lon360: bool = False
    north_first: bool = False
    bounds: bool = False


PAIRS: dict[str, tuple[Spec, Spec]] = {
    # reference 1 degree, model 2.5 degree: boundaries interleave, composed widths 0.5..1
    "1_vs_2.5": (Spec(Axis(-10, 10, 1.0), Axis(5, 35, 1.0)), Spec(Axis(-10, 10, 2.5), Axis(5, 35, 2.5))),
    # the reverse: a coarse reference
    "2.5_vs_1": (Spec(Axis(-10, 10, 2.5), Axis(5, 35, 2.5)), Spec(Axis(-10, 10, 1.0), Axis(5, 35, 1.0))),
    "0.5_vs_1": (Spec(Axis(-10, 10, 0.5), Axis(5, 35, 0.5)), Spec(Axis(-10, 10, 1.0), Axis(5, 35, 1.0))),
    # same resolution, grids offset by half a cell: every boundary interleaves
    "offset": (Spec(Axis(-10, 10, 1.0), Axis(5, 35, 1.0)), Spec(Axis(-10.5, 10.5, 1.0), Axis(4.5, 35.5, 1.0))),
    # a 2 degree model reaching beyond the reference: 2.x repeats the reference's edge cells outwards
    "1_vs_2_wider": (Spec(Axis(-10, 10, 1.0), Axis(5, 35, 1.0)), Spec(Axis(-12, 12, 2.0), Axis(4, 36, 2.0))),
    # the model written north-to-south in 0..360 with bounds; the reference plain
    "conventions": (Spec(Axis(-10, 10, 1.0), Axis(-20, 20, 1.0)),
                    Spec(Axis(-10, 10, 2.0), Axis(-20, 20, 2.0), lon360=True, north_first=True, bounds=True)),
}


def field(spec: Spec, rng, *, model: bool) -> np.ndarray:
    """(months, lat, lon) south-to-north, -180..180 order."""
    lat, lon = spec.lat.centres, spec.lon.centres
    if model:
        return 1.3 * _seasonal(TIME, lat, lon, rng, shift_months=1)
    x = _seasonal(TIME, lat, lon, rng)
    x[:, rng.random((lat.size, lon.size)) < 0.1] = np.nan
    return x


def write(path, spec: Spec, data: np.ndarray, *, units: str = "1") -> None:
    """Write ``data`` (south-to-north, -180..180) in the layout ``spec`` asks for."""
    lat, lon = spec.lat.centres, spec.lon.centres
    lb, ob = spec.lat.bounds, spec.lon.bounds
    if spec.lon360:
        order = np.argsort(np.mod(lon, 360.0), kind="stable")
        lon, ob, data = np.mod(lon, 360.0)[order], np.mod(ob, 360.0)[order], data[..., order]
        ob[:, 1] = np.where(ob[:, 1] < ob[:, 0], ob[:, 1] + 360.0, ob[:, 1])
    if spec.north_first:
        lat, lb, data = lat[::-1], lb[::-1, ::-1], data[..., ::-1, :]
    write_grid_netcdf(str(path), lat, lon, TIME, data, units=units,
                      lat_bnds=lb if spec.bounds else None, lon_bnds=ob if spec.bounds else None)


def write_pair(tmp_path, name: str, seed: int = 0) -> tuple[str, str]:
    """Write pair ``name`` to ``tmp_path``: (reference path, model path)."""
    ref_spec, mod_spec = PAIRS[name]
    rng = np.random.default_rng(seed)
    fo, fm = tmp_path / f"{name}_ref.nc", tmp_path / f"{name}_mod.nc"
    write(fo, ref_spec, field(ref_spec, rng, model=False))
    write(fm, mod_spec, field(mod_spec, rng, model=True))
    return str(fo), str(fm)
