"""The twin world's vegetation pools (NPP, GPP, biomass, fuel) and its static human and
land-cover fields (population, cropland, tree cover)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fireform.twin.climate import Time
from fireform.twin.geography import SOUTH_CUT, Geo, LandGrid, angular_km
from fireform.twin.physics import CARBON_PER_DM, day_length, hamon_pet, miami_npp, sigmoid, stream_rng

__all__ = ["Vegetation", "vegetation", "static_fields"]


@dataclass(frozen=True)
class Vegetation:
    npp: np.ndarray
    gpp: np.ndarray
    agb: np.ndarray  # kg C m-2
    fuel: np.ndarray  # g C m-2


def vegetation(
    tas: np.ndarray, pr: np.ndarray, soil: np.ndarray, tax: Time, tree_cover: np.ndarray,
    cropland: np.ndarray, tau_mult: np.ndarray,
) -> Vegetation:
    n_t, n_c = tas.shape
    years = tax.year.reshape(-1, 12)[:, 0]
    ny = years.size
    t_y = tas.reshape(ny, 12, n_c).mean(axis=1)
    p_y = (pr * tax.ndays[:, None]).reshape(ny, 12, n_c).sum(axis=1)
    npp_y = CARBON_PER_DM * miami_npp(t_y, p_y)  # g C m-2 yr-1
    # Growth weight: warm enough and moist enough; normalised within each year.
    g = sigmoid((tas - 5.0) / 2.5) * np.clip(soil / 0.35, 0.0, 1.0)
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
    return Vegetation(npp=npp, gpp=gpp, agb=agb, fuel=fuel)


# ------------------------------------------------------------------------------------------
# Static human and land-cover fields
# ------------------------------------------------------------------------------------------
def static_fields(
    geo: Geo, grid: LandGrid, t_clim: np.ndarray, p_clim: np.ndarray, seed: int, z: np.ndarray
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
    gen = stream_rng(seed, "popd", 0)
    # Cluster centres: uniform on the sphere, kept where land and habitable.
    n_try = 3000
    clat = np.rad2deg(np.arcsin(gen.uniform(np.sin(np.deg2rad(SOUTH_CUT)), 1.0, n_try)))
    clon = gen.uniform(-180.0, 180.0, n_try)
    accept = gen.uniform(size=n_try)
    amp = gen.lognormal(np.log(15.0), 1.0, n_try)
    rad = gen.uniform(40.0, 250.0, n_try)
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
        d = angular_km(geo.lat, geo.lon, clat[i], clon[i])
        near = d < 4.0 * rad[i]
        boost[near] += amp[i] * np.exp(-0.5 * (d[near] / rad[i]) ** 2)
    popd = np.clip(base * (1.0 + boost), 0.0, 5000.0)
    suit = np.exp(-0.5 * ((t_ann - 13.0) / 9.0) ** 2) * sigmoid((mi - 0.45) / 0.1) * np.exp(-((p_ann / 2200.0) ** 2))
    crop = 0.85 * suit * sigmoid(2.0 * (np.log10(popd + 1e-3) - 1.0)) * np.exp(0.35 * z[1])
    crop = np.clip(crop, 0.0, 0.95)
    tree = 0.92 * sigmoid((mi - 0.9) / 0.12) * (1.0 - 0.6 * dry_share) * sigmoid((t_warm - 10.0) / 1.5)
    tree = np.clip(tree * (1.0 - 0.75 * crop) * np.exp(0.25 * z[2]), 0.0, 0.95)
    return {"popd": popd, "cropland": crop, "tree_cover": tree}

