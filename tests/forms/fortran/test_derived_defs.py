"""The numpy derived inputs equal a month-by-month reading of their records, first months and
NaN included (the records are also what the Fortran modules are generated from)."""

from __future__ import annotations

import numpy as np
import pytest

from fireform.drivers.derived import derived_from_arrays
from fireform.drivers.derived_defs import DERIVED_DEFS, derived_def

from .stepper import step_record

NAMES = sorted(DERIVED_DEFS) + ["gpp_mean_5m", "npp_mean_17m"]


def _inputs(n_t: int = 40, n_c: int = 30, seed: int = 0, nan: bool = False):
    rng = np.random.default_rng(seed)
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] * 4, float)[:n_t]
    wet = rng.random((n_t, n_c)) < 0.5
    a = {
        "gpp": rng.uniform(0, 3000, (n_t, n_c)), "npp": rng.uniform(-200, 1500, (n_t, n_c)),
        "pr": np.where(wet, rng.gamma(1.0, 4.0, (n_t, n_c)), 0.0), "vpd": rng.uniform(-0.1, 5, (n_t, n_c)),
        "tas": rng.uniform(260, 310, (n_t, n_c)), "rh": rng.uniform(0, 101, (n_t, n_c)),
        # about a third of the months are all dry, so the Nesterov sum carries over
        "dry_days": np.where(rng.random((n_t, n_c)) < 0.35, days[:, None], rng.uniform(0, 27, (n_t, n_c))),
    }
    a["tasmax"] = a["tas"] + rng.uniform(0, 12, (n_t, n_c))
    if nan:
        for v in a:
            a[v][rng.integers(0, n_t), rng.integers(0, n_c)] = np.nan
    return a, days


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("nan", [False, True])
def test_numpy_equals_the_record_stepped_month_by_month(name, nan):
    a, days = _inputs(nan=nan)
    want = step_record(derived_def(name), a, days)
    got = derived_from_arrays(name, a, days)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-10, atol=1e-9)
    if nan:
        assert np.isnan(got).any()


def test_first_months_are_expanding_and_the_initial_state_is_the_records():
    a, days = _inputs(n_t=14, n_c=3)
    pa = derived_from_arrays("pr_annual", a, days)
    np.testing.assert_allclose(pa[0], 12 * a["pr"][0] * days[0])
    np.testing.assert_allclose(pa[4], 12 * (a["pr"][:5] * days[:5, None]).sum(0) / 5)
    np.testing.assert_allclose(derived_from_arrays("gpp_mean_12m", a, days)[2], a["gpp"][:3].mean(0))
    d = derived_def("dryness")
    r, v0, p0 = d.const("rate"), d.const("vpd_scale"), d.const("pr_scale")
    dry = 1 - np.exp(-np.maximum(a["vpd"][0], 0) / v0)
    wet = 1 - np.exp(-np.maximum(a["pr"][0], 0) / p0)
    np.testing.assert_allclose(derived_from_arrays("dryness", a, days)[0], r * dry - r * wet)


def test_a_changed_record_changes_numpy_and_fortran_alike(monkeypatch):
    """derived.py reads the record's constants: a record edit reaches numpy (and the generator)."""
    from dataclasses import replace

    from fireform.drivers import derived_defs
    from fireform.forms.fortran import derived_module

    a, days = _inputs()
    base = derived_from_arrays("pr_annual", a, days)
    rec = derived_def("pr_annual")
    new = replace(rec, constants=(replace(rec.constants[0], value=6.0),))
    monkeypatch.setitem(derived_defs.DERIVED_DEFS, "pr_annual", new)
    np.testing.assert_allclose(derived_from_arrays("pr_annual", a, days), base / 2)
    assert "months_per_year = 6.0_r8" in derived_module("pr_annual")
