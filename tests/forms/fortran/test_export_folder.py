"""The export folder as a land-model developer gets it: host kind, Makefile snippet with
-std=f2008 -Wall -Werror, README, full comments; the driver reproduces the check's output."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from fireform.exceptions import ExportError
from fireform.forms import export
from fireform.forms.form import NewTerm
from fireform.forms.fortran import Kind, write_fortran_export
from fireform.loop.deploy import deploy_summary, deployment_check
from fireform.mechanisms._base import Param
from fireform.testing.worlds import tiny_drivers

from .conftest import all_derived_form, requires_gfortran, theta_of

SHR_KIND = """module shr_kind_mod
  implicit none
  private
  integer, parameter, public :: shr_kind_r8 = selected_real_kind(12)
end module shr_kind_mod
"""
HOST = Kind("shr_kind_r8", "shr_kind_mod")
NAMES = ["gpp_mean_12m", "npp_mean_6m", "pr_annual", "dryness", "nesterov"]


def test_kind_options_and_full_comments():
    f = all_derived_form(["dryness"])
    long = ("the share of the month's area-weighted ignitions that escape suppression and grow "
            "into fires larger than the detection limit of the burned-area product, which for "
            "MODIS MCD64A1 is roughly 21 ha per 500 m cell, in a well-documented regime")
    f = f.with_term(NewTerm("escape_share_of_ignitions_over_detection_limit_in_savanna_cells",
                            "1 - exp(-b*wind)", (Param("b", 0.01, 2.0, "s m-1", long),), "wind", ("x",)))
    th = f.default_theta()
    src = export.to_fortran(f, th, kind="shr_kind_r8", kind_module="shr_kind_mod")
    assert "use shr_kind_mod, only: r8 => shr_kind_r8" in src and "iso_fortran_env" not in src
    assert max(len(line) for line in src.splitlines()) <= 132
    text = " ".join(line.strip().lstrip("!").strip() for line in src.splitlines() if line.strip().startswith("!"))
    assert long in text  # never cut
    assert "escape_share_of_ignitions_over_detection_limit_in_savanna_cells.b" in text  # the full name
    assert "use iso_fortran_env, only: real64" in export.to_fortran(f, th)
    with pytest.raises(ExportError, match="go together"):
        export.to_fortran(f, th, kind="shr_kind_r8")
    with pytest.raises(ExportError, match="not a Fortran identifier"):
        export.to_fortran(f, th, kind="shr kind", kind_module="m")


def test_folder_contents(tmp_path):
    f = all_derived_form(NAMES)
    paths = write_fortran_export(f, theta_of(f, 0), tmp_path, kind=HOST)
    names = {p.name for p in paths}
    assert {f"fireform_{n}.f90" for n in NAMES} <= names
    assert {"fireform_fire.f90", "fireform_step.f90", "fireform_driver.f90", "Makefile.fireform",
            "README.md"} <= names
    readme = (tmp_path / "README.md").read_text()
    for word in ("shr_kind_r8", "burned_fraction_per_step", "restart", "First months", "dryness_update",
                 "1 - (1 - bf)**(dt / month_seconds)"):
        assert word in readme, word
    assert "fireform_dry_days.f90" in names and "dry_days_add_day" in readme  # nesterov reads dry_days
    for n in NAMES:
        src = (tmp_path / f"fireform_{n}.f90").read_text()
        assert f"type :: {n}_state" in src and f"elemental subroutine {n}_init" in src
        assert f"elemental subroutine {n}_update" in src and "use shr_kind_mod, only: r8 => shr_kind_r8" in src


@requires_gfortran
@pytest.mark.requires_gfortran
def test_host_kind_chain_and_makefile_build_with_werror(tmp_path):
    d = tiny_drivers()
    f = all_derived_form(NAMES)
    th = theta_of(f, 4)
    r = deployment_check(f, th, d, workdir=tmp_path / "check", kind=HOST,
                         host_sources={"shr_kind_mod.f90": SHR_KIND},
                         fflags=("-O2", "-std=f2008", "-Wall", "-Werror"))
    assert r.get("error") is None and r["ok"], deploy_summary(r)
    if shutil.which("make") is None:
        pytest.skip("needs make for the Makefile snippet")
    out = tmp_path / "export"
    write_fortran_export(f, th, out, kind=HOST)
    (out / "shr_kind_mod.f90").write_text(SHR_KIND)
    subprocess.run(["gfortran", "-std=f2008", "-Wall", "-Werror", "-c", "shr_kind_mod.f90"], cwd=out,
                   check=True, capture_output=True)
    env = {**os.environ, "FIREFORM_FFLAGS": "-O2 -std=f2008 -Wall -Werror"}
    b = subprocess.run(["make", "-f", "Makefile.fireform", "fireform_driver"],
                       cwd=out, capture_output=True, text=True, env=env)
    assert b.returncode == 0, b.stdout + b.stderr
    for p in (tmp_path / "check").iterdir():
        if p.suffix == ".txt" or (p.suffix == ".bin" and not p.name.startswith(("derived_", "burned"))):
            shutil.copy(p, out / p.name)
    subprocess.run(["./fireform_driver"], cwd=out, check=True, capture_output=True)
    got = np.fromfile(out / "burned_fraction.bin")
    np.testing.assert_array_equal(got, np.fromfile(tmp_path / "check" / "burned_fraction.bin"))


def test_readme_says_how_to_make_inputs_cmip_output_lacks():
    from fireform.forms import Form
    from fireform.forms.fortran import fortran_sources
    from fireform.twin import DEMO_TRUTH

    f = Form.from_json(DEMO_TRUTH)  # reads vpd, which CMIP output does not have
    text = fortran_sources(f, f.default_theta())["README.md"]
    assert "## Inputs a land model writes under other names" in text
    assert "`vpd` from `tas` + `hurs`: VPD = e_s(T) (1 - RH/100)" in text
    assert "`vpd` from `tas` + `huss` + `ps`" in text
    nesterov = all_derived_form(["nesterov"])  # reads tas, pr, rh...: nothing to derive from model output
    assert "under other names" not in fortran_sources(nesterov, theta_of(nesterov, 0))["README.md"]
