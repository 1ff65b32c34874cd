"""The parameter spread table (seeds and bootstrapped years) and year redraws given explicitly."""

import numpy as np
import pytest

from fireform.fitting import perturb, spread_table
from fireform.forms import Form


def test_spread_table_known_answer():
    form = Form.from_mechanisms(["temperature_ignition"])  # scale (log 1e-5..1), t0 (260..310), k_t (log)
    value = {"scale": 1e-3, "temperature_ignition.t0": 260.0, "temperature_ignition.k_t": 0.2}
    seeds = [dict(value), {**value, "temperature_ignition.t0": 261.0}]
    boot = [{**value, "scale": 1e-2}, {**value, "scale": 1e-4, "temperature_ignition.t0": 285.0},
            {**value, "temperature_ignition.k_t": 1.0}]
    t = spread_table(form, value, seeds, boot).set_index("param")
    s = t.loc["scale"]
    # log parameter: 1e-4 .. 1e-2 spans 2 of the box's 5 decades
    assert s.range_fraction == pytest.approx(0.4) and s.slack and not s.at_bound
    assert (s.boot_min, s.boot_max, s.n_boot, s.n_seeds) == (pytest.approx(1e-4), pytest.approx(1e-2), 3, 2)
    t0 = t.loc["temperature_ignition.t0"]
    assert t0.at_bound and t0.range_fraction == pytest.approx(0.5) and t0.slack  # 260 .. 285 of 50 K
    assert (t0.seed_min, t0.seed_max) == (260.0, 261.0)
    k = t.loc["temperature_ignition.k_t"]
    assert k.boot_at_bound == 1 and not k.at_bound  # one refit ran into the upper bound
    assert k.range_fraction == pytest.approx(np.log10(1.0 / 0.2) / np.log10(1.0 / 0.05))


def test_perturb_lays_the_given_years_end_to_end(twin):
    years = [2003, 2003, 2001, 2006, 2002, 2002]
    p = perturb(twin, rng=np.random.default_rng(0), bootstrap=True, noise=0.0, years=years)
    src, out = twin.array(twin.target), p.array(p.target)
    assert out.shape == src.shape and p.time[0].year == twin.time[0].year
    for k, y in enumerate(years):
        np.testing.assert_array_equal(out[:, 12 * k:12 * (k + 1)], src[:, np.asarray(twin.time.year == y)])
    with pytest.raises(ValueError, match=r"years \[1999\] are not in the drivers"):
        perturb(twin, rng=np.random.default_rng(0), noise=0.0, years=[1999] * 6)
