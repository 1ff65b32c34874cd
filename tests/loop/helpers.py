"""A small, complete run shared by the loop, agent and report tests (a coarse twin world)."""

from __future__ import annotations

from fireform.loop.spec import parse_spec

SMALL = {
    "name": "small",
    "data": {"source": "twin", "res": 5.0, "years": [2001, 2004], "seed": 1, "noise": 0.2},
    "split": {"train_years": [2001, 2003], "holdout_years": [2004, 2004]},
    "budget": {"iterations": 3, "trials": 24, "repeats": 2, "wall_minutes": 10.0},
    "shapley": {"enabled": True, "trials": 12, "max_players": 4, "executor": "serial"},
}


def small_spec(**over):
    import copy

    d = copy.deepcopy(SMALL)
    for k, v in over.items():
        d.setdefault(k, {})
        if isinstance(v, dict):
            d[k].update(v)
        else:
            d[k] = v
    return parse_spec(d)


_CACHE: dict = {}


def small_run(root):
    """Run once per process (the agent, loop and report tests share it)."""
    import time

    from fireform import run

    if "run" not in _CACHE:
        lines: list[str] = []
        t0 = time.monotonic()
        res = run(small_spec(), run_dir=root / "small",
                  echo=lambda s: lines.append(s) or print(f"{time.monotonic() - t0:6.1f}s {s}"))
        _CACHE["run"] = (res, lines)
    return _CACHE["run"]
