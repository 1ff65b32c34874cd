"""Regions as boolean masks on a lat/lon grid: ``global``, the ILAMB 2.x boxes, GFED basis regions.

ILAMB 2.x (``ILAMB/Regions.py``) defines its regions as lat/lon boxes (they overlap). Its
``getMask`` finds a cell centre's interval with ``argmax`` over ``lo <= x <= hi`` tests, so a
centre lying exactly on a box's lower edge falls in the interval *below* the box: membership is
``lo < x <= hi`` in both latitude and longitude. We copy that so 0.5 degree grids match.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fireform.drivers.paths import bundle_path
from fireform.exceptions import UnknownNameError

__all__ = [
    "ILAMB_BOXES", "GFED_REGION_LABELS", "REGION_SETS", "RegionSet", "ilamb_regions", "global_region",
    "gfed_regions", "load_gfed_regions", "region_set",
]

REGION_SETS = ("ilamb", "gfed", "global")

# label -> (lat_lo, lat_hi, lon_lo, lon_hi), from ILAMB 2.x Regions.py (see ILAMB_SCORING.md).
ILAMB_BOXES: dict[str, tuple[float, float, float, float]] = {
    "bona": (49.75, 79.75, -170.25, -60.25),
    "tena": (30.25, 49.75, -125.25, -66.25),
    "ceam": (9.75, 30.25, -115.25, -80.25),
    "nhsa": (0.25, 12.75, -80.25, -50.25),
    "shsa": (-59.75, 0.25, -80.25, -33.25),
    "euro": (35.25, 70.25, -10.25, 30.25),
    "mide": (20.25, 40.25, -10.25, 60.25),
    "nhaf": (0.25, 20.25, -20.25, 45.25),
    "shaf": (-34.75, 0.25, 10.25, 45.25),
    "boas": (54.75, 70.25, 30.25, 179.75),
    "ceas": (30.25, 54.75, 30.25, 142.58),
    "seas": (5.25, 30.25, 65.25, 120.25),
    "eqas": (-10.25, 10.25, 99.75, 150.25),
    "aust": (-41.25, -10.50, 112.00, 154.00),
}

# GFED basis regions 1..14 in the order of van der Werf et al. (2017).
GFED_REGION_LABELS: tuple[str, ...] = (
    "BONA", "TENA", "CEAM", "NHSA", "SHSA", "EURO", "MIDE",
    "NHAF", "SHAF", "BOAS", "CEAS", "SEAS", "EQAS", "AUST",
)


@dataclass(frozen=True)
class RegionSet:
    """Named boolean masks over a (lat, lon) grid; ``global`` is always first."""

    name: str  # "ilamb" | "gfed" | "global" | custom
    masks: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return list(self.masks)

    def mask(self, label: str) -> np.ndarray:
        if label not in self.masks:
            raise UnknownNameError(
                f"unknown region {label!r} in region set {self.name!r}; valid: {', '.join(self.masks)}"
            )
        return self.masks[label]

    def packed(self, cell_index: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
        """Masks restricted to the packed cells (boolean vectors of length n_cells)."""
        iy, ix = cell_index
        return {k: np.asarray(m[iy, ix], dtype=bool) for k, m in self.masks.items()}


def global_region(lat: np.ndarray, lon: np.ndarray) -> RegionSet:
    return RegionSet("global", {"global": np.ones((lat.size, lon.size), dtype=bool)})


def ilamb_regions(lat: np.ndarray, lon: np.ndarray, *, with_global: bool = True) -> RegionSet:
    """``global`` plus the 14 ILAMB 2.x boxes on this grid (cell centres inside the box)."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    lon = np.where(lon > 180.0, lon - 360.0, lon)  # boxes are in -180..180
    masks: dict[str, np.ndarray] = {}
    if with_global:
        masks["global"] = np.ones((lat.size, lon.size), dtype=bool)
    for label, (la0, la1, lo0, lo1) in ILAMB_BOXES.items():
        inlat = (lat > la0) & (lat <= la1)  # lower edge exclusive, as 2.x's argmax rule
        inlon = (lon > lo0) & (lon <= lo1)
        masks[label] = inlat[:, None] & inlon[None, :]
    return RegionSet("ilamb", masks)


