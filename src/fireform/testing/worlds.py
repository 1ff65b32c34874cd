"""A tiny, fast, reproducible set of drivers covering every catalog variable (for unit tests).

Not a twin world (that is ``fireform.twin``): values are plausible and seasonal but
carry no physics beyond that. Units are the catalog's canonical units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from fireform.drivers.catalog import catalog
from fireform.drivers.dataset import Drivers, spherical_cell_area
from fireform.drivers.regions import ilamb_regions

__all__ = ["tiny_drivers"]


def tiny_drivers(
    *,
    n_lat: int = 8,
    n_lon: int = 10,
    years: tuple[int, int] = (2001, 2004),
    seed: int = 0,
    lat_range: tuple[float, float] = (-30.0, 30.0),
    lon_range: tuple[float, float] = (10.0, 40.0),
) -> Drivers:
    rng = np.random.default_rng(seed)
    lat = np.linspace(lat_range[0], lat_range[1], n_lat)
    lon = np.linspace(lon_range[0], lon_range[1], n_lon)
    time = pd.date_range(f"{years[0]}-01-01", f"{years[1]}-12-01", freq="MS")
    nt = time.size
    month = np.asarray(time.month)
    # A seasonal phase that flips across the equator, as real tropical fire seasons do.
    phase = 2 * np.pi * (month[:, None, None] - 1) / 12.0
    hemi = np.sign(lat)[None, :, None]
    season = np.cos(phase - np.pi * (hemi > 0))  # +1 in the local dry season
    shape3 = (nt, n_lat, n_lon)

    def noise(scale: float) -> np.ndarray:
        return scale * rng.standard_normal(shape3)

    tas = 295.0 + 5.0 * season + noise(1.0) - 0.15 * np.abs(lat)[None, :, None]
    pr = np.clip(3.0 - 2.5 * season + noise(0.5), 0.0, None)
    rh = np.clip(65.0 - 20.0 * season + noise(5.0), 1.0, 99.0)
    es = 0.6108 * np.exp(17.27 * (tas - 273.15) / (tas - 273.15 + 237.3))
    vpd = es * (1.0 - rh / 100.0)
    gpp = np.clip(1500.0 - 800.0 * season + noise(100.0), 0.0, None)
    npp = 0.5 * gpp
    agb = np.clip(5.0 + 3.0 * rng.random((n_lat, n_lon))[None] + 0.0 * season, 0.0, None)
    agb = np.broadcast_to(agb, shape3).copy()
    fuel = np.clip(400.0 + 200.0 * season + noise(30.0), 0.0, None)
    soil = np.clip(0.5 - 0.3 * season + noise(0.05), 0.0, 1.0)
    dry_days = np.clip(15.0 + 10.0 * season + noise(2.0), 0.0, 28.0)
    lightning = np.clip(2.0 - 1.0 * season + noise(0.3), 0.0, None)
    wind = np.clip(3.0 + noise(0.5), 0.0, None)
    popd = rng.lognormal(2.5, 1.2, (n_lat, n_lon))
    cropland = rng.beta(1.0, 4.0, (n_lat, n_lon))
    tree = rng.beta(2.0, 3.0, (n_lat, n_lon))
    bf = np.clip(0.02 * (season + 1.0) * (gpp / 2000.0) * (1.0 - cropland)[None] + noise(0.001), 0, 1)

    dims3 = ("time", "lat", "lon")
    data = {
        "burned_fraction": (dims3, bf),
        "gpp": (dims3, gpp),
        "npp": (dims3, npp),
        "agb": (dims3, agb),
        "fuel": (dims3, fuel),
        "tas": (dims3, tas),
        "tasmax": (dims3, tas + 6.0),
        "pr": (dims3, pr),
        "rh": (dims3, rh),
        "vpd": (dims3, vpd),
        "soil_moisture": (dims3, soil),
        "dry_days": (dims3, dry_days),
        "lightning": (dims3, lightning),
        "wind": (dims3, wind),
        "popd": (("lat", "lon"), popd),
        "cropland": (("lat", "lon"), cropland),
        "tree_cover": (("lat", "lon"), tree),
    }
    cat = catalog()
    ds = xr.Dataset(
        {k: (d, np.asarray(v, dtype=np.float32), {"units": cat[k].units}) for k, (d, v) in data.items()},
        coords={"time": time, "lat": lat, "lon": lon},
    )
    return Drivers(
        ds=ds,
        cell_area=spherical_cell_area(lat, lon),
        mask=np.ones((n_lat, n_lon), dtype=bool),
        regions=ilamb_regions(lat, lon),
        target="burned_fraction",
    )
