"""``fireform form export --fortran --out DIR`` and ``fireform deploy-check`` through the typer app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fireform.cli import app
from fireform.forms.form import Form, default_registry

from .conftest import requires_gfortran

IDS = ["temperature_ignition", "hyperarid_suppression", "dryness_sigmoid", "gpp_gating"]


@pytest.fixture()
def form_files(tmp_path):
    f = Form.from_mechanisms(IDS, registry=default_registry())
    ff, pf = tmp_path / "form.json", tmp_path / "p.json"
    ff.write_text(json.dumps(f.to_dict()))
    pf.write_text(json.dumps({"theta": f.theta_dict(f.default_theta())}))
    return ff, pf


def test_form_export_fortran_folder_with_host_kind(tmp_path, form_files):
    ff, pf = form_files
    out = tmp_path / "export"
    r = CliRunner().invoke(app, ["form", "export", str(ff), "--fortran", "--params", str(pf),
                                 "--kind", "shr_kind_r8", "--kind-module", "shr_kind_mod", "--out", str(out)])
    assert r.exit_code == 0, r.output
    names = {p.name for p in out.iterdir()}
    assert {"fireform_fire.f90", "fireform_dryness.f90", "fireform_pr_annual.f90", "fireform_gpp_mean_12m.f90",
            "fireform_step.f90", "fireform_driver.f90", "Makefile.fireform", "README.md"} == names
    assert "r8 => shr_kind_r8" in (out / "fireform_dryness.f90").read_text()
    r = CliRunner().invoke(app, ["form", "export", str(ff), "--fortran", "--kind", "shr_kind_r8"])
    assert r.exit_code != 0 and "go together" in (str(r.exception) + r.output)


@requires_gfortran
@pytest.mark.requires_gfortran
def test_deploy_check_on_files(tmp_path, form_files):
    from fireform.testing.worlds import tiny_drivers

    ff, pf = form_files
    ds = tiny_drivers().ds
    ds[["pr", "vpd", "tas", "gpp"]].to_netcdf(tmp_path / "a.nc")
    ds[["burned_fraction"]].to_netcdf(tmp_path / "b.nc")
    r = CliRunner().invoke(app, ["deploy-check", str(ff), "--params", str(pf),
                                 "--data", str(tmp_path / "a.nc"), str(tmp_path / "b.nc")])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("deploy-check PASS: max rel diff") and "(80 cells x 48 months)" in r.output
    assert "derived in Fortran: pr_annual, gpp_mean_12m, dryness" in r.output


@requires_gfortran
@pytest.mark.requires_gfortran
@pytest.mark.requires_data
def test_deploy_check_pantanal(tmp_path, data_dir, form_files):
    f = Form.from_mechanisms(["temperature_ignition", "hyperarid_suppression", "dryness_sigmoid"],
                             registry=default_registry())
    ff = tmp_path / "pf.json"
    ff.write_text(json.dumps(f.to_dict()))
    r = CliRunner().invoke(app, ["deploy-check", str(ff), "--data", "pantanal", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["ok"] and d["max_rel"] <= 1e-5 and d["chain"]["derived"] == ["pr_annual", "dryness"]
