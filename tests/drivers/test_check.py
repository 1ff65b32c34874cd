import glob
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fireform.cli import app
from fireform.drivers.check import InputReport, check_drivers, check_paths
from fireform.drivers.derived import add_derived
from fireform.exceptions import InputCheckError
from fireform.testing import tiny_drivers


def _find(report, **kw):
    f = report.findings
    for k, v in kw.items():
        f = f[f[k] == v]
    return f


@pytest.fixture(scope="module")
def derived_world():
    return add_derived(tiny_drivers(), ["dryness", "pr_annual", "gpp_mean_12m"])


def test_clean_drivers_have_no_errors(derived_world):
    r = check_drivers(derived_world)
    assert r.ok, r.errors.to_string()


def test_dryness_zeroed_over_one_fire_region_is_an_error_naming_it(derived_world):
    d = derived_world
    shaf = d.regions.mask("shaf")
    dry = d.ds["dryness"].values.copy()
    dry[:, shaf] = 0.0
    bad = d.with_variables(dryness=d.ds["dryness"].copy(data=dry))
    r = check_drivers(bad)
    err = _find(r, severity="error", check="zero_where_burning", variable="dryness")
    assert list(err["region"]) == ["shaf"]
    n = int((bad.region_masks["shaf"]).sum())
    assert f"at {n} of {n} burning cells" in err["message"].iloc[0]
    assert _find(r, variable="dryness", region="nhaf").empty


