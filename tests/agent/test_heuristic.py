import dataclasses

import pytest

from fireform.agent.context import AgentContext
from fireform.agent.heuristic import HeuristicProposer
from fireform.agent.proposal import ground
from fireform.testing import tiny_drivers


def _ctx(screen, *, shapley=None, tried=(), noise=0.01):
    return AgentContext(
        iteration=1, program="", objective={"convention": "ilamb2", "region": "global", "noise": noise},
        catalog=[{"id": i, "regime": r, "available": True, "inputs": [], "equation": ""} for i, r in
                 [("rh_limiter", "weather"), ("agb_linear", "fuel"), ("gpp_gating", "productivity"),
                  ("temperature_ignition", "ignition"), ("fuel_ramp", "fuel")]],
        incumbent={"terms": ["agb_linear", "rh_limiter"], "objective": 0.6, "n_params": 4, "vector": {}},
        top=[], diagnostics=[{"region": "global", "bias_relative": 0.5, "suspect": "too much fire"}],
        screen=screen, shapley=shapley, rejected=[], tried=list(tried))


def _m(action, remove, add, obj, h, n=5):
    return {"action": action, "remove": remove, "add": add, "objective": obj, "gain": obj - 0.6,
            "form_hash": h, "n_params": n}


SCREEN = [_m("add", "", "gpp_gating", 0.70, "h1", 9), _m("add", "", "temperature_ignition", 0.65, "h2", 7),
          _m("swap", "agb_linear", "fuel_ramp", 0.62, "h3"), _m("drop", "agb_linear", "", 0.55, "h4", 3),
          _m("drop", "rh_limiter", "", 0.50, "h5", 2)]


def test_best_screened_move_and_deterministic():
    p = HeuristicProposer()
    a = p.propose(_ctx(SCREEN))
    assert a.mechanisms == ["agb_linear", "gpp_gating", "rh_limiter"] and a.action == "add"
    assert a == HeuristicProposer().propose(_ctx(list(reversed(SCREEN))))
    assert "gpp_gating" in a.rationale
    from fireform.drivers.derived import add_derived

    assert ground(a, drivers=add_derived(tiny_drivers(), ["gpp_mean_12m"])).ok


def test_skips_tried_forms_and_stops_when_nothing_is_left():
    p = HeuristicProposer()
    a = p.propose(_ctx(SCREEN, tried=["h1"]))
    assert "temperature_ignition" in a.mechanisms
    assert p.propose(_ctx(SCREEN, tried=["h1", "h2", "h3", "h4", "h5"])) is None


def test_free_drop_wins_over_growth():
    screen = SCREEN + [_m("drop", "rh_limiter", "", 0.595, "h6", 2)]
    screen = [s for s in screen if s["form_hash"] != "h5"]
    a = HeuristicProposer().propose(_ctx(screen, noise=0.01))
    assert a.action == "drop" and a.mechanisms == ["agb_linear"]


def test_a_flat_screen_adds_a_regime_the_form_lacks_first():
    """No screened move beats the noise: the best add of a regime the form has no term of
    (ignition, productivity) beats a better-screened second fuel term."""
    flat = [_m("swap", "agb_linear", "fuel_ramp", 0.605, "h3"), _m("add", "", "fuel_ramp", 0.604, "h7", 7),
            _m("add", "", "temperature_ignition", 0.598, "h2", 7), _m("add", "", "gpp_gating", 0.596, "h1", 9),
            _m("drop", "agb_linear", "", 0.55, "h4", 3)]
    a = HeuristicProposer().propose(_ctx(flat, noise=0.01))
    assert a.action == "add" and "temperature_ignition" in a.mechanisms
    assert "no term of" in a.rationale
    # once the screen sees a gain beyond the noise, the best move wins again
    steep = [dict(m, objective=0.65, gain=0.05) if m["add"] == "fuel_ramp" and m["action"] == "swap" else m
             for m in flat]
    b = HeuristicProposer().propose(_ctx(steep, noise=0.01))
    assert b.action == "swap" and "fuel_ramp" in b.mechanisms
    # every regime present: the rule has nothing to add, the best move wins
    full = _ctx(flat, noise=0.01)
    full = dataclasses.replace(full, incumbent={**full.incumbent, "terms": [
        "agb_linear", "rh_limiter", "gpp_gating", "temperature_ignition", "human_x"]},
        catalog=[*full.catalog, {"id": "human_x", "regime": "human", "available": True, "inputs": [], "equation": ""}])
    c = HeuristicProposer().propose(full)
    assert c.action == "swap"


def test_low_shapley_share_is_pruned_first():
    sh = {"values": [{"player": "agb_linear", "share": 0.02}, {"player": "rh_limiter", "share": 0.98}]}
    a = HeuristicProposer().propose(_ctx(SCREEN, shapley=sh))
    assert a.action == "drop" and a.mechanisms == ["rh_limiter"] and "Shapley" in a.rationale


def test_makes_progress_on_a_twin_world(finished_run):
    """The heuristic alone improves the training objective over the baseline."""
    from fireform.loop.journal import Journal

    res, _ = finished_run
    j = Journal(res.run_dir)
    props = j.proposals()
    assert (props.status == "keep").any()
    fits = j.fits()
    base = fits[fits.form_hash == j.get_state("baseline_hash")].value.max()
    final = j.fit_by_id(j.get_state("final_fit")).value
    assert final > base
