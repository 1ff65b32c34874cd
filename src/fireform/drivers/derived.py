"""Derived drivers: pure functions of canonical-unit arrays with time first (time, ...).

Every function takes arrays whose first axis is the month axis (any trailing shape: (time,),
(time, cells) or (time, lat, lon)) and returns an array of the same shape, in the catalog units of
the derived variable. ``add_derived`` applies them to a ``Drivers`` and returns a new one.

Their constants and windows come from :mod:`fireform.drivers.derived_defs`, the written
definition each derived input shares with its generated Fortran module; tests step those records
month by month and require these functions to agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from fireform.drivers.catalog import catalog
from fireform.drivers.dataset import Drivers
from fireform.drivers.derived_defs import DAILY_DEFS, constant, derived_def
from fireform.exceptions import MissingVariableError, UnknownNameError

__all__ = [
    "DerivedSpec",
    "DERIVED",
    "accumulated_dryness",
    "running_mean",
    "annual_precipitation",
    "dewpoint",
    "nesterov_monthly",
    "add_derived",
    "derived_spec",
    "derived_from_arrays",
    "count_days_below",
]


def accumulated_dryness(
    pr: np.ndarray,
    vpd: np.ndarray,
    *,
    pr_scale: float | None = None,
    vpd_scale: float | None = None,
    rate: float | None = None,
    initial: float = 0.0,
) -> np.ndarray:
    """Accumulated dryness balance D in [-1, 1] (1 = dry), a monthly analogue of ``dry_bal``.

    D_t = D_{t-1} + r (1 - D_{t-1}) (1 - exp(-VPD_t / v0)) - r (1 + D_{t-1}) (1 - exp(-P_t / p0))

    with D_{-1} = ``initial``, P in mm day-1 (p0 = ``pr_scale``), VPD in kPa (v0 = ``vpd_scale``)
    and r = ``rate`` (None: the values of the record ``dryness``). Dry air pulls D towards +1 in
    proportion to the remaining distance, rain pulls it towards -1; with r <= 0.5 both pulls sum
    to at most 1, so D stays in [-1, 1] without clipping. NaN inputs give NaN from that month on (per cell).

    Reference: the ``dry_bal`` state of python-inferno (A. Kuhn-Régnier, INFERNO in Python,
    ``dryness_method=2`` with ``rain_f``/``vpd_f``), an extension of INFERNO (Mangeon et al. 2016,
    GMD 9, 2685-2700).

    Notes
    -----
    Departures from python-inferno: a monthly step on monthly-mean P and VPD instead of a
    sub-daily step; fixed, documented rates (p0, v0, r) instead of fitted ``rain_f``/``vpd_f``,
    since here dryness is an input to be checked, and its fitted response lives in the mechanism.
    The defaults and the step are the record ``dryness`` of :mod:`fireform.drivers.derived_defs`
    (the Fortran module is generated from it).
    """
    # None: the record's value, read at call time (so the record is the one definition)
    pr_scale = constant("dryness", "pr_scale") if pr_scale is None else pr_scale
    vpd_scale = constant("dryness", "vpd_scale") if vpd_scale is None else vpd_scale
    rate = constant("dryness", "rate") if rate is None else rate
    pr = np.asarray(pr, dtype=np.float64)
    vpd = np.asarray(vpd, dtype=np.float64)
    dry = 1.0 - np.exp(-np.maximum(vpd, 0.0) / vpd_scale)
    wet = 1.0 - np.exp(-np.maximum(pr, 0.0) / pr_scale)
    out: np.ndarray = np.empty(np.broadcast_shapes(pr.shape, vpd.shape))  # numpy's stubs: 0-d otherwise
    d = np.full(out.shape[1:], float(initial))
    for t in range(out.shape[0]):
        d = d + rate * (1.0 - d) * dry[t] - rate * (1.0 + d) * wet[t]
        out[t] = d
    return out


def running_mean(x: np.ndarray, months: int) -> np.ndarray:
    """Trailing running mean over ``months`` (3..24) months: mean of x_{t-n+1}..x_t.

    First months: where fewer than n months precede t (t < n - 1), the mean is over the t + 1
    months available (an expanding mean), so the series starts at the first month instead of
    losing n - 1 months of every cell. Months are weighted equally (a mean of monthly rates).
    """
    if not 3 <= int(months) <= 24:
        raise ValueError(f"running mean window must be 3..24 months, got {months}")
    n = int(months)
    x = np.asarray(x, dtype=np.float64)
    c = np.cumsum(x, axis=0)
    out = np.empty_like(c)
    out[:n] = c[:n]
    out[n:] = c[n:] - c[:-n]
    count = np.minimum(np.arange(1, x.shape[0] + 1), n).astype(float)
    return out / count.reshape((-1,) + (1,) * (x.ndim - 1))


def annual_precipitation(pr: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Precipitation over the trailing 12 months (mm yr-1) from rates in mm day-1.

    P_ann,t = sum_{k=t-11..t} pr_k d_k, d_k = days in month k. First months (t < 11): the total over
    the t + 1 available months scaled to 12 months, sum_k pr_k d_k * 12 / (t + 1).
    """
    pr = np.asarray(pr, dtype=np.float64)
    d = np.asarray(days, dtype=np.float64).reshape((-1,) + (1,) * (pr.ndim - 1))
    n = derived_def("pr_annual").window
    m = running_mean(pr * d, n)  # mean monthly total, expanding over the first 11 months
    return constant("pr_annual", "months_per_year") * m


