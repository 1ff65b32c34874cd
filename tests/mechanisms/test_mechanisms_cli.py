"""`fireform mechanisms list` and `fireform mechanisms show ID`."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

import fireform.mechanisms as mechs
from fireform.exceptions import UnknownNameError
from fireform.cli.mechanisms import register

runner = CliRunner()
# this stage's commands on their own app, so these tests do not depend on other stages
app = typer.Typer()
register(app)


def test_list_shows_id_regime_inputs_param_count_and_references():
    r = runner.invoke(app, ["mechanisms", "list"])
    assert r.exit_code == 0, r.output
    for m in mechs.REGISTRY:
        assert m.id in r.output
    line = next(ln for ln in r.output.splitlines() if " gpp_gating " in ln)
    assert "productivity" in line and "gpp_mean_12m, vpd" in line and " 4 " in line
    assert "vanderWerf2008" in line


def test_list_filters_by_regime_and_rejects_unknown_regimes():
    r = runner.invoke(app, ["mechanisms", "list", "--regime", "human"])
    assert r.exit_code == 0
    assert "population_suppression" in r.output and "gpp_gating" not in r.output
    r = runner.invoke(app, ["mechanisms", "list", "--regime", "volcanic"])
    assert isinstance(r.exception, UnknownNameError) and "productivity" in str(r.exception)


def test_show_prints_equation_bounds_and_notes():
    r = runner.invoke(app, ["mechanisms", "show", "human_ignition_hump"])
    assert r.exit_code == 0, r.output
    out = r.output
    assert mechs.get("human_ignition_hump").equation in out
    assert "b_pop" in out and "0.1" in out and "2" in out and "0.5" in out  # bounds, default
    assert "SPITFIRE" in out and "Thonicke2010" in out and "hump" in out


def test_show_unknown_id_fails_with_the_valid_list():
    r = runner.invoke(app, ["mechanisms", "show", "gpp_gatin"])
    assert isinstance(r.exception, UnknownNameError)
    assert "gpp_gating" in str(r.exception)


@pytest.mark.parametrize("mech_id", ["confire_moisture", "globfirm_fire_season"])
def test_show_works_for_long_equations(mech_id):
    r = runner.invoke(app, ["mechanisms", "show", mech_id])
    assert r.exit_code == 0 and "equation" in r.output


def test_main_cli_has_the_mechanisms_commands():
    from fireform.cli import app as main_app

    r = runner.invoke(main_app, ["mechanisms", "show", "gpp_gating"])
    assert r.exit_code == 0, r.output
    assert mechs.get("gpp_gating").equation in r.output
