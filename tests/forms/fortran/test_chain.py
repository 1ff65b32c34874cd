"""The full-chain deployment check with gfortran: raw monthly drivers -> Fortran derived states ->
formula, against Python from the same files, on the tiny drivers, a twin world and the Pantanal;
planted derived-input bugs are caught at the month and cell where they start."""

from __future__ import annotations

import pytest

from fireform.drivers.derived_defs import derived_def, with_window
from fireform.forms.form import Form, default_registry
from fireform.forms.fortran import derived_module
from fireform.loop.deploy import deploy_summary, deployment_check
from fireform.testing.worlds import tiny_drivers

from .conftest import all_derived_form, requires_gfortran, theta_of

pytestmark = [requires_gfortran, pytest.mark.requires_gfortran]

CATALOG_DERIVED = ["gpp_mean_3m", "gpp_mean_6m", "gpp_mean_12m", "gpp_mean_24m", "npp_mean_3m",
                   "npp_mean_6m", "npp_mean_12m", "npp_mean_24m", "pr_annual", "dryness", "nesterov"]


@pytest.fixture(scope="module")
def tiny():
    return tiny_drivers()


@pytest.fixture(scope="module")
def form_all():
    return all_derived_form(CATALOG_DERIVED)


def _assert_pass(r):
    assert r.get("error") is None, r.get("error")
    assert r["ok"], deploy_summary(r)
    assert r["max_rel"] <= 1e-5 and r["first_fail"] is None
    assert all(d["ok"] for d in r["derived"].values()), r["derived"]


def test_every_derived_input_round_trips_on_tiny_drivers(tmp_path, tiny, form_all):
    """All eleven catalog derived inputs, computed in Fortran from the raw drivers."""
    r = deployment_check(form_all, theta_of(form_all, 1), tiny, workdir=tmp_path,
                         fflags=("-O2", "-std=f2008", "-Wall", "-Werror"))
    _assert_pass(r)
    assert sorted(r["chain"]["derived"]) == sorted(CATALOG_DERIVED)
    assert r["n_values"] == tiny.n_cells * tiny.n_months
    assert 1e-6 < r["python_mean"] < 1.0  # a real signal, not zeros


def test_twin_world_with_truth_round_trips(tmp_path):
    from fireform.twin import DEMO_TRUTH, add_truth, make_world, world_drivers

    truth = Form.from_json(DEMO_TRUTH)
    d = world_drivers(add_truth(make_world(res=5.0, years=(2001, 2003)), truth, sigma=0.2, seed=0))
    ids = ["gpp_gating", "temperature_ignition", "hyperarid_suppression", "dryness_sigmoid",
           "nesterov_danger", "productivity_hump", "population_suppression", "cropland_suppression"]
    f = Form.from_mechanisms(ids, registry=default_registry())
    for th in (f.default_theta(), theta_of(f, 8)):
        r = deployment_check(f, th, d, workdir=tmp_path)
        _assert_pass(r)
    assert {"gpp_mean_12m", "npp_mean_12m", "pr_annual", "dryness", "nesterov"} <= set(r["chain"]["derived"])
    r = deployment_check(truth, truth.default_theta(), d, workdir=tmp_path / "truth")
    _assert_pass(r)


@pytest.mark.requires_data
def test_pantanal_round_trips(tmp_path, data_dir):
    from fireform.drivers.bundles import load_pantanal

    d = load_pantanal(data_dir=data_dir)
    ids = ["hyperarid_suppression", "dryness_sigmoid", "temperature_ignition", "dry_lightning_ignition",
           "tree_cover_limiter", "agb_linear"]
    f = Form.from_mechanisms(ids, registry=default_registry())
    r = deployment_check(f, f.default_theta(), d, workdir=tmp_path)
    _assert_pass(r)
    assert r["chain"]["derived"] == ["pr_annual", "dryness"] and r["n_values"] == 52 * 36


