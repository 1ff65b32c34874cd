import tomllib
from pathlib import Path

import pytest

from fireform.exceptions import SpecError
from fireform.loop.spec import demo_spec, load_spec, parse_spec, spec_diff

ROOT = Path(__file__).resolve().parents[2]
BASE = {"name": "x", "split": {"train_years": [2001, 2008], "holdout_years": [2009, 2012]}}


def test_defaults_filled_and_hash_stable():
    a, b = parse_spec(BASE), parse_spec(dict(BASE))
    assert a.hash == b.hash and len(a.hash) == 16
    assert a.objective.convention == "ilamb2" and a.baseline.form == "ed2_stock"
    assert parse_spec(a.to_toml()).hash == a.hash  # the written TOML round-trips


def test_any_change_changes_the_hash_and_diff_names_it():
    a = parse_spec(BASE)
    b = parse_spec({**BASE, "budget": {"trials": 77}})
    assert a.hash != b.hash
    assert spec_diff(a, b) == ["budget.trials: 300 -> 77"]


@pytest.mark.parametrize("bad, msg", [
    ({**BASE, "split": {"train_years": [2001, 2009], "holdout_years": [2009, 2012]}}, "overlap"),
    ({**BASE, "objective": {"convention": "median"}}, "convention"),
    ({**BASE, "budgett": {}}, "budgett"),
    ({**BASE, "win": {"conventions": ["ilamb2", "nope"]}}, "win.conventions"),
    ({**BASE, "data": {"years": [2001, 2005]}}, "outside data.years"),
])
def test_invalid_specs_rejected_with_the_field(bad, msg):
    with pytest.raises(SpecError, match=msg):
        parse_spec(bad)


def test_bad_toml_names_the_file(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text("name = ")
    with pytest.raises(SpecError, match="s.toml"):
        load_spec(p)


def test_examples_validate_and_twin_is_the_demo_spec():
    twin = load_spec(ROOT / "examples" / "twin.toml")
    assert twin.hash == demo_spec().hash
    assert (ROOT / "examples" / "twin.toml").resolve() == (ROOT / "src" / "fireform" / "loop" / "twin.toml").resolve()
    pant = load_spec(ROOT / "examples" / "pantanal.toml")
    assert pant.split.train_years == (2010, 2011) and pant.split.holdout_years == (2012, 2012)
    assert tomllib.loads((ROOT / "examples" / "pantanal.toml").read_text())["data"]["source"] == "pantanal"


def test_a_baseline_of_mechanisms_round_trips_through_toml():
    """TOML has no null: a baseline given as mechanisms is written without a form and must read
    back to the same spec (the run folder's spec.toml is what `fireform resume` reads)."""
    from fireform.loop.spec import parse_spec

    split = {"train_years": [2001, 2008], "holdout_years": [2009, 2012]}
    a = parse_spec({"name": "m", "split": split, "baseline": {"mechanisms": ["gpp_gating", "temperature_ignition"]}})
    b = parse_spec(a.to_toml())
    assert a.baseline.form is None and b.baseline.form is None
    assert a.hash == b.hash
    # a form beside mechanisms is ignored by the run, so it is not part of the spec either
    c = parse_spec({"name": "m", "split": split,
                    "baseline": {"form": "ed2_stock", "mechanisms": ["gpp_gating", "temperature_ignition"]}})
    assert c.hash == a.hash
