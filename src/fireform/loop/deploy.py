"""The deployment check: the exported Fortran module, compiled and run, must reproduce Python.

The final form and its fitted parameters are exported with ``fireform.forms.export.to_fortran``;
a small driver program reads the inputs of a sample of training cell-months (float64, stream
files), calls the elemental ``burned_fraction`` and writes the result; gfortran compiles both.
The predictions are compared with ``Form.evaluate`` (float64) on the same inputs:
``|f - p| <= rel_tol |p|`` wherever ``|p| >= 1e-9 scale``, absolutely below. Since the export is
the whole formula, a rescale or clip applied outside the form would fail here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from fireform.forms.export import to_fortran

__all__ = ["deployment_check", "fortran_driver"]


def fortran_driver(inputs: list[str], n: int, *, module_name: str = "fireform_fire") -> str:
    decl = "\n".join(f"  real(r8), allocatable :: x_{v}(:)" for v in inputs)
    alloc = "\n".join(f"  allocate(x_{v}(n))" for v in inputs)
    reads = "\n".join(
        f"  open(newunit=u, file='in_{v}.bin', access='stream', form='unformatted', status='old')\n"
        f"  read(u) x_{v}\n  close(u)" for v in inputs)
    args = ", ".join(f"x_{v}" for v in inputs)
    return f"""program deploy_check
  use {module_name}
  implicit none
  integer, parameter :: n = {n}
  integer :: u
{decl}
  real(r8), allocatable :: out(:)
{alloc}
  allocate(out(n))
{reads}
  out = burned_fraction({args})
  open(newunit=u, file='out.bin', access='stream', form='unformatted', status='replace')
  write(u) out
  close(u)
end program deploy_check
"""


def deployment_check(form, theta, drivers, *, rel_tol: float = 1e-5, workdir: str | Path,
                     max_values: int = 200_000, seed: int = 0) -> dict:
    """Compile and run the Fortran export on a sample of ``drivers``; compare with Python."""
    out: dict = {"form_hash": form.hash, "rel_tol": rel_tol, "compiler": "gfortran"}
    fc = shutil.which("gfortran")
    if fc is None:
        out.update(ok=False, error="gfortran not found on PATH (install it: make system-deps)")
        return out
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_cells, n_months = drivers.n_cells, drivers.n_months
    k = max(1, min(n_cells, max_values // max(n_months, 1)))
    cells = np.sort(rng.choice(n_cells, size=k, replace=False))
    arrays = {}
    for v in form.inputs:
        a = np.asarray(drivers.array(v), dtype=np.float64)[cells]
        arrays[v] = np.broadcast_to(a, (k, n_months))
    py = np.asarray(form.evaluate(theta, {v: a for v, a in arrays.items()}), dtype=np.float64)
    py = np.broadcast_to(py, (k, n_months)).ravel()
    n = py.size
    src = to_fortran(form, theta)
    (wd / "fireform_fire.f90").write_text(src)
    (wd / "deploy_check.f90").write_text(fortran_driver(list(form.inputs), n))
    for v, a in arrays.items():
        np.ascontiguousarray(a.ravel(), dtype=np.float64).tofile(wd / f"in_{v}.bin")
    cmds = [[fc, "-O2", "-ffree-line-length-none", "-c", "fireform_fire.f90"],
            [fc, "-O2", "-ffree-line-length-none", "fireform_fire.o", "deploy_check.f90", "-o", "deploy_check"],
            ["./deploy_check"]]
    for cmd in cmds:
        r = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            out.update(ok=False, error=f"{' '.join(cmd)} failed: {(r.stderr or r.stdout)[-1500:]}")
            return out
    f = np.fromfile(wd / "out.bin", dtype=np.float64)
    if f.size != n:
        out.update(ok=False, error=f"Fortran wrote {f.size} values, expected {n}")
        return out
    scale = float(form.theta_vector(theta)[0])
    floor = 1e-9 * abs(scale)
    big = np.abs(py) >= floor
    diff = np.abs(f - py)
    max_rel = float(np.max(diff[big] / np.abs(py[big]))) if big.any() else 0.0
    max_abs_tiny = float(np.max(diff[~big])) if (~big).any() else 0.0
    ok = bool(np.all(np.isfinite(f)) and max_rel <= rel_tol and max_abs_tiny <= floor)
    out.update(ok=ok, max_rel=max_rel, max_abs_tiny=max_abs_tiny, n_values=int(n), n_cells=int(k),
               n_months=int(n_months), module_lines=src.count("\n"),
               python_mean=float(py.mean()), fortran_mean=float(f.mean()))
    return out
