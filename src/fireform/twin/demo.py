"""The demo's twin world: its known truth, the 8-mechanism form the ablation demo fits over it,
and the world's drivers.

Truth (:data:`DEMO_TRUTH`): gpp_gating x temperature_ignition x hyperarid_suppression at values
chosen so the world's burned area lands in the observed range with savannas dominating. The
library holds a decoy correlated with the first (``fuel_biomass_hump``: above-ground biomass
tracks GPP in the twin world); the demo form adds it and four other decoys.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from fireform.drivers import Drivers, add_derived
from fireform.forms import Form
from fireform.twin.truth import add_truth
from fireform.twin.world import make_world, world_drivers

__all__ = ["DEMO_TRUTH", "TRUE_IDS", "CORRELATED_DECOY", "OTHER_DECOYS", "DEMO_FORM_IDS",
           "DEMO_NOISE", "demo_truth", "demo_form", "demo_drivers"]

DEMO_TRUTH = {
    "name": "demo_truth",
    "description": "twin-world truth: GPP gating x temperature ignition x hyperarid suppression",
    "references": ["vanderWerf2008", "Archibald2009", "KrawchukMoritz2011"],
    "scale": {"lo": 1e-5, "hi": 1.0, "log": True, "default": 0.02},
    "terms": [{"mechanism": "gpp_gating"}, {"mechanism": "temperature_ignition"},
              {"mechanism": "hyperarid_suppression"}],
    "defaults": {
        "gpp_gating.gpp0": 1200.0, "gpp_gating.k_gpp": 0.004,
        "gpp_gating.vpd0": 1.2, "gpp_gating.k_vpd": 3.0,
        "temperature_ignition.t0": 285.0, "temperature_ignition.k_t": 0.25,
        "hyperarid_suppression.pr0": 300.0, "hyperarid_suppression.k_pr": 0.02,
    },
}
TRUE_IDS = ("gpp_gating", "temperature_ignition", "hyperarid_suppression")
CORRELATED_DECOY = "fuel_biomass_hump"
OTHER_DECOYS = ("cropland_suppression", "clm_wind_spread", "lightning_ignition", "population_suppression")
DEMO_FORM_IDS = (*TRUE_IDS, CORRELATED_DECOY, *OTHER_DECOYS)
DEMO_NOISE = 0.2  # the demo spec's data.noise (fireform/loop/twin.toml)


def demo_truth() -> Form:
    return Form.from_json(DEMO_TRUTH)


def demo_form(ids: Sequence[str] = DEMO_FORM_IDS) -> Form:
    return Form.from_mechanisms(list(ids))


def _cached_world(res: float, years: tuple[int, int], seed: int, noise: float, cache: bool) -> xr.Dataset:
    """The demo world, cached as netCDF under ``$FIREFORM_CACHE`` (or ~/.cache/fireform/worlds):
    a format that cannot run code when read back."""
    root = Path(os.environ.get("FIREFORM_CACHE") or Path.home() / ".cache" / "fireform") / "worlds"
    p = root / f"demo_{res:g}_{years[0]}_{years[1]}_{seed}_{noise:g}.nc"
    if cache and p.is_file():
        with xr.open_dataset(p) as ds:
            return ds.load()
    ds = add_truth(make_world(res=res, years=years, seed=seed), demo_truth(), sigma=noise, seed=seed)
    if cache:
        root.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.tmp")
        ds.to_netcdf(tmp, engine="netcdf4")
        os.replace(tmp, p)
    return ds


def demo_drivers(*, res: float = 3.0, years: tuple[int, int] = (2001, 2012), seed: int = 0,
                 noise: float = DEMO_NOISE, cache: bool = True) -> Drivers:
    """Twin-world drivers with the demo truth and the derived drivers the demo form needs."""
    ds = _cached_world(float(res), (int(years[0]), int(years[1])), int(seed), float(noise), cache)
    d = world_drivers(ds)
    return add_derived(d, ["gpp_mean_12m", "pr_annual"])
