"""Acceptance of identification (issue 18): on twin worlds whose truths have close relatives in
the library, every true mechanism is in the final form or in the equivalence class of a final
term, and the report's classes view says so (slow: a few minutes).

Two kinds of start:

- from the truth with one term replaced by a close library relative (the loop lands on a relative
  that reads the same input in another shape); the loop then searches, prunes and identifies;
- from ``ed2_stock``, ten iterations, on the issue's four-mechanism world (SIMFIRE productivity,
  VPD, temperature, hyperarid): the search ends on six terms (an NPP hump and cropland
  suppression beside the four true ones) and the prune must find the two the others cover for."""

import json
import time

import pytest

import fireform as ff
from fireform.loop.spec import parse_spec
from fireform.report.views.classes import classes as classes_view

SCALE = {"lo": 1e-5, "hi": 1.0, "log": True, "default": 0.02}
GPP = {"gpp_gating.gpp0": 1200.0, "gpp_gating.k_gpp": 0.004, "gpp_gating.vpd0": 1.2, "gpp_gating.k_vpd": 3.0}
TEMP = {"temperature_ignition.t0": 285.0, "temperature_ignition.k_t": 0.25}

# truth, the relative the search starts from in its place
WORLDS = {
    "clm_temperature": (
        {"name": "truth_clm_temperature", "scale": SCALE,
         "terms": [{"mechanism": "gpp_gating"}, {"mechanism": "clm_temperature_limiter"},
                   {"mechanism": "hyperarid_suppression"}],
         "defaults": {**GPP, "clm_temperature_limiter.t_frz": 278.0, "clm_temperature_limiter.t_scale": 12.0,
                      "hyperarid_suppression.pr0": 300.0, "hyperarid_suppression.k_pr": 0.02}},
        ("clm_temperature_limiter", "temperature_ignition")),
    "ctem_soil": (
        {"name": "truth_ctem_soil", "scale": {**SCALE, "default": 0.04},
         "terms": [{"mechanism": "gpp_gating"}, {"mechanism": "temperature_ignition"},
                   {"mechanism": "ctem_soil_wetness"}],
         "defaults": {**GPP, **TEMP, "ctem_soil_wetness.e_sm": 0.8}},
        ("ctem_soil_wetness", "soil_wetness_limiter")),
}


def _spec(name: str, truth_path, start: list[str]):
    return parse_spec({
        "name": name,
        "data": {"source": "twin", "res": 3.0, "years": [2001, 2006], "seed": 0, "noise": 0.2,
                 "truth": str(truth_path)},
        "split": {"train_years": [2001, 2004], "holdout_years": [2005, 2006]},
        "baseline": {"form": None, "mechanisms": start},
        "budget": {"iterations": 2, "trials": 800, "repeats": 2, "sampler": "cmaes", "wall_minutes": 10.0},
        "shapley": {"enabled": True, "trials": 60, "max_players": 4, "executor": "serial"},
        "deploy": {"fortran": False},
        "identify": {"max_swaps_per_term": 2, "robust_trials_factor": 0},
    })


SIMFIRE4 = {"name": "truth_simfire4", "scale": SCALE,
            "terms": [{"mechanism": "simfire_productivity"}, {"mechanism": "vpd_flammability"},
                      {"mechanism": "temperature_ignition"}, {"mechanism": "hyperarid_suppression"}],
            "defaults": {"simfire_productivity.g_max": 2500.0, "simfire_productivity.b": 0.9,
                         "vpd_flammability.k_vpd": 1.0, **TEMP,
                         "hyperarid_suppression.pr0": 300.0, "hyperarid_suppression.k_pr": 0.02}}


def _accepts(r, truth: dict, true_id: str | None = None, relative: str | None = None) -> None:
    final = set(r.final_form.term_ids)
    df = r.classes
    classes = {t: set(g.alternative) for t, g in df[df.in_class].groupby("term")}
    # optional: dropped by the last-in rule, the final form fits within the noise with or without it
    optional = set(r.identify_state.get("optional", []))
    for t in truth["terms"]:
        m = t["mechanism"]
        assert m in final or any(m in alts for alts in classes.values()) or m in optional, (
            f"{m} is neither in the final form {sorted(final)} nor in a class {classes} nor optional {optional}")
        if m in optional:
            assert f"[{m}]" in r.class_label
    rec = r.truth_recovery
    assert set(rec.true_mechanism) == {t["mechanism"] for t in truth["terms"]}
    assert not (rec.status == "not recovered").any(), rec
    html = classes_view(r)
    assert "Every true mechanism is in the final form or in the equivalence class of a final term." in html
    assert r.class_label in html
    if true_id is not None:
        assert true_id in html
        if true_id not in final and true_id not in optional:  # the relative stayed (or is optional):
            label = r.class_label  # the truth sits in its class, named in the label
            assert ("{" + f"{relative} ~ " in label or f"[{relative} ~ " in label) and true_id in label


@pytest.mark.slow
def test_four_mechanism_world_from_ed2_stock(tmp_path):
    tp = tmp_path / "truth.json"
    tp.write_text(json.dumps(SIMFIRE4))
    spec = parse_spec({
        "name": "twin-simfire4",
        "data": {"source": "twin", "res": 3.0, "years": [2001, 2008], "seed": 3, "noise": 0.2, "truth": str(tp)},
        "split": {"train_years": [2001, 2006], "holdout_years": [2007, 2008]},
        "budget": {"iterations": 10, "trials": 800, "repeats": 3, "wall_minutes": 15.0},
        "shapley": {"enabled": True, "trials": 150, "max_players": 6, "executor": "serial"},
        "deploy": {"fortran": False},
        "identify": {"max_swaps_per_term": 3, "robust_trials_factor": 0},
    })
    t0 = time.monotonic()
    res = ff.run(spec, run_dir=tmp_path / "run", report=None, echo=print)
    print(f"simfire4: run {time.monotonic() - t0:.0f} s")  # measured, not asserted
    r = ff.open_run(res.run_dir)
    _accepts(r, SIMFIRE4)
    # the terms the prune found covered were refitted without and dropped within the noise
    pr = r.prune
    for c in pr["covered"]:
        assert c["term"] not in r.final_form.term_ids
        assert c["without"] >= max(c["incumbent"], c["reference"]) - c["noise"] - 1e-12
    r.close()


@pytest.mark.slow
@pytest.mark.parametrize("world", sorted(WORLDS))
def test_true_mechanisms_are_in_the_final_form_or_a_final_terms_class(world, tmp_path):
    truth, (true_id, relative) = WORLDS[world]
    tp = tmp_path / "truth.json"
    tp.write_text(json.dumps(truth))
    start = [relative if t["mechanism"] == true_id else t["mechanism"] for t in truth["terms"]]
    t0 = time.monotonic()
    res = ff.run(_spec(f"twin-{world}", tp, start), run_dir=tmp_path / "run", report=None, echo=print)
    print(f"{world}: run {time.monotonic() - t0:.0f} s")  # measured, not asserted
    r = ff.open_run(res.run_dir)
    _accepts(r, truth, true_id, relative)
    r.close()