def dewpoint(tas_k: np.ndarray, rh_percent: np.ndarray) -> np.ndarray:
    """Dew point (K) from temperature (K) and relative humidity (%), Magnus formula.

    gamma = ln(RH/100) + a T / (b + T), Td = b gamma / (a - gamma), T in degC, a = 17.625,
    b = 243.04 degC (Alduchov and Eskridge 1996).
    """
    a, b = constant("nesterov", "magnus_a"), constant("nesterov", "magnus_b")
    t0 = constant("nesterov", "t_freeze")
    t = np.asarray(tas_k, dtype=np.float64) - t0
    rh = np.clip(np.asarray(rh_percent, dtype=np.float64), constant("nesterov", "rh_min"),
                 constant("nesterov", "rh_max"))
    g = np.log(rh / 100.0) + a * t / (b + t)
    return b * g / (a - g) + t0


def nesterov_monthly(
    tasmax_k: np.ndarray, tdew_k: np.ndarray, dry_days: np.ndarray, days: np.ndarray
) -> np.ndarray:
    """Monthly analogue of the Nesterov index (degC^2, reported as the catalog's delta_degC).

    Nesterov (1949), as used in SPITFIRE (Thonicke et al. 2010): NI = sum over the days since the
    last rain (P >= 3 mm) of (Tmax - Tdew) Tmax, temperatures in degC. Monthly analogue:

    NI_t = c_t NI_{t-1} + N_t max(Tmax_t - Tdew_t, 0) max(Tmax_t, 0),  c_t = 1 if N_t = d_t else 0

    with N_t the dry days of month t and d_t its length: the month's dry days add the daily term at
    monthly-mean temperatures, and the sum carries over only through a month without any wet day.

    Notes
    -----
    Departures: monthly means instead of daily values; dry days counted with the 1 mm threshold of
    the catalog's ``dry_days`` instead of 3 mm; the reset happens at month, not day, resolution.
    """
    t0 = constant("nesterov", "t_freeze")
    tx = np.asarray(tasmax_k, dtype=np.float64) - t0
    td = np.asarray(tdew_k, dtype=np.float64) - t0
    n = np.asarray(dry_days, dtype=np.float64)
    d = np.asarray(days, dtype=np.float64).reshape((-1,) + (1,) * (n.ndim - 1))
    term = n * np.maximum(tx - td, 0.0) * np.maximum(tx, 0.0)
    carry = n >= d - constant("nesterov", "full_month_tol")
    out = np.empty_like(term)
    acc = np.zeros(term.shape[1:])
    for t in range(term.shape[0]):
        acc = np.where(carry[t], acc, 0.0) + term[t]
        out[t] = acc
    return out


def derived_from_arrays(name: str, arrays, days) -> np.ndarray:
    """Derived input ``name`` from its raw inputs ``arrays`` (name -> array, time first, canonical
    units) and the month lengths ``days``: the one dispatch from a name to its numpy function."""
    d = derived_def(name)
    missing = [v for v in d.input_names if v not in arrays]
    if missing:
        raise MissingVariableError(f"derived input {name!r} needs {', '.join(d.input_names)}; "
                                   f"missing: {', '.join(missing)}")
    if name == "dryness":
        return accumulated_dryness(arrays["pr"], arrays["vpd"])
    if name == "pr_annual":
        return annual_precipitation(arrays["pr"], days)
    if name == "nesterov":
        return nesterov_monthly(arrays["tasmax"], dewpoint(arrays["tas"], arrays["rh"]),
                                arrays["dry_days"], days)
    if d.kind == "window" and d.output == "mean" and len(d.inputs) == 1:  # gpp/npp_mean_<n>m
        return running_mean(arrays[d.inputs[0].name], d.window)
    raise UnknownNameError(f"derived input {name!r} has a definition but no numpy function")


