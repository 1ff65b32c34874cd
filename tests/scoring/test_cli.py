"""``fireform score`` on netCDF files, and ``fireform leaderboard --reference-table``."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from fireform.cli import app
from fireform.scoring import Benchmark
from fireform.scoring.files import score_files
from tests.scoring.reference_tools import write_netcdf
from tests.scoring.worlds import make_world


def test_score_files_matches_benchmark_and_converts_percent(tmp_path):
    w = make_world("basic", seed=5)
    write_netcdf(str(tmp_path / "o.nc"), w, w.obs)
    write_netcdf(str(tmp_path / "m.nc"), w, w.mod * 100.0)  # the model in percent
    import xarray as xr
    ds = xr.open_dataset(tmp_path / "m.nc")
    ds["burntArea"].attrs["units"] = "%"
    ds.load().to_netcdf(tmp_path / "mp.nc")
    res = score_files(str(tmp_path / "o.nc"), "burntArea", str(tmp_path / "mp.nc"), "burntArea",
                      regions="global", period="2002-2004")
    assert res.regridding.method == "same grid"
    card = res.card
    obs, mod = w.packed()
    keep = w.time.year >= 2002
    b = Benchmark.prepare(obs[:, keep], area=w.area(), time=w.time[keep], n_grid=w.n_grid)
    expect = b.score(mod[:, keep]).overall("ilamb2")
    assert card.overall("ilamb2").iloc[0] == pytest.approx(expect, rel=1e-6)


def test_leaderboard_reference_table_command():
    r = CliRunner().invoke(app, ["leaderboard", "--reference-table"])
    assert r.exit_code == 0, r.output
    assert "0.6713" in r.output and "ranking preserved: True" in r.output
