"""Known-truth worlds for recovery tests: drivers whose target is a form at known parameters.

    burned_fraction = clip(F(theta_true; drivers) * exp(sigma z - sigma^2 / 2), 0, 1),
    then values below ``floor`` (a detection limit) are set to 0;

z ~ N(0, 1) per cell-month, so the noise is mean-preserving multiplicative lognormal. Without
noise (sigma = 0, floor = 0) the target is exactly the form's own output, and the true
parameters score 1 on every component.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["with_truth"]


def with_truth(drivers, form, theta, *, sigma: float = 0.0, floor: float = 0.0, seed: int = 0):
    """A copy of ``drivers`` whose target (``burned_fraction``) is ``form`` at ``theta``."""
    bf = np.asarray(form.evaluate(theta, drivers), dtype=np.float64)
    if sigma > 0:
        rng = np.random.default_rng(seed)
        bf = bf * np.exp(sigma * rng.standard_normal(bf.shape) - 0.5 * sigma**2)
    bf = np.clip(bf, 0.0, 1.0)
    if floor > 0:
        bf = np.where(bf < floor, 0.0, bf)
    iy, ix = drivers.cell_index
    full = np.full((drivers.n_months, drivers.lat.size, drivers.lon.size), np.nan, np.float32)
    full[:, iy, ix] = bf.T
    da = xr.DataArray(
        full, dims=("time", "lat", "lon"),
        coords={"time": drivers.ds["time"], "lat": drivers.ds["lat"], "lon": drivers.ds["lon"]},
        attrs={"units": "1", "truth_form": form.hash, "noise_sigma": sigma, "floor": floor},
    )
    d = drivers.with_variables(burned_fraction=da)
    return type(d)(ds=d.ds, cell_area=d.cell_area, mask=d.mask, regions=d.regions,
                   target="burned_fraction", sources=d.sources)
