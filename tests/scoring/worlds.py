"""Small synthetic gridded burned-fraction worlds for the conformance tests (fast: <= 200 cells)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.scoring.reference_tools import World

# 2-degree patch over Africa: the ILAMB boxes nhaf and shaf both cut through it.
LAT = np.arange(-9.0, 10.0, 2.0)
LON = np.arange(6.0, 36.0, 2.0)
REGIONS = ["global", "nhaf", "shaf"]


def _seasonal(time, lat, lon, rng, *, amp=1.0, shift_months=0):
    nt = time.size
    m = np.asarray(time.month)[:, None, None] - 1
    peak = np.where(lat[None, :, None] > 0, 0, 6) + np.zeros((1, 1, lon.size), int)  # Jan N, Jul S
    peak = (peak + shift_months) % 12
    phase = 2 * np.pi * (m - peak) / 12.0
    base = 0.01 * (1.0 + rng.random((1, lat.size, lon.size)) * 3)
    yearly = 1.0 + 0.3 * rng.standard_normal((nt // 12 + 2, 1, lon.size))[np.asarray(time.year - time.year[0])]
    x = base * amp * np.exp(2.0 * np.cos(phase)) * yearly * (1 + 0.2 * rng.random((nt, lat.size, lon.size)))
    return np.clip(x, 0.0, None)


def make_world(kind: str, seed: int = 0) -> World:
    rng = np.random.default_rng(seed)
    if kind == "partial_years":
        time = pd.date_range("2003-03-01", "2007-08-01", freq="MS")
    elif kind == "feb_start":
        time = pd.date_range("2001-02-01", "2004-12-01", freq="MS")
    elif kind == "leap_years":
        time = pd.date_range("2000-01-01", "2008-12-01", freq="MS")
    else:
        time = pd.date_range("2001-01-01", "2004-12-01", freq="MS")
    obs = _seasonal(time, LAT, LON, rng)
    mod = _seasonal(time, LAT, LON, rng, amp=1.3, shift_months=1) * (1 + 0.1 * rng.standard_normal(obs.shape)) ** 2
    if kind == "masks_missing":
        ocean = rng.random((LAT.size, LON.size)) < 0.2
        obs[:, ocean] = np.nan
        gaps = rng.random(obs.shape) < 0.05
        obs[gaps] = np.nan
        mod[:, 2, 3] = np.nan  # model lacks a land cell: it leaves ref_and_com
        mod[:5, 4, 4] = np.nan  # and a few months of another
    elif kind == "leap_years":
        feb = np.asarray(time.month == 2)
        obs[feb] *= 4.0  # February carries weight, so a leap day would show
    elif kind == "phase_shift":
        shift = rng.integers(-4, 5, size=(LAT.size, LON.size))
        mod = np.empty_like(obs)
        for i in range(LAT.size):
            for j in range(LON.size):
                mod[:, i, j] = 1.2 * np.roll(obs[:, i, j], shift[i, j])
    elif kind == "zero_fire":
        obs[:, LAT < 0, :] = 0.0  # shaf never burns in the reference
        never = rng.random((LAT.size, LON.size)) < 0.3
        obs[:, never] = 0.0
        mod[:, never & (rng.random((LAT.size, LON.size)) < 0.5)] = 0.0
    elif kind == "partial_years":
        obs[rng.random(obs.shape) < 0.03] = np.nan
    return World(kind, LAT, LON, time, obs, mod, list(REGIONS))


KINDS = ("basic", "masks_missing", "partial_years", "leap_years", "phase_shift", "zero_fire", "feb_start")
