"""`fireform run examples/pantanal.toml` on the real Pantanal data (slow)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fireform.loop.journal import Journal
from fireform.scoring import overall

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.requires_data
def test_pantanal_end_to_end(data_dir, tmp_path):
    rd = tmp_path / "pantanal"
    r = subprocess.run([sys.executable, "-m", "fireform.cli", "run", str(ROOT / "examples" / "pantanal.toml"),
                        "--run-dir", str(rd)], capture_output=True, text=True, timeout=1800, cwd=ROOT,
                       env={**__import__("os").environ, "FIREFORM_DATA": str(data_dir)})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    j = Journal(rd)
    dec = j.get_state("decision")
    base = j.vector(j.fit_by_id(j.get_state("leaderboard_fits")[0]).id, "holdout")
    final = j.vector(j.get_state("final_fit"), "holdout")
    assert np.isfinite(overall(base, "ilamb2")) and np.isfinite(overall(final, "ilamb2"))
    assert dec["conventions"]["ilamb2"]["baseline"] == pytest.approx(overall(base, "ilamb2"))
    assert (rd / "report" / "index.html").exists()
    assert "fireform holdout | final" in r.stdout
    # the Pantanal bundle has no GPP: the mechanisms that read it (or its running mean) are named with what they miss
    gone = j.get_state("unavailable_mechanisms")
    assert "gpp_mean_12m" in gone["gpp_gating"] and "mechanisms cannot run on these inputs" in r.stdout
