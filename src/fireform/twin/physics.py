"""Textbook formulas of the twin world (each hand-checked in tests) and its randomness: keyed
random streams and smooth AR(1) fields on coarse node grids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "miami_npp", "saturation_vapour_pressure", "day_length", "hamon_pet", "wet_day_intensity",
    "sigmoid", "stream_rng", "Interp", "ar1_monthly", "CARBON_PER_DM", "NOISE_ORIGIN",
]

CARBON_PER_DM = 0.47  # g C per g dry matter
NOISE_ORIGIN = 1900  # AR(1) noise starts here so a year's weather is range-independent

# Independent random streams (the number is the stream's key in the SeedSequence).
_STREAM = {"enso": 1, "tnoise": 2, "pnoise": 3, "wnoise": 4, "static": 5, "popd": 6, "lnoise": 7, "truth": 8}


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


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


# ------------------------------------------------------------------------------------------
# Randomness: keyed streams, coarse smooth fields
# ------------------------------------------------------------------------------------------
def stream_rng(seed: int, stream: str, year: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _STREAM[stream], year + 10_000]))


@dataclass(frozen=True)
class Interp:
    """Bilinear weights from a periodic coarse lat/lon node grid to packed cells."""

    idx: np.ndarray  # (4, n_cells) flat node indices
    w: np.ndarray  # (4, n_cells)
    shape: tuple[int, int]

    @classmethod
    def build(cls, lat: np.ndarray, lon: np.ndarray, step: float) -> "Interp":
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


def ar1_monthly(
    seed: int, stream: str, first_year: int, last_year: int, node_shape: tuple[int, ...], rho: float
) -> np.ndarray:
    """Unit-variance AR(1) series of node fields, months of first_year..last_year.

    Innovations for each year come from that year's own stream and the recursion starts at
    ``min(NOISE_ORIGIN, first_year)``, so a year's values do not depend on the range asked for.
    """
    origin = min(NOISE_ORIGIN, first_year)
    x = stream_rng(seed, stream, origin - 1).standard_normal(node_shape)  # stationary start
    keep = []
    c = np.sqrt(1.0 - rho * rho)
    for year in range(origin, last_year + 1):
        eps = stream_rng(seed, stream, year).standard_normal((12,) + node_shape)
        months = np.empty_like(eps)
        for m in range(12):
            x = rho * x + c * eps[m]
            months[m] = x
        if year >= first_year:
            keep.append(months)
    return np.concatenate(keep, axis=0)

