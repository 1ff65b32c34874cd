"""Uncertainty in the verdict: intervals in the decision, undecidable conventions with their
reason, the holdout read once for the seed fits too, nothing recomputed on resume."""

import json
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fireform import open_run, resume
from fireform.drivers import load_pantanal
from fireform.exceptions import SpecError
from fireform.loop.finish import judge
from fireform.loop.journal import Journal
from fireform.loop.spec import WinSpec, load_spec, parse_spec
from fireform.loop.uncertainty import PARAM_KEY, interval_frame
from fireform.scoring import COMPONENTS, CONVENTIONS, Benchmark
from tests.loop.helpers import SMALL


def _vec(x: float, **over) -> dict[str, float]:
    return {**{c: x for c in COMPONENTS}, **over}


def _intervals(lo: float, hi: float) -> pd.DataFrame:
    rows = [{"convention": c, "quantity": q, "point": 0.0, "lo": lo if q == "difference" else 0.5,
             "hi": hi if q == "difference" else 0.7, "n": 400, "seed_min": 0.0, "seed_max": 0.0, "level": 0.9}
            for c in CONVENTIONS for q in ("baseline", "final", "difference")]
    return pd.DataFrame(rows)


def test_require_interval_turns_a_near_tie_into_no_win():
    vb, vf = _vec(0.60), _vec(0.61)  # +0.01 under every convention
    tie = _intervals(-0.005, 0.025)  # ... but the interval reaches below the margin
    strict = judge(vb, vf, WinSpec(require_interval=True), intervals=tie)
    point = judge(vb, vf, WinSpec(require_interval=False), intervals=tie)
    for c in CONVENTIONS:
        assert strict[c]["difference"] == pytest.approx(0.01) and strict[c]["decidable"]
        assert strict[c]["wins"] is False and point[c]["wins"] is True
        assert strict[c]["interval"]["difference"] == [-0.005, 0.025]
    clear = judge(vb, vf, WinSpec(require_interval=True), intervals=_intervals(0.002, 0.02))
    assert all(r["wins"] for r in clear.values())
    margin = judge(vb, vf, WinSpec(require_interval=True, margin=0.005), intervals=_intervals(0.002, 0.02))
    assert not any(r["wins"] for r in margin.values())  # the lower end must clear the margin, not 0


def test_undefined_scores_are_not_decidable_with_the_reason():
    why = "IAV needs >= 2 whole years; the period has 1"
    vb, vf = _vec(0.6, iav=np.nan), _vec(0.7, iav=np.nan)
    rows = judge(vb, vf, WinSpec(require_interval=False),
                 reasons={"baseline": {"iav": why}, "final": {"iav": why}})
    assert rows["ilamb2_iav"]["decidable"] is False and rows["ilamb2_iav"]["wins"] is None
    assert why in rows["ilamb2_iav"]["reason"] and "both forms" in rows["ilamb2_iav"]["reason"]
    assert rows["ilamb2"]["wins"] is True  # the others still decide
    # the baseline undefined, the final defined: not a win for the final, not a loss either
    one = judge(_vec(0.6, spatial=np.nan), _vec(0.7), WinSpec(require_interval=False),
                reasons={"baseline": {"spatial": "no cell with a defined score"}})
    r = one["ilamb2"]
    assert r["decidable"] is False and r["wins"] is None
    assert "baseline undefined on the holdout (spatial: no cell with a defined score)" in r["reason"]
    assert one["ilamb3"]["decidable"]  # ilamb3 averages the components present
    # an interval is required but none was computed: said, not guessed
    none = judge(_vec(0.6), _vec(0.7), WinSpec(require_interval=True))
    assert all(not r["decidable"] and "no interval" in r["reason"] for r in none.values())


def test_win_spec_states_and_checks_the_interval_rule():
    with pytest.raises(SpecError, match="win.require_interval = true needs win.bootstrap >= 50"):
        parse_spec({**SMALL, "win": {"require_interval": True, "bootstrap": 10}})
    assert parse_spec({**SMALL, "win": {"require_interval": False, "bootstrap": 0}}).win.bootstrap == 0
    with pytest.raises(SpecError, match="win.interval"):
        parse_spec({**SMALL, "win": {"interval": 1.5}})
    demo = tomllib.loads(resources.files("fireform.loop").joinpath("twin.toml").read_text())
    assert {"require_interval", "interval", "bootstrap"} <= set(demo["win"])  # stated, not defaulted