def test_zeroed_region_found_by_fireform_check_on_a_file(tmp_path, derived_world):
    d = derived_world
    dry = d.ds["dryness"].values.copy()
    dry[:, d.regions.mask("shaf")] = 0.0
    path = tmp_path / "world_zeroed.nc"
    d.ds.assign(dryness=d.ds["dryness"].copy(data=dry)).to_netcdf(path)
    res = CliRunner().invoke(app, ["check", str(path), "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 1, res.output
    rows = json.loads((tmp_path / "r.json").read_text())["findings"]
    hits = [r for r in rows if r["check"] == "zero_where_burning" and r["severity"] == "error"]
    assert [(h["variable"], h["region"]) for h in hits] == [("dryness", "shaf")]


def test_fireform_check_on_a_clean_file_exits_zero(tmp_path, derived_world):
    clean = tmp_path / "world.nc"
    derived_world.ds.to_netcdf(clean)
    res = CliRunner().invoke(app, ["check", str(clean)])
    assert res.exit_code == 0, res.output
    assert "0 error(s)" in res.output


def test_derived_with_wrong_sign(derived_world):
    d = derived_world
    bad = d.with_variables(dryness=-d.ds["dryness"], pr_annual=d.ds["pr_annual"].max() - d.ds["pr_annual"])
    r = check_drivers(bad)
    e = _find(r, severity="error", check="derived_sign")
    assert set(e["variable"]) == {"dryness", "pr_annual"}
    msg = e[e["variable"] == "dryness"]["message"].iloc[0]
    assert "'pr' is +0." in msg and "negative" in msg


def test_drift_between_training_and_holdout(derived_world):
    d = derived_world
    tas = d.ds["tas"].values.copy()
    tas[d.time.year == 2004] += 40.0  # a unit slip in the holdout year
    r = check_drivers(d.with_variables(tas=d.ds["tas"].copy(data=tas)), holdout_years=[2004])
    e = _find(r, check="drift", variable="tas")
    assert list(e["severity"]) == ["error"] and "training standard deviations" in e["message"].iloc[0]
    assert _find(check_drivers(d, holdout_years=[2004]), check="drift", severity="error").empty


def test_raw_magnitude_and_fill_checks(nc):
    rng = np.random.default_rng(1)
    ba = rng.uniform(0, 0.05, (12, 4, 5))
    ba_p = nc("ba.nc", "burned_fraction", ba, units="1")
    pr_p = nc("pr.nc", "pr", rng.uniform(1e-6, 1e-4, (12, 4, 5)), units="mm day-1")
    tas_p = nc("tas.nc", "tas", rng.uniform(15, 30, (12, 4, 5)), units="K")
    fill = rng.uniform(0.2, 0.8, (4, 5))
    fill[1, 2] = 9.969209968386869e36
    tc_p = nc("tc.nc", "tree_cover", fill, units="1")
    r = check_paths([ba_p, pr_p, tas_p, tc_p])
    pr_e = _find(r, check="magnitude", variable="pr")
    assert "kg m-2 s-1" in pr_e["message"].iloc[0] and pr_e["severity"].iloc[0] == "error"
    tas_e = _find(r, check="magnitude", variable="tas")
    assert "'degC'" in tas_e["message"].iloc[0]
    assert "catalog range" in _find(r, check="range", variable="tas")["message"].iloc[0]
    f = _find(r, check="fill_value", variable="tree_cover")
    assert f["severity"].iloc[0] == "error" and "1 values in 1 cells" in f["message"].iloc[0]


def test_raw_identification_by_standard_name_and_file_name(nc):
    a = nc("rain_thing.nc", "precipitation_x", np.ones((12, 4, 5)) * 3e-5, units="kg m-2 s-1",
           attrs={"standard_name": "precipitation_flux"})
    b = nc("vpd_mean.nc", "unknown", np.ones((12, 4, 5)) * 1.2, units="kPa")
    r = check_paths([a, b])
    msgs = " ".join(_find(r, check="identify")["message"])
    assert "'precipitation_x' identified as 'pr' by standard_name" in msgs
    assert "'unknown' identified as 'vpd' by file name" in msgs
    assert r.ok


def test_report_raise_override_and_json():
    import pandas as pd

    from fireform.drivers.check import COLUMNS

    rows = [dict(zip(COLUMNS, ["error", "units", "vpd", "", "vpd.nc", "units 'K' ..."]))]
    rep = InputReport(pd.DataFrame(rows, columns=COLUMNS))
    assert not rep.ok and len(rep.errors) == 1
    with pytest.raises(InputCheckError, match=r"(?s)1 error.*units 'K'"):
        rep.raise_if_errors()
    over = rep.raise_if_errors(override=True)
    assert over.overridden and "overridden" in over.findings["message"].iloc[-1]
    data = json.loads(over.to_json())
    assert data["overridden"] is True and data["summary"]["error"] == 1


@pytest.mark.requires_data
def test_raw_pantanal_files_report_their_metadata_problems(data_dir, tmp_path):
    paths = sorted(glob.glob(str(data_dir / "pantanal" / "*.nc")))
    r = check_paths(paths)

    def msg(check, file):
        m = r.findings[(r.findings["check"] == check) & r.findings["file"].str.endswith(file)]
        assert not m.empty, (check, file)
        return m

    vpd = msg("units", "vpd_mean.nc")
    assert vpd["severity"].iloc[0] == "error"
    assert "'K'" in vpd["message"].iloc[0] and "1454..4150" in vpd["message"].iloc[0] and "'Pa'" in vpd["message"].iloc[0]
    assert "2276..6269" in msg("units", "vpd_max.nc")["message"].iloc[0]
    dd = msg("units", "dry_days.nc")["message"].iloc[0]
    assert "'1'" in dd and "0.03571..1" in dd and "dry_days" in dd
    assert "1..116" in msg("units", "consec_dry_mean.nc")["message"].iloc[0]
    for f, lo in (("Tree_cover_vcf.nc", "0.19..0.6869"), ("Total_cover_vcf.nc", "0.9394..1"), ("cveg.nc", "7.455..98.62")):
        m = msg("units", f)["message"].iloc[0]
        assert "missing" in m and lo in m
        assert "23 values in 23 cells" in msg("fill_value", f)["message"].iloc[0]
    assert "'Mg ha-1'" in msg("units", "cveg.nc")["message"].iloc[0]
    assert "scale factor 1.15741e-11" in msg("units", "lightning.nc")["message"].iloc[0]
    assert "suggests 'tasmax'" in msg("identify", "tas_max.nc")["message"].iloc[-1]
    t = r.findings[r.findings["check"] == "time"]["message"].iloc[0]
    assert "days since 1901-01-01" in t and "days since 1661-01-01" in t
    res = CliRunner().invoke(app, ["check", *paths, "--quiet"])
    assert res.exit_code == 1 and "vpd" in res.output


@pytest.mark.slow
def test_twin_world_with_dryness_zeroed_over_a_fire_region(tmp_path):
    from fireform.twin import add_truth, make_world, world_drivers
    from fireform.forms.form import Form

    form = Form.from_json({
        "name": "check_truth",
        "scale": {"lo": 1e-4, "hi": 1.0, "log": True, "default": 0.05},
        "terms": [{
            "name": "dry", "expression": "sigmoid(k_d*(dry_days - d0))",
            "params": [{"name": "k_d", "lo": 0.1, "hi": 2.0, "default": 0.4},
                       {"name": "d0", "lo": 5.0, "hi": 30.0, "default": 20.0, "units": "day"}],
            "rationale": "dry days", "references": ["test"],
        }],
    })
    world = add_truth(make_world(res=2.0, years=(2001, 2003), seed=0), form, sigma=0.0, floor=0.0)
    d = add_derived(world_drivers(world), ["dryness"])
    # The ILAMB box (not global) with the most burned area.
    bf = np.nan_to_num(d.array("burned_fraction")).sum(axis=1) * d.area
    reg = max((k for k in d.region_masks if k != "global"), key=lambda k: bf[d.region_masks[k]].sum())
    dry = d.ds["dryness"].values.copy()
    dry[:, d.regions.mask(reg)] = 0.0
    path = tmp_path / "twin_zeroed.nc"
    d.ds.assign(dryness=d.ds["dryness"].copy(data=dry)).to_netcdf(path)
    r = check_paths([path])
    hits = _find(r, severity="error", check="zero_where_burning", variable="dryness")
    assert reg in set(hits["region"]), r.findings.to_string()


def test_a_models_own_burned_area_is_checked_as_a_comparison_not_as_a_driver():
    import dataclasses

    d = tiny_drivers()
    ds = d.ds.assign(model_burned_fraction=d.ds.burned_fraction * 0.0)  # a model that never burns
    ds["model_burned_fraction"].attrs["units"] = "1"
    r = check_drivers(dataclasses.replace(d, ds=ds))
    f = r.findings[r.findings.variable == "model_burned_fraction"]
    assert not f.message.str.contains("not a catalog variable").any()
    assert (f.severity != "error").all(), f.to_string()  # burning nothing is for the scores to show
    bad = ds.assign(model_burned_fraction=d.ds.burned_fraction * 0.0 + 3.0)  # a percent as a fraction
    r = check_drivers(dataclasses.replace(d, ds=bad))
    f = r.findings[(r.findings.variable == "model_burned_fraction") & (r.findings.severity == "error")]
    assert f.check.str.contains("range").any(), r.findings.to_string()
