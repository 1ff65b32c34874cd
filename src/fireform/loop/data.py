"""A run's drivers, from the spec's ``[data]`` section, and its train/holdout :class:`Split`.

- ``twin``: :func:`fireform.twin.make_world` + :func:`fireform.twin.add_truth` with the demo truth
  (:data:`fireform.twin.DEMO_TRUTH`) or a form JSON file;
- ``pantanal``: :func:`fireform.drivers.load_pantanal` from ``$FIREFORM_DATA``;
- ``files``: :func:`fireform.drivers.load_drivers` (paths, mapping).

Derived drivers the library needs (running means of GPP/NPP, annual precipitation, dryness,
Nesterov) are added when their inputs are present. The holdout lives only inside the
:class:`~fireform.fitting.Split` (the library's one holdout wall): read through ``unseal``,
journaled, refused while a fit runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from fireform.drivers import Drivers, add_derived, derived_spec, load_drivers, load_pantanal
from fireform.exceptions import SpecError
from fireform.fitting import HoldoutRead, Split
from fireform.forms import Form
from fireform.loop.spec import Spec
from fireform.twin import add_truth, demo_truth, make_world, world_drivers

__all__ = ["LIBRARY_DERIVED", "truth_form", "load_run_drivers", "run_split"]

LIBRARY_DERIVED = ("gpp_mean_12m", "npp_mean_12m", "pr_annual", "dryness", "nesterov")


def truth_form(truth: str) -> Form:
    """``"demo"`` (the demo truth) or a form JSON file with defaults."""
    if truth == "demo":
        return demo_truth()
    p = Path(truth)
    if not p.is_file():
        raise SpecError(f"data.truth {truth!r}: neither 'demo' nor an existing form JSON file")
    return Form.load(p)


def load_run_drivers(spec: Spec) -> tuple[Drivers, list[str]]:
    """Full drivers (training and holdout years) in canonical units, and the derived drivers to
    add to them (added by the split, each side from its own months: :func:`run_split`)."""
    d = spec.data
    if d.source == "twin":
        ds = make_world(res=d.res, years=d.years, seed=d.seed)
        drivers = world_drivers(add_truth(ds, truth_form(d.truth), sigma=d.noise, seed=d.seed))
    elif d.source == "pantanal":
        drivers = load_pantanal(regions=d.regions if d.regions != "ilamb" else "global", data_dir=d.data_dir)
    else:
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
    return drivers, addable


def _region_cells(drivers: Drivers, labels) -> np.ndarray | None:
    if not labels:
        return None
    grid = np.zeros(drivers.mask.shape, bool)
    for lab in labels:
        if lab not in drivers.regions.masks:
            raise SpecError(f"split.holdout_regions: unknown region {lab!r}; the drivers' regions: "
                            f"{', '.join(drivers.regions.labels)}")
        grid |= np.asarray(drivers.regions.masks[lab], bool)
    return grid


def run_split(drivers: Drivers, derived: list[str], spec: Spec, *,
              on_read: Callable[[HoldoutRead], None]) -> Split:
    """The spec's split: training years in the open (minus held-out regions), holdout sealed;
    the derived drivers added to each side separately (no holdout value in a training one)."""
    s = spec.split

    def derive(d: Drivers) -> Drivers:
        return add_derived(d, derived) if derived else d

    return Split(drivers, train_years=tuple(s.train_years), holdout_years=tuple(s.holdout_years),
                 on_read=on_read, exclude_cells=_region_cells(drivers, s.holdout_regions), derive=derive)