def _jan_reset(name, text):
    """A planted bug: the dryness state re-initialised every January."""
    if name != "fireform_driver.f90":
        return text
    line = "    read(u_cal, *) year, month, days\n"
    assert line in text
    return text.replace(line, line + "    if (month == 1) call dryness_init(st_dryness)\n")


def _window_11(name, text):
    """A planted bug: the 12-month running mean of GPP over 11 months."""
    if name != "fireform_gpp_mean_12m.f90":
        return text
    return derived_module(with_window(derived_def("gpp_mean_12m"), 11))


@pytest.mark.parametrize("bug, derived, month", [(_jan_reset, "dryness", "2002-01"),
                                                 (_window_11, "gpp_mean_12m", "2001-12")])
def test_planted_derived_input_bugs_are_caught_where_they_start(tmp_path, tiny, form_all, bug, derived, month):
    r = deployment_check(form_all, theta_of(form_all, 2), tiny, workdir=tmp_path, mutate=bug)
    assert r.get("error") is None, r.get("error")
    assert not r["ok"] and r["max_rel"] > 1e-5
    first = r["first_fail"]
    assert first["month"] == month and first["cell"] == 0  # every cell parts in that month
    assert first["fortran"] != first["python"]
    bad = [n for n, v in r["derived"].items() if not v["ok"]]
    assert bad == [derived]
    assert r["derived"][derived]["first_fail"]["month"] == month
    text = deploy_summary(r)
    assert "FAIL" in text and f"derived {derived} parts first at cell 0" in text and month in text


def test_python_side_is_the_numpy_functions(tmp_path, tiny):
    """The Python half reads the files back and uses fireform.drivers.derived: the stored derived
    variables of the drivers play no part (a stale one cannot hide a difference)."""
    from fireform.drivers.derived import add_derived

    f = all_derived_form(["dryness"])
    stale = add_derived(tiny, ["dryness"])
    stale = stale.with_variables(dryness=stale.ds["dryness"] * 0 + 0.5)
    r = deployment_check(f, theta_of(f, 3), stale, workdir=tmp_path)
    _assert_pass(r)
    assert r["chain"]["derived"] == ["dryness"] and "dryness.bin" not in [p.name for p in tmp_path.iterdir()]


