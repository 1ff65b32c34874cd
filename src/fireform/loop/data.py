"""Drivers for a run, from the spec's ``[data]`` section, and the train/holdout split.

- ``twin``: ``synth.make_world`` + ``synth.add_truth`` with the demo truth (GPP gating x
  temperature ignition x hyperarid suppression; :data:`DEMO_TRUTH`) or a form JSON file;
- ``pantanal``: ``bundles.load_pantanal`` from ``$FIREFORM_DATA``;
- ``files``: ``load_drivers(paths, mapping=...)``.

Derived drivers the library needs (running means of GPP/NPP, annual precipitation, dryness,
Nesterov) are added when their inputs are present. The holdout part is wrapped in
:class:`Sealed`: only :meth:`Sealed.open` returns it, and every open is journaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fireform.exceptions import HoldoutAccessError, SpecError

__all__ = ["DEMO_TRUTH", "load_run_drivers", "split", "Sealed", "Split", "LIBRARY_DERIVED"]

# The default demo truth (issue 8): three mechanisms; the library holds a decoy correlated with
# the first (fuel_biomass_hump tracks GPP). Values chosen by us so the world's burned area lands
# in the observed range with savannas dominating.
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

LIBRARY_DERIVED = ("gpp_mean_12m", "npp_mean_12m", "pr_annual", "dryness", "nesterov")


def _truth_form(truth: str):
    from fireform.forms.form import Form

    if truth == "demo":
        return Form.from_json(DEMO_TRUTH)
    p = Path(truth)
    if not p.is_file():
        raise SpecError(f"data.truth {truth!r}: neither 'demo' nor an existing form JSON file")
    return Form.load(p)


def load_run_drivers(spec):
    """Full drivers (training and holdout years) in canonical units, with derived drivers."""
    from fireform.drivers.derived import add_derived, derived_spec

    d = spec.data
    if d.source == "twin":
        from fireform.drivers.synth import add_truth, make_world, world_drivers

        form = _truth_form(d.truth)
        ds = make_world(res=d.res, years=tuple(d.years), seed=d.seed)
        ds = add_truth(ds, form, sigma=d.noise, seed=d.seed)
        drivers = world_drivers(ds)
    elif d.source == "pantanal":
        from fireform.drivers.bundles import load_pantanal

        drivers = load_pantanal(regions=d.regions if d.regions != "ilamb" else "global", data_dir=d.data_dir)
    else:
        from fireform.drivers.load import load_drivers

        drivers = load_drivers(list(d.paths), mapping=dict(d.mapping) or None, regions=d.regions,
                               data_dir=d.data_dir)
    want = list(d.derived) or list(LIBRARY_DERIVED)
    addable = []
    for name in want:
        if name in drivers:
            continue
        spec_ = derived_spec(name)
        if all(i in drivers for i in spec_.inputs):
            addable.append(name)
        elif d.derived:
            raise SpecError(f"data.derived: {name!r} needs {', '.join(spec_.inputs)}, not all in the data")
    return add_derived(drivers, addable) if addable else drivers


class Sealed:
    """The holdout drivers. The loop opens them once, at the end; each open is journaled."""

    def __init__(self, drivers, years) -> None:
        self.__drivers = drivers
        self.years = tuple(years)
        self.opened = 0

    def open(self, journal, *, fit_id: int, form_hash: str, purpose: str):
        if not purpose:
            raise HoldoutAccessError("opening the holdout needs a stated purpose (it is journaled)")
        journal.add_holdout_read(fit_id, form_hash, purpose)
        self.opened += 1
        return self.__drivers

    def __repr__(self) -> str:
        return f"Sealed(holdout years {self.years[0]}..{self.years[-1]})"


@dataclass(frozen=True)
class Split:
    train: object
    holdout: Sealed


def _without_regions(drivers, labels):
    from fireform.drivers.dataset import Drivers

    if not labels:
        return drivers
    masks = drivers.regions
    grid = np.zeros(drivers.mask.shape, bool)
    for lab in labels:
        try:
            grid |= np.asarray(masks.masks[lab] if hasattr(masks, "masks") else masks[lab], bool)
        except (KeyError, TypeError) as e:
            raise SpecError(f"split.holdout_regions: unknown region {lab!r} ({e})") from None
    return Drivers(ds=drivers.ds, cell_area=drivers.cell_area, mask=drivers.mask & ~grid,
                   regions=drivers.regions, target=drivers.target, sources=dict(drivers.sources))


def split(drivers, spec) -> Split:
    s = spec.split
    train = _without_regions(drivers.select_years(tuple(s.train_years)), s.holdout_regions)
    hold = drivers.select_years(tuple(s.holdout_years))
    return Split(train=train, holdout=Sealed(hold, range(s.holdout_years[0], s.holdout_years[1] + 1)))
