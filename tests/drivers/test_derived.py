import math

import numpy as np
import pytest

from fireform.drivers.derived import (
    accumulated_dryness,
    add_derived,
    annual_precipitation,
    dewpoint,
    nesterov_monthly,
    running_mean,
)
from fireform.exceptions import MissingVariableError, UnknownNameError
from fireform.testing import tiny_drivers


def test_running_mean_trailing_with_expanding_start():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    # t=0: 1; t=1: (1+2)/2; t>=2: mean of the last three.
    assert running_mean(x, 3) == pytest.approx([1.0, 1.5, 2.0, 3.0, 4.0])
    x2 = np.stack([x, 10 * x], axis=1)  # (time, cells)
    assert running_mean(x2, 3)[:, 1] == pytest.approx([10.0, 15.0, 20.0, 30.0, 40.0])
    with pytest.raises(ValueError, match="25"):
        running_mean(x, 25)


def test_annual_precipitation_hand_values():
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31], float)  # 2001-01..2002-01
    pr = np.ones(13)  # 1 mm/day
    p = annual_precipitation(pr, days)
    assert p[0] == pytest.approx(31 * 12)  # one month scaled to a year
    assert p[1] == pytest.approx((31 + 28) * 12 / 2)
    assert p[11] == pytest.approx(365.0)  # a full calendar year
    assert p[12] == pytest.approx(365.0)  # Feb..Jan is also 365 days
    pr2 = pr.copy()
    pr2[12] = 2.0
    assert annual_precipitation(pr2, days)[12] == pytest.approx(365.0 + 31)


def test_accumulated_dryness_hand_values():
    ln2 = math.log(2.0)
    # Dry air only: VPD = ln 2 kPa gives a pull of 1 - 1/2 = 0.5; r = 0.5.
    d = accumulated_dryness(np.zeros(3), np.full(3, ln2))
    assert d == pytest.approx([0.25, 0.25 + 0.5 * 0.75 * 0.5, 0.4375 + 0.5 * 0.5625 * 0.5])
    # Rain only: P = 3 ln 2 mm/day gives the same pull towards -1.
    w = accumulated_dryness(np.full(2, 3 * ln2), np.zeros(2))
    assert w == pytest.approx([-0.25, -0.4375])
    # Extreme inputs stay inside [-1, 1].
    e = accumulated_dryness(np.array([0, 0, 1e3, 1e3]), np.array([1e3, 1e3, 0, 1e3]))
    assert np.all(np.abs(e) <= 1.0)


def test_dewpoint_and_nesterov_hand_values():
    assert dewpoint(np.array([300.0]), np.array([100.0]))[0] == pytest.approx(300.0)
    tx = np.full(3, 303.15)  # 30 degC
    td = np.full(3, 283.15)  # 10 degC
    days = np.array([31.0, 28.0, 31.0])
    n = nesterov_monthly(tx, td, np.array([31.0, 28.0, 10.0]), days)
    # Jan fully dry: 31 * 20 * 30; Feb fully dry carries on; Mar has wet days: reset.
    assert n == pytest.approx([18600.0, 18600.0 + 28 * 600.0, 10 * 600.0])


def test_add_derived_returns_new_drivers_with_catalog_units():
    d = tiny_drivers()
    e = add_derived(d, ["dryness", "pr_annual", "gpp_mean_12m", "npp_mean_5m", "nesterov"])
    assert "dryness" not in d and "dryness" in e
    assert e.ds["pr_annual"].attrs["units"] == "mm yr-1"
    assert e.array("npp_mean_5m").shape == (d.n_cells, d.n_months)
    # Hand check at one cell: 12-month mean of GPP at month 20.
    g = d.ds["gpp"].values[:, 2, 3].astype(float)
    assert e.ds["gpp_mean_12m"].values[20, 2, 3] == pytest.approx(g[9:21].mean(), rel=1e-5)
    assert np.corrcoef(e.array("dryness").ravel(), d.array("pr").ravel())[0, 1] < 0
    with pytest.raises(UnknownNameError, match="dryness"):
        add_derived(d, ["wetness"])
    with pytest.raises(MissingVariableError, match="vpd"):
        no_vpd = type(d)(ds=d.ds.drop_vars("vpd"), cell_area=d.cell_area, mask=d.mask, regions=d.regions)
        add_derived(no_vpd, ["dryness"])
