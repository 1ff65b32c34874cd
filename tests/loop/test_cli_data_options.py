"""The data options ``fit``, ``shapley`` and ``score`` share (``cli/common.py``): several files
or globs after one ``--data``, ``--obs`` apart, ``--mapping NAME=VAR`` adding to what is
identified, ``--target``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fireform.cli import app
from fireform.cli.common import DataOptions, load_data, spread_multi
from fireform.cli.progress import eta_line
from fireform.loop import MODEL_FIRE
from fireform.testing.cmor import write_cmor_bundle
from fireform.twin import demo_truth


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return write_cmor_bundle(tmp_path_factory.mktemp("cmor"), res=5.0, years=(2001, 2003))


@pytest.mark.parametrize("args, want", [
    (["fit", "f.json", "--data", "a.nc", "b.nc", "--trials", "4"],
     ["fit", "f.json", "--data", "a.nc", "--data", "b.nc", "--trials", "4"]),
    # a positional form after the data files stays positional
    (["fit", "--data", "a.nc", "b.zarr", "f.json"], ["fit", "--data", "a.nc", "--data", "b.zarr", "f.json"]),
    (["fit", "--data", "dir/*.nc", "--obs", "o.nc"], ["fit", "--data", "dir/*.nc", "--obs", "o.nc"]),
    (["fit", "--data", "pantanal", "f.json"], ["fit", "--data", "pantanal", "f.json"]),
])
def test_spread_multi(args, want):
    assert spread_multi(args) == want


def test_several_files_after_one_flag_equal_a_glob(bundle):
    files = [str(p) for p in bundle.model_files]
    a = load_data(DataOptions(data=files, obs=[str(bundle.obs_file)]))
    b = load_data(DataOptions(data=[str(bundle.model_dir / "*.nc")], obs=[str(bundle.obs_file)]))
    assert a.fingerprint() == b.fingerprint()
    assert MODEL_FIRE in a and a.target == "burned_fraction"


def test_mapping_adds_and_target_names_the_observed_variable(bundle):
    obs = [str(bundle.obs_file)]
    base = load_data(DataOptions(data=[str(bundle.model_dir)], obs=obs))
    mapped = load_data(DataOptions(data=[str(bundle.model_dir)], obs=obs, mapping={"tree_cover": "cropFrac"},
                                   target="burntArea"))
    assert set(base.variables) - {"cropland"} <= set(mapped.variables)  # nothing identified is dropped
    np.testing.assert_array_equal(mapped.ds.tree_cover.values, base.ds.cropland.values)
    np.testing.assert_array_equal(mapped.ds.burned_fraction.values, base.ds.burned_fraction.values)


def test_fit_takes_several_files_in_one_option_and_obs_apart(bundle, tmp_path):
    form = tmp_path / "truth.json"
    form.write_text(demo_truth().to_json())
    out = tmp_path / "params.json"
    files = [str(bundle.model_dir / f"{v}_TWIN-ESM.nc") for v in ("tas", "pr", "gpp", "hurs")]
    r = CliRunner().invoke(app, ["fit", str(form), "--data", *files, "--obs", str(bundle.obs_file),
                                 "--trials", "6", "--quiet", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "best parameters" in r.output and out.is_file()
    assert set(json.loads(out.read_text())["theta"]) == set(demo_truth().param_names)


def test_bad_mapping_is_a_usage_error(bundle, tmp_path):
    r = CliRunner().invoke(app, ["fit", str(tmp_path / "f.json"), "--data", str(bundle.model_dir),
                                 "--mapping", "rh"])
    assert r.exit_code == 2 and "NAME=VAR" in r.output


def test_score_takes_data_globs_and_identifies_the_burned_area(bundle):
    r = CliRunner().invoke(app, ["score", "--data", str(bundle.model_dir / "*.nc"), "--obs", str(bundle.obs_file),
                                 "--regions", "global"])
    assert r.exit_code == 0, r.output
    assert "variable 'burntFractionAll'" in r.output and "variable 'burntArea'" in r.output
    assert "conservative" in r.output or "nearest" in r.output or "grid" in r.output


def test_fit_progress_lines_every_tenth_off_a_terminal(bundle, tmp_path):
    """Not a TTY: a line at most every 10% of the trials (done/total, best, elapsed, ETA), the
    last at total/total; --quiet prints none."""
    form = tmp_path / "truth.json"
    form.write_text(demo_truth().to_json())
    args = ["fit", str(form), "--data", str(bundle.model_dir), "--obs", str(bundle.obs_file), "--trials", "40",
            "--sampler", "tpe"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("fit ") and " trials (" in ln]
    assert 1 <= len(lines) <= 11, lines
    done = [int(ln.split()[1].split("/")[0]) for ln in lines]
    assert done == sorted(done) and done[-1] == 40 and lines[-1].endswith("ETA 0s")
    assert all("best 0." in ln and "elapsed" in ln for ln in lines)
    q = CliRunner().invoke(app, args + ["--quiet"])
    assert q.exit_code == 0 and " trials (" not in q.stderr


@pytest.mark.parametrize("done, total, elapsed, eta", [(0, 100, 3.0, "?"), (25, 100, 10.0, "30s"),
                                                      (10, 1000, 6.0, "9m54s"), (100, 100, 80.0, "0s")])
def test_eta_from_the_mean_time_per_trial(done, total, elapsed, eta):
    line = eta_line(done, total, 0.5 if done else None, elapsed)
    assert line.endswith(f"ETA {eta}") and f"{done}/{total} trials" in line