def test_one_year_holdout_iav_is_not_decidable_with_the_reason(finished_run):
    res, lines = finished_run  # the small run holds out one year (2004)
    dec = Journal(res.run_dir).get_state("decision")
    iav = dec["conventions"]["ilamb2_iav"]
    assert iav["decidable"] is False and iav["wins"] is None
    assert "IAV needs >= 2 whole years; the period has 1" in iav["reason"]
    assert dec["not_decidable"] == {"ilamb2_iav": iav["reason"]}
    line = next(ln for ln in lines if ln.startswith("fireform decision"))
    assert "ilamb2_iav: not decidable (" in line and "IAV needs >= 2" in line
    v = open_run(res.run_dir).verdict.set_index("convention")
    assert not v.loc["ilamb2_iav", "decidable"] and "IAV needs" in v.loc["ilamb2_iav", "reason"]
    d = v.loc["ilamb2"]
    assert d.decidable and np.isfinite(d.difference_lo) and d.difference_lo <= d.difference_hi
    assert d.level == pytest.approx(0.9)
    assert bool(d.wins) == bool(d.difference > 0 and d.difference_lo > 0)  # the spec requires the interval


def test_seed_fits_scored_in_the_single_holdout_read(finished_run):
    res, lines = finished_run
    j = Journal(res.run_dir)
    reads = j.holdout_reads()
    assert reads.t.nunique() == 1 and reads.purpose.nunique() == 1  # one unseal
    iv = j.get_state("holdout_intervals")
    seeds = set(iv["baseline_fits"]) | set(iv["final_fits"])
    assert len(iv["baseline_fits"]) == len(iv["final_fits"]) == SMALL["budget"]["repeats"]
    assert seeds <= set(reads.fit_id) and seeds <= set(j.scores(period="holdout").fit_id)
    fits = j.fits().set_index("id")
    assert fits.loc[iv["final_fits"], "form_hash"].nunique() == 1  # one form, several seeds
    assert fits.loc[iv["final_fits"], "seed"].nunique() == len(iv["final_fits"])
    t = interval_frame(iv)
    assert set(t.convention) == set(CONVENTIONS) and (t.n[t.convention == "ilamb2"] == iv["replicates"]).all()
    assert any(ln.startswith("fireform interval | 90% intervals") for ln in lines)


def test_resume_recomputes_neither_intervals_nor_parameter_refits(finished_run):
    res, _ = finished_run
    j = Journal(res.run_dir)
    iv, ps, n_fits, n_reads = (j.get_state("holdout_intervals"), j.get_state(PARAM_KEY), len(j.fits()),
                               len(j.holdout_reads()))
    assert ps["table"] and len(ps["replicates"]) == SMALL["budget"].get("param_bootstrap", 4)
    # as if killed after two of the refits: only the missing ones are fitted again
    j.put_state(PARAM_KEY, {"fit": ps["fit"], "replicates": ps["replicates"][:2]})
    j.close()
    lines: list[str] = []
    resume(res.run_dir, echo=lines.append, report=False)
    j = Journal(res.run_dir)
    after = j.get_state(PARAM_KEY)
    assert after["replicates"][:2] == ps["replicates"][:2]  # read back, not refitted
    assert len(after["replicates"]) == len(ps["replicates"])
    assert json.dumps(j.get_state("holdout_intervals")) == json.dumps(iv)
    assert len(j.holdout_reads()) == n_reads and len(j.fits()) == n_fits
    assert any("fireform holdout | already scored" in ln for ln in lines)


@pytest.mark.requires_data
def test_pantanal_one_year_holdout_gives_the_iav_reason(data_dir):
    spec = load_spec(Path(__file__).resolve().parents[2] / "examples" / "pantanal.toml")
    a, b = spec.split.holdout_years
    assert a == b  # the example holds out one year
    hold = load_pantanal(data_dir=data_dir).select_years([a])
    sc = Benchmark.from_drivers(hold).score(hold.array(hold.target) * 1.1)
    reason = sc.reasons[("global", "iav")]
    assert reason == "IAV needs >= 2 whole years; the period has 1"
    rows = judge(sc.vector(), sc.vector(), spec.win, reasons={"baseline": {"iav": reason}, "final": {"iav": reason}})
    assert not rows["ilamb2_iav"]["decidable"] and reason in rows["ilamb2_iav"]["reason"]