def test_per_step_helper_compounds_to_the_monthly_fraction(tmp_path):
    import subprocess

    from fireform.forms.fortran import step_module

    (tmp_path / "fireform_step.f90").write_text(step_module())
    (tmp_path / "t.f90").write_text("""program t
  use iso_fortran_env, only: real64
  use fireform_step, only: burned_fraction_per_step, burned_fraction_per_step_linear
  implicit none
  real(real64) :: f, g, unburned
  integer :: i
  f = burned_fraction_per_step(0.3_real64, 1800.0_real64, 30.0_real64)
  g = burned_fraction_per_step_linear(0.3_real64, 1800.0_real64, 30.0_real64)
  unburned = 1.0_real64
  do i = 1, 1440
    unburned = unburned * (1.0_real64 - f)
  end do
  write(*, '(3es25.16)') 1.0_real64 - unburned, g * 1440, burned_fraction_per_step(1.5_real64, 1800.0_real64, 30.0_real64)
end program t
""")
    subprocess.run(["gfortran", "-std=f2008", "-Wall", "-Werror", "fireform_step.f90", "t.f90", "-o", "t"],
                   cwd=tmp_path, check=True, capture_output=True)
    out = subprocess.run(["./t"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()
    total, linear, clipped = map(float, out)
    assert abs(total - 0.3) < 1e-12 and abs(linear - 0.3) < 1e-12 and clipped == 1.0


def test_dry_days_counted_from_daily_values_match_numpy(tmp_path):
    """The land model's own count of dry days (daily pr, month by month) equals numpy's."""
    import subprocess

    import numpy as np
    import pandas as pd

    from fireform.drivers.derived import count_days_below
    from fireform.forms.fortran import daily_count_module

    days = pd.date_range("2001-01-01", "2002-12-31", freq="D")
    rng = np.random.default_rng(0)
    pr = np.where(rng.random((days.size, 7)) < 0.6, 0.0, rng.gamma(0.8, 5.0, (days.size, 7)))
    pr[rng.random(pr.shape) < 0.1] = 1.0  # exactly the threshold: not dry
    pr[5, 3] = np.nan
    month = days.year * 12 + days.month
    want = count_days_below("dry_days", pr, month)
    assert want.shape == (24, 7) and want[0, 0] == (pr[:31, 0] < 1.0).sum()
    pr.tofile(tmp_path / "pr_day.bin")
    (tmp_path / "fireform_dry_days.f90").write_text(daily_count_module("dry_days"))
    ends = np.nonzero(np.r_[month[1:] != month[:-1], True])[0] + 1
    (tmp_path / "ends.txt").write_text(" ".join(map(str, ends)) + "\n")
    (tmp_path / "t.f90").write_text(f"""program t
  use iso_fortran_env, only: real64
  use fireform_dry_days, only: dry_days_state, dry_days_init, dry_days_add_day, dry_days_end_month
  implicit none
  type(dry_days_state) :: s(7)
  real(real64) :: x(7)
  integer :: ends(24), d, m, u, o
  open(newunit=u, file='ends.txt', status='old', action='read')
  read(u, *) ends
  close(u)
  call dry_days_init(s)
  open(newunit=u, file='pr_day.bin', access='stream', form='unformatted', status='old', action='read')
  open(newunit=o, file='out.bin', access='stream', form='unformatted', status='replace', action='write')
  m = 1
  do d = 1, {days.size}
    read(u) x
    call dry_days_add_day(s, x)
    if (d == ends(m)) then
      call dry_days_end_month(s)
      write(o) s%value
      m = m + 1
    end if
  end do
  close(u)
  close(o)
end program t
""")
    subprocess.run(["gfortran", "-std=f2008", "-Wall", "-Werror", "fireform_dry_days.f90", "t.f90", "-o", "t"],
                   cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(["./t"], cwd=tmp_path, check=True, capture_output=True)
    np.testing.assert_array_equal(np.fromfile(tmp_path / "out.bin").reshape(24, 7), want)


def test_nan_inputs_part_nowhere(tmp_path, form_all):
    """NaN in raw inputs: Fortran's states follow numpy's NaN rules (NaN meets NaN)."""
    import numpy as np

    d = tiny_drivers()
    ds = d.ds.copy(deep=True)
    for v, (t, y, x) in {"pr": (5, 2, 3), "rh": (10, 1, 1), "gpp": (20, 0, 4), "tasmax": (30, 3, 3)}.items():
        ds[v].values[t, y, x] = np.nan
    nd = type(d)(ds=ds, cell_area=d.cell_area, mask=d.mask, regions=d.regions, target=d.target)
    r = deployment_check(form_all, theta_of(form_all, 5), nd, workdir=tmp_path)
    _assert_pass(r)
    bf = np.fromfile(tmp_path / "burned_fraction.bin")
    assert np.isnan(bf).sum() > 12  # the NaN propagated through running means and dryness


def test_derived_input_without_its_raw_inputs_is_read(tmp_path, tiny):
    from fireform.drivers.derived import add_derived

    f = all_derived_form(["gpp_mean_12m", "dryness"])
    d = add_derived(tiny, ["gpp_mean_12m"])
    d = type(d)(ds=d.ds.drop_vars("gpp"), cell_area=d.cell_area, mask=d.mask, regions=d.regions)
    r = deployment_check(f, theta_of(f, 6), d, workdir=tmp_path)
    _assert_pass(r)
    assert r["chain"]["derived"] == ["dryness"] and r["chain"]["read"] == ["gpp_mean_12m"]
