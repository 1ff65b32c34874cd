"""``fireform shapley`` end to end on a tiny world file, and the two PNGs."""

import pandas as pd
from typer.testing import CliRunner

from fireform.ablation.plots import write_plots


def test_plots(serial_result, tmp_path):
    p = write_plots(serial_result, tmp_path)
    for path in p.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_cli_writes_tables_and_pngs(world, form3, tmp_path):
    from fireform.cli import app

    nc = tmp_path / "world.nc"
    world.ds.to_netcdf(nc)
    fj = tmp_path / "form.json"
    fj.write_text(form3.subset(form3.term_ids[:2]).to_json())
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["shapley", str(fj), "--data", str(nc), "--workers", "1",
                                   "--trials", "10", "--out", str(out)])
    assert res.exit_code == 0, res.output
    v = pd.read_csv(out / "shapley_values.csv")
    assert len(v) == 2 and abs(v.share.sum() - 1) < 1e-9
    assert len(pd.read_csv(out / "shapley_subsets.csv")) == 4
    for name in ("interactions", "regions", "components", "subset_scores"):
        assert (out / f"shapley_{name}.csv").is_file()
    assert (out / "shapley_bars.png").is_file() and (out / "shapley_interactions.png").is_file()
    assert "shapley" in res.output and len(list((out / "cache" / "fits").glob("*.json"))) == 4
