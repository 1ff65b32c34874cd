"""``fireform form show`` and ``fireform form export`` through the real typer app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fireform.cli import app

FORM = {
    "name": "cli_form",
    "scale": {"lo": 1e-5, "hi": 1.0, "log": True},
    "terms": [
        {"mechanism": "temperature_ignition"},
        {"name": "wind_boost", "expression": "1 - exp(-b_w*wind)",
         "params": [{"name": "b_w", "lo": 0.01, "hi": 2.0, "units": "s m-1", "description": "rate"}],
         "rationale": "wind spreads fire", "references": ["Li2012"]},
    ],
}


@pytest.fixture()
def form_file(tmp_path):
    p = tmp_path / "form.json"
    p.write_text(json.dumps(FORM))
    return p


def test_show(form_file):
    r = CliRunner().invoke(app, ["form", "show", str(form_file)])
    assert r.exit_code == 0, r.output
    assert "temperature_ignition" in r.output and "wind_boost.b_w" in r.output
    assert "1 - exp(-b_w*wind)" in r.output
    r = CliRunner().invoke(app, ["form", "show", str(form_file), "--latex"])
    assert r.exit_code == 0 and "\\begin{aligned}" in r.output


def test_export_fortran_with_params(form_file, tmp_path):
    from fireform.forms.form import Form

    form = Form.load(form_file)
    theta = form.theta_dict(form.default_theta())
    theta["wind_boost.b_w"] = 0.123
    pf = tmp_path / "p.json"
    pf.write_text(json.dumps({"theta": theta}))
    out = tmp_path / "m.f90"
    r = CliRunner().invoke(app, ["form", "export", str(form_file), "--fortran", "--params", str(pf),
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "p_wind_boost_b_w = 0.123_r8" in out.read_text()
    r = CliRunner().invoke(app, ["form", "export", str(form_file), "--python"])
    assert r.exit_code == 0 and "def burned_fraction(*, tas, wind):" in r.output


def test_export_requires_one_format(form_file):
    r = CliRunner().invoke(app, ["form", "export", str(form_file), "--python", "--latex"])
    assert r.exit_code != 0
    assert "exactly one" in str(r.exception) or "exactly one" in r.output
