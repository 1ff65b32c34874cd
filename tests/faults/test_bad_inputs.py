"""Fault injection: bad inputs planted in a clean twin world must be refused, before any fit, by
every entry point that fits or scores (``fireform fit | shapley | score``, ``fireform.fit``,
``fireform.run``), with exit code 2 and a message naming the variable and the rule; the clean
world and the real Pantanal bundle must pass (no false alarms).

``test_refusal_table`` prints the count per entry point ("case | entry point | outcome"); with
``FIREFORM_WRITE_RELIABILITY=1`` it also writes it to docs/reliability.md.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from tests.faults.cases import CASES
from typer.testing import CliRunner

from fireform.cli import app
from fireform.drivers import check_drivers, gate, load_drivers, load_pantanal
from fireform.exceptions import FireformError, InputCheckError
from fireform.fitting import fit
from fireform.loop.journal import Journal
from fireform.loop.spec import parse_spec
from fireform.twin import add_truth, demo_truth, make_world, world_drivers, write_world

ENTRIES = ("fit", "shapley", "score", "fit()", "run")
OUTCOMES: dict[tuple[str, str], str] = {}  # (case, entry) -> outcome, for the table
IDS = [c.name for c in CASES]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The clean world (5 degrees, 2001-2003, demo truth), its files, and one file per case."""
    root = tmp_path_factory.mktemp("faults")
    ds = add_truth(make_world(res=5, years=(2001, 2003)), demo_truth())
    form = root / "truth.json"
    form.write_text(demo_truth().to_json())
    files = {"clean": write_world(root / "clean.nc", ds),
             "model": write_world(root / "model.nc", ds[["burned_fraction"]])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf/NaN written on purpose
        for c in CASES:
            files[c.name] = write_world(root / f"{c.name}.nc", c.plant(ds))
    return {"ds": ds, "root": root, "form": form, "files": files}


def _cli(world, entry: str, data: Path) -> list[str]:
    if entry == "fit":
        return ["fit", str(world["form"]), "--data", str(data), "--trials", "2"]
    if entry == "shapley":
        return ["shapley", str(world["form"]), "--data", str(data), "--trials", "4", "--first-trials", "4",
                "--workers", "1", "--out", str(world["root"] / "shapley_out")]
    return ["score", "--obs", str(data), "--obs-var", "burned_fraction",
            "--model", str(world["files"]["model"]), "--model-var", "burned_fraction"]


def _named(text: str, case) -> bool:
    return case.variable in text and any(f"[{r}]" in text for r in case.rules)


@pytest.mark.parametrize("entry", ["fit", "shapley", "score"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_refuses_before_any_fit(world, case, entry):
    res = CliRunner().invoke(app, _cli(world, entry, world["files"][case.name]))
    out = res.output + (res.stderr if res.stderr_bytes is not None else "")
    ok = res.exit_code == 2 and "Traceback" not in out and _named(out, case)
    OUTCOMES[(case.name, entry)] = "refused" if ok else f"NOT refused (exit {res.exit_code})"
    assert res.exit_code == 2, out
    assert "Traceback" not in out and "input checks found" in out, out
    assert _named(out, case), f"message does not name {case.variable!r} and one of {case.rules}:\n{out}"
    assert "best parameters" not in out and "wrote" not in out  # nothing was fitted or scored


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fit_api_raises_input_check_error(world, case):
    try:
        drivers = load_drivers(str(world["files"][case.name]))
    except FireformError:
        # The loader refuses this one itself (negative precipitation); the drivers a caller could
        # build without it must still be refused by fit.
        drivers = world_drivers(case.plant(world["ds"]))
    with pytest.raises(InputCheckError) as e:
        fit(demo_truth(), drivers, trials=2)
    OUTCOMES[(case.name, "fit()")] = "refused" if _named(str(e.value), case) else "refused, rule not named"
    assert _named(str(e.value), case), str(e.value)


@pytest.mark.parametrize("case", CASES[:3], ids=IDS[:3])
def test_a_hand_built_fit_context_is_gated_too(world, case):
    """A FitContext is an entry point of its own: built by hand on bad drivers, its first fit
    (and a Shapley ablation on it) is refused like a fit of the drivers."""
    from fireform.fitting import FitContext

    try:
        drivers = load_drivers(str(world["files"][case.name]))
    except FireformError:
        drivers = world_drivers(case.plant(world["ds"]))
    ctx = FitContext(drivers)
    with pytest.raises(InputCheckError) as e:
        fit(demo_truth(), ctx, trials=2)
    assert _named(str(e.value), case), str(e.value)
    assert ctx.n_evaluations == 0 and ctx.input_check is None  # nothing evaluated, nothing marked


def test_a_context_is_gated_once_and_remembers_it(world):
    from fireform.fitting import FitContext

    ctx = FitContext(load_drivers(str(world["files"]["clean"])))
    r1 = fit(demo_truth(), ctx, trials=2, sampler="random")
    assert r1.extra["input_check"] == "ok" and ctx.input_check is not None
    r2 = fit(demo_truth(), ctx, trials=2, sampler="random", seed=1)
    assert r2.extra["input_check"] == "ok"


def _run_spec(path: Path):
    return parse_spec({
        "name": "fault", "data": {"source": "files", "paths": [str(path)]},
        "split": {"train_years": [2001, 2002], "holdout_years": [2003, 2003]},
        "budget": {"iterations": 0, "trials": 4, "repeats": 2, "wall_minutes": 1.0},
        "shapley": {"enabled": False}, "deploy": {"fortran": False},
    })


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_run_refuses(world, case, tmp_path):
    from fireform import run

    with pytest.raises(FireformError) as e:
        run(_run_spec(world["files"][case.name]), run_dir=tmp_path / "run", echo=lambda s: None)
    gated = isinstance(e.value, InputCheckError) and _named(str(e.value), case)
    OUTCOMES[(case.name, "run")] = ("refused" if gated else
                                   f"refused by the loader ({type(e.value).__name__}), no rule named")
    # The loop reads files with load_drivers (no file-level checks): a file the loader itself
    # rejects (negative precipitation) is refused there, with the file and variable named.
    assert gated or (case.name == "pr_negative" and case.variable in str(e.value)), str(e.value)
    if gated:  # the report that refused the run is journaled
        assert Journal(tmp_path / "run").input_check()["ok"] is False


def test_clean_world_passes_every_gate(world):
    d = load_drivers(str(world["files"]["clean"]))
    r = gate(d)
    assert r.ok and r.errors.empty, r.errors.to_string()
    assert check_drivers(world_drivers(world["ds"])).ok
    res = CliRunner().invoke(app, _cli(world, "fit", world["files"]["clean"]))
    assert res.exit_code == 0, res.output
    assert "best parameters" in res.output
    res = CliRunner().invoke(app, _cli(world, "score", world["files"]["clean"]))
    assert res.exit_code == 0, res.output


def test_override_is_explicit_and_recorded(world):
    bad = world["files"]["vpd_zero_over_shaf"]
    res = CliRunner().invoke(app, [*_cli(world, "fit", bad), "--override-checks"])
    assert res.exit_code == 0, res.output
    assert "overridden by --override-checks" in res.output
    r = fit(demo_truth(), load_drivers(str(bad)), trials=2, override_checks=True)
    assert r.extra["input_check"].startswith("overridden")
    assert any("zero_where_burning" in x for x in r.extra["input_errors"])
    r = fit(demo_truth(), load_drivers(str(bad)), trials=2, check=False)
    assert r.extra["input_check"] == "skipped (check=False)"


def test_pantanal_bundle_passes_the_gate(data_dir):
    r = gate(load_pantanal(data_dir=data_dir))
    assert r.ok, r.errors.to_string()


def test_refusal_table():
    """How many bad inputs were tried and refused per entry point (goal: all)."""
    lines = ["| case | entry point | outcome |", "|---|---|---|"]
    lines += [f"| {c} | {e} | {o} |" for (c, e), o in sorted(OUTCOMES.items())]
    counts = []
    for e in ENTRIES:
        got = [o for (c, x), o in OUTCOMES.items() if x == e]
        counts.append(f"{e}: {sum(o.startswith('refused') for o in got)}/{len(got)} refused "
                      f"({sum(o == 'refused' for o in got)} naming the rule)")
    text = "\n".join([f"{len(CASES)} bad inputs; " + "; ".join(counts), "", *lines])
    print("\n" + text)
    if os.environ.get("FIREFORM_WRITE_RELIABILITY") == "1":  # our section only, between markers
        doc = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
        old = doc.read_text() if doc.exists() else ""
        keep = old.split(_BEGIN)[0].rstrip("\n") + "\n\n" if _BEGIN in old else old.rstrip("\n") + "\n\n"
        rest = old.split(_END, 1)[1] if _END in old else ""
        doc.write_text(keep + _BEGIN + "\n" + _DOC_HEAD + text + "\n" + _END + (rest or "\n"))
    assert OUTCOMES, "run the whole module: the table counts the other tests' outcomes"
    assert all(o.startswith("refused") for o in OUTCOMES.values())


_BEGIN, _END = "<!-- input gate: generated by tests/faults/test_bad_inputs.py -->", "<!-- end input gate -->"
_DOC_HEAD = """## Bad inputs refused per entry point (the input gate)

Generated by `tests/faults/test_bad_inputs.py` (`FIREFORM_WRITE_RELIABILITY=1`): each bad input
(tests/faults/cases.py) planted in a clean 5 degree twin world (2001-2003, demo truth), written
to netCDF, and given to every entry point that fits or scores. "refused" means exit code 2 (CLI)
or InputCheckError (API, loop) before any fit, the message naming the variable and the rule.
The clean world and the Pantanal bundle pass the same gate with no error. The gate and its
rules: [input_checks.md](input_checks.md).

Notes: `score` is given the bad world file as its reference (`--obs`); driver faults are refused
there because the reference file passes the checks of `fireform check` (every variable it holds),
target faults also by the value checks of both scored fields. `run` reads its files with
`load_drivers` (no raw-file checks), so negative precipitation is refused by the loader itself
(InvalidValueError naming the file and variable, no rule). The fault file runs in ~50-80 s on
the shared 2 cores (~30 s CPU): 125 refusals, each reading a netCDF world.

"""
