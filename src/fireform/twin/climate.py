"""The twin world's climate: seasonal temperature and precipitation from circulation features on
real coastlines, ENSO-like interannual variability, weather noise, and the soil-water bucket."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fireform.twin.geography import Geo, angular_km
from fireform.twin.physics import Interp, ar1_monthly

__all__ = ["Time", "time_axis", "Climate", "climate", "seasonal_t", "seasonal_pr", "bucket",
           "SPIN_YEARS", "BUCKET_MM"]

SPIN_YEARS = 3  # years of weather run before the first requested year (pool spin-up)
BUCKET_MM = 150.0  # root-zone water capacity


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
class Time:
    time: pd.DatetimeIndex  # all months incl. spin-up
    n_out: int  # trailing months that are output
    month: np.ndarray  # 1..12
    year: np.ndarray
    ndays: np.ndarray
    phase: np.ndarray  # mid-month fraction of the year
    doy: np.ndarray  # mid-month day of year


def time_axis(first: int, last: int) -> Time:
    time = pd.date_range(f"{first - SPIN_YEARS}-01-01", f"{last}-12-01", freq="MS")
    month = np.asarray(time.month)
    ndays = np.asarray(time.days_in_month, dtype=float)
    doy = np.asarray(time.day_of_year, dtype=float) + 0.5 * ndays - 0.5
    return Time(
        time=time,
        n_out=12 * (last - first + 1),
        month=month,
        year=np.asarray(time.year),
        ndays=ndays,
        phase=(month - 0.5) / 12.0,
        doy=doy,
    )


@dataclass(frozen=True)
class Climate:
    tas: np.ndarray  # deg C (n_t, n_c)
    pr: np.ndarray  # mm/day
    wind: np.ndarray  # m/s


def seasonal_t(geo: Geo, phase: np.ndarray, static_t: np.ndarray) -> np.ndarray:
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


def seasonal_pr(geo: Geo, phase: np.ndarray, tas: np.ndarray, static_p: np.ndarray) -> np.ndarray:
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


def _enso_patterns(geo: Geo) -> tuple[np.ndarray, np.ndarray]:
    wp = np.zeros_like(geo.lat)
    wt = np.zeros_like(geo.lat)
    for la, lo, r, dp, dtemp in _ENSO_CENTRES:
        g = np.exp(-0.5 * (angular_km(geo.lat, geo.lon, la, lo) / r) ** 2)
        wp += dp * g
        wt += dtemp * g
    return wp, wt


def climate(geo: Geo, tax: Time, seed: int, static_t, static_p, interp: Interp) -> Climate:
    first, last = int(tax.year[0]), int(tax.year[-1])
    enso = ar1_monthly(seed, "enso", first, last, (), rho=0.93)  # (n_t,)
    tnoise = interp(ar1_monthly(seed, "tnoise", first, last, interp.shape, rho=0.5))
    pnoise = interp(ar1_monthly(seed, "pnoise", first, last, interp.shape, rho=0.3))
    wnoise = interp(ar1_monthly(seed, "wnoise", first, last, interp.shape, rho=0.3))
    wp, wt = _enso_patterns(geo)
    tas = seasonal_t(geo, tax.phase, static_t)
    tas += enso[:, None] * wt[None, :] + 0.9 * tnoise
    pr = seasonal_pr(geo, tax.phase, tas, static_p)
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
    return Climate(tas=tas, pr=pr, wind=wind)


# ------------------------------------------------------------------------------------------
# Land surface: bucket, humidity, vegetation pools
# ------------------------------------------------------------------------------------------
def bucket(pr: np.ndarray, pet: np.ndarray, ndays: np.ndarray) -> np.ndarray:
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


