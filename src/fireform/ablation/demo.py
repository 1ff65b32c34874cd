"""The demo ablation: the loop's twin world and truth, and an 8-mechanism form over it.

World: :func:`fireform.drivers.synth.make_world` + ``add_truth`` with the loop's demo truth
(:data:`fireform.loop.data.DEMO_TRUTH`: gpp_gating x temperature_ignition x
hyperarid_suppression) and the loop's default observation noise (sigma 0.2, ``fireform demo``).
Form: the three true mechanisms, the decoy correlated with the first (``fuel_biomass_hump``:
above-ground biomass tracks GPP in the twin world), and four other decoys.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

__all__ = ["TRUE_IDS", "CORRELATED_DECOY", "OTHER_DECOYS", "DEMO_FORM_IDS", "demo_form", "demo_drivers"]

TRUE_IDS = ("gpp_gating", "temperature_ignition", "hyperarid_suppression")
CORRELATED_DECOY = "fuel_biomass_hump"
OTHER_DECOYS = ("cropland_suppression", "clm_wind_spread", "lightning_ignition", "population_suppression")
DEMO_FORM_IDS = (*TRUE_IDS, CORRELATED_DECOY, *OTHER_DECOYS)
NOISE = 0.2  # the loop's demo default (fireform.loop.cli DEMO_SPEC data.noise)


def demo_form(ids=DEMO_FORM_IDS):
    from fireform.forms import Form

    return Form.from_mechanisms(list(ids))


def demo_drivers(*, res: float = 3.0, years=(2001, 2012), seed: int = 0, noise: float = NOISE,
                 cache: bool = True):
    """Twin-world drivers with the demo truth and the derived drivers the demo form needs
    (cached as a pickle under ``$FIREFORM_CACHE`` or ``~/.cache/fireform/worlds``)."""
    from fireform.drivers.derived import add_derived
    from fireform.drivers.synth import add_truth, make_world, world_drivers
    from fireform.forms import Form
    from fireform.loop.data import DEMO_TRUTH

    root = Path(os.environ.get("FIREFORM_CACHE") or Path.home() / ".cache" / "fireform") / "worlds"
    p = root / f"demo_{res:g}_{years[0]}_{years[1]}_{seed}_{noise:g}.pkl"
    if cache and p.is_file():
        ds = pickle.loads(p.read_bytes())
    else:
        ds = make_world(res=res, years=tuple(years), seed=seed)
        ds = add_truth(ds, Form.from_json(DEMO_TRUTH), sigma=noise, seed=seed)
        if cache:
            root.mkdir(parents=True, exist_ok=True)
            tmp = p.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(ds, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, p)
    return add_derived(world_drivers(ds), ["gpp_mean_12m", "pr_annual"])
