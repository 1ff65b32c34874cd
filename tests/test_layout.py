"""The package's shape is enforced, not hoped for: the layer contract (import-linter), the public
API, and a planted back-import that the contract must catch."""

from __future__ import annotations

import os
import pydoc
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import fireform as ff

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

API = ["load_drivers", "Drivers", "catalog", "mechanisms", "Form", "fit", "FitResult", "Benchmark",
       "score", "shapley", "Spec", "run", "resume", "open_run", "Run"]


def _lint_imports(config: Path, src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(BIN / "lint-imports"), "--config", str(config), "--no-cache"],
                          capture_output=True, text=True, env=env, cwd=config.parent, timeout=300)


def _contract_file(tmp: Path) -> Path:
    """The contracts of pyproject.toml as an .importlinter (INI) file."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = ["[importlinter]", f"root_package = {cfg['root_package']}", ""]
    for i, c in enumerate(cfg["contracts"]):
        lines.append(f"[importlinter:contract:{i}]")
        for k, v in c.items():
            if isinstance(v, list):
                lines.append(f"{k} =")
                lines += [f"    {x}" for x in v]
            else:
                lines.append(f"{k} = {v}")
        lines.append("")
    p = tmp / ".importlinter"
    p.write_text("\n".join(lines))
    return p


def test_layer_contract_holds(tmp_path):
    r = _lint_imports(_contract_file(tmp_path), ROOT / "src")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 kept, 0 broken" in r.stdout


def test_planted_back_import_breaks_the_contract(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "fireform", src / "fireform",
                    ignore=shutil.ignore_patterns("__pycache__"))
    years = src / "fireform" / "drivers" / "years.py"
    years.write_text(years.read_text() + "\nimport fireform.loop.journal  # noqa: E402,F401  (planted)\n")
    r = _lint_imports(_contract_file(tmp_path), src)
    assert r.returncode != 0
    assert "BROKEN" in r.stdout and "fireform.drivers.years -> fireform.loop.journal" in r.stdout


def test_public_api_is_listed_by_help():
    text = pydoc.render_doc(ff, renderer=pydoc.plaintext)
    for name in API:
        assert name in ff.__all__, name
        assert getattr(ff, name) is not None
        assert name in text, name
    # a run folder's results come back as objects, the way PySR's from_file does
    assert ff.open_run.__doc__ and ff.Run.leaderboard.__doc__