def gfed_regions(
    lat: np.ndarray,
    lon: np.ndarray,
    cells_lat: np.ndarray,
    cells_lon: np.ndarray,
    cells_region: np.ndarray,
    *,
    with_global: bool = True,
) -> RegionSet:
    """``global`` plus the 14 GFED basis regions on this grid, from a 0.5 degree cell list.

    ``cells_*`` give the centres of 0.5 degree land cells and their GFED region 1..14 (van der
    Werf et al. 2017 order, ``GFED_REGION_LABELS``). A grid cell takes the most common region
    among the 0.5 degree centres inside it (exact match on a 0.5 degree grid); a cell finer than
    0.5 degrees that holds no centre takes the region of the 0.5 degree cell containing its own
    centre. Cells with neither (ocean, Antarctica, Greenland) belong to no GFED region.
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    lon180 = np.where(lon > 180.0, lon - 360.0, lon)
    clat = np.asarray(cells_lat, dtype=float)
    clon = np.asarray(cells_lon, dtype=float)
    creg = np.asarray(cells_region, dtype=int)
    n_reg = len(GFED_REGION_LABELS)

    def edges(c: np.ndarray) -> np.ndarray:
        if c.size == 1:
            return np.array([c[0] - 0.25, c[0] + 0.25])
        mid = 0.5 * (c[1:] + c[:-1])
        return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])

    def bin_of(values: np.ndarray, centres: np.ndarray) -> np.ndarray:
        order = np.argsort(centres)
        e = edges(centres[order])
        k = np.searchsorted(e, values, side="right") - 1
        ok = (k >= 0) & (k < centres.size)
        out = np.full(values.shape, -1)
        out[ok] = order[k[ok]]
        return out

    iy = bin_of(clat, lat)
    ix = bin_of(clon, lon180)
    ok = (iy >= 0) & (ix >= 0) & (creg >= 1) & (creg <= n_reg)
    counts = np.zeros((lat.size, lon.size, n_reg), dtype=np.int32)
    np.add.at(counts, (iy[ok], ix[ok], creg[ok] - 1), 1)
    label = np.where(counts.sum(-1) > 0, counts.argmax(-1) + 1, 0)
    # Fine grids: look up the 0.5 degree cell that contains the centre.
    step = min(
        float(np.median(np.abs(np.diff(lat)))) if lat.size > 1 else 0.5,
        float(np.median(np.abs(np.diff(lon180)))) if lon.size > 1 else 0.5,
    )
    lookup = {(round(a * 4), round(b * 4)): r for a, b, r in zip(clat, clon, creg)}
    for j, i in zip(*np.nonzero(label == 0)) if step < 0.5 - 1e-6 else ():
        ca = np.floor(lat[j] * 2) / 2 + 0.25
        co = np.floor(lon180[i] * 2) / 2 + 0.25
        label[j, i] = lookup.get((round(ca * 4), round(co * 4)), 0)
    masks: dict[str, np.ndarray] = {}
    if with_global:
        masks["global"] = np.ones((lat.size, lon.size), dtype=bool)
    for k, name in enumerate(GFED_REGION_LABELS, start=1):
        masks[name] = label == k
    return RegionSet("gfed", masks)


def load_gfed_regions(lat, lon, *, data_dir: str | os.PathLike | None = None) -> RegionSet:
    """``global`` plus the 14 GFED basis regions (BONA..AUST) on the grid ``lat``, ``lon``."""
    path = bundle_path("gfed_regions", "gridlist_pan_gfed_ISO3_UN.csv", data_dir=data_dir)
    cells = pd.read_csv(path, usecols=["Lon", "Lat", "GFED-region"])
    return gfed_regions(
        np.asarray(lat), np.asarray(lon),
        cells["Lat"].to_numpy(), cells["Lon"].to_numpy(), cells["GFED-region"].to_numpy(),
    )


def region_set(name: str | RegionSet, lat: np.ndarray, lon: np.ndarray, *,
               data_dir: str | os.PathLike | None = None) -> RegionSet:
    """The named region set on this grid ("ilamb", "gfed" from the bundle, "global"); a RegionSet
    passes through. The one place that turns a region-set name into masks."""
    if isinstance(name, RegionSet):
        return name
    if name == "ilamb":
        return ilamb_regions(lat, lon)
    if name == "global":
        return global_region(lat, lon)
    if name == "gfed":
        return load_gfed_regions(lat, lon, data_dir=data_dir)
    raise UnknownNameError(f"unknown region set {name!r}; valid: {', '.join(REGION_SETS)} (or a RegionSet)")
