"""The notebook-style example runs end to end (as a script, in a scratch folder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_example_runs(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")], cwd=tmp_path,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    assert "Drivers(" in out and "fit " in out and "Overall" in out
    assert (tmp_path / "quickstart_out" / "predicted.nc").is_file()
    assert "share" in out and "final form:" in out and "win:" in out