def count_days_below(name: str, daily: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Monthly counts of days below the record's threshold (e.g. ``dry_days`` from daily pr).

    ``daily``: (days, ...) daily values in the record's units; ``month``: (days,) the month each
    day belongs to (any labels, consecutive days of a month together, months in time order).
    Returns (months, ...): the number of days with ``daily < threshold`` (NaN days not counted).
    """
    rec = DAILY_DEFS[name]
    x = np.asarray(daily, dtype=np.float64)
    m = np.asarray(month)
    starts = np.r_[0, np.nonzero(m[1:] != m[:-1])[0] + 1]
    with np.errstate(invalid="ignore"):
        below = (x < rec.threshold.value).astype(np.float64)
    return np.add.reduceat(below, starts, axis=0)


# -- registry -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DerivedSpec:
    """A derived driver: its inputs and how to compute it from a Drivers."""

    name: str
    inputs: tuple[str, ...]
    compute: Callable[[Drivers], np.ndarray]  # returns (time, lat, lon) in catalog units
    # The sign its correlation with each raw input must have (checked by fireform check).
    expected_sign: dict[str, int]


def _v(d: Drivers, name: str) -> np.ndarray:
    return d.ds[name].transpose("time", "lat", "lon").values if not d.is_static(name) else d.ds[name].values


def _spec(name: str, signs: dict[str, int]) -> DerivedSpec:
    inputs = derived_def(name).input_names
    return DerivedSpec(
        name, inputs, lambda d: derived_from_arrays(name, {v: _v(d, v) for v in inputs}, d.dt), signs
    )


def _mean_spec(var: str, n: int) -> DerivedSpec:
    return _spec(f"{var}_mean_{n}m", {var: +1})


DERIVED: dict[str, DerivedSpec] = {
    "dryness": _spec("dryness", {"pr": -1, "vpd": +1}),
    "pr_annual": _spec("pr_annual", {"pr": +1}),
    "nesterov": _spec("nesterov", {"dry_days": +1, "rh": -1}),
}
for _var in ("gpp", "npp"):
    for _n in (3, 6, 12, 24):
        DERIVED[f"{_var}_mean_{_n}m"] = _mean_spec(_var, _n)

_MEAN = re.compile(r"^(gpp|npp)_mean_(\d+)m$")


def derived_spec(name: str) -> DerivedSpec:
    """The spec of a derived driver; ``gpp_mean_<n>m``/``npp_mean_<n>m`` work for any n in 3..24."""
    if name in DERIVED:
        return DERIVED[name]
    m = _MEAN.match(name)
    if m and 3 <= int(m.group(2)) <= 24:
        return _mean_spec(m.group(1), int(m.group(2)))
    raise UnknownNameError(
        f"unknown derived driver {name!r}; valid: {', '.join(DERIVED)} (or gpp/npp_mean_<3..24>m)"
    )


def add_derived(drivers: Drivers, names: Iterable[str]) -> Drivers:
    """A new Drivers with the derived drivers ``names`` added (inputs must be present)."""
    arrays: dict[str, xr.DataArray] = {}
    for name in names:
        spec = derived_spec(name)
        missing = [v for v in spec.inputs if v not in drivers]
        if missing:
            raise MissingVariableError(
                f"derived driver {name!r} needs {', '.join(spec.inputs)}; missing: "
                f"{', '.join(missing)} (the drivers hold: {', '.join(drivers.variables)})"
            )
        values = spec.compute(drivers).astype(np.float32)
        units = catalog()[name].units if name in catalog() else drivers.units(spec.inputs[0])
        arrays[name] = xr.DataArray(
            values, dims=("time", "lat", "lon"),
            coords={"time": drivers.ds["time"], "lat": drivers.ds["lat"], "lon": drivers.ds["lon"]},
            attrs={"units": units, "derived_from": ",".join(spec.inputs)},
        )
    return drivers.with_variables(**arrays)

