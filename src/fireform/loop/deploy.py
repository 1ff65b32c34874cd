"""The deployment check: the whole exported chain, compiled and run, must reproduce Python.

From the raw monthly drivers (the files written here: ``dims.txt``, ``calendar.txt`` and one
float64 stream file per raw input, month after month) the exported Fortran
(``fireform.forms.fortran``: one state module per derived input, the formula, the driver
program) reads the months in time order, updates every derived state, evaluates
``burned_fraction`` and writes it, with each derived input. Python reads the same files,
computes the derived inputs with ``fireform.drivers.derived`` and evaluates ``Form.evaluate``
(float64). They must agree in every cell and month: ``|f - p| <= rel_tol |p|`` wherever
``|p| >= 1e-9 |scale|`` (absolutely below that floor); NaN must meet NaN. A disagreement is
reported at the first month and cell where the two part (and, per derived input, where that
input parts), and at the largest relative difference.

Derived inputs present in the drivers are ignored when their raw inputs are there: both sides
recompute them from the raw files, spin-up included. A derived input whose raw inputs are
missing is read as a driver by both sides (reported in ``chain["read"]``).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fireform.drivers import load_drivers, load_pantanal
from fireform.drivers.derived import derived_from_arrays
from fireform.exceptions import MissingVariableError
from fireform.forms.fortran import Kind, chain_plan, fortran_sources, is_derived
from fireform.forms.fortran.driver import OUTPUT_FILE, PROGRAM

if TYPE_CHECKING:
    from fireform.drivers import Drivers
    from fireform.forms import Form

__all__ = ["deployment_check", "deploy_summary", "load_check_drivers", "FFLAGS"]

FFLAGS = ("-O2", "-std=f2008", "-Wall")


def load_check_drivers(data: list[str] | tuple[str, ...], *, data_dir=None):
    """Drivers for ``fireform deploy-check --data``: ``["pantanal"]`` (the bundle) or files."""
    if list(data) == ["pantanal"]:
        return load_pantanal(data_dir=data_dir)
    return load_drivers([str(p) for p in data], target=None, regions="global", data_dir=data_dir)


def _write_inputs(wd: Path, drivers: Drivers, plan, cells: np.ndarray) -> dict[str, np.ndarray]:
    """The raw input files; returns what was written (monthly (months, cells), static (cells,))."""
    n_m = drivers.n_months
    (wd / "dims.txt").write_text(f"{cells.size} {n_m}\n")
    t = drivers.time
    (wd / "calendar.txt").write_text(
        "".join(f"{y} {m} {d:.1f}\n" for y, m, d in zip(t.year, t.month, drivers.dt)))
    arrays = {}
    for v in plan.raw:
        a = np.asarray(drivers.array(v), dtype=np.float64)[cells]  # (cells, months) or (cells, 1)
        a = np.ascontiguousarray(a[:, 0] if v in plan.static else a.T)
        a.tofile(wd / f"{v}.bin")
        arrays[v] = a
    return arrays


def _python_chain(form: Form, theta, wd: Path, plan, n_cells: int, n_months: int, days):
    """Python from the same files: derived inputs by the numpy functions, then Form.evaluate."""
    raw = {}
    for v in plan.raw:
        a = np.fromfile(wd / f"{v}.bin", dtype=np.float64)
        raw[v] = a if v in plan.static else a.reshape(n_months, n_cells)
    derived = {n: derived_from_arrays(n, raw, days) for n in plan.derived}
    env = {v: (derived[v].T if v in derived else raw[v][:, None] if v in plan.static else raw[v].T)
           for v in form.inputs}
    bf = np.asarray(form.evaluate(theta, env), dtype=np.float64)
    return np.broadcast_to(bf, (n_cells, n_months)).T, derived


def _compare(f: np.ndarray, p: np.ndarray, floor: float, rel_tol: float) -> dict[str, Any]:
    """Per-value agreement of (months, cells) arrays; first disagreement in time order."""
    both_nan = np.isnan(f) & np.isnan(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(f - p)
        big = np.abs(p) >= floor
        rel = np.where(big, diff / np.where(big, np.abs(p), 1.0), diff / max(floor, 1e-300) * rel_tol)
    rel = np.where(both_nan, 0.0, np.where(np.isnan(rel), np.inf, rel))
    bad = rel > rel_tol
    k = int(np.argmax(rel)) if rel.size else 0
    first = np.argwhere(bad)
    return {"max_rel": float(rel.flat[k]) if rel.size else 0.0, "argmax": np.unravel_index(k, rel.shape),
            "first": tuple(int(i) for i in first[0]) if first.size else None, "n_bad": int(bad.sum())}


def _place(drivers: Drivers, cells, where: tuple[int, int], f=None, p=None) -> dict:
    month, cell = where  # (month, cell) of a (months, cells) array
    iy, ix = drivers.cell_index
    c = int(cells[cell])
    out = {"cell": c, "lat": float(drivers.lat[iy[c]]), "lon": float(drivers.lon[ix[c]]),
           "month": f"{drivers.time[month]:%Y-%m}", "month_index": int(month)}
    if f is not None:
        out.update(fortran=float(f[month, cell]), python=float(p[month, cell]))
    return out


def _run(cmd: list[str], wd: Path) -> str | None:
    r = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return f"{' '.join(cmd)} failed (exit {r.returncode}): {(r.stderr or r.stdout)[-1500:]}"
    return None


def deployment_check(form: Form, theta, drivers: Drivers, *, rel_tol: float = 1e-5, workdir: str | Path,
                     kind: Kind | None = None, max_cells: int | None = None, seed: int = 0,
                     mutate: Callable[[str, str], str] | None = None,
                     fflags: tuple[str, ...] = FFLAGS, host_sources: dict[str, str] | None = None) -> dict:
    """Run the full chain in Fortran and in Python on ``drivers``; compare every cell and month.

    ``max_cells``: a deterministic sample of cells (all when None). ``mutate(file, text)``
    rewrites a generated source before it is compiled (how the tests plant bugs).
    ``kind``: the host model's real kind; ``host_sources`` (file name -> Fortran source, e.g. the
    host's ``shr_kind_mod.f90``) are compiled first. Returns a
    JSON-able dict: ``ok``, ``max_rel`` and ``where_max``, ``first_fail`` (or None), per derived
    input the same (``derived``), the chain, sizes and timings; ``error`` when it could not run.
    """
    t0 = time.perf_counter()
    out: dict = {"form_hash": form.hash, "rel_tol": rel_tol, "compiler": "gfortran", "full_chain": True}
    fc = shutil.which("gfortran")
    if fc is None:
        out.update(ok=False, error="gfortran not found on PATH (install it: make system-deps)")
        return out
    static = {v for v in drivers.variables if drivers.is_static(v)}
    plan = chain_plan(form, available=set(drivers.variables), static=static)
    missing = [v for v in plan.raw if v not in drivers]
    if missing:
        raise MissingVariableError(
            f"deployment check of form {form.name!r}: input(s) {', '.join(missing)} are not in the "
            f"drivers and cannot be derived from them (the drivers hold: {', '.join(drivers.variables)})")
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    n_cells, n_months = drivers.n_cells, drivers.n_months
    cells = np.arange(n_cells)
    if max_cells is not None and max_cells < n_cells:
        cells = np.sort(np.random.default_rng(seed).choice(n_cells, size=max_cells, replace=False))
    _write_inputs(wd, drivers, plan, cells)
    files = fortran_sources(form, theta, kind=kind, plan=plan)
    for name, text in {**(host_sources or {}), **files}.items():
        (wd / name).write_text(mutate(name, text) if mutate else text)
    t1 = time.perf_counter()
    f90 = [*(host_sources or {})] + [n for n in files if n.endswith(".f90") and n != f"{PROGRAM}.f90"]
    for cmd in ([fc, *fflags, "-c", n] for n in f90):
        err = _run(cmd, wd)
        if err:
            out.update(ok=False, error=err)
            return out
    objs = [n.replace(".f90", ".o") for n in f90]
    err = _run([fc, *fflags, *objs, f"{PROGRAM}.f90", "-o", PROGRAM], wd)
    t2 = time.perf_counter()
    err = err or _run([f"./{PROGRAM}"], wd)
    if err:
        out.update(ok=False, error=err)
        return out
    t3 = time.perf_counter()
    k = cells.size
    fort = np.fromfile(wd / OUTPUT_FILE, dtype=np.float64)
    if fort.size != k * n_months:
        out.update(ok=False, error=f"Fortran wrote {fort.size} values, expected {k * n_months}")
        return out
    fort = fort.reshape(n_months, k)
    py, py_derived = _python_chain(form, theta, wd, plan, k, n_months, drivers.dt)
    t4 = time.perf_counter()
    scale = float(form.theta_vector(theta)[0])
    c = _compare(fort, py, 1e-9 * abs(scale), rel_tol)
    per_derived = {}
    for n in plan.derived:
        fd = np.fromfile(wd / f"derived_{n}.bin", dtype=np.float64).reshape(n_months, k)
        pd_ = py_derived[n]
        cd = _compare(fd, pd_, 1e-9 * max(float(np.nanmax(np.abs(pd_))) if np.isfinite(pd_).any() else 1.0,
                                            1e-300), rel_tol)
        per_derived[n] = {"ok": cd["n_bad"] == 0, "max_rel": cd["max_rel"],
                          "first_fail": (_place(drivers, cells, cd["first"], fd, pd_)
                                         if cd["first"] else None)}
    out.update(
        ok=bool(c["n_bad"] == 0), max_rel=c["max_rel"], n_bad=c["n_bad"],
        where_max=_place(drivers, cells, c["argmax"], fort, py),
        first_fail=_place(drivers, cells, c["first"], fort, py) if c["first"] else None,
        derived=per_derived,
        chain={"derived": list(plan.derived), "raw_monthly": list(plan.monthly),
               "raw_static": list(plan.static),
               "read": [v for v in plan.form_inputs if is_derived(v) and v not in plan.derived]},
        n_values=int(fort.size), n_cells=int(k), n_months=int(n_months),
        module_lines=sum(t.count("\n") for n, t in files.items() if n.endswith(".f90")),
        python_mean=float(np.nanmean(py)), fortran_mean=float(np.nanmean(fort)),
        seconds={"write": round(t1 - t0, 3), "compile": round(t2 - t1, 3), "run": round(t3 - t2, 3),
                 "python": round(t4 - t3, 3), "total": round(time.perf_counter() - t0, 3)},
    )
    return out


def deploy_summary(d: dict) -> str:
    """One greppable line (and one per failing derived input) for a deployment-check result."""
    if d.get("error"):
        return f"deploy-check FAIL: {d['error']}"
    w = d["where_max"]
    head = (f"deploy-check {'PASS' if d['ok'] else 'FAIL'}: max rel diff {d['max_rel']:.3g} "
            f"(tol {d['rel_tol']:g}) at cell {w['cell']} (lat {w['lat']:g}, lon {w['lon']:g}) "
            f"{w['month']}; {d['n_values']} values ({d['n_cells']} cells x {d['n_months']} months); "
            f"derived in Fortran: {', '.join(d['chain']['derived']) or 'none'}; "
            f"{d['seconds']['total']:.1f} s")
    lines = [head]
    f = d.get("first_fail")
    if f:
        lines.append(f"  first parting: cell {f['cell']} (lat {f['lat']:g}, lon {f['lon']:g}) {f['month']}: "
                     f"fortran {f['fortran']:.9g} python {f['python']:.9g}")
    for n, r in d.get("derived", {}).items():
        if r["first_fail"]:
            g = r["first_fail"]
            lines.append(f"  derived {n} parts first at cell {g['cell']} "
                         f"(lat {g['lat']:g}, lon {g['lon']:g}) "
                         f"{g['month']}: fortran {g['fortran']:.9g} python {g['python']:.9g}")
    return "\n".join(lines)
